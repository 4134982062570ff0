/* weft runtime — the trace recorder's hot path, inline in the scheduler: the hooks run
 * a few times per task (spawn, run start, run stop, wake), and skynet's tasks take
 * ~150 ns, so a call per hook and a generic encoder cost more than the events
 * themselves. Included by the files that call them (worker.c, handoff.h; task.c and
 * park.c call SPAWN and WAKE through the cold copies at the end of this file); the
 * rest of the recorder (chunk refills, plain threads, lifecycle) is in trace.c.
 *
 * Every hook is called under WEFT_TRACE_ON() only. A worker records into its own
 * buffer, w->tr_buf (set by weft__trace_worker_begin); a plain thread's wake-up goes
 * through weft__trace_ev and the shared buffer. */
#ifndef WEFT_RUNTIME_TRACE_HOOKS_H
#define WEFT_RUNTIME_TRACE_HOOKS_H

#include "runtime/trace_priv.h"

/* ts for "the same clock reading as this buffer's previous event" (no real reading is 1). */
#define WEFT_TR_TS_SAME ((uint64_t)1)

/* Out of line (trace.c): records one event when b has no room (or no chunk) or when a
 * SPAWN's function has not been announced to the writer yet; the same arguments. */
void weft__trace_record_slow(tr_buf *b, uint64_t ts, unsigned type, unsigned reason, uint32_t a,
                             uint64_t task, uint64_t bb, uint64_t c);

/* Appends one event to b, which has room for it. ts: a raw clock value, 0 to read the
 * clock now, or WEFT_TR_TS_SAME. The clock read (an rdtsc: ~10 ns on our VMs) is most of
 * what an event costs. */
static inline __attribute__((always_inline)) void
weft__trace_put(tr_buf *b, uint64_t ts, unsigned type, unsigned reason, uint32_t a, uint64_t task,
                uint64_t bb, uint64_t c)
{
    uint64_t raw = ts == WEFT_TR_TS_SAME ? b->st.ticks : ts ? ts : weft__clock_raw();
    b->p = weft_trace_encode(b->p, &b->st, raw, type, reason, a, task, bb, c);
    b->nev++;
    /* release: the event's bytes before the counts (a flight dump reads the prefix) */
    atomic_store_explicit(&b->cur_own->pub,
                          (uint64_t)b->nev << 32 | (uint32_t)(b->p - b->cur_own->data),
                          memory_order_release);
}

/* b has no chunk, or its chunk may not have room for one more event. */
static inline bool weft__trace_no_room(const tr_buf *b)
{
    return b->p > b->lim || !b->cur_own;
}

/* Records one event into b (the same arguments). */
static inline __attribute__((always_inline)) void
weft__trace_record(tr_buf *b, uint64_t ts, unsigned type, unsigned reason, uint32_t a,
                   uint64_t task, uint64_t bb, uint64_t c)
{
    if (WEFT_UNLIKELY(weft__trace_no_room(b)) ||
        ((type == WEFT_EV_SPAWN || type == WEFT_EV_STALL) &&
         WEFT_UNLIKELY(b->fn_seen[(c >> 4) % TR_FN_SEEN] != c))) {
        weft__trace_record_slow(b, ts, type, reason, a, task, bb, c);
        return;
    }
    weft__trace_put(b, ts, type, reason, a, task, bb, c);
}

/* Task t was spawned by the running task of worker w (NULL: by a plain thread). */
static inline void weft__trace_spawn(weft__worker *w, weft_task *t)
{
    t->tr_last = WEFT_TRACE_NO_WORKER;
    t->tr_reason = 0;
    if (!w) {
        weft__trace_spawn_outside(t);
        return;
    }
    /* Relaxed atomic store: the monitor may read a reused task's id (STALL). */
    __atomic_store_n(&t->tid, ((uint64_t)(w->index + 1) << 48) | ++w->tr_next_id,
                     __ATOMIC_RELAXED);
    weft_task *parent = atomic_load_explicit(&w->current, memory_order_relaxed);
    weft__trace_record(w->tr_buf, 0, WEFT_EV_SPAWN, 0, 0, t->tid, parent ? parent->tid : 0,
                       (uint64_t)(uintptr_t)t->fn);
}

/* t starts (or resumes) running on w. */
static inline void weft__trace_run_start(weft__worker *w, weft_task *t)
{
    /* Straight after a RUN_STOP (a direct switch, or the scheduler taking the next local
     * task): the same clock reading. */
    uint64_t ts = w->tr_fresh ? WEFT_TR_TS_SAME : 0;
    w->tr_fresh = false;
    weft__trace_record(w->tr_buf, ts, WEFT_EV_RUN_START, 0, weft__runq_len(&w->runq), t->tid,
                       t->tr_last, 0);
    t->tr_last = (uint16_t)w->index;
}

/* t switched out of w for sw_reason (WEFT_SW_*). */
static inline void weft__trace_run_stop(weft__worker *w, weft_task *t, int sw_reason)
{
    unsigned r = WEFT_TR_OTHER;
    uint32_t op = 0;
    if (sw_reason == WEFT_SW_DONE) {
        r = WEFT_TR_DONE;
        /* The status the finish protocol will settle on (task.c, step 1): RUN_STOP(DONE)
         * carries it and stands for the END event too (trace_codec.h). */
        int st = t->status;
        if (st == 0 && atomic_load_explicit(&t->cancelled, memory_order_relaxed))
            st = -ECANCELED;
        op = (uint32_t)st;
    } else if (sw_reason == WEFT_SW_YIELD) {
        r = WEFT_TR_YIELD;
    } else if (sw_reason == WEFT_SW_MIGRATE) {
        r = WEFT_TR_MIGRATE;
        op = w->migrate_to;
    } else if (t->tr_reason) {
        r = t->tr_reason;
        if (r == WEFT_TR_IO)
            op = t->tr_op;
    }
    t->tr_reason = 0;
    /* What the scheduler records until the next RUN_START, that one included, shares
     * this clock reading (tr_fresh). */
    weft__trace_record(w->tr_buf, 0, WEFT_EV_RUN_STOP, r, op, t->tid, 0, 0);
    w->tr_fresh = !weft__tr.precise;
}

/* t, parked, was made runnable by the calling thread. */
static inline void weft__trace_wake(weft_task *t)
{
    weft__worker *w = weft__worker_self();
    if (!w) {
        weft__trace_ev(WEFT_EV_WAKE, WEFT_TW_THREAD, WEFT_TRACE_NO_WORKER, t->tid, 0, 0);
        return;
    }
    weft_task *cur = atomic_load_explicit(&w->current, memory_order_relaxed);
    unsigned src = w->tr_wake_src ? w->tr_wake_src : WEFT_TW_TASK;
    weft__trace_record(w->tr_buf, w->tr_fresh ? WEFT_TR_TS_SAME : 0, WEFT_EV_WAKE, src, w->index,
                       t->tid, src == WEFT_TW_TASK && cur ? cur->tid : 0, 0);
}

/* SPAWN and WAKE out of line and cold (trace.c), for weft__spawn and unpark: inline,
 * their code and the registers it needs cost those functions 10-12 instructions a call
 * with tracing off (callgrind, spawn_join: 850 M instructions against 798 M without
 * hooks; 828 M this way), where a traced event now pays a call (skynet traced: 934 M ->
 * 944 M). RUN_START and RUN_STOP stay inline: out of line they saved nothing untraced
 * (the worker loop holds its registers anyway) and cost a traced skynet 60 M more. */
__attribute__((cold)) void weft__trace_spawn_cold(weft__worker *w, weft_task *t);
__attribute__((cold)) void weft__trace_wake_cold(weft_task *t);

#endif
