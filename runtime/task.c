/* weft — tasks: spawn, join, detach, cancel, yield, and the finish protocol.
 *
 * Ownership: weft_spawn hands out one handle. Exactly one of join, detach, gather,
 * wait_for or a set consumes it. jstate records who is waiting:
 *   NONE → (joiner task | thread waiter | DETACHED) by the handle's owner (CAS), and
 *   anything → DONE by the finishing worker (exchange), which then wakes the joiner or
 *   frees a detached task. Whoever sees the other side's value acts; nothing is lost.
 *
 * Finish protocol (worker stack, after the task's last switch):
 *  1. status becomes -ECANCELED if the task was cancelled and did not report a failure;
 *  2. jstate ← DONE; a waiting joiner is woken, a detached task freed;
 *  3. a set member (jstate SET) is moved to its set's done list instead (set.c); nobody
 *     else may join or free it before weft_set_next hands it out.
 */
#include "runtime/internal.h"
#include "runtime/trace_hooks.h"

#include <errno.h>
#include <sched.h>

weft_task *weft__spawn(weft_fn fn, void *arg, weft_set *set)
{
    weft__rt *rt = weft__rt_cur;
    if (!rt || !fn)
        return NULL;
    weft__worker *w = weft__worker_self();
    weft_task *t = weft__task_alloc(w);
    if (!t)
        return NULL;
    t->sp = NULL;
    t->w = NULL;
    atomic_store_explicit(&t->cancelled, atomic_load_explicit(&rt->shutdown, memory_order_relaxed),
                          memory_order_relaxed);
    t->nointr = false;
    t->status = 0;
    t->saved_errno = 0;
    /* Relaxed atomic: the monitor thread may read fn of a reused task object. */
    __atomic_store_n(&t->fn, fn, __ATOMIC_RELAXED);
    t->arg = arg; /* result shares its word (internal.h) */
    t->stack = NULL;
    t->deadline = UINT64_MAX;
    t->timer = NULL;
    atomic_store_explicit(&t->jstate, WEFT_J_NONE, memory_order_relaxed);
    t->qnext = t->snext = t->sprev = NULL;
    t->set = NULL;
    t->wake_tsc = 0;
    if (WEFT_TRACE_ON())
        weft__trace_spawn_cold(w, t);
    t->lender = NULL;
    t->ch_ops = t->ch_fails = 0;
    weft__san_task_created(t);
    if (set)
        weft__set_adopt_new(set, t);
    /* The queue push below publishes every field written above (release). */
    atomic_store_explicit(&t->state, WEFT_TS_ACTIVE, memory_order_relaxed);
    if (w) {
        weft__runq_push(w, t);
        weft__notify_parked();
    } else {
        weft__inject_push(t);
        weft__notify_parked();
    }
    return t;
}

weft_task *weft_spawn(weft_fn fn, void *arg)
{
    return weft__spawn(fn, arg, NULL);
}

weft_task *weft_self(void)
{
    return weft__task_self();
}

bool weft_cancelled(void)
{
    weft_task *t = weft__task_self();
    return t && atomic_load_explicit(&t->cancelled, memory_order_relaxed);
}

void weft_fail(int err)
{
    weft_task *t = weft__task_self();
    if (t && err <= 0)
        t->status = err;
}

bool weft_done(const weft_task *t)
{
    return t &&
           atomic_load_explicit(&((weft_task *)t)->jstate, memory_order_acquire) == WEFT_J_DONE;
}

void weft_cancel(weft_task *t)
{
    if (!t)
        return;
    atomic_store_explicit(&t->cancelled, true, memory_order_release);
    /* Wake it from whatever it waits on; its wait loop sees the flag (park.c). */
    weft__unpark(t);
}

/* The switching half of weft_yield, tail-called so that only it returns through the
 * jump (WEFT_RESUME_RET) and the fast path keeps a plain `ret`. */
static __attribute__((noinline)) WEFT_RESUME_RET int yield_out(weft_task *t)
{
    weft__switch_out(t, WEFT_SW_YIELD);
    return 0;
}

int weft_yield(void)
{
    weft_task *t = weft__task_self();
    if (!t) {
        sched_yield();
        return 0;
    }
    int rc = weft__interrupted(t);
    if (rc)
        return rc;
    weft__worker *w = t->w;
    /* Nothing else is runnable here (next slot, local queue, injection queue): keep
     * running, as asyncio.sleep(0) does with an empty ready queue. Every 64th yield
     * still goes through the scheduler so timers and completions are polled. */
    if (!atomic_load_explicit(&w->next, memory_order_relaxed) && !weft__runq_len(&w->runq) &&
        !weft__inject_len() && (++w->yield_fast & 63) != 0)
        return 0;
    return yield_out(t);
}

static void free_task(weft_task *t)
{
    weft__task_free(weft__worker_self(), t);
}

static int task_status(weft_task *t, void **result)
{
    if (result)
        *result = t->result;
    return t->status;
}

static bool joined(weft_task *t)
{
    return atomic_load(&t->jstate) == WEFT_J_DONE;
}

/* Waits, as task self, until t is DONE. Interruptible first; on an interruption t is
 * cancelled and the wait goes on uninterruptibly (the handle is always consumed). */
static int join_wait(weft_task *self, weft_task *t)
{
    int first = 0;
    bool armed = false;
    while (!joined(t)) {
        int rc = weft__interrupted(self);
        if (rc) {
            first = rc;
            weft_cancel(t);
            self->nointr = true;
            if (armed) {
                weft__timer_disarm(self);
                armed = false;
            }
            continue;
        }
        if (!armed && !self->nointr && self->deadline != UINT64_MAX) {
            weft__timer_arm(self->w, self, self->deadline);
            armed = true;
        }
        weft__trace_reason(self, WEFT_TR_JOIN);
        weft__park(self);
    }
    if (armed)
        weft__timer_disarm(self);
    return first;
}

int weft_join(weft_task *t, void **result)
{
    if (!t)
        return -EINVAL;
    uintptr_t js = atomic_load_explicit(&t->jstate, memory_order_acquire);
    if (js != WEFT_J_DONE) {
        if (js != WEFT_J_NONE)
            return -EINVAL; /* already joined, detached or owned by a set */
        weft_task *self = weft__task_self();
        if (self == t)
            return -EDEADLK;
        if (!self) {
            weft__waiter tw = {.task = NULL};
            uintptr_t exp = WEFT_J_NONE;
            if (atomic_compare_exchange_strong(&t->jstate, &exp, (uintptr_t)&tw | WEFT_J_THREAD))
                weft__waiter_wait(&tw);
        } else {
            uintptr_t exp = WEFT_J_NONE;
            if (atomic_compare_exchange_strong(&t->jstate, &exp, (uintptr_t)self)) {
                bool outer = self->nointr;
                int rc = join_wait(self, t);
                self->nointr = outer;
                if (rc) {
                    task_status(t, result);
                    free_task(t);
                    return rc;
                }
            }
        }
    }
    int st = task_status(t, result);
    free_task(t);
    return st;
}

void weft_detach(weft_task *t)
{
    if (!t)
        return;
    uintptr_t exp = WEFT_J_NONE;
    if (!atomic_compare_exchange_strong(&t->jstate, &exp, WEFT_J_DETACHED) && exp == WEFT_J_DONE)
        free_task(t);
}

void weft__task_finish(weft__worker *w, weft_task *t)
{
    if (atomic_load_explicit(&t->cancelled, memory_order_relaxed) && t->status == 0)
        t->status = -ECANCELED;
    atomic_store_explicit(&w->n_finished,
                          atomic_load_explicit(&w->n_finished, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    uintptr_t old = atomic_exchange(&t->jstate, WEFT_J_DONE);
    if (old == WEFT_J_SET) {
        weft__set_member_done(t);
        return;
    }
    if (old == WEFT_J_DETACHED) {
        weft__task_free(w, t);
    } else if (old == WEFT_J_NONE) {
        /* the handle's owner will find DONE */
    } else if (old & WEFT_J_THREAD) {
        weft__waiter_fire((weft__waiter *)(old & ~WEFT_J_THREAD), 0);
    } else if (old & WEFT_J_COUNT) {
        weft__countdown *cd = (weft__countdown *)(old & ~WEFT_J_COUNT);
        if (atomic_fetch_sub(&cd->pending, 1) == 1)
            weft__waiter_fire(&cd->w, 0);
    } else {
        weft__unpark((weft_task *)old);
    }
}
