/* weft — the compact event encoding of EVENTS2 trace records (trace_format.h): the
 * recorder's encoder and the reader's decoder side by side, so they cannot drift apart.
 * Header-only and dependency-free, like trace_format.h (tools/weft-trace includes it).
 *
 * An event is one or more little-endian 64-bit words:
 *   word 0   bits 0-3 type, 4-7 reason, 8-31 a (24 bits), 32-63 dt: raw clock ticks since
 *            the previous event of the batch (the first: since the batch's time base);
 *            0 for an event that shares the previous one's clock reading
 *   then     the kind's fields among task, b, c (weft_trace_fields), a word each, in that
 *            order
 * Two forms stand for more than one event or for none:
 *   - RUN_STOP with reason WEFT_TR_DONE carries the task's status (signed 24 bits) in a;
 *     it decodes as RUN_STOP (a = 0) followed by END (same time and task, b = status).
 *   - type 15 (WEFT_TRACE_TIME) with one word after it adds that many ticks to the clock:
 *     it precedes an event whose dt does not fit 32 bits (about 1.4 s of TSC at 3 GHz).
 * Fixed-width words rather than varints: a varint encoder's data-dependent branches cost
 * ~6 ns an event on our VMs, these stores under 1 ns; events take 8-32 bytes (40 in the
 * fixed form of version 1, which also had an END event per task). */
#ifndef WEFT_TRACE_CODEC_H
#define WEFT_TRACE_CODEC_H

#include "runtime/trace_format.h"

#include <stdint.h>
#include <string.h>

enum {
    WEFT_TRF_A = 1 << 0,
    WEFT_TRF_TASK = 1 << 1,
    WEFT_TRF_B = 1 << 2,
    WEFT_TRF_C = 1 << 3,
    WEFT_TRF_KNOWN = 1 << 4, /* every kind has it: tells kinds without fields from unknown */
    WEFT_TRACE_TIME = 15,    /* the clock-advance word pair */
    WEFT_TRACE_MAX_ENCODED = 6 * 8, /* bytes one event takes at most (TIME included) */
    WEFT_TRACE_A_MAX = 0xffffff,    /* a saturates here (queue depths) */
};

/* The fields kind `type` carries (WEFT_TRF_*, always with WEFT_TRF_KNOWN); 0 for an
 * unknown kind. A constant where type is one. */
static inline unsigned weft_trace_fields(unsigned type)
{
    switch (type) {
    case WEFT_EV_SPAWN: return WEFT_TRF_KNOWN | WEFT_TRF_TASK | WEFT_TRF_B | WEFT_TRF_C;
    case WEFT_EV_RUN_START:
    case WEFT_EV_WAKE: return WEFT_TRF_KNOWN | WEFT_TRF_A | WEFT_TRF_TASK | WEFT_TRF_B;
    case WEFT_EV_RUN_STOP: return WEFT_TRF_KNOWN | WEFT_TRF_A | WEFT_TRF_TASK;
    case WEFT_EV_END: return WEFT_TRF_KNOWN | WEFT_TRF_TASK | WEFT_TRF_B;
    case WEFT_EV_STEAL: return WEFT_TRF_KNOWN | WEFT_TRF_A | WEFT_TRF_B;
    case WEFT_EV_INJECT_PULL:
    case WEFT_EV_IO_SUBMIT:
    case WEFT_EV_IO_COMPLETE:
    case WEFT_EV_TIMER_FIRE: return WEFT_TRF_KNOWN | WEFT_TRF_B;
    case WEFT_EV_STALL: return WEFT_TRF_KNOWN | WEFT_TRF_A | WEFT_TRF_TASK | WEFT_TRF_B | WEFT_TRF_C;
    case WEFT_EV_PARK:
    case WEFT_EV_UNPARK:
    case WEFT_EV_SEARCH: return WEFT_TRF_KNOWN;
    default: return 0;
    }
}

/* What encoder and decoder track through one batch: the encoder the raw clock of its
 * last event, the decoder the ticks since the batch's base. */
typedef struct weft_trace_codec {
    uint64_t ticks;
} weft_trace_codec;

static inline uint8_t *weft_trace_put_word(uint8_t *p, uint64_t w)
{
    memcpy(p, &w, 8);
    return p + 8;
}

/* Appends one event at p (WEFT_TRACE_MAX_ENCODED bytes must be free) and returns the end.
 * raw: its clock reading (one earlier than the previous event's counts as that). For
 * RUN_STOP with reason WEFT_TR_DONE, a is the task's status (the END it stands for). */
static inline __attribute__((always_inline)) uint8_t *
weft_trace_encode(uint8_t *p, weft_trace_codec *st, uint64_t raw, unsigned type, unsigned reason,
                  uint32_t a, uint64_t task, uint64_t b, uint64_t c)
{
    unsigned f = weft_trace_fields(type);
    uint64_t dt = 0;
    if (__builtin_expect(raw > st->ticks, 1)) {
        dt = raw - st->ticks;
        st->ticks = raw;
    }
    if (__builtin_expect(dt >> 32, 0)) {
        p = weft_trace_put_word(p, WEFT_TRACE_TIME);
        p = weft_trace_put_word(p, dt);
        dt = 0;
    }
    uint64_t a24 = !(f & WEFT_TRF_A) ? 0
                   : type == WEFT_EV_RUN_STOP && reason == WEFT_TR_DONE
                       ? (uint64_t)(a & WEFT_TRACE_A_MAX)
                       : (a > WEFT_TRACE_A_MAX ? WEFT_TRACE_A_MAX : a);
    p = weft_trace_put_word(p, type | reason << 4 | a24 << 8 | dt << 32);
    if (f & WEFT_TRF_TASK)
        p = weft_trace_put_word(p, task);
    if (f & WEFT_TRF_B)
        p = weft_trace_put_word(p, b);
    if (f & WEFT_TRF_C)
        p = weft_trace_put_word(p, c);
    return p;
}

/* Decodes the event at *p into e[0] (e->ts = ticks since the batch's base), and the END
 * a RUN_STOP(DONE) stands for into e[1]. Returns the number of events (1 or 2), or -1 for
 * an unknown kind or an event cut off by end. */
static inline int weft_trace_decode(const uint8_t **p, const uint8_t *end, weft_trace_codec *st,
                                    weft_trace_event e[2])
{
    uint64_t w;
    for (;;) {
        if (end - *p < 8)
            return -1;
        memcpy(&w, *p, 8);
        *p += 8;
        if ((w & 15) != WEFT_TRACE_TIME)
            break;
        if (end - *p < 8)
            return -1;
        uint64_t add;
        memcpy(&add, *p, 8);
        *p += 8;
        st->ticks += add;
    }
    unsigned type = w & 15, f = weft_trace_fields(type);
    if (!f)
        return -1;
    memset(e, 0, sizeof *e);
    st->ticks += w >> 32;
    e->ts = st->ticks;
    e->type = (uint8_t)type;
    e->reason = (uint8_t)(w >> 4 & 15);
    if (f & WEFT_TRF_A)
        e->a = (uint32_t)(w >> 8 & WEFT_TRACE_A_MAX);
    uint64_t *field[3] = {&e->task, &e->b, &e->c};
    for (unsigned i = 0; i < 3; i++) {
        if (!(f & (WEFT_TRF_TASK << i)))
            continue;
        if (end - *p < 8)
            return -1;
        memcpy(field[i], *p, 8);
        *p += 8;
    }
    if (type != WEFT_EV_RUN_STOP || e->reason != WEFT_TR_DONE)
        return 1;
    /* the status, sign-extended from 24 bits */
    int64_t status = (int64_t)((uint64_t)e->a << 40) >> 40;
    e->a = 0;
    e[1] = e[0];
    e[1].type = WEFT_EV_END;
    e[1].reason = 0;
    e[1].b = (uint64_t)status;
    return 2;
}

#endif
