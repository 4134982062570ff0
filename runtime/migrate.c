/* weft — moving a running task to a chosen worker (task migration).
 *
 * The scheduler places tasks where they are woken (the waker's next slot) or where a
 * thief takes them; neither knows which tasks share data. A caller that does know
 * moves the running task with weft__migrate: sync/chan.c for tasks on several cores
 * fighting over one channel, and users through weft_move_to.
 *  1. The task records the target and switches out with WEFT_SW_MIGRATE; run_task,
 *     once the context is saved, pushes it onto the target's inbox.
 *  2. The inbox is a LIFO stack pushed with one CAS (any thread) and taken whole with
 *     one exchange by the owner, which moves it into its local queue in find_work, or
 *     by a thief when the owner is stuck in one task (idle.c), so a migrated task stays
 *     stealable like every other runnable task.
 *  3. Waking the target: the pusher's CAS, then its read of `parked` (both seq_cst),
 *     against park()'s store of `parked`, then its look at the inbox (idle.c step 3):
 *     either the pusher sees the worker parked and wakes it, or the worker sees the
 *     task. A searching worker looks at its inbox on every round.
 */
#include "runtime/internal.h"

#include <errno.h>

void weft__migrate(weft_task *t, unsigned to)
{
    weft__worker *w = t->w;
    if (to == w->index || to >= weft__rt_cur->nworkers)
        return; /* already there */
    w->migrate_to = to;
    weft__switch_out(t, WEFT_SW_MIGRATE);
}

int weft_move_to(unsigned worker)
{
    weft_task *t = weft__task_self();
    if (!t)
        return -EPERM;
    if (worker >= weft__rt_cur->nworkers)
        return -EINVAL;
    int rc = weft__interrupted(t);
    if (rc)
        return rc;
    weft__migrate(t, worker);
    return 0;
}

void weft__inbox_push(weft__worker *to, weft_task *t)
{
    weft_task *head = atomic_load_explicit(&to->inbox, memory_order_relaxed);
    do
        t->qnext = head;
    while (!atomic_compare_exchange_weak(&to->inbox, &head, t)); /* seq_cst: step 3 */
    if (atomic_load(&to->parked) && atomic_exchange(&to->parked, false)) {
        atomic_fetch_sub(&weft__rt_cur->nparked, 1);
        weft__worker_wake(to);
    }
}

/* Queues every task of the list on w but the oldest, which it returns; *count: how
 * many the list held. */
static weft_task *queue_list(weft__worker *w, weft_task *t, uint64_t *count)
{
    /* The stack holds the newest first: reverse it so they run in arrival order. */
    weft_task *rev = NULL;
    uint64_t k = 0;
    while (t) {
        weft_task *n = t->qnext;
        t->qnext = rev;
        rev = t;
        t = n;
        k++;
    }
    *count = k;
    weft_task *first = rev;
    for (t = rev->qnext; t;) {
        weft_task *n = t->qnext;
        t->qnext = NULL;
        weft__runq_push(w, t);
        t = n;
    }
    first->qnext = NULL;
    return first;
}

weft_task *weft__inbox_take(weft__worker *w)
{
    /* acquire: the tasks' saved contexts, published by the pushers' CAS */
    weft_task *t = atomic_exchange_explicit(&w->inbox, NULL, memory_order_acquire);
    if (!t)
        return NULL;
    uint64_t n;
    t = queue_list(w, t, &n);
    atomic_store_explicit(&w->moved_in_at, weft_now(), memory_order_relaxed);
    if (n > 1 && !weft__packing(weft__rt_cur)) /* packed on purpose: idle.c step 7 */
        weft__notify_parked();
    return t;
}

weft_task *weft__inbox_steal(weft__worker *w, weft__worker *v)
{
    weft_task *t = atomic_exchange_explicit(&v->inbox, NULL, memory_order_acquire);
    if (!t)
        return NULL;
    atomic_fetch_add_explicit(&w->n_steals, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&v->n_stolen, 1, memory_order_relaxed);
    WEFT_TRACE(WEFT_EV_STEAL, 0, v->index, 0, 1, 0);
    uint64_t n;
    return queue_list(w, t, &n);
}
