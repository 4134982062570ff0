/* weft — the compact event encoding of EVENTS2 trace records (trace_format.h): the
 * recorder's encoder and the reader's decoder side by side, so they cannot drift apart.
 * Header-only and dependency-free, like trace_format.h (tools/weft-trace includes it).
 *
 * An event is one or more little-endian 64-bit words:
 *   word 0   bits 0-3 type, 4-7 reason, 8-31 a (24 bits), 32-63 dt: raw clock ticks since
 *            the previous event of the batch (the first: since the batch's time base);
 *            0 for an event that shares the previous one's clock reading
 *   then     the kind's fields among task, b, c (weft_trace_fields), a word each, in that
 *            order, except those a short form leaves out
 * Short forms (the kinds whose reason bits are otherwise unused, type 0, and WAKE's
 * reason bit 3) leave out a field that equals what the batch's own earlier events
 * predict (weft_trace_codec): the task a SPAWN creates is the one after the last SPAWN's,
 * its parent the running task, its function the last SPAWN's; a RUN_START starts the
 * task after the last started one or the one spawned last, on the worker it last ran on
 * or on its first run; a RUN_STOP stops the running task; a WAKE's waker is the running
 * task. Every batch starts from a blank state, so it decodes by itself (flight dumps).
 * skynet's tasks take ~27 bytes each this way, against 72 with every field written.
 * Version 2 files of earlier builds, which never used these forms, decode the same.
 * Two forms stand for more than one event or for none:
 *   - RUN_STOP with reason WEFT_TR_DONE carries the task's status (signed 24 bits) in a;
 *     it decodes as RUN_STOP (a = 0) followed by END (same time and task, b = status).
 *   - type 15 (WEFT_TRACE_TIME) with one word after it adds that many ticks to the clock:
 *     it precedes an event whose dt does not fit 32 bits (about 1.4 s of TSC at 3 GHz).
 * Fixed-width words rather than varints: a varint encoder's data-dependent branches cost
 * ~6 ns an event on our VMs, these stores under 1 ns; the optional words are written
 * always and kept or overwritten (weft_trace_put_if): a short form costs its compares,
 * not a branch per field. */
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
    WEFT_TRACE_STOP = 0,     /* RUN_STOP of the batch's running task (short form) */
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

/* What encoder and decoder track through one batch, from its events alone (so a batch,
 * or a prefix of one, decodes by itself): the encoder the raw clock of its last event,
 * the decoder the ticks since the batch's base; and the references the short forms
 * stand for. A batch starts with them zero (weft_trace_codec_batch). */
typedef struct weft_trace_codec {
    uint64_t ticks;
    uint64_t cur;   /* task of the last RUN_START, 0 once a RUN_STOP followed it */
    uint64_t last;  /* task of the last RUN_START */
    uint64_t spawn; /* task of the last SPAWN */
    uint64_t fn;    /* function of the last SPAWN */
    uint16_t worker; /* the batch's worker (WEFT_TRACE_NO_WORKER: plain threads) */
} weft_trace_codec;

/* Starts a batch of `worker`'s events at clock `ticks`. */
static inline void weft_trace_codec_batch(weft_trace_codec *st, uint64_t ticks, uint16_t worker)
{
    memset(st, 0, sizeof *st);
    st->ticks = ticks;
    st->worker = worker;
}

static inline uint8_t *weft_trace_put_word(uint8_t *p, uint64_t w)
{
    memcpy(p, &w, 8);
    return p + 8;
}

/* Appends v at p; the next write goes over it unless keep. The branch-free way to write
 * an optional word: WEFT_TRACE_MAX_ENCODED bytes are free, so writing it always is safe. */
static inline uint8_t *weft_trace_put_if(uint8_t *p, uint64_t v, int keep)
{
    memcpy(p, &v, 8);
    return p + (keep ? 8 : 0);
}

/* Appends one event at p (WEFT_TRACE_MAX_ENCODED bytes must be free) and returns the end.
 * raw: its clock reading (one earlier than the previous event's counts as that). For
 * RUN_STOP with reason WEFT_TR_DONE, a is the task's status (the END it stands for).
 * Picks the short form (trace_format.h, "short forms") wherever a field equals what the
 * batch's state predicts. */
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
    uint64_t w0 = a24 << 8 | dt << 32;
    if (type == WEFT_EV_SPAWN) {
        int t_ex = task != st->spawn + 1, b_ex = b != st->cur, c_ex = c != st->fn;
        st->spawn = task;
        st->fn = c;
        unsigned fl = (t_ex ? 0u : 1u) | (b_ex ? 0u : 2u) | (c_ex ? 0u : 4u);
        p = weft_trace_put_word(p, w0 | type | fl << 4);
        p = weft_trace_put_if(p, task, t_ex);
        p = weft_trace_put_if(p, b, b_ex);
        return weft_trace_put_if(p, c, c_ex);
    }
    if (type == WEFT_EV_RUN_START) {
        unsigned tf = task == st->last + 1 ? 1u : task == st->spawn ? 2u : 0u;
        unsigned wf = b == st->worker ? 1u : b == WEFT_TRACE_NO_WORKER ? 2u : 0u;
        st->cur = st->last = task;
        p = weft_trace_put_word(p, w0 | type | (tf | wf << 2) << 4);
        p = weft_trace_put_if(p, task, !tf);
        return weft_trace_put_if(p, b, !wf);
    }
    if (type == WEFT_EV_RUN_STOP) {
        int t_ex = task != st->cur || !task;
        st->cur = 0;
        p = weft_trace_put_word(p, w0 | (t_ex ? type : WEFT_TRACE_STOP) | reason << 4);
        return weft_trace_put_if(p, task, t_ex);
    }
    if (type == WEFT_EV_WAKE) {
        int b_ex = b != st->cur;
        p = weft_trace_put_word(p, w0 | type | (reason | (unsigned)!b_ex << 3) << 4);
        p = weft_trace_put_word(p, task);
        return weft_trace_put_if(p, b, b_ex);
    }
    p = weft_trace_put_word(p, w0 | type | reason << 4);
    if (f & WEFT_TRF_TASK)
        p = weft_trace_put_word(p, task);
    if (f & WEFT_TRF_B)
        p = weft_trace_put_word(p, b);
    if (f & WEFT_TRF_C)
        p = weft_trace_put_word(p, c);
    return p;
}

/* Reads the word at *p into *w; false when the batch ends first. */
static inline int weft_trace_get_word(const uint8_t **p, const uint8_t *end, uint64_t *w)
{
    if (end - *p < 8)
        return 0;
    memcpy(w, *p, 8);
    *p += 8;
    return 1;
}

/* Decodes the event at *p into e[0] (e->ts = ticks since the batch's base), and the END
 * a RUN_STOP(DONE) stands for into e[1]. Returns the number of events (1 or 2), or -1 for
 * an unknown kind or an event cut off by end. st starts each batch as
 * weft_trace_codec_batch(st, 0, the batch's worker) left it. */
static inline int weft_trace_decode(const uint8_t **p, const uint8_t *end, weft_trace_codec *st,
                                    weft_trace_event e[2])
{
    uint64_t w;
    for (;;) {
        if (!weft_trace_get_word(p, end, &w))
            return -1;
        if ((w & 15) != WEFT_TRACE_TIME)
            break;
        uint64_t add;
        if (!weft_trace_get_word(p, end, &add))
            return -1;
        st->ticks += add;
    }
    unsigned type = w & 15, reason = w >> 4 & 15;
    unsigned f = type == WEFT_TRACE_STOP ? WEFT_TRF_KNOWN | WEFT_TRF_A : weft_trace_fields(type);
    if (!f)
        return -1;
    memset(e, 0, sizeof *e);
    st->ticks += w >> 32;
    e->ts = st->ticks;
    e->type = (uint8_t)type;
    e->reason = (uint8_t)reason;
    if (f & WEFT_TRF_A)
        e->a = (uint32_t)(w >> 8 & WEFT_TRACE_A_MAX);
    /* The fields the short forms leave out (0: the field's word follows). */
    uint64_t implied[3] = {0, 0, 0};
    int given[3] = {0, 0, 0};
    switch (type) {
    case WEFT_EV_SPAWN:
        given[0] = reason & 1, implied[0] = st->spawn + 1;
        given[1] = reason >> 1 & 1, implied[1] = st->cur;
        given[2] = reason >> 2 & 1, implied[2] = st->fn;
        e->reason = 0;
        break;
    case WEFT_EV_RUN_START:
        given[0] = (reason & 3) != 0, implied[0] = (reason & 3) == 1 ? st->last + 1 : st->spawn;
        given[1] = (reason >> 2) != 0;
        implied[1] = (reason >> 2) == 1 ? st->worker : WEFT_TRACE_NO_WORKER;
        if ((reason & 3) == 3 || (reason >> 2) == 3)
            return -1;
        e->reason = 0;
        break;
    case WEFT_TRACE_STOP:
        e->type = WEFT_EV_RUN_STOP;
        given[0] = 1, implied[0] = st->cur;
        f |= WEFT_TRF_TASK;
        break;
    case WEFT_EV_WAKE:
        given[1] = reason >> 3, implied[1] = st->cur;
        e->reason = (uint8_t)(reason & 7);
        break;
    }
    uint64_t *field[3] = {&e->task, &e->b, &e->c};
    for (unsigned i = 0; i < 3; i++) {
        if (!(f & (WEFT_TRF_TASK << i)))
            continue;
        if (given[i])
            *field[i] = implied[i];
        else if (!weft_trace_get_word(p, end, field[i]))
            return -1;
    }
    if (e->type == WEFT_EV_SPAWN) {
        st->spawn = e->task;
        st->fn = e->c;
    } else if (e->type == WEFT_EV_RUN_START) {
        st->cur = st->last = e->task;
    } else if (e->type == WEFT_EV_RUN_STOP) {
        st->cur = 0;
    }
    if (e->type != WEFT_EV_RUN_STOP || e->reason != WEFT_TR_DONE)
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
