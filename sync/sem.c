/* weft — counting semaphore, optionally bounded, with FIFO hand-off.
 *
 * State word v: v >= 0 is the number of free units with nobody queued; v == WAITING
 * (-1) means no free unit and the queue may hold waiters. Protocol (sync/internal.h has
 * the common waiter steps):
 *  1. acquire: one CAS v → v-1 when v > 0 (acquire). release: one CAS v → v+1 when
 *     v >= 0 (release), refused with -EOVERFLOW above the bound. Neither touches the
 *     spinlock.
 *  2. An acquirer that finds v == 0 takes the spinlock and re-reads: v > 0 → it takes a
 *     unit by CAS; v == 0 → it CASes to WAITING; WAITING → it queues and sleeps.
 *  3. WAITING is only left under the spinlock (the fast paths expect v >= 0), so
 *     spinlock holders store it plainly.
 *  4. release with WAITING: under the spinlock, pop the first waiter and give it the
 *     unit directly (v stays WAITING if more wait, else 0). With nobody queued any more,
 *     v becomes 1 (checked against the bound). A unit therefore never sits free while
 *     someone is queued, and a newcomer cannot overtake the queue.
 *  5. A cancelled waiter: unclaimed, it unlinks itself (WAITING → 0 when the queue
 *     emptied); claimed, it owns the unit and acquire returns 0.
 */
#include "sync/internal.h"

#define WAITING INT64_C(-1)

typedef struct sem {
    _Atomic int64_t v;
    int64_t max; /* bound on v; 0 = unbounded (INT64_MAX) */
    weft__spin lock;
    weft__waitq q;
} sem;
_Static_assert(sizeof(sem) <= sizeof(weft_sem), "weft_sem storage too small");
_Static_assert(_Alignof(sem) <= _Alignof(weft_sem), "weft_sem alignment");
_Static_assert(offsetof(sem, v) == 0 && offsetof(sem, max) == 8, "WEFT_SEM_INIT layout");

static inline sem *S(weft_sem *s)
{
    return (sem *)(void *)s;
}

static inline int64_t bound(const sem *x)
{
    return x->max ? x->max : INT64_MAX;
}

static int init(weft_sem *s, int64_t value, int64_t max)
{
    sem *x = S(s);
    atomic_init(&x->v, value);
    x->max = max;
    atomic_init(&x->lock.locked, 0);
    x->q.head = x->q.tail = NULL;
    return 0;
}

int weft_sem_init(weft_sem *s, int64_t value)
{
    return value < 0 ? -EINVAL : init(s, value, 0);
}

int weft_sem_init_bounded(weft_sem *s, int64_t value)
{
    return value < 1 ? -EINVAL : init(s, value, value);
}

void weft_sem_destroy(weft_sem *s)
{
    WEFT_ASSERT(!S(s)->q.head);
}

int weft_sem_tryacquire(weft_sem *s)
{
    sem *x = S(s);
    int64_t v = atomic_load_explicit(&x->v, memory_order_relaxed);
    while (v > 0) {
        /* acquire: what the releaser did before handing the unit back */
        if (atomic_compare_exchange_weak_explicit(&x->v, &v, v - 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return 0;
    }
    return -EAGAIN;
}

static int acquire_slow(sem *x)
{
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    weft__sw sw;
    weft__sw_init(&sw, 0);
    weft__spin_lock(&x->lock);
    int64_t v = atomic_load_explicit(&x->v, memory_order_relaxed);
    for (;;) { /* step 2 */
        if (v == WAITING)
            break;
        int64_t to = v > 0 ? v - 1 : WAITING;
        if (atomic_compare_exchange_weak_explicit(&x->v, &v, to, memory_order_acquire,
                                                  memory_order_relaxed)) {
            if (to != WAITING) {
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
    if (!x->q.head)
        atomic_store_explicit(&x->v, 0, memory_order_relaxed);
    weft__spin_unlock(&x->lock);
    return rc;
}

int weft_sem_acquire(weft_sem *s)
{
    sem *x = S(s);
    int64_t v = atomic_load_explicit(&x->v, memory_order_relaxed);
    if (WEFT_LIKELY(v > 0) && atomic_compare_exchange_strong_explicit(
                                  &x->v, &v, v - 1, memory_order_acquire, memory_order_relaxed))
        return 0;
    if (weft_sem_tryacquire(s) == 0)
        return 0;
    return acquire_slow(x);
}

int weft_sem_release(weft_sem *s)
{
    sem *x = S(s);
    int64_t v = atomic_load_explicit(&x->v, memory_order_relaxed);
    while (v >= 0) {
        if (v >= bound(x))
            return -EOVERFLOW;
        /* release: our use of the unit before the next acquirer's */
        if (atomic_compare_exchange_weak_explicit(&x->v, &v, v + 1, memory_order_release,
                                                  memory_order_relaxed))
            return 0;
    }
    weft__spin_lock(&x->lock); /* step 4 */
    v = atomic_load_explicit(&x->v, memory_order_relaxed);
    if (v != WAITING) {
        /* The last waiter left meanwhile: the word is back to >= 0. */
        weft__spin_unlock(&x->lock);
        return weft_sem_release(s);
    }
    weft__sw *w = weft__sw_pop(&x->q);
    int rc = 0;
    if (!w) {
        if (bound(x) < 1)
            rc = -EOVERFLOW;
        atomic_store_explicit(&x->v, rc ? 0 : 1, memory_order_release);
    } else if (!x->q.head) {
        atomic_store_explicit(&x->v, 0, memory_order_relaxed);
    }
    weft__spin_unlock(&x->lock);
    if (w)
        weft__waiter_fire(&w->w, 0);
    return rc;
}

int64_t weft_sem_value(const weft_sem *s)
{
    int64_t v = atomic_load_explicit(&S((weft_sem *)s)->v, memory_order_relaxed);
    return v > 0 ? v : 0;
}

static void guard_release(void *s)
{
    (void)weft_sem_release(s);
}

weft__guard weft__guard_sem(weft_sem *s, int *err)
{
    *err = weft_sem_acquire(s);
    return (weft__guard){.obj = *err ? NULL : s, .release = guard_release};
}

/* For tests: waiters queued now. */
WEFT_API size_t weft__sem_waiters(weft_sem *o);
size_t weft__sem_waiters(weft_sem *o)
{
    return weft__sw_count(&S(o)->lock, &S(o)->q);
}
