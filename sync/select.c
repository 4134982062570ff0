/* weft — select over channel operations: exactly one case completes.
 *
 * A waiting select queues one record per case on its channel's send or receive queue,
 * next to plain waiters, and sleeps on one waiter of its own (weft__selgrp.w). All
 * records point at one state word that decides who owns the select.
 *
 * Protocol:
 *  1. Try every case once without suspending, from a random start (fairness, like Go).
 *     One completes → done. None, and timeout 0 → -EAGAIN (the default case).
 *  2. Set state = WAITING and queue every record (each under its channel's lock, counted
 *     in the channel's waiter count with a seq_cst RMW as a plain waiter is).
 *  3. CAS WAITING → SELF, then try every case again (the registrant's re-check of the
 *     channel protocol's step 1). While SELF, a channel that pops one of our records
 *     cannot claim us: it marks the state POKED and moves on to its next waiter, so no
 *     element is handed to us while we may be taking another one ourselves.
 *     A case completes → unqueue the records, done. None → CAS SELF → WAITING; if that
 *     fails we were POKED: something changed on a channel while we looked, so unqueue
 *     and start again at 2. (If the first CAS fails, a channel already claimed us: 5.)
 *  4. Sleep. A channel that pops a record claims the select under its lock with a CAS
 *     WAITING → case index; only the winner hands an element over (copying it under its
 *     lock) and fires our waiter with 0, the closed error, or RETRY ("try again").
 *     Records of a select that is taken are dropped by whoever pops them.
 *  5. Woken, unqueue every record (the winner's is already out). 0 or an error: that
 *     case completed. RETRY: try again from 1; if another case or an interruption ends
 *     the select, the RETRY is passed on to that channel's next waiter (as the channel
 *     protocol's step 4 does), so a wake-up meant for some waiter is never lost.
 *  6. Interrupted (cancel, deadline, timeout): CAS WAITING → GONE. If it fails a channel
 *     won the race: wait (uninterruptibly, it is a few instructions away) for its fire
 *     and take the outcome as in 5; an element handed over is kept.
 *  7. The select returns only after every record is out of every queue and, when a
 *     channel claimed it, after that channel fired it: no channel touches its stack
 *     afterwards.
 */
#include "sync/chan_internal.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A per-thread xorshift; noinline so no caller keeps the thread-local address across
 * a suspension (a task may move to another worker). */
static __attribute__((noinline)) uint32_t rand_next(void)
{
    static _Thread_local uint32_t x;
    if (!x)
        x = (uint32_t)(weft_now() ^ (uintptr_t)&x) | 1;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

static inline bool is_send(const weft_select_case *k)
{
    return k->op == WEFT_SELECT_SEND;
}

/* Step 1: the index of the case that completed (its result stored), or -1. A case we
 * were told RETRY for (*pass) that finds nothing needs no passing on any more. */
static int try_all(weft_select_case *cases, size_t n, size_t start, int *pass, weft_task *self)
{
    size_t i = start;
    for (size_t k = 0; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
        if (!cases[i].chan)
            continue;
        int rc = weft__chan_try_op(cases[i].chan, is_send(&cases[i]), cases[i].elem, self);
        if (rc != -EAGAIN) {
            cases[i].result = rc;
            return (int)i;
        }
        if ((int)i == *pass)
            *pass = -1;
    }
    return -1;
}

static void dequeue_all(weft_select_case *cases, size_t n, weft__waiter *recs)
{
    for (size_t i = 0; i < n; i++)
        if (cases[i].chan)
            weft__chan_dequeue(cases[i].chan, is_send(&cases[i]), &recs[i]);
}

static void futex_wait(_Atomic uint32_t *addr, const struct timespec *ts)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, 0, ts, NULL, 0);
}

/* Step 4. 0 when fired, else the interruption. */
static int sleep_on(weft__waiter *w, uint64_t deadline)
{
    if (w->task) {
        weft__trace_waiter(w, WEFT_TR_CHAN);
        return weft__waiter_wait(w); /* the timeout is a deadline scope */
    }
    for (;;) {
        if (atomic_load(&w->fired))
            return 0;
        struct timespec ts, *tp = NULL;
        if (deadline != UINT64_MAX) {
            uint64_t now = weft_now();
            if (now >= deadline)
                return -ETIMEDOUT;
            ts.tv_sec = (time_t)((deadline - now) / WEFT_NS_PER_SEC);
            ts.tv_nsec = (long)((deadline - now) % WEFT_NS_PER_SEC);
            tp = &ts;
        }
        futex_wait(&w->fired, tp);
    }
}

/* Step 6: a channel claimed us and is about to fire. */
static void wait_fired(weft__waiter *w)
{
    /* acquire: the element copied in and res */
    while (!atomic_load_explicit(&w->fired, memory_order_acquire)) {
        if (w->task) {
            weft__trace_reason(w->task, WEFT_TR_CHAN);
            weft__park(w->task);
        } else {
            futex_wait(&w->fired, NULL);
        }
    }
}

static int select_wait(weft_select_case *cases, size_t n, size_t start, uint64_t timeout_ns,
                       weft_task *self)
{
    weft__waiter recs[n ? n : 1];
    weft__selgrp g = {.w = {.task = self}};
    weft_timeout scope;
    uint64_t deadline = UINT64_MAX;
    if (timeout_ns != WEFT_SELECT_FOREVER) {
        if (self)
            weft_timeout_enter(&scope, timeout_ns);
        else
            deadline =
                timeout_ns < UINT64_MAX - weft_now() ? weft_now() + timeout_ns : UINT64_MAX - 1;
    }
    int pass = -1, ret;
    for (;;) {
        /* Step 2. The stores are published by each channel lock's release. */
        atomic_store_explicit(&g.state, WEFT_SEL_WAITING, memory_order_relaxed);
        atomic_store_explicit(&g.w.fired, 0, memory_order_relaxed);
        for (size_t i = 0; i < n; i++) {
            if (!cases[i].chan)
                continue;
            recs[i] = (weft__waiter){.elem = cases[i].elem, .sel = &g, .idx = (unsigned)i};
            weft__chan_enqueue(cases[i].chan, is_send(&cases[i]), &recs[i]);
        }
        /* Step 3. */
        int s = WEFT_SEL_WAITING, intr = 0;
        if (atomic_compare_exchange_strong(&g.state, &s, WEFT_SEL_SELF)) {
            int i = try_all(cases, n, start, &pass, self);
            if (i >= 0) {
                dequeue_all(cases, n, recs);
                ret = i;
                break;
            }
            s = WEFT_SEL_SELF;
            if (!atomic_compare_exchange_strong(&g.state, &s, WEFT_SEL_WAITING)) {
                dequeue_all(cases, n, recs); /* POKED: look again */
                continue;
            }
            intr = sleep_on(&g.w, deadline); /* step 4 */
            if (intr) {                      /* step 6 */
                s = WEFT_SEL_WAITING;
                if (atomic_compare_exchange_strong(&g.state, &s, WEFT_SEL_GONE)) {
                    dequeue_all(cases, n, recs);
                    ret = intr;
                    break;
                }
                wait_fired(&g.w);
            }
        } else {
            wait_fired(&g.w);
        }
        /* Step 5: a channel claimed us for case idx. */
        dequeue_all(cases, n, recs);
        int idx = atomic_load_explicit(&g.state, memory_order_relaxed);
        int res = g.w.res;
        if (res != WEFT__RETRY) {
            cases[idx].result = res;
            ret = idx;
            break;
        }
        pass = idx;
        if (intr) {
            ret = intr;
            break;
        }
        int i = try_all(cases, n, start, &pass, self);
        if (i >= 0) {
            ret = i;
            break;
        }
    }
    if (pass >= 0 && pass != ret)
        weft__chan_pass(cases[pass].chan, is_send(&cases[pass]));
    if (timeout_ns != WEFT_SELECT_FOREVER && self)
        (void)weft_timeout_exit(&scope);
    return ret;
}

int weft_select(weft_select_case *cases, size_t n, uint64_t timeout_ns)
{
    if (n > WEFT_SELECT_MAX || (n && !cases))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        const weft_select_case *k = &cases[i];
        if (k->chan && ((k->op != WEFT_SELECT_SEND && k->op != WEFT_SELECT_RECV) || !k->elem))
            return -EINVAL;
    }
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    size_t start = n > 1 ? rand_next() % n : 0;
    int pass = -1;
    int i = try_all(cases, n, start, &pass, self);
    if (i >= 0)
        return i;
    if (timeout_ns == 0)
        return -EAGAIN;
    return select_wait(cases, n, start, timeout_ns, self);
}
