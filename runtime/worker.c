/* weft — the worker loop: find a task, switch to it, handle why it came back.
 *
 * The loop runs on the worker thread's own stack and never migrates, so it may use
 * thread-local storage freely. Code on task stacks reaches the worker only through
 * weft__worker_self() or t->w (internal.h, migration rule).
 *
 * Order of looking for work (find_work):
 *  1. every GLOBAL_INTERVAL ticks the injection queue first (fairness for tasks spawned
 *     from outside and for local-queue overflow);
 *  2. every TIMER_INTERVAL ticks, or when out of local work, expired timers;
 *  3. tasks other workers sent here (migrate.c), into the local queue;
 *  4. the next-task slot (the task just woken: message passing stays in cache), at most
 *     LIFO_MAX times in a row so it cannot starve the queue;
 *  5. the local queue, then the injection queue;
 *  6. the worker's io_uring: submit what its tasks queued, reap completions (also every
 *     IO_INTERVAL ticks, so a busy worker still batches and delivers I/O);
 *  7. idle.c: search (steal half of a random victim's queue, spinning briefly), then
 *     park in the io_uring.
 */
#include "runtime/handoff.h"
#include "runtime/internal.h"
#include "runtime/trace_hooks.h"

#include <errno.h>
#include <string.h>

#if defined(WEFT_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(WEFT_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

enum { GLOBAL_INTERVAL = 61, TIMER_INTERVAL = 16, IO_INTERVAL = 31, LIFO_MAX = 16 };

/* initial-exec: one %fs-relative load instead of a __tls_get_addr call in -fPIC code.
 * The shared library is small enough to fit the static TLS reserve when dlopened.
 * weft__tls_worker is read only through weft__worker_self() (internal.h). */
__thread weft__worker *weft__tls_worker __attribute__((tls_model("initial-exec")));
static __thread unsigned tls_lifo_streak __attribute__((tls_model("initial-exec")));

#if !defined(__x86_64__)
weft__worker *weft__worker_self(void)
{
    weft__worker *w = weft__tls_worker;
    __asm__ volatile("" : "+r"(w)); /* no caller may reuse this value across a switch */
    return w;
}
#endif

void weft__worker_bind(weft__worker *w)
{
    weft__tls_worker = w;
}

/* ---- sanitizer fiber hooks -------------------------------------------------------- */

/* TSan fibers are costly to create (and huge with gcc), so a task object keeps its
 * fiber while it sits in the pool; the pool destroys it at teardown. */
void weft__san_task_created(weft_task *t)
{
#if defined(WEFT_TSAN)
    if (!t->tsan_fiber)
        t->tsan_fiber = __tsan_create_fiber(0);
#else
    (void)t;
#endif
}

void weft__san_task_destroyed(weft_task *t)
{
#if defined(WEFT_TSAN)
    if (t->tsan_fiber) {
        __tsan_destroy_fiber(t->tsan_fiber);
        t->tsan_fiber = NULL;
    }
#else
    (void)t;
#endif
}

/* ---- switching -------------------------------------------------------------------- */

/* The rare half of weft__park_finish (handoff.h): p was woken while it switched out
 * (NOTIFIED); it runs again and re-checks. A CAS, not a store: it must read (acquire)
 * the latest waker's write. */
void weft__park_finish_notified(weft_task *p)
{
    int s = atomic_load_explicit(&p->state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&p->state, &s, WEFT_TS_ACTIVE))
        ;
    weft__schedule(p, true);
}

static void task_entry(void *xfer)
{
    weft_task *t = xfer;
#if defined(WEFT_ASAN)
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
    t->result = t->fn(t->arg);
    weft__switch_out(t, WEFT_SW_DONE);
    __builtin_unreachable();
}

WEFT_RESUME_RET void weft__switch_out(weft_task *t, int reason)
{
    weft__worker *w = t->w; /* written by the worker that resumed us */
    w->sw_reason = reason;
#if defined(WEFT_ASAN)
    __sanitizer_start_switch_fiber(reason == WEFT_SW_DONE ? NULL : &t->asan_fake, w->stack_lo,
                                   w->stack_size);
#endif
#if defined(WEFT_TSAN)
    __tsan_switch_to_fiber(w->tsan_fiber, 0);
#endif
    void *x = weft__ctx_switch(&t->sp, w->sched_sp, NULL);
    /* Resumed, possibly on another worker: `w` is stale from here on. */
#if defined(WEFT_ASAN)
    __sanitizer_finish_switch_fiber(t->asan_fake, NULL, NULL);
#endif
    weft__resume_fixup(x);
}

/* ---- direct hand-off between tasks: the protocol and weft__switch_direct are in
 * runtime/handoff.h (inline: one frame less on both sides of every hand-off). */

/* Step 3: the borrower t left for the scheduler; park the tasks lent along its chain. */
static void lenders_release(weft_task *t)
{
    weft_task *l = t->lender;
    t->lender = NULL;
    while (l) {
        weft_task *next = l->lender; /* read before park_finish publishes l */
        l->lender = NULL;
        weft__park_finish(l);
        l = next;
    }
}

/* Gives t its stack on its first run. False when no stack could be had. */
static bool task_prepare(weft__worker *w, weft_task *t)
{
    weft__stack *s = weft__stack_get(&w->stacks);
    if (!s)
        return false;
    t->stack = s;
    t->sp = weft__ctx_make(s->lo + weft__stack_size(), task_entry);
    return true;
}

static void run_task(weft__worker *w, weft_task *t)
{
    if (WEFT_UNLIKELY(!t->stack) && !task_prepare(w, t)) {
        /* Out of memory for stacks: the task fails without running. */
        t->status = -ENOMEM;
        weft__task_finish(w, t);
        return;
    }
    t->w = w;
    /* Warm what the task's finish will write: its joiner's waiter or gather counter
     * (jstate's pointer), on a stack that has been suspended since it spawned us. */
    uintptr_t js = atomic_load_explicit(&t->jstate, memory_order_relaxed);
    if (js > WEFT_J_SET)
        __builtin_prefetch((void *)(js & ~(uintptr_t)3), 1);
    if (WEFT_LAT_SAMPLING && WEFT_UNLIKELY(t->wake_tsc))
        weft__stats_latency(w, t);
    if (WEFT_TRACE_ON())
        weft__trace_run_start(w, t);
    atomic_store_explicit(&w->current, t, memory_order_relaxed);
    atomic_store_explicit(&w->tick, atomic_load_explicit(&w->tick, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    *w->errno_loc = t->saved_errno;
#if defined(WEFT_ASAN)
    __sanitizer_start_switch_fiber(&w->asan_fake, t->stack->lo, weft__stack_size());
#endif
#if defined(WEFT_TSAN)
    __tsan_switch_to_fiber(t->tsan_fiber, 0);
#endif
    w->direct_streak = 0;
    weft__ctx_switch(&w->sched_sp, t->sp, t);
#if defined(WEFT_ASAN)
    __sanitizer_finish_switch_fiber(w->asan_fake, NULL, NULL);
#endif
    /* The task that came back: a direct hand-off may have switched to another one. */
    t = atomic_load_explicit(&w->current, memory_order_relaxed);
    t->saved_errno = *w->errno_loc;
    atomic_store_explicit(&w->current, NULL, memory_order_relaxed);
    if (WEFT_TRACE_ON())
        weft__trace_run_stop(w, t, w->sw_reason);
    if (WEFT_UNLIKELY(t->lender))
        lenders_release(t);

    switch (w->sw_reason) {
    case WEFT_SW_YIELD:
        weft__runq_push(w, t); /* behind everything already queued */
        break;
    case WEFT_SW_MIGRATE: {
        /* Moved on purpose: thieves leave the target alone a while (idle.c step 1b) from
         * now, not only once its owner takes the task in, which a task running there
         * without suspending may put off until the monitor finds it stuck. */
        weft__worker *to = &weft__rt_cur->workers[w->migrate_to];
        atomic_store_explicit(&to->moved_in_at, weft_now(), memory_order_relaxed);
        /* Counted here: a thief may take it back from the inbox before `to` runs it. */
        atomic_fetch_add_explicit(&to->n_moved_in, 1, memory_order_relaxed);
        weft__inbox_push(to, t); /* migrate.c */
        break;
    }
    case WEFT_SW_PARK: {
        /* The context is saved: only now may wakers queue the task (park.c step 3). */
        int s = WEFT_TS_PARKING;
        if (!atomic_compare_exchange_strong(&t->state, &s, WEFT_TS_PARKED)) {
            /* Woken while switching out (PARKING_NOTIFIED). A CAS, not a store: it
             * must read (acquire) the latest waker's write. */
            while (!atomic_compare_exchange_weak(&t->state, &s, WEFT_TS_ACTIVE))
                ;
            weft__schedule(t, true);
        }
        break;
    }
    case WEFT_SW_DONE:
#if defined(WEFT_ASAN)
        /* The frames still on the finished task's stack (task_entry, switch_out) never
         * return, so ASan never clears their redzones: clear them before the stack
         * serves another task, which would otherwise trip over them. */
        __asan_unpoison_memory_region(t->sp,
                                      (size_t)(t->stack->lo + weft__stack_size() - (char *)t->sp));
#endif
        weft__stack_put(&w->stacks, t->stack);
        t->stack = NULL;
        weft__task_finish(w, t);
        break;
    default:
        WEFT_ASSERT(!"bad switch reason");
    }
}

void weft__schedule(weft_task *t, bool lifo)
{
    weft__worker *w = weft__worker_self();
    if (!w) {
        weft__inject_push(t);
        weft__notify_parked();
        return;
    }
    if (lifo) {
        weft__schedule_lifo_on(w, t); /* handoff.h */
        return;
    }
    weft__lat_stamp(w, t);
    weft__runq_push(w, t);
    if (!w->batching)
        weft__notify_parked();
}

static weft_task *take_next(weft__worker *w)
{
    if (!atomic_load_explicit(&w->next, memory_order_relaxed))
        return NULL;
    /* acquire: pairs with the release in weft__schedule's exchange */
    return atomic_exchange_explicit(&w->next, NULL, memory_order_acquire);
}

static weft_task *find_local(weft__worker *w, uint64_t tick)
{
    weft_task *t;
    if (WEFT_UNLIKELY(weft__inbox_nonempty(w)) && (t = weft__inbox_take(w)))
        return t;
    if (tls_lifo_streak < LIFO_MAX || !weft__runq_len(&w->runq)) {
        if ((t = take_next(w))) {
            tls_lifo_streak++;
            return t;
        }
    }
    tls_lifo_streak = 0;
    if ((t = weft__runq_pop(&w->runq)))
        return t;
    if ((t = take_next(w)))
        return t;
    (void)tick;
    return NULL;
}

weft_task *weft__find_work(weft__worker *w)
{
    uint64_t tick = atomic_load_explicit(&w->tick, memory_order_relaxed);
    weft_task *t;
    /* Intervals are counted in task runs since the last look, not as multiples of the
     * tick: direct switches (weft__park_direct, gen.c) advance the tick between two
     * scheduler passes by more than one. */
    /* Each branch that does more than take a local task may take a while: the trace's
     * next events read the clock again (WEFT_TRACE_STALE). */
    if (tick - w->last_global >= GLOBAL_INTERVAL) {
        w->last_global = tick;
        WEFT_TRACE_STALE(w);
        if ((t = weft__inject_pop_batch(w)))
            return t;
    }
    if (w->timers.len && tick - w->last_timers >= TIMER_INTERVAL) {
        w->last_timers = tick;
        WEFT_TRACE_STALE(w);
        weft__timers_run(w, weft_now());
    }
    /* Submissions queued by the tasks run since the last look go to the kernel in one
     * io_uring_enter, and completions wake their tasks. */
    if (weft__io_busy(w) && tick - w->last_io >= IO_INTERVAL) {
        w->last_io = tick;
        WEFT_TRACE_STALE(w);
        weft__io_poll(w);
    }
    if ((t = find_local(w, tick)))
        return t;
    WEFT_TRACE_STALE(w);
    if ((t = weft__inject_pop_batch(w)))
        return t;
    if (weft__io_busy(w)) {
        weft__io_poll(w);
        if ((t = find_local(w, tick)))
            return t;
    }
    if (w->timers.len) {
        weft__timers_run(w, weft_now());
        if ((t = find_local(w, tick)))
            return t;
    }
    return NULL;
}

/* Defined in idle.c: searching, stealing and parking when find_work found nothing. */
weft_task *weft__idle(weft__worker *w);

void weft__worker_loop(weft__worker *w)
{
    weft__rt *rt = weft__rt_cur;
    w->errno_loc = &errno; /* the scheduler and direct switches use it (internal.h) */
    for (;;) {
        weft_task *t = weft__find_work(w);
        if (!t)
            t = weft__idle(w);
        if (t) {
            run_task(w, t);
            continue;
        }
        if (atomic_load(&rt->stopping))
            break;
    }
}
