/* weft runtime — internal declarations shared by runtime/ and sync/.
 *
 * The scheduler's path, file by file:
 *   task.c     spawn → a task object from taskpool.c, pushed on a run queue
 *   runq.c     the worker's local ck_ring, its next-task slot, the global injection queue,
 *              and stealing half of a victim's queue
 *   worker.c   the worker loop: find work, run it (ctx_x86_64.S switches stacks; stack.c
 *              gives the task a stack on its first run), handle why it came back
 *   park.c     how a task suspends and is woken (the park/unpark state machine) and the
 *              waiter records other modules queue
 *   idle.c     searching workers, parking a worker in its io_uring, waking a parked one
 *   timer.c    per-worker timer heaps, sleep, deadlines
 *   monitor.c  the monitor thread: stuck workers (their next-task slot becomes stealable),
 *              slow-task warnings
 *   run.c      weft_run: start, the shutdown protocol, teardown
 *
 * Migration rule (research/design.md §2): code that can run on a task stack never keeps
 * a thread-local address across a suspension. It reaches the worker through
 * weft__worker_self() (an asm volatile %fs load on x86-64, elsewhere noinline + compiler
 * barrier) or through t->w, which the resuming worker writes before every switch into
 * the task.
 */
#ifndef WEFT_RUNTIME_INTERNAL_H
#define WEFT_RUNTIME_INTERNAL_H

#include "weft.h"

#include <ck_ring.h>
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define WEFT_CACHELINE 64
#define WEFT_ALIGNED __attribute__((aligned(WEFT_CACHELINE)))
#define WEFT_LIKELY(x) __builtin_expect(!!(x), 1)
#define WEFT_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* For a function a context switch resumes in (directly, or through an inlined wait),
 * and whose `ret` would go back to the code that called it before it suspended: return
 * through __x86_return_thunk (runtime/ctx_x86_64.S, a pop and an indirect jump) instead.
 * The return-stack predictor holds the return addresses of the task that ran before
 * the switch, so such a `ret` is mispredicted every time (~7 ns here, the gap between
 * bench gen_handoff's ctx_switch and ctx_switch_deep per frame); the indirect jump is
 * predicted from its history. gen_handoff: 53 -> 40 ns per value (median of 15
 * alternating runs). Only for code that (nearly) always switched: a call that returns
 * through the jump leaves its entry on the return-stack predictor, and the caller's own
 * `ret` later mispredicts instead. A public function with a fast path that does not
 * switch (channels, weft_yield) keeps its `ret` and tail-calls a WEFT_RESUME_RET
 * function for the rest. gcc only: clang 14 has no function_return attribute; nor
 * with -fcf-protection, whose shadow stack needs balanced call/ret. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CET__)
#define WEFT_RESUME_RET __attribute__((function_return("thunk-extern")))
#else
#define WEFT_RESUME_RET
#endif

/* Assertions that stay on in release builds: cheap invariants only. */
#define WEFT_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (WEFT_UNLIKELY(!(cond)))                                                                \
            weft__panic("%s:%d: assertion failed: %s", __FILE__, __LINE__, #cond);                 \
    } while (0)
_Noreturn void weft__panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- sanitizer builds ------------------------------------------------------------- */
#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TSAN 1
#endif
#endif
#if defined(WEFT_ASAN) || defined(WEFT_TSAN)
#define WEFT_DEFAULT_STACK (256u * 1024u) /* sanitizers enlarge frames */
#else
#define WEFT_DEFAULT_STACK (64u * 1024u)
#endif

/* ---- memory ----------------------------------------------------------------------- */
void *weft__alloc(size_t size);
void *weft__calloc(size_t n, size_t size);
void weft__free(void *p, size_t size);

/* ---- context switch (ctx_x86_64.S) ------------------------------------------------ */
/* Saves the callee-saved registers, MXCSR and the x87 control word on the current stack,
 * stores the stack pointer in *save_sp, switches to to_sp and returns xfer there (a new
 * context's entry receives xfer as its first argument). */
void *weft__ctx_switch(void **save_sp, void *to_sp, void *xfer);
/* Builds the first frame of a context on [lo, hi): its first switch-in calls
 * entry(xfer), which must never return. Returns the initial stack pointer. */
void *weft__ctx_make(void *hi, void (*entry)(void *));

/* ---- stacks (stack.c) ------------------------------------------------------------- */
typedef struct weft__stack {
    char *lo;                 /* lowest usable byte; the guard page is just below */
    struct weft__stack *next; /* free-list link */
} weft__stack;

typedef struct weft__stack_cache {
    weft__stack *head;
    unsigned count;
} weft__stack_cache;

int weft__stacks_init(size_t stack_size);
void weft__stacks_fini(void);
weft__stack *weft__stack_get(weft__stack_cache *cache);
void weft__stack_put(weft__stack_cache *cache, weft__stack *s);
void weft__stack_cache_drain(weft__stack_cache *cache);
/* Monitor thread: gives back the pages of stacks idle for a period (stack.c). */
void weft__stacks_trim(uint64_t now);
size_t weft__stack_size(void);
/* Which stack's guard page holds addr, or NULL. Async-signal-safe. */
const weft__stack *weft__stack_guard_hit(const void *addr);

/* ---- tasks ------------------------------------------------------------------------ */
/* Park states (park.c has the protocol). */
enum {
    WEFT_TS_ACTIVE = 0,           /* running, or queued to run */
    WEFT_TS_NOTIFIED = 1,         /* active, and a wake-up permit is pending */
    WEFT_TS_PARKING = 2,          /* switching out to park; context not saved yet */
    WEFT_TS_PARKING_NOTIFIED = 3, /* woken while PARKING: the scheduler re-queues it */
    WEFT_TS_PARKED = 4,           /* suspended; the waker that makes it ACTIVE queues it */
    WEFT_TS_FREE = 6,             /* back in the task pool */
};

/* Join states: jstate is 0, DETACHED, DONE, SET, or the joiner: a task, a thread's
 * weft__waiter tagged with bit 0, or a gather's weft__countdown tagged with bit 1.
 * Pointers are at least 8-aligned and above 4096, so they never collide with states. */
#define WEFT_J_THREAD ((uintptr_t)1)
#define WEFT_J_COUNT ((uintptr_t)2)
#define WEFT_J_NONE ((uintptr_t)0)
#define WEFT_J_DETACHED ((uintptr_t)2)
#define WEFT_J_DONE ((uintptr_t)4)
#define WEFT_J_SET ((uintptr_t)6) /* owned by a set; the set's done list gets it */

typedef struct weft__timer weft__timer;
typedef struct weft__worker weft__worker;

struct weft_task {
    void *sp;          /* saved stack pointer while switched out */
    weft__worker *w;   /* worker running it; written by the resumer before each switch */
    _Atomic int state; /* WEFT_TS_* */
    _Atomic bool cancelled;
    bool nointr; /* inside an uninterruptible wait (joining after a cancel) */
    int status;  /* weft_fail value; -ECANCELED when finished after a cancel */
    int saved_errno;
    weft_fn fn;
    /* Every task runs fn (a task cancelled before its first run starts with the flag
     * set), and arg is read only to call it, so the return value takes its place. */
    union {
        void *arg;    /* until fn is called */
        void *result; /* once fn returned */
    };
    weft__stack *stack; /* NULL until the first run */
    uint64_t deadline;  /* scoped deadline, UINT64_MAX when none */
    weft__timer *timer; /* armed timer of the current wait */
    _Atomic uintptr_t jstate;
    /* A task in the pool's free list is in no queue, inbox or done list. */
    union {
        weft_task *qnext;     /* injection queue, a worker's inbox, or a set's done list */
        weft_task *pool_next; /* task pool free list (state FREE) */
    };
    weft_task *snext;  /* a set's pending list (a pending member may also sit in */
    weft_task *sprev;  /* the injection queue, so it needs links of its own) */
    weft_set *set;     /* owning set, or NULL */
    weft_task *lender; /* suspended task lent to this one (worker.c, direct hand-off) */
    /* Tracing and metrics (trace.c, stats.c). tid is assigned at spawn only while a
     * trace is recorded; wake_tsc is set by a sampled wake-up (the raw clock's low 32
     * bits, 0: none) and cleared when the task runs (schedule-latency histogram). */
    uint64_t tid;
    uint32_t wake_tsc;
    uint32_t timer_st; /* its timer's armed state word when armed (timer.c) */
    uint16_t tr_last;  /* worker it last ran on, WEFT_TRACE_NO_WORKER before its first run */
    uint8_t tr_reason; /* why it parks next: weft_trace_reason, 0 = OTHER (weft__trace_reason) */
    uint8_t tr_op;     /* io_uring opcode of the operation it waits for (REASON_IO) */
    /* Channel contention seen by this task (sync/chan.c step 11): operations in the
     * current window (0: none open) and the ticket claims lost to other cores in it
     * (bit 7: a window opened because the other end ran on another worker). */
    uint8_t ch_ops, ch_fails, ch_busy; /* ch_busy: see ch_t1 below */
    uint8_t ch_sample;                 /* counts ring operations: every 256th looks across */
    /* The current contention window (ch_ops > 0): the end of the task's last channel
     * operation on the raw clock (low bits; windows last microseconds), the operations
     * that took longer than the time since the one before, and the worker's index and
     * tick's low bits at the window's start (a window that spans a suspension measures
     * nothing). */
    uint32_t ch_t1, ch_mark0;
    /* Mutex contention seen by this task (sync/mutex_barging.c step 7): weft_now() in
     * 64 ns units at the current window's first contended lock call (bits 0-23) under
     * a tag of the mutex (bits 24-31), and the mutex's acquisition count then (bits
     * 3-31, as in its state word) with the window's contended calls so far in bits 0-2
     * (0: no window open). */
    uint32_t mx_t0, mx_win;
#if defined(WEFT_ASAN)
    void *asan_fake;
#endif
#if defined(WEFT_TSAN)
    void *tsan_fiber;
#endif
};

weft_task *weft__task_alloc(weft__worker *w);
void weft__task_free(weft__worker *w, weft_task *t);
int weft__taskpool_init(void);
void weft__taskpool_fini(void);
/* Calls fn for every task not in the pool (shutdown and leak reports). */
void weft__taskpool_each(void (*fn)(weft_task *t, void *arg), void *arg);
size_t weft__tasks_live_count(void);
/* Finish protocol, run by the worker on its own stack once the task returned. */
void weft__task_finish(weft__worker *w, weft_task *t);
void weft__set_member_done(weft_task *t);
/* Spawn a task, optionally as a member of set. */
weft_task *weft__spawn(weft_fn fn, void *arg, weft_set *set);
/* Makes a task being spawned (not yet published) a member of s. */
void weft__set_adopt_new(weft_set *s, weft_task *t);

/* ---- park / wake (park.c) --------------------------------------------------------- */
/* Suspends the calling task until weft__unpark(t); may return spuriously, so callers
 * re-check their condition in a loop. */
void weft__park(weft_task *t);
/* Makes t runnable if it is parked, or leaves it a permit. Safe on any task pointer
 * that came from the pool, even one finished since (tasks are type-stable memory). */
void weft__unpark(weft_task *t);
/* Same, but a parked task goes to the back of the run queue instead of the next-task
 * slot: for wake-ups that come in batches (timers), which must run in order. */
void weft__unpark_fifo(weft_task *t);

/* 0, -ECANCELED or -ETIMEDOUT: whether the calling task must stop waiting. Reads the
 * clock only when a deadline is set. Inline: every channel operation asks. */
int weft__deadline_passed(weft_task *t);
static inline int weft__interrupted(weft_task *t)
{
    if (t->nointr)
        return 0;
    if (atomic_load_explicit(&t->cancelled, memory_order_relaxed))
        return -ECANCELED;
    return t->deadline != UINT64_MAX ? weft__deadline_passed(t) : 0;
}

typedef struct weft__selgrp weft__selgrp;

/* A waiter record, on the waiting side's stack. For a plain thread, task is NULL and
 * the thread sleeps on the futex word `fired`. A select queues one record per case
 * (sel, idx, queued); whoever pops such a record must first claim the select for it
 * (sync/chan_internal.h), and then fires the select's own waiter, not the record. */
typedef struct weft__waiter {
    weft_task *task;
    _Atomic uint32_t fired;
    int res;
    void *elem;
    struct weft__waiter *next;
    struct weft__waiter *prev;
    weft__selgrp *sel; /* NULL for a plain waiter */
    unsigned idx;      /* select record: its case index */
    bool queued;       /* channels: still in the queue (under its lock); popped = claimed */
} weft__waiter;

/* A select waiting on several channels at once (sync/select.c). `state` says who owns
 * it: WAITING (any channel may claim it, CAS to its case index), SELF (the select is
 * re-checking its cases; a channel that pops a record then marks it POKED instead),
 * GONE (it left after an interruption), or the index of the case that won. */
enum { WEFT_SEL_WAITING = -1, WEFT_SEL_SELF = -2, WEFT_SEL_POKED = -3, WEFT_SEL_GONE = -4 };
struct weft__selgrp {
    _Atomic int state;
    weft__waiter w; /* what the select sleeps on */
};

/* Marks w fired (with result res) and wakes its owner. The caller has already unlinked
 * it from whatever list held it; w must not be touched after this returns. */
void weft__waiter_fire(weft__waiter *w, int res);
/* Waits until w fires, the task is cancelled or its deadline passes. Returns 0 when
 * fired (w->res holds the result) or the interruption. The caller must take w out of
 * its list (under its lock) on an interruption, re-checking fired there. Plain threads
 * wait on the futex and are never interrupted. */
int weft__waiter_wait(weft__waiter *w);
/* For a waiter that was interrupted but found itself already popped (claimed) by a waker
 * that has not fired it yet: waits out the few instructions until the fire and returns
 * w->res. Without this the waker would write into a stack frame already gone. */
int weft__waiter_await_fire(weft__waiter *w);

/* One waiter for many tasks (weft_gather): each finishing task decrements pending; the
 * one that reaches zero fires w. */
typedef struct weft__countdown {
    _Atomic size_t pending;
    weft__waiter w;
} weft__countdown;

/* Intrusive FIFO of waiters. */
typedef struct weft__waitq {
    weft__waiter *head, *tail;
} weft__waitq;
static inline void weft__waitq_push(weft__waitq *q, weft__waiter *w)
{
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
}

static inline weft__waiter *weft__waitq_pop(weft__waitq *q)
{
    weft__waiter *w = q->head;
    if (w) {
        q->head = w->next;
        if (q->head)
            q->head->prev = NULL;
        else
            q->tail = NULL;
        w->next = w->prev = NULL;
    }
    return w;
}

static inline void weft__waitq_remove(weft__waitq *q, weft__waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->next = w->prev = NULL;
}

/* A tiny test-and-test-and-set lock; never held across a suspension. */
typedef struct {
    _Atomic int locked;
} weft__spin;
static inline void weft__spin_lock(weft__spin *l)
{
    for (;;) {
        /* acquire: the critical section reads what the previous holder wrote */
        if (!atomic_exchange_explicit(&l->locked, 1, memory_order_acquire))
            return;
        while (atomic_load_explicit(&l->locked, memory_order_relaxed))
            __builtin_ia32_pause();
    }
}
static inline void weft__spin_unlock(weft__spin *l)
{
    /* release: publishes the critical section's writes to the next holder */
    atomic_store_explicit(&l->locked, 0, memory_order_release);
}

/* ---- timers (timer.c) ------------------------------------------------------------- */
typedef struct weft__timers {
    weft__timer **heap;
    size_t len, cap;
    weft__timer *free;      /* node pool, owner only */
    _Atomic long cancelled; /* nodes cancelled by other workers, still in the heap */
} weft__timers;

void weft__timers_init(weft__timers *ts);
void weft__timers_fini(weft__timers *ts);
/* Fires expired timers; returns the earliest remaining deadline or UINT64_MAX. */
uint64_t weft__timers_run(weft__worker *w, uint64_t now);
/* Arms a timer that unparks t at `when` on the current worker (t->timer). */
void weft__timer_arm(weft__worker *w, weft_task *t, uint64_t when);
void weft__timer_disarm(weft_task *t);

/* ---- run queues (runq.c) ---------------------------------------------------------- */
#if defined(WEFT_SMALL_QUEUES)
#define WEFT_RUNQ_SIZE 4u /* 3 usable: exercises overflow and stealing in tests */
#else
#define WEFT_RUNQ_SIZE 256u /* 255 usable (ck_ring keeps one slot free) */
#endif

typedef struct weft__runq {
    ck_ring_t ring;
    ck_ring_buffer_t buf[WEFT_RUNQ_SIZE];
} weft__runq;

void weft__runq_init(weft__runq *q);
/* Owner only. On a full queue, moves half of it plus t to the injection queue. */
void weft__runq_push(weft__worker *w, weft_task *t);
weft_task *weft__runq_pop(weft__runq *q);
/* Tasks queued (a snapshot); inline: the trace's RUN_START reads it every run. */
static inline unsigned weft__runq_len(weft__runq *q)
{
    return ck_ring_size(&q->ring);
}
/* Thief: moves about half of victim's queue into w's (empty) queue and returns one of
 * the stolen tasks to run now, or NULL. */
weft_task *weft__runq_steal(weft__worker *w, weft__worker *victim);

/* Global injection queue: chunks of task pointers under a mutex plus an atomic length
 * for the cheap emptiness check (Tokio's inject queue is a mutex too). */
void weft__inject_push(weft_task *t);
void weft__inject_push_batch(weft_task **ts, size_t n);
weft_task *weft__inject_pop(void);
/* Pops one task to run and moves a fair share more into w's local queue. */
weft_task *weft__inject_pop_batch(weft__worker *w);
size_t weft__inject_len(void);
/* After a run, with the queue empty: frees the chunks. */
void weft__inject_fini(void);

/* ---- workers (worker.c, idle.c) --------------------------------------------------- */
enum { WEFT_SW_NONE, WEFT_SW_YIELD, WEFT_SW_PARK, WEFT_SW_DONE, WEFT_SW_MIGRATE };

struct weft__worker {
    /* Owner-written, read by thieves: its own line. */
    weft__runq runq;
    _Atomic(weft_task *) next WEFT_ALIGNED; /* the task just woken; stealable when stuck */
    _Atomic uint64_t tick;                  /* tasks run so far; the monitor watches it */
    _Atomic(weft_task *) current;           /* the running task (monitor, signals) */
    _Atomic uint64_t stuck_tick;            /* monitor: tick at which it saw no progress */
    _Atomic bool parked WEFT_ALIGNED;       /* set by the worker, cleared by its waker */
    _Atomic uint64_t woken_at;       /* weft_now() of a waker's kick; 0 once it ran (unstack.c) */
    _Atomic int woken_by, woken_cpu; /* that waker's index and CPU, -1 for none */
    /* The CPU it started or last left a park on, -1 unknown (weft__unstack_place_monitor). */
    _Atomic int run_cpu;
    /* The worker it woke runs on its CPU, so it may wait behind it: when, and its tick
     * then (unstack.c). Set by that worker, cleared by the monitor. */
    _Atomic uint64_t preempted_at, preempted_tick;
    int wake_fd; /* eventfd; its read is armed in the ring */
    /* Tasks other workers sent here (migrate.c): a LIFO stack pushed with a CAS, taken
     * whole by the owner (or by a thief when the owner is stuck). */
    _Atomic(weft_task *) inbox WEFT_ALIGNED;
    _Atomic uint64_t moved_in_at; /* weft_now() when a task was last moved to it or taken in */
    /* I/O cancel requests from tasks running elsewhere (io/uring.c), under cancel_lock. */
    weft__spin cancel_lock WEFT_ALIGNED;
    struct weft__io *cancel_head;
    _Atomic bool cancel_pending;
    /* Owner-only below. */
    unsigned index WEFT_ALIGNED;
    int sw_reason;       /* why the task switched out */
    unsigned migrate_to; /* WEFT_SW_MIGRATE: the worker the task goes to */
    /* This worker thread's errno, for the scheduler's and direct switches' saves and
     * restores. Direct switches inlined into a loop must not use &errno:
     * __errno_location is a const function, so the compiler may reuse its result from
     * before a switch, when the task may have moved to another thread. */
    int *errno_loc;
    void *sched_sp;
    bool searching;
    uint64_t spin_ns; /* how long its next search may spin (idle.c step 1c) */
    bool wake_armed;
    bool batching; /* in weft__io_reap or weft__timers_run: tasks are queued without a
                    * wake-up each; the batch decides itself (idle.c step 5a) */
    /* Unparked while others stay parked and the monitor slept its slow period: the
     * first task put in the next slot from a task pokes it (weft__monitor_watch_next). */
    bool poke_on_next;
    uint64_t wake_buf;
    uint32_t rand;
    weft__timers timers;
    weft__stack_cache stacks;
    weft_task *task_free; /* task pool cache */
    unsigned task_free_n;
    struct io_uring ring;
    bool ring_ok;
    unsigned io_inflight; /* operations submitted or queued, CQE not reaped yet */
    pthread_t thread;
    pid_t tid;      /* the worker thread's kernel id (unstack.c) */
    void *stack_lo; /* the worker thread's own stack, for ASan */
    size_t stack_size;
#if defined(WEFT_ASAN)
    void *asan_fake;
#endif
#if defined(WEFT_TSAN)
    void *tsan_fiber;
#endif
    /* Counters, owner-written (relaxed), summed by readers. */
    _Atomic uint64_t n_spawned, n_freed, n_finished, n_steals, n_parks, n_moved_in, n_handed;
    _Atomic uint64_t n_unstacked; /* written by the monitor (unstack.c) */
    _Atomic uint64_t n_io_sub, n_io_done;
    _Atomic uint64_t t_start, t_idle, t_search; /* weft__clock_raw() ticks (stats.c) */
    _Atomic uint64_t lat_hist[32];              /* wake → run, log2 ns buckets */
    unsigned lat_sample;                        /* samples one wake-up in LAT_SAMPLE */
    unsigned yield_fast;
    unsigned direct_streak; /* direct switches since the scheduler last ran a task */
    uint64_t last_global, last_timers, last_io; /* tick of find_work's last looks */
    /* What this worker, searching, last saw of victims' queues (idle.c step 1a):
     * direct-mapped by victim index. t == 0: nothing seen. */
    struct {
        unsigned victim, head;
        uint64_t t;
    } seen[8];
    void *altstack;
    /* Tracing (trace.c, trace_hooks.h), owner-only. */
    struct tr_buf *tr_buf; /* this worker's event buffer while a trace is recorded */
    uint64_t tr_next_id;   /* task ids spawned here: (index + 1) << 48 | count */
    uint8_t tr_wake_src;   /* WEFT_TW_TIMER/IO while timers or completions wake tasks */
    /* Set by a RUN_STOP's clock read; while set, the events the scheduler records before
     * the next RUN_START (that one included) share that reading instead of taking their
     * own: the scheduler's bookkeeping between two runs takes tens of ns, an rdtsc ~12 on
     * our VMs. Anything that may take longer (timers, I/O polls, the global queue, idling)
     * clears it first (WEFT_TRACE_STALE). Never set under WEFT_TRACE_PRECISE=1. */
    bool tr_fresh;
    /* Written by thieves (relaxed fetch_add), so on a line of its own. */
    _Atomic uint64_t n_stolen WEFT_ALIGNED;
};

/* The runtime: one at a time per process. */
typedef struct weft__rt {
    weft__worker *workers;
    unsigned nworkers;
    size_t stack_size;
    unsigned ring_entries;
    bool pin;
    bool debug;
    uint64_t slow_ns;
    bool slow_report;      /* WEFT_SLOW_MS set or WEFT_DEBUG: report stalls (monitor.c) */
    uint64_t spin_ns;      /* how long a searcher spins before parking (WEFT_SPIN_US) */
    uint64_t steal_age_ns; /* a queue's head must be this stale to steal (WEFT_STEAL_AGE_US) */
    uint8_t gather; /* tasks gather (chan.c step 11, mutex_barging.c step 7): WEFT_GATHER_* */
    /* Longest wait of a parked worker in io_uring_enter; 0: until woken or its next
     * timer. Set under valgrind (run.c, under_valgrind). */
    uint64_t park_max_ns;
    /* Other processes leave fewer CPUs than workers: pack tasks on fewer workers
     * (idle.c step 7). Written by the monitor (cpuload.c), read relaxed. */
    _Atomic bool pack;
    _Atomic unsigned pack_active; /* while packing: CPUs left, rounded, at least 1 */
    /* idle coordination (idle.c) */
    _Atomic unsigned nsearching WEFT_ALIGNED;
    _Atomic unsigned nparked;
    _Atomic bool watch_wakes; /* wakers stamp woken_at and poke the monitor (unstack.c) */
    /* lifecycle */
    _Atomic bool stopping WEFT_ALIGNED; /* workers leave their loops */
    _Atomic bool shutdown;              /* main returned; new tasks start cancelled */
    weft_task *main_task;
    _Atomic int started_workers;
    int start_error;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool main_done;
    void *main_result;
    pthread_t monitor;
    bool monitor_on;
    bool monitor_rt; /* try SCHED_FIFO for the monitor (WEFT_MONITOR_RT, monitor.c) */
} weft__rt;

extern weft__rt *weft__rt_cur;

/* The calling thread's worker (NULL on other threads), such that no caller can cache a
 * thread-local address across a suspension (research/design.md §2).
 *   x86-64: one load relative to %fs inside an asm volatile. The asm reads the segment
 *   base itself at every call, and the compiler may neither merge two calls nor move
 *   one, so a task resumed on another thread reads that thread's worker. Inline: the
 *   call it replaces took ~8 % of a channel operation.
 *   Elsewhere: a noinline function behind a compiler barrier (worker.c). */
#if defined(__x86_64__)
extern __thread weft__worker *weft__tls_worker
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
static inline __attribute__((always_inline)) weft__worker *weft__worker_self(void)
{
    weft__worker *w;
    __asm__ volatile("movq weft__tls_worker@gottpoff(%%rip), %0\n\t"
                     "movq %%fs:(%0), %0"
                     : "=r"(w));
    return w;
}
#else
weft__worker *weft__worker_self(void);
#endif
/* The running task, NULL outside tasks. */
static inline __attribute__((always_inline)) weft_task *weft__task_self(void)
{
    weft__worker *w = weft__worker_self();
    return w ? atomic_load_explicit(&w->current, memory_order_relaxed) : NULL;
}

/* Makes t (state ACTIVE, not in any queue) runnable: on the current worker's next slot (lifo) or
 * queue, or through the injection queue from a plain thread. */
void weft__schedule(weft_task *t, bool lifo);
/* Switches the running task out to its worker's scheduler with the given reason. */
void weft__switch_out(weft_task *t, int reason);

/* Direct hand-off between tasks: weft__switch_direct(self, to, park_self), inline in
 * runtime/handoff.h with its protocol. The running task `self` switches straight into
 * `to` on its own worker, without the run queues. `to` must be owned by the caller:
 * taken with weft__task_acquire, or lent to self (self->lender). park_self: self parks
 * as it leaves (the next code to run completes its park), as if it had called
 * weft__park; otherwise self is lent to `to` (to->lender = self) and stays suspended
 * until `to` switches back to it or leaves for the scheduler (run_task then parks it). */
/* PARKED → ACTIVE, the right a waker gets, but the caller runs t itself (with
 * weft__switch_direct) or queues it (weft__schedule). False when t was not parked. */
static inline bool weft__task_acquire(weft_task *t)
{
    int s = WEFT_TS_PARKED;
    /* acquire: t's context and everything it wrote before parking */
    return atomic_load_explicit(&t->state, memory_order_relaxed) == WEFT_TS_PARKED &&
           atomic_compare_exchange_strong(&t->state, &s, WEFT_TS_ACTIVE);
}
/* Consumes a pending wake-up permit of the running task t (NOTIFIED → ACTIVE), as
 * weft__park does. Before a direct switch that parks t: a permit left there would make
 * the switch's target re-queue t at once, and t, finding its condition met, would never
 * park to consume it, so every later hand-off would go through the queue. The caller
 * must re-check its wait conditions after dropping the permit (true when it dropped
 * one). With none pending, a wake-up that comes later leaves its permit in place, and
 * the publish after the switch (weft__park_finish) finds it. */
static inline bool weft__permit_drop(weft_task *t)
{
    int s = WEFT_TS_NOTIFIED;
    /* acquire: see what the waker published before its unpark */
    return atomic_load_explicit(&t->state, memory_order_relaxed) == WEFT_TS_NOTIFIED &&
           atomic_compare_exchange_strong(&t->state, &s, WEFT_TS_ACTIVE);
}
/* False once self's worker made WEFT_DIRECT_MAX direct switches in a row without its
 * scheduler: then hand over through the run queue, so a pair that hands values back
 * and forth cannot starve the worker's other tasks, timers and I/O. */
#define WEFT_DIRECT_MAX 64u
static inline bool weft__direct_ok(weft_task *self)
{
    return self->w->direct_streak < WEFT_DIRECT_MAX;
}

/* At most this many direct switches in a row from a parking task to its worker's
 * next-task slot (park.c), the next-slot streak the scheduler allows (LIFO_MAX). */
#define WEFT_PARK_DIRECT_MAX 16u

void *weft__worker_main(void *arg);

/* Moving woken workers that get no CPU; monitor thread only (unstack.c).
 * weft__unstack_new returns NULL when there is nothing to do (pinned, one CPU); the
 * other calls accept NULL. */
typedef struct weft__unstack weft__unstack;
#define WEFT__WAKE_LATE_NS 100000 /* a woken worker not running by then is late */
weft__unstack *weft__unstack_new(weft__rt *rt);
/* Each monitor period: moves late woken workers; returns in how many ns the monitor
 * should look again because a wake-up is pending, 0 if none is. */
uint64_t weft__unstack_check(weft__unstack *u, const weft__rt *rt, uint64_t now);
/* Worker w was kicked by another and runs now: if on its waker's CPU, tell the monitor
 * (unstack.c). Worker thread only. */
void weft__unstack_woken(weft__worker *w);
/* A worker that made no progress for 0.25 ms: it may be waiting for its CPU. */
void weft__unstack_stuck(weft__unstack *u, const weft__rt *rt, unsigned worker);
/* The monitor without SCHED_FIFO, before it sleeps: keeps itself off the CPUs of
 * workers running a task (shun_busy), or allows every CPU again. Monitor thread only. */
void weft__unstack_place_monitor(weft__unstack *u, const weft__rt *rt, bool shun_busy);
void weft__unstack_free(weft__unstack *u);

/* Migration (migrate.c): the running task t moves to worker `to` (an index) at once,
 * behind that worker's queue. Not a suspension point: no cancel or deadline is
 * delivered. */
void weft__migrate(weft_task *t, unsigned to);

/* WEFT_GATHER: whether tasks that pass messages across cores, or take one mutex from
 * several cores, move together (sync/chan.c step 11, sync/mutex_barging.c step 7). */
enum {
    WEFT_GATHER_OFF = 0,    /* "0": never; tasks stay where wake-ups and steals put them */
    WEFT_GATHER_AUTO = 1,   /* unset or "auto": when the window's time measures say so */
    WEFT_GATHER_ALWAYS = 2, /* "always": without the time votes (tasks that only relay) */
};

/* Run by run_task once t's context is saved: t goes into worker `to`'s inbox. */
void weft__inbox_push(weft__worker *to, weft_task *t);
/* Owner: moves the inbox into the local queue; returns one task to run, or NULL. */
weft_task *weft__inbox_take(weft__worker *w);
/* Thief: takes a stuck victim's whole inbox; returns one task to run, or NULL. */
weft_task *weft__inbox_steal(weft__worker *w, weft__worker *v);
static inline bool weft__inbox_nonempty(weft__worker *w)
{
    return atomic_load_explicit(&w->inbox, memory_order_relaxed) != NULL;
}
void weft__notify_parked(void); /* wake a parked worker if nobody searches */
/* Tasks waiting on w in its local queue and next-task slot (relaxed: a hint for whether
 * a parked worker is worth waking, idle.c step 5a). */
static inline unsigned weft__queued_local(weft__worker *w)
{
    return weft__runq_len(&w->runq) +
           (atomic_load_explicit(&w->next, memory_order_relaxed) != NULL);
}
void weft__worker_wake(weft__worker *w); /* unconditional kick (eventfd) */
void weft__worker_wake_all(void);
weft_task *weft__find_work(weft__worker *w);

/* I/O (io/uring.c): submit what tasks queued and reap completions, waking their tasks.
 * Cheap when nothing is in flight. */
void weft__io_poll(weft__worker *w);
/* Reaps the CQEs already posted (after a wait in idle.c). */
void weft__io_reap(weft__worker *w);
static inline bool weft__io_busy(const weft__worker *w)
{
    return w->io_inflight != 0 || atomic_load_explicit(&w->cancel_pending, memory_order_relaxed);
}

void weft__monitor_start(void);
void weft__monitor_stop(void);
/* End the monitor's slow sleep (monitor.c): a worker is about to park while another
 * runs, one woke another (unstack.c), or a task queued a woken one in its next slot. */
void weft__monitor_poke(void);
/* A task was put in w's next-task slot, which only a stuck worker gives up. While
 * another worker is parked the monitor must watch at its short period; the only way it
 * can be in its slow one (10 ms) then is that this worker unparked from an all-parked
 * runtime: weft__monitor_unparked (idle.c) then sets poke_on_next and makes the next
 * wake-up a latency sample, whose branch (weft__lat_stamp) makes this check, so the
 * hot path has no test of its own. weft__monitor_next_queued pokes if a task is
 * running (not the scheduler running timers), or waits for the next wake-up. */
__attribute__((cold)) void weft__monitor_next_queued(weft__worker *w);
void weft__monitor_unparked(weft__worker *w);
static inline void weft__monitor_watch_next(weft__worker *w)
{
    if (WEFT_UNLIKELY(w->poke_on_next))
        weft__monitor_next_queued(w);
}
/* cgroup.c: the CPU limit (quota / period, smallest up the hierarchy, v1 or v2) of the
 * process's cgroups, read from files under root ("" for the system); 0 for none. */
double weft__cgroup_cpu_limit(const char *root);
/* The default worker count: cpus, or fewer under a limit (rounded up, at least 1). */
unsigned weft__workers_for_limit(unsigned cpus, double limit);
/* cpuload.c: the packing signal, sampled by the monitor thread. */
void weft__cpuload_init(weft__rt *rt);
void weft__cpuload_sample(weft__rt *rt, uint64_t now);
void weft__cpuload_fini(void);
static inline bool weft__packing(weft__rt *rt)
{
    return atomic_load_explicit(&rt->pack, memory_order_relaxed);
}
/* Completions, timers, a searcher's own work (idle.c steps 5a, 7d): w runs `own` of
 * the tasks queued on it at once; only more than that is worth waking a parked worker
 * for, and nothing is while packing. True when it looked for one to wake. */
static inline bool weft__notify_beyond(weft__worker *w, unsigned own)
{
    if (weft__queued_local(w) <= own || weft__packing(weft__rt_cur))
        return false;
    weft__notify_parked();
    return true;
}
const char *weft__symbol(const void *addr, char *buf, size_t len);

#include "runtime/trace.h"

/* Sanitizer fiber hooks, around every switch (research/design.md §3). */
void weft__san_task_created(weft_task *t);
void weft__san_task_destroyed(weft_task *t);

#endif
