/* weft — readers-writer lock with FIFO hand-off (writers do not starve).
 *
 * State word: bit 63 WAITERS (the queue may hold waiters; every release takes the slow
 * path), bit 62 WRITER (a writer holds it), bits 0..61 the number of readers holding
 * it. Protocol (sync/internal.h has the common waiter steps):
 *  1. Fast paths, one CAS each: rdlock s → s+1 when neither WRITER nor WAITERS;
 *     rdunlock s → s-1 when not WAITERS; wrlock 0 → WRITER; wrunlock WRITER → 0.
 *  2. A locker that fails takes the spinlock and re-reads: if it could take the lock
 *     (and nobody is queued) it CASes as in step 1; otherwise it CASes WAITERS in and
 *     queues, in FIFO order, readers and writers alike. A reader never passes a queued
 *     writer, so a stream of readers cannot starve writers.
 *  3. While WAITERS is set the word changes only under the spinlock (every fast-path
 *     CAS expects it clear), so spinlock holders recompute and store it plainly.
 *  4. grant(), under the spinlock after any release or departure: hand the lock to the
 *     head of the queue while possible — one writer when nobody holds it, or every
 *     reader up to the next writer when no writer holds it — counting them in the word
 *     before they run; then clear WAITERS when the queue emptied. Granted waiters
 *     (claimed) are fired after the unlock.
 *  5. A cancelled waiter: unclaimed, it unlinks itself and runs grant() (a departing
 *     writer at the head may unblock the readers behind it); claimed, it holds the lock
 *     and the call returns 0.
 */
#include "sync/internal.h"

#define WAITERS (UINT64_C(1) << 63)
#define WRITER (UINT64_C(1) << 62)
#define READERS (WRITER - 1)
enum { READ = 0, WRITE = 1 };

typedef struct rwlock {
    _Atomic uint64_t state;
    weft__spin lock;
    weft__waitq q;
} rwlock;
_Static_assert(sizeof(rwlock) <= sizeof(weft_rwlock), "weft_rwlock storage too small");
_Static_assert(_Alignof(rwlock) <= _Alignof(weft_rwlock), "weft_rwlock alignment");

static inline rwlock *L(weft_rwlock *l)
{
    return (rwlock *)(void *)l;
}

void weft_rwlock_init(weft_rwlock *l)
{
    rwlock *x = L(l);
    atomic_init(&x->state, 0);
    atomic_init(&x->lock.locked, 0);
    x->q.head = x->q.tail = NULL;
}

void weft_rwlock_destroy(weft_rwlock *l)
{
    rwlock *x = L(l);
    WEFT_ASSERT(atomic_load(&x->state) == 0 && !x->q.head);
}

/* Step 4, with the spinlock held and s the word (WAITERS may be set). Moves granted
 * waiters to *fire. */
static void grant(rwlock *x, uint64_t s, weft__waitq *fire)
{
    weft__waiter *h;
    while ((h = x->q.head)) {
        weft__sw *sw = (weft__sw *)h;
        if (sw->kind == WRITE) {
            if (s & (WRITER | READERS))
                break;
            s |= WRITER;
        } else {
            if (s & WRITER)
                break;
            s++;
        }
        weft__sw_pop(&x->q);
        weft__waitq_push(fire, h);
        if (sw->kind == WRITE)
            break;
    }
    s = x->q.head ? s | WAITERS : s & ~WAITERS;
    /* release: when WAITERS goes, the next fast-path CAS acquires what this release
     * (and the critical sections before it) wrote */
    atomic_store_explicit(&x->state, s, memory_order_release);
}

static int lock_slow(rwlock *x, int kind)
{
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    weft__sw sw;
    weft__sw_init(&sw, kind);
    weft__spin_lock(&x->lock);
    uint64_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    for (;;) { /* step 2 */
        if (s & WAITERS)
            break;
        bool can = kind == WRITE ? s == 0 : !(s & WRITER);
        uint64_t to = can ? (kind == WRITE ? WRITER : s + 1) : s | WAITERS;
        /* acquire when taking the lock; placement only when setting WAITERS */
        if (atomic_compare_exchange_weak_explicit(&x->state, &s, to, memory_order_acquire,
                                                  memory_order_relaxed)) {
            if (can) {
                weft__spin_unlock(&x->lock);
                return 0;
            }
            break;
        }
    }
    /* Step 5: on an error sw is unlinked and the lock is held */
    int rc = weft__sw_sleep(&x->lock, &x->q, &sw);
    if (rc == 0)
        return 0;
    weft__waitq fire = {0};
    grant(x, atomic_load_explicit(&x->state, memory_order_relaxed), &fire);
    weft__spin_unlock(&x->lock);
    weft__sw_fire_all(&fire, 0);
    return rc;
}

int weft_rwlock_tryrdlock(weft_rwlock *l)
{
    rwlock *x = L(l);
    uint64_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    while (!(s & (WRITER | WAITERS))) {
        if ((s & READERS) >= (UINT64_C(1) << 30))
            weft__panic("weft_rwlock: too many readers");
        /* acquire: the last writer's critical section */
        if (atomic_compare_exchange_weak_explicit(&x->state, &s, s + 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return 0;
    }
    return -EBUSY;
}

int weft_rwlock_trywrlock(weft_rwlock *l)
{
    uint64_t s = 0;
    return atomic_compare_exchange_strong_explicit(&L(l)->state, &s, WRITER, memory_order_acquire,
                                                   memory_order_relaxed)
               ? 0
               : -EBUSY;
}

int weft_rwlock_rdlock(weft_rwlock *l)
{
    if (WEFT_LIKELY(weft_rwlock_tryrdlock(l) == 0))
        return 0;
    return lock_slow(L(l), READ);
}

int weft_rwlock_wrlock(weft_rwlock *l)
{
    if (WEFT_LIKELY(weft_rwlock_trywrlock(l) == 0))
        return 0;
    return lock_slow(L(l), WRITE);
}

static void unlock_slow(rwlock *x, int kind)
{
    weft__waitq fire = {0};
    weft__spin_lock(&x->lock);
    uint64_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    if (kind == WRITE) {
        if (!(s & WRITER))
            weft__panic("weft_rwlock_wrunlock: not write-locked");
        s &= ~WRITER;
    } else {
        if (!(s & READERS) || (s & WRITER))
            weft__panic("weft_rwlock_rdunlock: not read-locked");
        s--;
    }
    grant(x, s, &fire);
    weft__spin_unlock(&x->lock);
    weft__sw_fire_all(&fire, 0);
}

void weft_rwlock_rdunlock(weft_rwlock *l)
{
    rwlock *x = L(l);
    uint64_t s = atomic_load_explicit(&x->state, memory_order_relaxed);
    while (!(s & WAITERS)) {
        if (!(s & READERS) || (s & WRITER))
            weft__panic("weft_rwlock_rdunlock: not read-locked");
        /* release: our reads are done before a writer's acquire */
        if (atomic_compare_exchange_weak_explicit(&x->state, &s, s - 1, memory_order_release,
                                                  memory_order_relaxed))
            return;
    }
    unlock_slow(x, READ);
}

void weft_rwlock_wrunlock(weft_rwlock *l)
{
    rwlock *x = L(l);
    uint64_t s = WRITER;
    /* release: the critical section before the next holder's acquire */
    if (WEFT_LIKELY(atomic_compare_exchange_strong_explicit(&x->state, &s, 0, memory_order_release,
                                                            memory_order_relaxed)))
        return;
    unlock_slow(x, WRITE);
}

static void guard_rdunlock(void *l)
{
    weft_rwlock_rdunlock(l);
}
static void guard_wrunlock(void *l)
{
    weft_rwlock_wrunlock(l);
}

weft__guard weft__guard_rdlock(weft_rwlock *l, int *err)
{
    *err = weft_rwlock_rdlock(l);
    return (weft__guard){.obj = *err ? NULL : l, .release = guard_rdunlock};
}

weft__guard weft__guard_wrlock(weft_rwlock *l, int *err)
{
    *err = weft_rwlock_wrlock(l);
    return (weft__guard){.obj = *err ? NULL : l, .release = guard_wrunlock};
}

/* For tests: waiters queued now. */
WEFT_API size_t weft__rwlock_waiters(weft_rwlock *o);
size_t weft__rwlock_waiters(weft_rwlock *o)
{
    return weft__sw_count(&L(o)->lock, &L(o)->q);
}
