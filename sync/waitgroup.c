/* weft — wait group (Go's sync.WaitGroup).
 *
 * Protocol (sync/internal.h has the common waiter steps):
 *  1. add: one CAS on the counter (refusing to go below 0). The add that brings it to 0
 *     then takes the spinlock and fires every queued waiter (claimed, fired after the
 *     unlock).
 *  2. wait: an acquire load; 0 returns at once. Otherwise the waiter takes the
 *     spinlock, re-reads the counter there and queues only if it is still non-zero.
 *     The zeroing add takes the same lock after its CAS, so either the waiter sees 0
 *     or the add sees the waiter.
 *  3. A cancelled waiter: unclaimed, it unlinks itself; claimed, the counter reached 0
 *     for it and wait returns 0.
 */
#include "sync/internal.h"

typedef struct wg {
    _Atomic int64_t n;
    weft__spin lock;
    weft__waitq q;
} wg;
_Static_assert(sizeof(wg) <= sizeof(weft_waitgroup), "weft_waitgroup storage too small");
_Static_assert(_Alignof(wg) <= _Alignof(weft_waitgroup), "weft_waitgroup alignment");

static inline wg *G(weft_waitgroup *g)
{
    return (wg *)(void *)g;
}

void weft_waitgroup_init(weft_waitgroup *g)
{
    wg *x = G(g);
    atomic_init(&x->n, 0);
    atomic_init(&x->lock.locked, 0);
    x->q.head = x->q.tail = NULL;
}

void weft_waitgroup_destroy(weft_waitgroup *g)
{
    WEFT_ASSERT(!G(g)->q.head);
}

int weft_waitgroup_add(weft_waitgroup *g, int64_t delta)
{
    wg *x = G(g);
    int64_t n = atomic_load_explicit(&x->n, memory_order_relaxed);
    for (;;) {
        if (delta < 0 ? n < -delta : n > INT64_MAX - delta)
            return -EINVAL;
        /* acq_rel: done()s publish the work they finished (release), and the zeroing
         * add passes all of it on to the waiters it fires (acquire) */
        if (atomic_compare_exchange_weak_explicit(&x->n, &n, n + delta, memory_order_acq_rel,
                                                  memory_order_relaxed))
            break;
    }
    if (n + delta != 0 || delta == 0)
        return 0;
    weft__waitq all = {0};
    weft__spin_lock(&x->lock);
    weft__sw_claim_all(&x->q, &all);
    weft__spin_unlock(&x->lock);
    weft__sw_fire_all(&all, 0);
    return 0;
}

int weft_waitgroup_done(weft_waitgroup *g)
{
    return weft_waitgroup_add(g, -1);
}

int64_t weft_waitgroup_count(const weft_waitgroup *g)
{
    return atomic_load_explicit(&G((weft_waitgroup *)g)->n, memory_order_relaxed);
}

int weft_waitgroup_wait(weft_waitgroup *g)
{
    wg *x = G(g);
    /* acquire: the work of every done() before the counter reached 0 */
    if (atomic_load_explicit(&x->n, memory_order_acquire) == 0)
        return 0;
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    weft__sw sw;
    weft__sw_init(&sw, 0);
    weft__spin_lock(&x->lock);
    if (atomic_load_explicit(&x->n, memory_order_acquire) == 0) {
        weft__spin_unlock(&x->lock);
        return 0;
    }
    /* Step 3: on an error sw is unlinked and the lock is held */
    int rc = weft__sw_sleep(&x->lock, &x->q, &sw);
    if (rc == 0)
        return 0;
    weft__spin_unlock(&x->lock);
    return rc;
}
