/* weft — once (sync.Once / pthread_once), with retry when the function fails.
 *
 * State word: NEW (0), RUNNING (1), DONE (2). Protocol (sync/internal.h has the
 * common waiter steps):
 *  1. An acquire load that sees DONE returns at once.
 *  2. A caller that CASes NEW → RUNNING runs fn outside any lock. Afterwards it takes the
 *     spinlock, stores DONE (release; or NEW when fn failed), moves every waiter to a
 *     private list (claimed), unlocks and fires them.
 *  3. Others take the spinlock and re-read: DONE → return; NEW → go back to step 2;
 *     RUNNING → queue and sleep. Woken, they go round again from step 1: after a
 *     failure one of them wins the CAS and runs fn itself.
 *  4. A cancelled waiter: unclaimed, it unlinks itself; claimed, it goes round again as
 *     if woken (and, being cancelled, returns its interruption unless fn is done).
 */
#include "sync/internal.h"

enum { NEW = 0, RUNNING = 1, DONE = 2 };

typedef struct once {
    _Atomic uint32_t state;
    weft__spin lock;
    weft__waitq q;
} once;
_Static_assert(sizeof(once) <= sizeof(weft_once), "weft_once storage too small");
_Static_assert(_Alignof(once) <= _Alignof(weft_once), "weft_once alignment");

static inline once *O(weft_once *o)
{
    return (once *)(void *)o;
}

bool weft_once_done(const weft_once *o)
{
    return atomic_load_explicit(&O((weft_once *)o)->state, memory_order_acquire) == DONE;
}

static int run(once *x, int (*fn)(void *), void *arg)
{
    int rc = fn(arg);
    weft__waitq all = {0};
    weft__spin_lock(&x->lock);
    /* release: fn's effects for every caller that later sees DONE */
    atomic_store_explicit(&x->state, rc < 0 ? NEW : DONE, memory_order_release);
    weft__sw_claim_all(&x->q, &all);
    weft__spin_unlock(&x->lock);
    weft__sw_fire_all(&all, 0);
    return rc < 0 ? rc : 0;
}

int weft_once_call(weft_once *o, int (*fn)(void *), void *arg)
{
    once *x = O(o);
    weft_task *self = weft__task_self();
    for (;;) {
        uint32_t s = atomic_load_explicit(&x->state, memory_order_acquire);
        if (s == DONE)
            return 0;
        /* acquire: a failed earlier run's effects, for the retry */
        if (s == NEW && atomic_compare_exchange_strong_explicit(
                            &x->state, &s, RUNNING, memory_order_acquire, memory_order_acquire))
            return run(x, fn, arg);
        if (s == DONE)
            return 0;
        if (s == NEW)
            continue;
        if (self) {
            int rc = weft__interrupted(self);
            if (rc)
                return rc;
        }
        weft__sw sw;
        weft__sw_init(&sw, 0);
        weft__spin_lock(&x->lock);
        if (atomic_load_explicit(&x->state, memory_order_relaxed) != RUNNING) {
            weft__spin_unlock(&x->lock);
            continue;
        }
        weft__waitq_push(&x->q, &sw.w);
        weft__spin_unlock(&x->lock);
        weft__trace_waiter(&sw.w, WEFT_TR_LOCK);
        int rc = weft__waiter_wait(&sw.w);
        if (rc == 0)
            continue;
        weft__spin_lock(&x->lock); /* step 4 */
        if (sw.claimed) {
            weft__spin_unlock(&x->lock);
            weft__waiter_await_fire(&sw.w);
            if (weft_once_done(o))
                return 0;
            return rc;
        }
        weft__waitq_remove(&x->q, &sw.w);
        weft__spin_unlock(&x->lock);
        return rc;
    }
}
