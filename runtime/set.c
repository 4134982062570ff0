/* weft — task sets (asyncio.as_completed, Tokio JoinSet), task groups (asyncio.TaskGroup)
 * and gather.
 *
 * A set owns its members' handles: a member's jstate is SET, so its finishing worker
 * calls weft__set_member_done instead of waking a joiner. Under the set's lock a member
 * moves from `pending` to the FIFO `done` list, one waiter of weft_set_next is fired,
 * and in a group a member's failure cancels every pending member. weft_set_next hands
 * out done members in completion order; their jstate is DONE, so weft_join on them frees
 * them without waiting.
 */
#include "runtime/internal.h"

#include <errno.h>

struct weft_set {
    weft__spin lock;
    weft_task *pending; /* doubly linked through snext/sprev */
    weft_task *done_head, *done_tail;
    size_t npending, ndone;
    weft__waitq waiters;
    bool group;
    int failed; /* a group's first failure */
};

static weft_set *set_new(bool group)
{
    weft_set *s = weft__calloc(1, sizeof *s);
    if (s)
        s->group = group;
    return s;
}

weft_set *weft_set_new(void)
{
    return set_new(false);
}
weft_set *weft_set_new_group(void)
{
    return set_new(true);
}

size_t weft_set_len(const weft_set *s)
{
    weft_set *m = (weft_set *)s;
    weft__spin_lock(&m->lock);
    size_t n = m->npending + m->ndone;
    weft__spin_unlock(&m->lock);
    return n;
}

static void pending_link(weft_set *s, weft_task *t)
{
    t->sprev = NULL;
    t->snext = s->pending;
    if (s->pending)
        s->pending->sprev = t;
    s->pending = t;
    s->npending++;
}

static void done_append(weft_set *s, weft_task *t)
{
    t->qnext = NULL;
    if (s->done_tail)
        s->done_tail->qnext = t;
    else
        s->done_head = t;
    s->done_tail = t;
    s->ndone++;
}

void weft__set_adopt_new(weft_set *s, weft_task *t)
{
    weft__spin_lock(&s->lock);
    t->set = s;
    atomic_store_explicit(&t->jstate, WEFT_J_SET, memory_order_relaxed);
    if (s->failed)
        atomic_store_explicit(&t->cancelled, true, memory_order_relaxed);
    pending_link(s, t);
    weft__spin_unlock(&s->lock);
}

weft_task *weft_set_spawn(weft_set *s, weft_fn fn, void *arg)
{
    return s ? weft__spawn(fn, arg, s) : NULL;
}

int weft_set_add(weft_set *s, weft_task *t)
{
    if (!s || !t)
        return -EINVAL;
    weft__spin_lock(&s->lock);
    t->set = s;
    uintptr_t exp = WEFT_J_NONE;
    /* release: the finisher that exchanges jstate sees t->set */
    if (atomic_compare_exchange_strong(&t->jstate, &exp, WEFT_J_SET)) {
        pending_link(s, t);
        if (s->failed)
            weft_cancel(t);
    } else if (exp == WEFT_J_DONE) {
        done_append(s, t);
        weft__waiter *w = weft__waitq_pop(&s->waiters);
        if (w)
            weft__waiter_fire(w, 0);
    } else {
        weft__spin_unlock(&s->lock);
        return -EINVAL; /* joined, detached or in another set */
    }
    weft__spin_unlock(&s->lock);
    return 0;
}

static bool is_failure(int status)
{
    return status != 0 && status != -ECANCELED;
}

void weft__set_member_done(weft_task *t)
{
    weft_set *s = t->set;
    weft__spin_lock(&s->lock);
    if (t->sprev)
        t->sprev->snext = t->snext;
    else
        s->pending = t->snext;
    if (t->snext)
        t->snext->sprev = t->sprev;
    s->npending--;
    done_append(s, t);
    if (s->group && is_failure(t->status) && !s->failed) {
        s->failed = t->status;
        for (weft_task *m = s->pending; m; m = m->snext)
            weft_cancel(m);
    }
    weft__waiter *w = weft__waitq_pop(&s->waiters);
    if (w)
        weft__waiter_fire(w, 0);
    weft__spin_unlock(&s->lock);
}

int weft_set_next(weft_set *s, weft_task **out)
{
    if (!s || !out)
        return -EINVAL;
    weft_task *self = weft__task_self();
    weft__spin_lock(&s->lock);
    for (;;) {
        weft_task *t = s->done_head;
        if (t) {
            s->done_head = t->qnext;
            if (!s->done_head)
                s->done_tail = NULL;
            s->ndone--;
            t->set = NULL;
            weft__spin_unlock(&s->lock);
            *out = t;
            return 0;
        }
        if (s->npending == 0) {
            weft__spin_unlock(&s->lock);
            return -ENOENT;
        }
        int rc = self ? weft__interrupted(self) : 0;
        if (rc) {
            weft__spin_unlock(&s->lock);
            return rc;
        }
        weft__waiter wt = {.task = self};
        weft__waitq_push(&s->waiters, &wt);
        weft__spin_unlock(&s->lock);
        weft__trace_waiter(&wt, WEFT_TR_JOIN);
        rc = weft__waiter_wait(&wt);
        weft__spin_lock(&s->lock);
        if (!atomic_load(&wt.fired))
            weft__waitq_remove(&s->waiters, &wt);
        else if (rc && s->done_head && s->waiters.head)
            weft__waiter_fire(weft__waitq_pop(&s->waiters), 0); /* pass the wake on */
        if (rc) {
            weft__spin_unlock(&s->lock);
            return rc;
        }
    }
}

void weft_set_cancel(weft_set *s)
{
    if (!s)
        return;
    weft__spin_lock(&s->lock);
    for (weft_task *m = s->pending; m; m = m->snext)
        weft_cancel(m);
    weft__spin_unlock(&s->lock);
}

int weft_set_join_all(weft_set *s)
{
    if (!s)
        return -EINVAL;
    weft_task *self = weft__task_self();
    bool outer = self ? self->nointr : false;
    int first = 0, intr = 0;
    for (;;) {
        weft_task *t;
        int rc = weft_set_next(s, &t);
        if (rc == -ENOENT)
            break;
        if (rc) { /* the caller was cancelled or timed out: cancel, then keep joining */
            intr = rc;
            weft_set_cancel(s);
            self->nointr = true;
            continue;
        }
        int st = weft_join(t, NULL);
        if (st && !first && !s->group)
            first = st;
    }
    if (self)
        self->nointr = outer;
    if (intr)
        return intr;
    return s->group ? s->failed : first;
}

int weft_set_free(weft_set *s)
{
    if (!s)
        return 0;
    weft_set_cancel(s);
    weft_task *self = weft__task_self();
    bool outer = self ? self->nointr : false;
    if (self)
        self->nointr = true;
    int rc = weft_set_join_all(s);
    if (self)
        self->nointr = outer;
    weft__free(s, sizeof *s);
    return rc;
}

/* Registers one countdown on tasks[0..k) and waits until all have finished: one park
 * for the lot instead of one per task. Returns k (registration stops at a handle that
 * is not joinable; the caller joins the rest one by one) and, in *intr, the caller's
 * interruption if it had one (the tasks were then cancelled and still waited for). */
static size_t gather_wait(weft_task *self, weft_task *const *tasks, size_t n, int *intr)
{
    weft__countdown cd = {.w = {.task = self}};
    atomic_init(&cd.pending, n + 1); /* +1: our own guard, dropped after registering */
    size_t k = 0;
    for (; k < n; k++) {
        uintptr_t exp = WEFT_J_NONE;
        if (atomic_compare_exchange_strong(&tasks[k]->jstate, &exp, (uintptr_t)&cd | WEFT_J_COUNT))
            continue;
        if (exp != WEFT_J_DONE)
            break; /* already joined, detached or in a set */
        atomic_fetch_sub(&cd.pending, 1);
    }
    /* Tasks never registered count as finished. */
    if (atomic_fetch_sub(&cd.pending, 1 + (n - k)) == 1 + (n - k))
        return k;
    weft__trace_waiter(&cd.w, WEFT_TR_JOIN);
    int rc = weft__waiter_wait(&cd.w);
    if (rc) {
        *intr = rc;
        for (size_t i = 0; i < k; i++)
            weft_cancel(tasks[i]);
        bool outer = self->nointr;
        self->nointr = true;
        weft__trace_waiter(&cd.w, WEFT_TR_JOIN);
        weft__waiter_wait(&cd.w);
        self->nointr = outer;
    }
    return k;
}

int weft_gather(weft_task *const *tasks, size_t n, void **results)
{
    if (!tasks && n)
        return -EINVAL;
    weft_task *self = weft__task_self();
    int first = 0, intr = 0;
    size_t i = 0;
    if (self && n > 1) {
        size_t k = gather_wait(self, tasks, n, &intr);
        for (; i < k; i++) { /* all DONE: joining frees without waiting */
            int rc = weft_join(tasks[i], results ? &results[i] : NULL);
            if (rc && !first)
                first = rc;
        }
        if (intr) /* the rest, if any, are cancelled too */
            for (size_t j = k; j < n; j++)
                weft_cancel(tasks[j]);
    }
    bool outer = self ? self->nointr : false;
    if (intr)
        self->nointr = true;
    for (; i < n; i++) {
        int rc = weft_join(tasks[i], results ? &results[i] : NULL);
        if (rc && !first)
            first = rc;
        if (self && !self->nointr && weft__interrupted(self)) {
            /* Cancelled while gathering: cancel the rest, still join them all. */
            for (size_t j = i + 1; j < n; j++)
                weft_cancel(tasks[j]);
            self->nointr = true;
        }
    }
    if (self)
        self->nointr = outer;
    return intr ? intr : first;
}
