/* weft — mutex: the strict FIFO hand-off mode (weft_mutex_init_fifo), and the entry
 * points that send the default mode to mutex_barging.c.
 *
 * State word, bits 0-2: UNLOCKED (0), LOCKED (1), CONTENDED (3: locked, and the queue
 * may hold waiters, so unlock must take the slow path). Bit 0 is "held" in both modes;
 * the barging mode (mutex_barging.c) adds bit 2. Bits 3-31 count acquisitions in both
 * modes (sync/internal.h); this mode never reads them, so every test below looks at
 * bits 0-2 (ST) and every change keeps the count (taking the mutex adds MX_COUNT).
 * Protocol (sync/internal.h has the common waiter steps):
 *  1. lock: one CAS UNLOCKED → LOCKED (acquire). unlock: one CAS LOCKED → UNLOCKED
 *     (release). Those are the only operations without the spinlock. Both are inline
 *     in sync.h, written for both modes: lock sets bit 0 when it is clear (here that
 *     means UNLOCKED), unlock clears it when bit 1 is clear (here: LOCKED).
 *  2. A locker that fails takes the spinlock and re-reads: UNLOCKED → it CASes to LOCKED
 *     and owns it; LOCKED → it CASes to CONTENDED; CONTENDED → it queues and sleeps.
 *     Marking CONTENDED before queueing makes the holder's fast unlock fail, so the
 *     holder always comes to the spinlock and finds the waiter.
 *  3. While CONTENDED the word only changes under the spinlock (both fast-path CASes
 *     expect another value), so spinlock holders may store it plainly.
 *  4. unlock slow path (CONTENDED): under the spinlock, pop the first waiter and hand it
 *     the mutex: the word stays locked (CONTENDED if more wait, else LOCKED) and the
 *     waiter returns owning it. With nobody queued (they all left), store UNLOCKED.
 *     UNLOCKED is reached only with an empty queue, so a newcomer never overtakes a
 *     queued waiter.
 *  5. A cancelled waiter leaves as sync/internal.h step 3 says: unclaimed, it unlinks
 *     itself (and turns CONTENDED back into LOCKED when the queue emptied); claimed, it
 *     owns the mutex and lock() returns 0.
 *  6. Before queueing, a locker on a multi-worker runtime spins briefly while the word
 *     is LOCKED (nobody queued), since the holder is then likely running elsewhere and
 *     about to unlock: a park/unpark round trip costs more than a short critical
 *     section. It never spins on CONTENDED, so queued waiters keep their FIFO turn.
 */
#include "sync/internal.h"

enum { UNLOCKED = 0, LOCKED = 1, CONTENDED = 3, SPIN_TRIES = 64 };

/* The flags of state word s, and s with its flags replaced by f. */
#define ST(s) ((s)&MX_FLAGS)
#define WITH(s, f) (((s) & ~MX_FLAGS) | (f))
/* s taken: LOCKED, the acquisition counted. */
#define TAKEN(s) WITH((s) + MX_COUNT, LOCKED)

typedef weft__mutex mutex;
_Static_assert(sizeof(mutex) <= sizeof(weft_mutex), "weft_mutex storage too small");
_Static_assert(_Alignof(mutex) <= _Alignof(weft_mutex), "weft_mutex alignment");
/* The header's inline fast paths CAS weft__state with __atomic builtins. */
_Static_assert(offsetof(mutex, state) == offsetof(weft_mutex, weft__state) &&
                   offsetof(mutex, fifo) == offsetof(weft_mutex, weft__priv0) &&
                   sizeof(_Atomic uint32_t) == sizeof(uint32_t),
               "weft_mutex state word");

static inline mutex *M(weft_mutex *m)
{
    return (mutex *)(void *)m;
}

void weft_mutex_init(weft_mutex *m)
{
    mutex *x = M(m);
    atomic_init(&x->state, UNLOCKED);
    x->fifo = 0;
    atomic_init(&x->lock.locked, 0);
    atomic_init(&x->home1, 0);
    x->q.head = x->q.tail = NULL;
}

void weft_mutex_init_fifo(weft_mutex *m)
{
    weft_mutex_init(m);
    M(m)->fifo = 1;
}

void weft_mutex_destroy(weft_mutex *m)
{
    mutex *x = M(m);
    WEFT_ASSERT(ST(atomic_load(&x->state)) == UNLOCKED && !x->q.head);
}

int weft_mutex_trylock(weft_mutex *m)
{
    if (!M(m)->fifo) {
        uint32_t s = atomic_load_explicit(&M(m)->state, memory_order_relaxed);
        while (!(s & LOCKED))
            if (atomic_compare_exchange_weak_explicit(&M(m)->state, &s, (s + MX_COUNT) | LOCKED,
                                                      memory_order_acquire, memory_order_relaxed))
                return 0;
        return -EBUSY;
    }
    uint32_t s = atomic_load_explicit(&M(m)->state, memory_order_relaxed);
    /* acquire: the critical section sees the previous holder's writes */
    while (ST(s) == UNLOCKED)
        if (atomic_compare_exchange_weak_explicit(&M(m)->state, &s, TAKEN(s), memory_order_acquire,
                                                  memory_order_relaxed))
            return 0;
    return -EBUSY;
}

static int lock_slow(mutex *x)
{
    weft_task *self = weft__task_self();
    /* Step 6. */
    if (self && weft__rt_cur && weft__rt_cur->nworkers > 1) {
        for (int i = 0; i < SPIN_TRIES; i++) {
            uint32_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
            if (ST(s) == CONTENDED)
                break;
            if (ST(s) == UNLOCKED &&
                atomic_compare_exchange_weak_explicit(&x->state, &s, TAKEN(s), memory_order_acquire,
                                                      memory_order_relaxed))
                return 0;
            __builtin_ia32_pause();
        }
    }
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    weft__sw sw;
    weft__sw_init(&sw, 0);
    weft__spin_lock(&x->lock);
    uint32_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    for (;;) { /* step 2 */
        if (ST(s) == CONTENDED)
            break;
        uint32_t to = ST(s) == UNLOCKED ? TAKEN(s) : WITH(s, CONTENDED);
        /* acquire (when taking it): as in trylock; the CAS to CONTENDED needs no order,
         * only its place in the word's modification order (step 2) */
        if (atomic_compare_exchange_weak_explicit(&x->state, &s, to, memory_order_acquire,
                                                  memory_order_relaxed)) {
            if (ST(to) == LOCKED) {
                weft__spin_unlock(&x->lock);
                return 0;
            }
            break;
        }
    }
    /* Step 5: on an error sw is unlinked and the lock is held. 0: handed over (step 4),
     * and the fire's release/acquire orders the data. */
    int rc = weft__sw_sleep(&x->lock, &x->q, &sw);
    if (rc == 0)
        return 0;
    if (!x->q.head) { /* step 3: CONTENDED is stable here */
        s = atomic_load_explicit(&x->state, memory_order_relaxed);
        atomic_store_explicit(&x->state, WITH(s, LOCKED), memory_order_relaxed);
    }
    weft__spin_unlock(&x->lock);
    return rc;
}

int weft__mutex_lock_slow(weft_mutex *m)
{
    mutex *x = M(m);
    if (!x->fifo)
        return weft__mutex_lock_barging(x);
    /* The fast path again, for callers without the inline one; a plain load first, so
     * that a contended line is not written to for nothing. */
    uint32_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    if (ST(s) == UNLOCKED &&
        atomic_compare_exchange_strong_explicit(&x->state, &s, TAKEN(s), memory_order_acquire,
                                                memory_order_relaxed))
        return 0;
    return lock_slow(x);
}

static void unlock_slow(mutex *x)
{
    weft__spin_lock(&x->lock);
    uint32_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    if (ST(s) == LOCKED) {
        /* The last waiter left between our failed CAS and here (step 5). */
        atomic_store_explicit(&x->state, WITH(s, UNLOCKED), memory_order_release);
        weft__spin_unlock(&x->lock);
        return;
    }
    if (ST(s) != CONTENDED)
        weft__panic("weft_mutex_unlock: mutex %p is not locked", (void *)x);
    weft__sw *w = weft__sw_pop(&x->q);
    /* Step 4. release on UNLOCKED: our critical section before the next fast lock. A
     * hand-off is an acquisition: it is counted. */
    if (!w)
        atomic_store_explicit(&x->state, WITH(s, UNLOCKED), memory_order_release);
    else
        atomic_store_explicit(&x->state, WITH(s + MX_COUNT, x->q.head ? CONTENDED : LOCKED),
                              memory_order_relaxed);
    weft__spin_unlock(&x->lock);
    if (w)
        weft__waiter_fire(&w->w, 0);
}

void weft__mutex_unlock_slow(weft_mutex *m)
{
    mutex *x = M(m);
    if (!x->fifo) {
        weft__mutex_unlock_barging(x);
        return;
    }
    uint32_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    /* release: the critical section's writes before the next holder's acquire */
    if (ST(s) == LOCKED &&
        atomic_compare_exchange_strong_explicit(&x->state, &s, WITH(s, UNLOCKED),
                                                memory_order_release, memory_order_relaxed))
        return;
    if (ST(s) == UNLOCKED)
        weft__panic("weft_mutex_unlock: mutex %p is not locked", (void *)x);
    unlock_slow(x);
}

bool weft_mutex_locked(const weft_mutex *m)
{
    /* bit 0 is "held" in both modes */
    return atomic_load_explicit(&M((weft_mutex *)m)->state, memory_order_relaxed) & LOCKED;
}

static void guard_unlock(void *m)
{
    weft_mutex_unlock(m);
}

weft__guard weft__guard_mutex(weft_mutex *m, int *err)
{
    *err = weft_mutex_lock(m);
    return (weft__guard){.obj = *err ? NULL : m, .release = guard_unlock};
}

/* For tests: waiters queued now. */
WEFT_API size_t weft__mutex_waiters(weft_mutex *o);
size_t weft__mutex_waiters(weft_mutex *o)
{
    return weft__sw_count(&M(o)->lock, &M(o)->q);
}
