/* weft — condition variable bound to a weft_mutex at each wait (asyncio.Condition).
 *
 * Protocol (sync/internal.h has the common waiter steps):
 *  1. wait: queue the waiter under the condition's spinlock, then unlock the mutex, then
 *     sleep. A signal sent after the unlock finds the waiter queued, so none is missed
 *     between the unlock and the sleep.
 *  2. signal pops the first waiter (claimed), broadcast all of them; they are fired
 *     after the spinlock is dropped. Each signal wakes at most one waiter and a woken
 *     waiter consumed exactly one signal: there are no spurious wake-ups.
 *  3. A cancelled waiter: unclaimed, it unlinks itself and returns the interruption;
 *     claimed, the signal was meant for it and is consumed: wait returns 0, so the
 *     signal is not lost to the other waiters.
 *  4. In every case the mutex is re-taken before returning, with interruptions masked
 *     (t->nointr) so that a cancelled task still gets it back: callers always unlock.
 */
#include "sync/internal.h"

typedef struct cond {
    weft__spin lock;
    weft__waitq q;
} cond;
_Static_assert(sizeof(cond) <= sizeof(weft_cond), "weft_cond storage too small");
_Static_assert(_Alignof(cond) <= _Alignof(weft_cond), "weft_cond alignment");

static inline cond *C(weft_cond *c)
{
    return (cond *)(void *)c;
}

void weft_cond_init(weft_cond *c)
{
    cond *x = C(c);
    atomic_init(&x->lock.locked, 0);
    x->q.head = x->q.tail = NULL;
}

void weft_cond_destroy(weft_cond *c)
{
    WEFT_ASSERT(!C(c)->q.head);
}

/* Step 4. */
static void relock(weft_task *self, weft_mutex *m)
{
    bool outer = self ? self->nointr : false;
    if (self)
        self->nointr = true;
    int rc = weft_mutex_lock(m);
    WEFT_ASSERT(rc == 0);
    if (self)
        self->nointr = outer;
}

int weft_cond_wait(weft_cond *c, weft_mutex *m)
{
    cond *x = C(c);
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc; /* m is still held: nothing to re-take */
    }
    weft__sw sw;
    weft__sw_init(&sw, 0);
    weft__spin_lock(&x->lock);
    weft__waitq_push(&x->q, &sw.w);
    weft__spin_unlock(&x->lock);
    weft_mutex_unlock(m);
    weft__trace_waiter(&sw.w, WEFT_TR_LOCK);
    int rc = weft__waiter_wait(&sw.w);
    if (rc) {
        weft__spin_lock(&x->lock); /* step 3 */
        if (sw.claimed) {
            weft__spin_unlock(&x->lock);
            weft__waiter_await_fire(&sw.w);
            rc = 0;
        } else {
            weft__waitq_remove(&x->q, &sw.w);
            weft__spin_unlock(&x->lock);
        }
    }
    relock(self, m);
    return rc;
}

void weft_cond_signal(weft_cond *c)
{
    cond *x = C(c);
    weft__spin_lock(&x->lock);
    weft__sw *w = weft__sw_pop(&x->q);
    weft__spin_unlock(&x->lock);
    if (w)
        weft__waiter_fire(&w->w, 0);
}

void weft_cond_broadcast(weft_cond *c)
{
    cond *x = C(c);
    weft__waitq all = {0};
    weft__spin_lock(&x->lock);
    weft__sw_claim_all(&x->q, &all);
    weft__spin_unlock(&x->lock);
    weft__sw_fire_all(&all, 0);
}

/* For tests: waiters queued now. */
WEFT_API size_t weft__cond_waiters(weft_cond *o);
size_t weft__cond_waiters(weft_cond *o)
{
    return weft__sw_count(&C(o)->lock, &C(o)->q);
}
