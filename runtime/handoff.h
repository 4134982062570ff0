/* weft runtime — direct hand-off between tasks (sync/gen.c), inline: one frame less on
 * both sides of every hand-off, measured ~10% (bench/results/gen-summary.md).
 *
 * A generator and its consumer hand each value over by switching straight from one
 * task's stack to the other's, without the run queues (sync/gen.c). The protocol keeps
 * park.c's rules:
 *  1. The switcher owns the target: it won PARKED → ACTIVE (weft__task_acquire), the
 *     right any waker gets, and runs the task at once on its own worker instead of
 *     queuing it; or the target is lent to it (step 3) and nobody else may resume it.
 *  2. park_self: the switcher parks as it leaves, publishing after the switch. Its state
 *     stays ACTIVE until the switch has saved its context; the code that runs next, in
 *     the target on the same worker (the xfer value says so), then moves it
 *     ACTIVE → PARKED, or, when a wake-up came meanwhile (NOTIFIED), makes it ACTIVE and
 *     queues it: the target plays the scheduler's part of park.c step 3. One CAS, not
 *     weft__park's two: the permit check moves after the switch.
 *  3. !park_self: the switcher is lent to the target (to->lender): suspended, ACTIVE, so
 *     wakers only leave it a permit and nobody can queue it. The target switches back to
 *     it directly (no atomic at all), or, when the target leaves for the scheduler
 *     (parks, yields, returns), run_task parks every lender in the chain as in step 2,
 *     so a wake-up or a cancel then reaches them as usual. A task holds one lender: the
 *     consumer lends itself to its generator, and the generator lends itself back when
 *     the consumer holds none (sync/gen.c step 7); the direct parks below (steps 2, 6)
 *     are not taken by a task holding one.
 *  4. The worker sees what a scheduler switch would show: current, to->w, the tick
 *     the monitor watches (a hand-off is progress), errno per task, the trace's
 *     RUN_STOP/RUN_START pair, and the ASan/TSan fiber annotations of the new stack.
 *  5. At most WEFT_DIRECT_MAX direct switches in a row (weft__direct_ok): then a
 *     hand-off goes through the run queue, so a busy pair cannot starve the worker's
 *     other tasks, timers and I/O.
 *  6. Yield before waiting (weft__yield_next): a task about to wait for a channel while
 *     the task it just woke sits in its worker's next-task slot switches to that task
 *     first and stays runnable: the target puts it in the next-task slot once the
 *     switch has saved its context, as step 2 parks. Two tasks passing messages then
 *     find each other's element in the ring and never register, park or take the
 *     channel's lock: no waiter-queue lock, waiter count or state CASes per message.
 */
#ifndef WEFT_RUNTIME_HANDOFF_H
#define WEFT_RUNTIME_HANDOFF_H

#include "runtime/internal.h"
#include "runtime/trace_hooks.h"

#if defined(WEFT_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(WEFT_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

/* The xfer value of a direct switch whose switcher parks as it leaves (step 2), or
 * stays runnable (step 6). The scheduler passes the task itself, an aligned pointer. */
#define WEFT_XFER_PARK ((uintptr_t)1)
#define WEFT_XFER_YIELD ((uintptr_t)2)

/* Step 2's publish-after-switch: runs once p's context is saved, in the task switched
 * to (or the scheduler, for lenders). The common case, no wake-up meanwhile, is one
 * acq_rel CAS that publishes p's saved context to whoever takes it from PARKED. */
void weft__park_finish_notified(weft_task *p); /* worker.c */
static inline __attribute__((always_inline)) void weft__park_finish(weft_task *p)
{
    int s = WEFT_TS_ACTIVE;
    if (WEFT_UNLIKELY(!atomic_compare_exchange_strong(&p->state, &s, WEFT_TS_PARKED)))
        weft__park_finish_notified(p);
}

/* Metrics: one wake-up in WEFT_LAT_SAMPLE is timed until its task runs (stats.c). */
static inline __attribute__((always_inline)) void weft__lat_stamp(weft__worker *w, weft_task *t)
{
#if WEFT_LAT_SAMPLING
    if (WEFT_UNLIKELY(++w->lat_sample % WEFT_LAT_SAMPLE == 0)) {
        t->wake_tsc = (uint32_t)weft__clock_raw() | 1; /* low bits, never 0 */
        /* Rides on the sample's branch: weft__monitor_unparked makes the next wake-up a
         * sample when it sets poke_on_next, so the hot path has no test of its own. */
        weft__monitor_watch_next(w);
    }
#else
    (void)t;
    weft__monitor_watch_next(w);
#endif
}

static inline __attribute__((always_inline)) void weft__next_put(weft__worker *w, weft_task *t);

/* Runs first in a task resumed by a direct switch: step 2's or step 6's
 * publish-after-switch of the task that switched to it. */
static inline __attribute__((always_inline)) void weft__resume_fixup(void *x)
{
    uintptr_t v = (uintptr_t)x;
    if (v & WEFT_XFER_PARK)
        weft__park_finish((weft_task *)(v & ~WEFT_XFER_PARK));
    else if (WEFT_UNLIKELY(v & WEFT_XFER_YIELD)) {
        weft_task *p = (weft_task *)(v & ~WEFT_XFER_YIELD);
        weft__next_put(p->w, p); /* runnable all along: not a wake-up to time */
    }
}

/* mode: WEFT_XFER_PARK (self parks, step 2), WEFT_XFER_YIELD (self stays runnable,
 * step 6) or 0 (self is lent to `to`, step 3). */
static inline __attribute__((always_inline)) void weft__switch_direct(weft_task *self,
                                                                      weft_task *to, uintptr_t mode)
{
    bool park_self = mode != 0;
    weft__worker *w = self->w;
    WEFT_ASSERT(to->stack && to != self);
    WEFT_ASSERT(park_self || !to->lender); /* a task holds one lender */
    w->direct_streak++;
    if (WEFT_TRACE_ON()) {
        /* what run_task records around a scheduler switch: self stops, to runs */
        weft__trace_run_stop(w, self, mode == WEFT_XFER_YIELD ? WEFT_SW_YIELD : WEFT_SW_PARK);
        weft__trace_run_start(w, to);
    }
    to->w = w;
    atomic_store_explicit(&w->current, to, memory_order_relaxed);
    atomic_store_explicit(&w->tick, atomic_load_explicit(&w->tick, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    int *e = w->errno_loc; /* not &errno: see errno_loc in internal.h */
    self->saved_errno = *e;
    *e = to->saved_errno;
    if (!park_self)
        to->lender = self;
#if defined(WEFT_ASAN)
    __sanitizer_start_switch_fiber(&self->asan_fake, to->stack->lo, weft__stack_size());
#endif
#if defined(WEFT_TSAN)
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    void *x = weft__ctx_switch(&self->sp, to->sp, mode ? (void *)((uintptr_t)self | mode) : NULL);
    /* Resumed by the scheduler or by another direct switch, perhaps elsewhere. */
#if defined(WEFT_ASAN)
    __sanitizer_finish_switch_fiber(self->asan_fake, NULL, NULL);
#endif
    weft__resume_fixup(x);
}

/* The task in w's next-task slot, with a stack, for a parking task to switch to
 * directly, or NULL. The caller has seen the slot non-empty (relaxed) and runs the task
 * with weft__switch_direct. */
static inline __attribute__((always_inline)) weft_task *weft__take_next_direct(weft__worker *w)
{
    /* acquire: pairs with the release that filled the slot (weft__schedule_lifo_on) */
    weft_task *t = atomic_exchange_explicit(&w->next, NULL, memory_order_acquire);
    if (WEFT_UNLIKELY(!t))
        return NULL; /* a thief took it (the monitor saw this worker stuck) */
    if (WEFT_UNLIKELY(!t->stack)) {
        /* Never run (its entry expects the scheduler's xfer): the scheduler starts it.
         * Only woken tasks reach the slot, so this does not happen today. */
        weft__runq_push(w, t);
        return NULL;
    }
    if (WEFT_LAT_SAMPLING && WEFT_UNLIKELY(t->wake_tsc))
        weft__stats_latency(w, t);
    return t;
}

/* weft__park's body (park.c has the protocol), inline for the hot waits (channels): a
 * switch made fewer calls deep costs fewer mispredicted returns when the task resumes.
 *
 * Direct hand-off: when the task woken last on this worker waits in the next-task
 * slot, switch straight to it instead of through the scheduler, which would pick it
 * anyway. Message passing between two tasks then costs one switch per message, not
 * two. The parking task publishes after the switch (step 2 above). Not with a permit
 * pending (consumed below, no switch), nor with a lender chain (the scheduler must park
 * the lenders), nor past a streak of WEFT_PARK_DIRECT_MAX, so the local queue, timers
 * and I/O get their turn. */
static inline __attribute__((always_inline)) void weft__park_inline(weft_task *t)
{
    weft__worker *w = t->w;
    if (atomic_load_explicit(&w->next, memory_order_relaxed) &&
        w->direct_streak < WEFT_PARK_DIRECT_MAX && !t->lender &&
        atomic_load_explicit(&t->state, memory_order_relaxed) == WEFT_TS_ACTIVE) {
        weft_task *to = weft__take_next_direct(w);
        if (to) {
            weft__switch_direct(t, to, WEFT_XFER_PARK);
            return;
        }
    }
    int s = WEFT_TS_ACTIVE;
    if (WEFT_LIKELY(atomic_compare_exchange_strong(&t->state, &s, WEFT_TS_PARKING))) {
        weft__switch_out(t, WEFT_SW_PARK);
        return;
    }
    /* s == NOTIFIED: consume the permit (acquire: see what the waker published). */
    s = WEFT_TS_NOTIFIED;
    atomic_compare_exchange_strong(&t->state, &s, WEFT_TS_ACTIVE);
}

/* Step 6: before t registers to wait, lets the task in its worker's next-task slot run
 * while t stays runnable, under park_inline's conditions. True when it switched (t
 * should try its operation again before waiting); false when there was nothing to
 * switch to. */
static inline __attribute__((always_inline)) bool weft__yield_next(weft_task *t)
{
    weft__worker *w = t->w;
    if (!atomic_load_explicit(&w->next, memory_order_relaxed) ||
        w->direct_streak >= WEFT_PARK_DIRECT_MAX || t->lender ||
        atomic_load_explicit(&t->state, memory_order_relaxed) != WEFT_TS_ACTIVE)
        return false;
    weft_task *to = weft__take_next_direct(w);
    if (!to)
        return false;
    weft__switch_direct(t, to, WEFT_XFER_YIELD);
    return true;
}

/* A plain thread's wait on its futex (park.c). */
void weft__waiter_wait_thread(weft__waiter *w);

/* weft__waiter_wait's body, inline for the same reason. */
static inline __attribute__((always_inline)) int weft__waiter_wait_inline(weft__waiter *w)
{
    weft_task *t = w->task;
    if (!t) {
        weft__waiter_wait_thread(w);
        return 0;
    }
    bool armed = false;
    int rc;
    uint8_t reason = t->tr_reason; /* the caller's tag, consumed by every park */
    for (;;) {
        if (atomic_load_explicit(&w->fired, memory_order_acquire)) {
            rc = 0;
            break;
        }
        rc = weft__interrupted(t);
        if (rc)
            break;
        if (!armed && t->deadline != UINT64_MAX && !t->nointr) {
            weft__timer_arm(t->w, t, t->deadline);
            armed = true;
        }
        t->tr_reason = reason;
        weft__park_inline(t);
    }
    if (armed)
        weft__timer_disarm(t);
    return rc;
}

/* weft__schedule(t, true) for a caller that knows its worker w (a task reads its own
 * t->w; NULL from a plain thread): the woken task goes to w's next-task slot. Inline
 * for the channels' hand-over, which wakes a task per message. */
static inline __attribute__((always_inline)) void weft__schedule_lifo_on(weft__worker *w,
                                                                         weft_task *t)
{
    if (WEFT_UNLIKELY(!w)) {
        weft__schedule(t, true);
        return;
    }
    weft__lat_stamp(w, t); /* also weft__monitor_watch_next's check */
    weft__next_put(w, t);
}

/* Puts t in w's next-task slot (w is the caller's worker). */
static inline __attribute__((always_inline)) void weft__next_put(weft__worker *w, weft_task *t)
{
    /* t runs next; the one it displaces goes to the queue, where idle workers can
     * steal it, so tell them. An empty slot has nothing a thief could take, so a
     * plain release store fills it. */
    weft_task *prev = atomic_load_explicit(&w->next, memory_order_relaxed);
    if (WEFT_LIKELY(!prev)) {
        atomic_store_explicit(&w->next, t, memory_order_release);
        return;
    }
    prev = atomic_exchange_explicit(&w->next, t, memory_order_acq_rel);
    if (prev) {
        weft__runq_push(w, prev);
        weft__notify_parked();
    }
}

/* weft__waiter_fire (park.c) inline, for a waker that knows its worker w (see above):
 * the common case, a parked task, is one CAS and a store into w's next-task slot; every
 * other state goes through weft__unpark. */
static inline __attribute__((always_inline)) void weft__waiter_fire_on(weft__worker *w,
                                                                       weft__waiter *wt, int res)
{
    weft_task *t = wt->task; /* before `fired`: the waiter's memory may then be gone */
    if (WEFT_UNLIKELY(!t)) {
        weft__waiter_fire(wt, res); /* a plain thread: futex */
        return;
    }
    wt->res = res;
    /* release: the element copied for the waiter and res; the state RMW below (or in
     * weft__unpark) orders this store against the task's park (park.c) */
    atomic_store_explicit(&wt->fired, 1, memory_order_release);
    int s = WEFT_TS_PARKED;
    if (WEFT_LIKELY(!WEFT_TRACE_ON()) &&
        atomic_compare_exchange_strong(&t->state, &s, WEFT_TS_ACTIVE)) {
        weft__schedule_lifo_on(w, t);
        return;
    }
    weft__unpark(t);
}

#endif
