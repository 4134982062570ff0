/* weft — the default mode of weft_mutex, barging: Go's sync.Mutex design on weft's
 * waiters (weft_mutex_init_fifo selects the strict hand-off mode instead). mutex.c has the FIFO hand-off mode; both modes share the
 * inline fast paths in sync.h: lock sets LOCKED with one CAS when it is clear (even
 * with waiters queued: barging), unlock clears it with one CAS when QUEUED is clear or
 * WOKEN is set (step 2's cheap case).
 *
 * State bits: LOCKED (held), QUEUED (the queue may hold waiters), WOKEN (a waiter was
 * woken to compete and has not yet taken the mutex or re-queued). Protocol:
 *  1. lock: a task that finds LOCKED clear takes the mutex with a CAS setting it, even
 *     when waiters are queued (barging). Otherwise, after a short spin on a
 *     multi-worker runtime, it takes the spinlock, re-checks, CASes QUEUED in while
 *     LOCKED is still set, queues at the tail and sleeps.
 *  2. unlock with QUEUED set and WOKEN clear takes the spinlock and looks at the first
 *     waiter. A starving one (step 4) is popped and handed the mutex: the word stays
 *     LOCKED and it returns owning it. Otherwise the waiter is popped and fired with
 *     RETRY, and the same CAS clears LOCKED and sets WOKEN. With WOKEN already set (a
 *     competitor is on its way) or QUEUED clear, unlock is one CAS clearing LOCKED.
 *  3. A waiter fired with RETRY competes: LOCKED clear → it takes the mutex and clears
 *     WOKEN in one CAS. LOCKED set → under the spinlock it re-queues at the head (it keeps
 *     its place) clearing WOKEN and setting QUEUED in one CAS; the holder's unlock then
 *     sees QUEUED without WOKEN and wakes it again (step 2).
 *  4. A waiter that re-queues after waiting WEFT_MUTEX_STARVE_NS since it first queued
 *     marks itself starving; the next unlock hands it the mutex directly (step 2), so
 *     bargers can overtake a waiter for about that long, never forever.
 *  5. QUEUED is set and cleared only under the spinlock; LOCKED and WOKEN change by CAS
 *     anywhere, so every change of the word is a CAS loop.
 *  6. Cancellation (sync/internal.h step 3): an unclaimed waiter unlinks itself (QUEUED
 *     cleared when the queue emptied). A claimed one that was handed the mutex keeps it
 *     (lock returns 0). A claimed one that was only told RETRY owns the WOKEN bit: it
 *     clears it and, if the mutex is free with waiters queued, wakes the next waiter
 *     itself, since no unlock may come to do it.
 */
#include "sync/internal.h"

enum { LOCKED = 1, QUEUED = 2, WOKEN = 4, SPIN_TRIES = 64 };
enum { OWNED = 0, RETRY = 1 };

/* CAS loop: new = (s & ~clr) | set. Returns the old value. acq_rel: a set LOCKED
 * acquires the previous holder's writes; a cleared one releases ours. */
static uint32_t update(weft__mutex *x, uint32_t clr, uint32_t set)
{
    uint32_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&x->state, &s, (s & ~clr) | set,
                                                  memory_order_acq_rel, memory_order_relaxed))
        ;
    return s;
}

/* Takes the mutex if LOCKED is clear (clearing `clr` too). */
static bool try_take(weft__mutex *x, uint32_t clr)
{
    uint32_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    while (!(s & LOCKED))
        /* acquire: the previous holder's critical section */
        if (atomic_compare_exchange_weak_explicit(&x->state, &s, (s & ~clr) | LOCKED,
                                                  memory_order_acquire, memory_order_relaxed))
            return true;
    return false;
}

/* Step 6 for a waiter told RETRY that gives up: drop WOKEN; wake the next waiter when
 * the mutex is free (a holder's unlock will do it otherwise). */
static void pass_on(weft__mutex *x)
{
    uint32_t s = update(x, WOKEN, 0) & ~WOKEN;
    if ((s & LOCKED) || !(s & QUEUED))
        return;
    weft__sw *w = NULL;
    weft__spin_lock(&x->lock);
    s = atomic_load_explicit(&x->state, memory_order_relaxed);
    if (!(s & (LOCKED | WOKEN)) && (w = weft__sw_pop(&x->q)))
        update(x, x->q.head ? 0 : QUEUED, WOKEN);
    weft__spin_unlock(&x->lock);
    if (w)
        weft__waiter_fire(&w->w, RETRY);
}

int weft__mutex_lock_barging(weft__mutex *x)
{
    if (try_take(x, 0))
        return 0;
    weft_task *self = weft__task_self();
    if (self && weft__rt_cur && weft__rt_cur->nworkers > 1) {
        for (int i = 0; i < SPIN_TRIES; i++) {
            if (try_take(x, 0))
                return 0;
            __builtin_ia32_pause();
        }
    }
    if (try_take(x, 0))
        return 0;
    weft__sw sw;
    weft__sw_init(&sw, 0);
    bool woken = false; /* we hold the WOKEN bit (step 3) */
    for (;;) {
        int rc = self ? weft__interrupted(self) : 0;
        if (rc) {
            if (woken)
                pass_on(x);
            return rc;
        }
        weft__spin_lock(&x->lock);
        uint32_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
        uint32_t clr = woken ? WOKEN : 0;
        bool took = false;
        for (;;) { /* step 1 / step 3 */
            uint32_t to = s & LOCKED ? (s & ~clr) | QUEUED : (s & ~clr) | LOCKED;
            if (atomic_compare_exchange_weak_explicit(&x->state, &s, to, memory_order_acquire,
                                                      memory_order_relaxed)) {
                took = !(s & LOCKED);
                break;
            }
        }
        if (took) {
            weft__spin_unlock(&x->lock);
            return 0;
        }
        if (!woken) {
            sw.since = weft_now();
            weft__waitq_push(&x->q, &sw.w);
        } else {
            /* Step 4, then back to the head (step 3). */
            if (!sw.starving && weft_now() - sw.since >= WEFT_MUTEX_STARVE_NS)
                sw.starving = true;
            sw.w.next = x->q.head;
            sw.w.prev = NULL;
            if (x->q.head)
                x->q.head->prev = &sw.w;
            else
                x->q.tail = &sw.w;
            x->q.head = &sw.w;
        }
        sw.claimed = false;
        atomic_store_explicit(&sw.w.fired, 0, memory_order_relaxed);
        weft__spin_unlock(&x->lock);

        weft__trace_waiter(&sw.w, WEFT_TR_LOCK);
        rc = weft__waiter_wait(&sw.w);
        if (rc) {
            weft__spin_lock(&x->lock); /* step 6 */
            if (!sw.claimed) {
                weft__waitq_remove(&x->q, &sw.w);
                if (!x->q.head)
                    update(x, QUEUED, 0);
                weft__spin_unlock(&x->lock);
                return rc;
            }
            weft__spin_unlock(&x->lock);
            weft__waiter_await_fire(&sw.w);
        }
        if (sw.w.res == OWNED)
            return 0; /* handed over (step 2); kept even when interrupted */
        woken = true;
        if (rc) {
            pass_on(x);
            return rc;
        }
        if (try_take(x, WOKEN))
            return 0;
    }
}

void weft__mutex_unlock_barging(weft__mutex *x)
{
    uint32_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    for (;;) {
        if (!(s & LOCKED))
            weft__panic("weft_mutex_unlock: mutex %p is not locked", (void *)x);
        if ((s & QUEUED) && !(s & WOKEN))
            break;
        /* release: our critical section before the next holder's acquire */
        if (atomic_compare_exchange_weak_explicit(&x->state, &s, s & ~LOCKED, memory_order_release,
                                                  memory_order_relaxed))
            return;
    }
    weft__spin_lock(&x->lock); /* step 2 */
    weft__sw *w = NULL;
    int res = RETRY;
    for (;;) {
        s = atomic_load_explicit(&x->state, memory_order_relaxed);
        weft__sw *h = (weft__sw *)x->q.head;
        uint32_t to;
        if (h && h->starving) {
            to = x->q.head->next ? s : s & ~QUEUED; /* stays LOCKED: handed over */
            res = OWNED;
        } else if (h && !(s & WOKEN)) {
            to = (s & ~LOCKED) | WOKEN;
            if (!x->q.head->next)
                to &= ~QUEUED;
            res = RETRY;
        } else {
            to = s & ~LOCKED;
            if (!h)
                to &= ~QUEUED;
            h = NULL;
        }
        /* release: as in the fast path (a hand-off is ordered by the fire instead) */
        if (atomic_compare_exchange_strong_explicit(&x->state, &s, to, memory_order_release,
                                                    memory_order_relaxed)) {
            if (h)
                w = weft__sw_pop(&x->q);
            break;
        }
    }
    weft__spin_unlock(&x->lock);
    if (w)
        weft__waiter_fire(&w->w, res);
}
