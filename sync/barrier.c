/* weft — cyclic barrier (asyncio.Barrier without abort/reset).
 *
 * Protocol (sync/internal.h has the common waiter steps), all under the spinlock:
 *  1. An arriving task counts itself. If it is not the last, it queues and sleeps.
 *  2. The last arrival moves the queued waiters (claimed) to a private list, resets the
 *     count for the next generation, unlocks, and fires them with their index in
 *     arrival order (0, 1, ...); it returns parties-1 itself without suspending.
 *     A new generation can fill up while the previous one is still being woken: the
 *     queue and the count already belong to it.
 *  3. A cancelled waiter: unclaimed, it unlinks itself and withdraws its arrival
 *     (count - 1), so the generation needs another party; claimed, its generation
 *     completed and wait returns its index.
 */
#include "sync/internal.h"

typedef struct barrier {
    uint32_t parties; /* first: WEFT_BARRIER_INIT */
    uint32_t count;   /* arrivals in the current generation */
    weft__spin lock;
    weft__waitq q;
} barrier;
_Static_assert(sizeof(barrier) <= sizeof(weft_barrier), "weft_barrier storage too small");
_Static_assert(_Alignof(barrier) <= _Alignof(weft_barrier), "weft_barrier alignment");
_Static_assert(offsetof(barrier, parties) == 0, "WEFT_BARRIER_INIT layout (little-endian)");

static inline barrier *B(weft_barrier *b)
{
    return (barrier *)(void *)b;
}

int weft_barrier_init(weft_barrier *b, unsigned parties)
{
    if (parties == 0 || parties > (1u << 31))
        return -EINVAL;
    barrier *x = B(b);
    x->parties = parties;
    x->count = 0;
    atomic_init(&x->lock.locked, 0);
    x->q.head = x->q.tail = NULL;
    return 0;
}

void weft_barrier_destroy(weft_barrier *b)
{
    WEFT_ASSERT(!B(b)->q.head);
}

int weft_barrier_wait(weft_barrier *b)
{
    barrier *x = B(b);
    weft_task *self = weft__task_self();
    weft__spin_lock(&x->lock);
    if (x->count + 1 == x->parties) { /* step 2 */
        weft__waitq all = {0};
        weft__sw_claim_all(&x->q, &all);
        x->count = 0;
        weft__spin_unlock(&x->lock);
        int i = 0;
        weft__waiter *ww;
        while ((ww = weft__waitq_pop(&all)))
            weft__waiter_fire(ww, i++);
        return i;
    }
    if (self) {
        int rc = weft__interrupted(self);
        if (rc) {
            weft__spin_unlock(&x->lock);
            return rc;
        }
    }
    weft__sw sw;
    weft__sw_init(&sw, 0);
    x->count++;
    weft__waitq_push(&x->q, &sw.w);
    weft__spin_unlock(&x->lock);
    weft__trace_waiter(&sw.w, WEFT_TR_LOCK);
    int rc = weft__waiter_wait(&sw.w);
    if (rc == 0)
        return sw.w.res;
    weft__spin_lock(&x->lock); /* step 3 */
    if (sw.claimed) {
        weft__spin_unlock(&x->lock);
        return weft__waiter_await_fire(&sw.w);
    }
    weft__waitq_remove(&x->q, &sw.w);
    x->count--;
    weft__spin_unlock(&x->lock);
    return rc;
}
