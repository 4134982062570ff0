/* weft — per-worker timers, sleeping, deadlines and timeout scopes.
 *
 * 1. Each worker owns a binary min-heap of timer nodes; only the owner touches the heap
 *    and the node pool. A task arms a timer on the worker it runs on.
 * 2. A node's state word is (seq << 1 | armed). Firing and cancelling both CAS the armed
 *    bit off, so exactly one wins. seq grows each time the owner reuses the node, so a
 *    late cancel aimed at an earlier use fails harmlessly.
 * 3. Disarm on the owner removes the node at once. Disarm from another worker (the task
 *    migrated) only clears the armed bit; the owner drops the node when it reaches the
 *    top, or compacts the heap when more than half of it is dead.
 * 4. A fired timer unparks its task; the woken task re-checks the clock itself, so a
 *    stale fire is only a spurious wake-up.
 * 5. Timers fire in deadline order into the local queue, and no further than it has
 *    room, so tasks woken together run in deadline order.
 */
#include "runtime/internal.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

struct weft__timer {
    uint64_t when;
    weft_task *task;
    size_t idx;
    _Atomic uint32_t st; /* generation << 1 | armed; the task keeps a copy (timer_st) */
    weft__worker *owner;
    weft__timer *next_free;
};

uint64_t weft_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void weft__timers_init(weft__timers *ts)
{
    ts->heap = NULL;
    ts->len = ts->cap = 0;
    ts->free = NULL;
    atomic_store(&ts->cancelled, 0);
}

void weft__timers_fini(weft__timers *ts)
{
    for (size_t i = 0; i < ts->len; i++)
        weft__free(ts->heap[i], sizeof(weft__timer));
    while (ts->free) {
        weft__timer *n = ts->free;
        ts->free = n->next_free;
        weft__free(n, sizeof *n);
    }
    weft__free(ts->heap, ts->cap * sizeof(weft__timer *));
    weft__timers_init(ts);
}

static void heap_set(weft__timers *ts, size_t i, weft__timer *n)
{
    ts->heap[i] = n;
    n->idx = i;
}

static void sift_up(weft__timers *ts, size_t i)
{
    weft__timer *n = ts->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (ts->heap[p]->when <= n->when)
            break;
        heap_set(ts, i, ts->heap[p]);
        i = p;
    }
    heap_set(ts, i, n);
}

static void sift_down(weft__timers *ts, size_t i)
{
    weft__timer *n = ts->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= ts->len)
            break;
        if (c + 1 < ts->len && ts->heap[c + 1]->when < ts->heap[c]->when)
            c++;
        if (ts->heap[c]->when >= n->when)
            break;
        heap_set(ts, i, ts->heap[c]);
        i = c;
    }
    heap_set(ts, i, n);
}

static void heap_remove(weft__timers *ts, weft__timer *n)
{
    size_t i = n->idx;
    weft__timer *last = ts->heap[--ts->len];
    if (last != n) {
        heap_set(ts, i, last);
        sift_down(ts, i);
        sift_up(ts, last->idx);
    }
}

static void node_free(weft__timers *ts, weft__timer *n)
{
    n->task = NULL;
    n->next_free = ts->free;
    ts->free = n;
}

/* Drops cancelled nodes when they make up more than half of the heap. */
static void compact(weft__timers *ts)
{
    long dead = atomic_load_explicit(&ts->cancelled, memory_order_relaxed);
    if (dead < 64 || (size_t)dead * 2 < ts->len)
        return;
    size_t j = 0;
    long removed = 0;
    for (size_t i = 0; i < ts->len; i++) {
        weft__timer *n = ts->heap[i];
        if (atomic_load(&n->st) & 1)
            ts->heap[j++] = n;
        else {
            node_free(ts, n);
            removed++;
        }
    }
    ts->len = j;
    for (size_t i = 0; i < j; i++)
        ts->heap[i]->idx = i;
    for (size_t i = j / 2; i-- > 0;)
        sift_down(ts, i);
    atomic_fetch_sub(&ts->cancelled, removed);
}

void weft__timer_arm(weft__worker *w, weft_task *t, uint64_t when)
{
    weft__timers *ts = &w->timers;
    weft__timer *n = ts->free;
    if (n) {
        ts->free = n->next_free;
    } else {
        n = weft__alloc(sizeof *n);
        if (!n)
            weft__panic("out of memory for a timer");
        n->owner = w;
        atomic_init(&n->st, 0);
    }
    if (ts->len == ts->cap) {
        compact(ts);
        if (ts->len == ts->cap) {
            size_t cap = ts->cap ? ts->cap * 2 : 64;
            weft__timer **h = weft__alloc(cap * sizeof *h);
            if (!h)
                weft__panic("out of memory for the timer heap");
            for (size_t i = 0; i < ts->len; i++)
                h[i] = ts->heap[i];
            weft__free(ts->heap, ts->cap * sizeof *h);
            ts->heap = h;
            ts->cap = cap;
        }
    }
    n->when = when;
    n->task = t;
    uint32_t st = ((atomic_load_explicit(&n->st, memory_order_relaxed) >> 1) + 1) << 1 | 1;
    atomic_store(&n->st, st);
    t->timer = n;
    t->timer_st = st;
    heap_set(ts, ts->len++, n);
    sift_up(ts, n->idx);
}

void weft__timer_disarm(weft_task *t)
{
    weft__timer *n = t->timer;
    if (!n)
        return;
    t->timer = NULL;
    uint32_t st = t->timer_st;
    if (!atomic_compare_exchange_strong(&n->st, &st, st & ~(uint32_t)1))
        return; /* it fired; the owner has dropped it */
    if (n->owner == weft__worker_self()) {
        heap_remove(&n->owner->timers, n);
        node_free(&n->owner->timers, n);
    } else {
        atomic_fetch_add(&n->owner->timers.cancelled, 1);
    }
}

uint64_t weft__timers_run(weft__worker *w, uint64_t now)
{
    weft__timers *ts = &w->timers;
    uint64_t fired = 0;
    if (WEFT_TRACE_ON())
        w->tr_wake_src = WEFT_TW_TIMER;
    bool woke = false;
    w->batching = true; /* no wake-up per task (weft__schedule): idle.c step 5a */
    while (ts->len && ts->heap[0]->when <= now) {
        /* Woken tasks go to the back of the local queue in deadline order. When it is
         * full, stop: an overflow would move older tasks behind newer ones, and the
         * rest fire in order on the next pass, once the queue has drained. */
        if (weft__runq_len(&w->runq) >= WEFT_RUNQ_SIZE - 1)
            break;
        weft__timer *n = ts->heap[0];
        heap_remove(ts, n);
        uint32_t st = atomic_load(&n->st);
        if ((st & 1) && atomic_compare_exchange_strong(&n->st, &st, st & ~(uint32_t)1)) {
            weft__unpark_fifo(n->task); /* in deadline order */
            fired++;
            /* This worker runs the first task queued here itself; a second is work a
             * parked worker could take: one wake-up, as soon as it is there. */
            if (!woke)
                woke = weft__notify_beyond(w, 1);
        } else
            atomic_fetch_sub(&ts->cancelled, 1);
        node_free(ts, n);
    }
    w->batching = false;
    if (WEFT_TRACE_ON()) {
        w->tr_wake_src = 0;
        if (fired)
            weft__trace_ev(WEFT_EV_TIMER_FIRE, 0, 0, 0, fired, 0);
    }
    return ts->len ? ts->heap[0]->when : UINT64_MAX;
}

/* ---- sleeping ------------------------------------------------------------------- */

WEFT_RESUME_RET int weft_sleep_until(uint64_t end)
{
    weft_task *t = weft__task_self();
    if (!t) {
        struct timespec ts = {(time_t)(end / 1000000000u), (long)(end % 1000000000u)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        return 0;
    }
    int rc = weft__interrupted(t);
    if (rc)
        return rc;
    if (weft_now() >= end)
        return 0;
    uint64_t due = end < t->deadline || t->nointr ? end : t->deadline;
    weft__timer_arm(t->w, t, due);
    for (;;) {
        weft__trace_reason(t, WEFT_TR_SLEEP);
        weft__park(t);
        if (weft_now() >= end) {
            rc = 0;
            break;
        }
        if ((rc = weft__interrupted(t)))
            break;
    }
    weft__timer_disarm(t);
    return rc;
}

int weft_sleep(uint64_t ns)
{
    if (ns == 0)
        return weft__task_self() ? weft_yield() : (sched_yield(), 0);
    return weft_sleep_until(weft_now() + ns);
}

/* ---- deadline scopes -------------------------------------------------------------- */

void weft_timeout_enter_at(weft_timeout *s, uint64_t deadline)
{
    weft_task *t = weft__task_self();
    s->deadline = deadline;
    s->outer = t ? t->deadline : UINT64_MAX;
    if (t && deadline < t->deadline)
        t->deadline = deadline;
}

void weft_timeout_enter(weft_timeout *s, uint64_t ns)
{
    uint64_t now = weft_now();
    weft_timeout_enter_at(s, ns > UINT64_MAX - now ? UINT64_MAX : now + ns);
}

bool weft_timeout_exit(weft_timeout *s)
{
    weft_task *t = weft__task_self();
    if (t)
        t->deadline = s->outer;
    return s->deadline != UINT64_MAX && weft_now() >= s->deadline;
}

uint64_t weft_deadline(void)
{
    weft_task *t = weft__task_self();
    return t ? t->deadline : UINT64_MAX;
}

int weft_wait_for(weft_task *t, uint64_t timeout_ns, void **result)
{
    weft_timeout s;
    weft_timeout_enter(&s, timeout_ns);
    int rc = weft_join(t, result);
    weft_timeout_exit(&s);
    return rc;
}
