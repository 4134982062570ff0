/* weft sync/ — what the lock-like primitives (mutex.c, rwlock.c, sem.c, event.c, cond.c,
 * barrier.c, waitgroup.c, once.c) share: a waiter record that a waker can claim, and
 * the way an interrupted waiter leaves its queue.
 *
 * Protocol shared by every primitive (each file adds its own state word):
 *  1. Waiters queue in FIFO order on a weft__waitq guarded by the object's weft__spin,
 *     and only after re-checking the object's state under that lock.
 *  2. A waker pops a waiter under the lock, marks it `claimed` there, applies the
 *     hand-off to the object's state (the waiter now owns the lock / unit / wake-up),
 *     drops the lock and only then fires the waiter (no unpark inside the spinlock).
 *  3. An interrupted waiter (weft__waiter_wait returned -ECANCELED/-ETIMEDOUT) retakes
 *     the lock: unclaimed, it unlinks itself and the object is fixed up as if it had
 *     never queued; claimed, the hand-off already happened, so it waits the few
 *     instructions until the waker's fire and keeps what it was given (the call
 *     succeeds; the cancel stays pending for the next suspension). Nothing is lost or
 *     given twice, and the waiter's stack record is never touched after it returns.
 */
#ifndef WEFT_SYNC_INTERNAL_H
#define WEFT_SYNC_INTERNAL_H

#include "runtime/internal.h"
#include "weft/sync.h"

#include <sched.h>

typedef struct weft__sw {
    weft__waiter w;
    bool claimed;   /* under the object's lock: a waker popped it and will fire it */
    bool starving;  /* barging mutex: waited too long, gets the next hand-off */
    int kind;       /* per primitive (rwlock: reader or writer) */
    uint64_t since; /* barging mutex: when it first queued */
} weft__sw;

static inline void weft__sw_init(weft__sw *sw, int kind)
{
    sw->w.task = weft__task_self();
    atomic_init(&sw->w.fired, 0);
    sw->w.res = 0;
    sw->w.elem = NULL;
    sw->w.next = sw->w.prev = NULL;
    sw->claimed = false;
    sw->starving = false;
    sw->kind = kind;
    sw->since = 0;
}

/* Under the lock (step 2): pops the first waiter, claimed, or NULL. */
static inline weft__sw *weft__sw_pop(weft__waitq *q)
{
    weft__sw *sw = (weft__sw *)weft__waitq_pop(q);
    if (sw)
        sw->claimed = true;
    return sw;
}

/* Under the lock (step 2): claims every waiter of q and moves it to the private list
 * `all`, to be fired after the unlock with weft__sw_fire_all. */
static inline void weft__sw_claim_all(weft__waitq *q, weft__waitq *all)
{
    weft__sw *w;
    while ((w = weft__sw_pop(q)))
        weft__waitq_push(all, &w->w);
}

/* Steps 1-3 for a waiter the caller decided to queue, with `l` held: queues sw on q,
 * drops l and waits. 0 when a waker handed it what it waited for (also when the wait
 * was interrupted after the hand-off: step 3's claimed case), l not held. Otherwise the
 * interruption (-ECANCELED, -ETIMEDOUT), with sw unlinked and l HELD, so the caller can
 * fix its state word up as if the waiter had never queued, then unlock. */
static inline int weft__sw_sleep(weft__spin *l, weft__waitq *q, weft__sw *sw)
{
    weft__waitq_push(q, &sw->w);
    weft__spin_unlock(l);
    weft__trace_waiter(&sw->w, WEFT_TR_LOCK);
    int rc = weft__waiter_wait(&sw->w);
    if (rc == 0)
        return 0;
    weft__spin_lock(l);
    if (sw->claimed) {
        weft__spin_unlock(l);
        weft__waiter_await_fire(&sw->w); /* the waker is between its unlock and its fire */
        return 0;
    }
    weft__waitq_remove(q, &sw->w);
    return rc;
}

/* Fires every waiter of a private list built from claimed waiters (after unlock). */
static inline void weft__sw_fire_all(weft__waitq *list, int res)
{
    weft__waiter *w;
    while ((w = weft__waitq_pop(list)))
        weft__waiter_fire(w, res);
}

/* Waiters queued now (tests: weft__<type>_waiters, exported for them only). */
static inline size_t weft__sw_count(weft__spin *l, const weft__waitq *q)
{
    size_t n = 0;
    weft__spin_lock(l);
    for (const weft__waiter *w = q->head; w; w = w->next)
        n++;
    weft__spin_unlock(l);
    return n;
}

/* The mutex (mutex_barging.c: the default, Go's design; mutex.c: the strict FIFO
 * hand-off mode and the entry points of both). */
typedef struct weft__mutex {
    /* Bits 0-2 the mode's flags; bits 3-31 count acquisitions (modulo 2^29), for
     * mutex_barging.c step 7: every CAS that sets LOCKED adds MX_COUNT, every other
     * change keeps them. */
    _Atomic uint32_t state;
    uint32_t fifo; /* weft_mutex_init_fifo / WEFT_MUTEX_FIFO_INIT */
    weft__spin lock;
    /* The worker tasks gather on (mutex_barging.c step 7), plus 1; 0: none yet
     * (WEFT_MUTEX_INIT zeroes it). */
    _Atomic uint32_t home1;
    weft__waitq q;
} weft__mutex;
enum { MX_FLAGS = 7u, MX_COUNT = 8u };
int weft__mutex_lock_barging(weft__mutex *x);
void weft__mutex_unlock_barging(weft__mutex *x);

#endif
