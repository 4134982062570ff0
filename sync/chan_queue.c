/* weft — asyncio.Queue's task_done / join on channels.
 *
 * The count of unfinished elements is never stored: it is (elements ever accepted) −
 * ndone. Ring channels already count their pushes in the tail ticket, and everything
 * else (hand-overs, locked stores) is counted in nlocked under the lock, so sends and
 * receives pay nothing for it; only task_done and join touch ndone.
 *
 * Protocol:
 *  1. task_done raises ndone with a CAS (seq_cst) that refuses to pass the sends
 *     (-EINVAL), then reads njoinw (seq_cst). join queues its waiter and counts it in
 *     njoinw (seq_cst) under the lock, then re-reads the count. Either task_done sees
 *     the joiner, or the joiner sees the last task_done.
 *  2. A task_done (or an immediate shutdown's drop) that brings the count to zero
 *     takes the lock, re-checks, and fires every joiner with 0.
 *  3. An interrupted joiner re-takes the lock: unfired, it leaves the queue; fired, the
 *     join stands (0).
 */
#include "sync/chan_internal.h"

static inline uint64_t unfinished(weft_chan *c)
{
    return weft__chan_sends(c) - atomic_load(&c->ndone);
}

void weft__chan_wake_joiners(weft_chan *c)
{
    if (!atomic_load(&c->njoinw))
        return;
    weft__waitq all = {0};
    weft__waiter *w;
    weft__spin_lock(&c->lock);
    if (unfinished(c) == 0) {
        all = c->joinq;
        c->joinq = (weft__waitq){0};
        atomic_store(&c->njoinw, 0);
        for (w = all.head; w; w = w->next)
            w->queued = false; /* claimed: fired below, after the unlock */
    }
    weft__spin_unlock(&c->lock);
    while ((w = weft__waitq_pop(&all)))
        weft__waiter_fire(w, 0);
}

int weft_chan_task_done(weft_chan *c)
{
    uint64_t d = atomic_load(&c->ndone);
    do {
        if (d >= weft__chan_sends(c))
            return -EINVAL; /* more task_done calls than elements (ValueError) */
    } while (!atomic_compare_exchange_weak(&c->ndone, &d, d + 1));
    if (d + 1 == weft__chan_sends(c))
        weft__chan_wake_joiners(c);
    return 0;
}

size_t weft_chan_unfinished(const weft_chan *c)
{
    return (size_t)unfinished((weft_chan *)c);
}

int weft_chan_join(weft_chan *c)
{
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    if (unfinished(c) == 0)
        return 0;
    weft__waiter w = {.task = self};
    weft__spin_lock(&c->lock);
    weft__waitq_push(&c->joinq, &w);
    w.queued = true;
    atomic_fetch_add(&c->njoinw, 1);
    if (unfinished(c) == 0) {
        weft__waitq_remove(&c->joinq, &w);
        weft__count_down(&c->njoinw);
        weft__spin_unlock(&c->lock);
        return 0;
    }
    weft__spin_unlock(&c->lock);
    weft__trace_waiter(&w, WEFT_TR_CHAN);
    int rc = weft__waiter_wait(&w);
    if (!rc)
        return 0;
    weft__spin_lock(&c->lock);
    bool queued = w.queued;
    if (queued) {
        weft__waitq_remove(&c->joinq, &w);
        weft__count_down(&c->njoinw);
    }
    weft__spin_unlock(&c->lock);
    if (queued)
        return rc;
    weft__waiter_await_fire(&w); /* claimed by a waker that fires after its unlock */
    return 0;
}
