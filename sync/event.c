/* weft — event: a flag tasks wait for (asyncio.Event).
 *
 * Protocol (sync/internal.h has the common waiter steps):
 *  1. wait: one acquire load; a set flag returns at once.
 *  2. Otherwise the waiter takes the spinlock, re-reads the flag there, and queues only
 *     while it is clear.
 *  3. set: stores the flag (release) under the spinlock, moves every queued waiter to a
 *     private list (claimed), unlocks and fires them. Since waiters re-check under the
 *     same lock, each either saw the flag or is in the list: no wake-up is lost.
 *  4. clear: a plain release store; waiters already claimed by a set stay woken.
 *  5. A cancelled waiter: unclaimed, it unlinks itself and returns the interruption;
 *     claimed, the set happened for it and wait returns 0.
 */
#include "sync/internal.h"

typedef struct event {
    _Atomic uint32_t set;
    weft__spin lock;
    weft__waitq q;
} event;
_Static_assert(sizeof(event) <= sizeof(weft_event), "weft_event storage too small");
_Static_assert(_Alignof(event) <= _Alignof(weft_event), "weft_event alignment");

static inline event *E(weft_event *e)
{
    return (event *)(void *)e;
}

void weft_event_init(weft_event *e)
{
    event *x = E(e);
    atomic_init(&x->set, 0);
    atomic_init(&x->lock.locked, 0);
    x->q.head = x->q.tail = NULL;
}

void weft_event_destroy(weft_event *e)
{
    WEFT_ASSERT(!E(e)->q.head);
}

void weft_event_set(weft_event *e)
{
    event *x = E(e);
    weft__waitq all = {0};
    weft__spin_lock(&x->lock);
    /* release: what the setter did before, for waiters that see the flag (step 1) */
    atomic_store_explicit(&x->set, 1, memory_order_release);
    weft__sw_claim_all(&x->q, &all);
    weft__spin_unlock(&x->lock);
    weft__sw_fire_all(&all, 0);
}

void weft_event_clear(weft_event *e)
{
    atomic_store_explicit(&E(e)->set, 0, memory_order_release);
}

bool weft_event_is_set(const weft_event *e)
{
    /* acquire: a caller that sees it set may read what the setter published */
    return atomic_load_explicit(&E((weft_event *)e)->set, memory_order_acquire) != 0;
}

int weft_event_wait(weft_event *e)
{
    event *x = E(e);
    if (atomic_load_explicit(&x->set, memory_order_acquire))
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
    if (atomic_load_explicit(&x->set, memory_order_acquire)) {
        weft__spin_unlock(&x->lock);
        return 0;
    }
    /* Step 5: on an error sw is unlinked and the lock is held */
    int rc = weft__sw_sleep(&x->lock, &x->q, &sw);
    if (rc == 0)
        return 0;
    weft__spin_unlock(&x->lock);
    return rc;
}

/* For tests: waiters queued now. */
WEFT_API size_t weft__event_waiters(weft_event *o);
size_t weft__event_waiters(weft_event *o)
{
    return weft__sw_count(&E(o)->lock, &E(o)->q);
}
