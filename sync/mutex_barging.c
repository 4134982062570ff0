/* weft — the default mode of weft_mutex, barging: Go's sync.Mutex design on weft's
 * waiters (weft_mutex_init_fifo selects the strict hand-off mode instead). mutex.c has the FIFO
 * hand-off mode; both modes share the inline fast paths in sync.h: lock sets LOCKED with one CAS
 * when it is clear (even with waiters queued: barging), unlock clears it with one CAS when QUEUED
 * is clear or WOKEN is set (step 2's cheap case).
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
 *  7. Gathering (WEFT_GATHER; sync/chan.c step 11 does the same for channels). Tasks on
 *     several workers that take one mutex often pass its cache line between the cores
 *     at every acquisition; the line's transfer (~100 ns, MX_LINE_NS) then costs more
 *     than the second core gains. With a per-task cost of a between acquisitions
 *     (the critical section and the work around it) and n workers busy with them, the
 *     mutex is taken about n / (a + MX_LINE_NS) times a ns spread out and 1 / a times
 *     gathered on one core: one core does better when a < MX_LINE_NS / (n - 1), which
 *     is when the mutex is taken more than once per MX_LINE_NS / (n - 1) ns. So the
 *     measure is the mutex's acquisition rate, which its state word counts (bits 3-31,
 *     one add in the inline fast path's CAS, no other cost there). A lock call that
 *     finds the mutex held on a multi-worker runtime (the slow path) opens a window in
 *     the task for this mutex, recording the clock and the count, or counts itself in
 *     it; the call after MX_WINDOW of them compares the acquisitions since the window
 *     opened with the time: more frequent than the bound, and the task moves, before
 *     it tries again, to the mutex's home worker (the first decider's). Tasks that
 *     work between
 *     acquisitions leave the mutex free most of the time, rarely enter the slow path,
 *     and when they do the rate is below the bound: they stay spread (test_sync
 *     mutex_work_stays_spread). The bound needs all n workers taking the mutex, so
 *     on many workers only a very hot mutex gathers. A preempted vCPU or a suspension
 *     inside a window only makes its rate lower.
 */
#include "sync/internal.h"

enum { LOCKED = 1, QUEUED = 2, WOKEN = 4, SPIN_TRIES = 64 };
enum { OWNED = 0, RETRY = 1 };
enum {
    MX_WINDOW = 7,      /* contended calls counted in a window (bits 0-2 of mx_win); the
                         * next one decides */
    MX_LINE_NS = 100,   /* a cache line's move between cores, about (step 7) */
    MX_CLOCK_SHIFT = 6, /* windows' clock in 64 ns units ... */
    MX_TIME_BITS = 24,  /* ... in the low 24 bits of mx_t0 (~1.07 s), ... */
};
/* ... under 8 bits that tag the mutex the window counts (a window is per mutex). */
#define MX_TIME_MASK ((1u << MX_TIME_BITS) - 1)
static inline uint32_t mx_tag(const weft__mutex *x)
{
    return (uint32_t)(((uint64_t)(uintptr_t)x * 0x9e3779b97f4a7c15ull) >> 56) << MX_TIME_BITS;
}

/* For tests: step 7's windows completed so far in this process. */
static _Atomic uint64_t gather_windows;
WEFT_API uint64_t weft__mutex_gather_windows(void);
uint64_t weft__mutex_gather_windows(void)
{
    return atomic_load_explicit(&gather_windows, memory_order_relaxed);
}

/* Step 7: a lock call of task t found x held (state word s) on a multi-worker
 * runtime. Counts the call in t's window; the window's last call moves t to the
 * mutex's home when the mutex was taken often enough. */
static __attribute__((noinline)) void gather(weft__mutex *x, weft_task *t, uint32_t s)
{
    unsigned mode = weft__rt_cur->gather;
    if (mode == WEFT_GATHER_OFF)
        return;
    uint32_t now = (uint32_t)(weft_now() >> MX_CLOCK_SHIFT) & MX_TIME_MASK, tag = mx_tag(x);
    unsigned calls = t->mx_win & MX_FLAGS;
    if (calls == 0 || (t->mx_t0 & ~MX_TIME_MASK) != tag) {
        /* A new window, also when the open one counts another mutex (a tag that
         * matches by chance, 1 in 256, makes one meaningless decision). */
        t->mx_t0 = tag | now;
        t->mx_win = (s & ~MX_FLAGS) | 1u;
        return;
    }
    if (calls < MX_WINDOW) {
        t->mx_win++;
        return;
    }
    /* Acquisitions since the window opened (modulo 2^29: a wrapped count only looks
     * lower) against the time (a window over ~1 s wraps: rates that low do not
     * matter, and a task that contends so rarely seldom moves). */
    uint32_t taken = ((s & ~MX_FLAGS) - (t->mx_win & ~MX_FLAGS)) / MX_COUNT;
    uint32_t elapsed = (now - t->mx_t0) & MX_TIME_MASK;
    t->mx_win = 0;
    atomic_fetch_add_explicit(&gather_windows, 1, memory_order_relaxed);
    unsigned n = weft__rt_cur->nworkers;
    /* More often than once per MX_LINE_NS / (n - 1) ns (step 7). */
    if (mode != WEFT_GATHER_ALWAYS &&
        (uint64_t)elapsed * (n - 1) << MX_CLOCK_SHIFT >= (uint64_t)taken * MX_LINE_NS)
        return;
    unsigned me = t->w->index;
    uint32_t h = atomic_load_explicit(&x->home1, memory_order_relaxed);
    /* No home yet, or one from an earlier runtime with more workers: here. After our
     * CAS h keeps the old, invalid value, so we stay. */
    while ((h == 0 || h > n) && !atomic_compare_exchange_weak(&x->home1, &h, me + 1))
        ;
    if (h != 0 && h <= n && h - 1 != me)
        weft__migrate(t, h - 1);
}

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
        if (atomic_compare_exchange_weak_explicit(&x->state, &s, ((s & ~clr) + MX_COUNT) | LOCKED,
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
        gather(x, self, atomic_load_explicit(&x->state, memory_order_relaxed));
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
            uint32_t to = s & LOCKED ? (s & ~clr) | QUEUED : ((s & ~clr) + MX_COUNT) | LOCKED;
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
            /* stays LOCKED: handed over, a new acquisition */
            to = (x->q.head->next ? s : s & ~QUEUED) + MX_COUNT;
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
