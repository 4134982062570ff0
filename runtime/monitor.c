/* weft — the monitor thread: stuck workers and slow tasks.
 *
 * Every PERIOD_NS it samples each worker's tick (tasks started) and current task:
 *  1. A worker whose tick has not moved for STUCK_NS (two looks) while it runs a task is
 *     stuck in that task. If it has queued work, its stuck_tick is published — thieves
 *     may then take even its next-task slot and its inbox (idle.c, migrate.c) — and a
 *     parked worker is woken to do so. Every runnable task thus reaches an idle worker
 *     within about a period, including the one in the next slot, which is otherwise
 *     left to its owner so message passing stays on one core (the monitor looks again
 *     after STUCK_NS when it finds one waiting there behind a worker that ran few tasks
 *     lately, and the worker pokes it awake from its slow sleep: weft__monitor_watch_next).
 *  2. The same check closes the rare lost-wake race of weft__notify_parked: queued work
 *     plus a parked worker plus no searcher gets a wake-up. While packing (idle.c step
 *     7), only a queue whose head stood still since the last sample does: one its
 *     owner works through is left to it.
 *  1a. A worker whose thread waits for a CPU behind another worker's thread is moved
 *     off that CPU (unstack.c): one woken (weft__worker_wake) that has not run
 *     WAKE_LATE_NS later, a waker the woken one shares a CPU with, and one that made
 *     no progress for STUCK_NS. It runs SCHED_FIFO where permitted (monitor_priority);
 *     where not, it sleeps on a CPU no worker is running a task on (unstack.c).
 *  2a. It samples the CPU left to the process (cpuload.c) every 100 ms, which turns
 *     packing on and off.
 *  3. With WEFT_SLOW_MS set (or WEFT_DEBUG, default 100 ms), a task that has run that
 *     long without suspending is reported once, with its function's name (asyncio's
 *     slow-callback warning); the monitor then signals the stuck worker's thread
 *     (STALL_SIGNAL), whose handler writes its backtrace to stderr, records a STALL
 *     trace event and asks the flight recorder for a dump. At most REPORTS_PER_SEC
 *     reports a second.
 *  4. It gives back the pages of stacks that stayed unused for a second
 *     (weft__stacks_trim), so the workers never pay for madvise.
 * The thread only reads workers' fields (relaxed) and writes stuck_tick; it never
 * touches a task beyond reading its fn.
 *
 * Period: PERIOD_NS while some worker is parked and another is not — the only case in
 * which a stuck worker's tasks can be helped. Otherwise SLOW_NS, so fully busy or fully
 * idle runtimes are not interrupted 2000 times a second (measured: fanout_cpu lost ~3%
 * of its 2-worker speedup to the fast tick). A worker about to park while another
 * still runs calls weft__monitor_poke(), which ends a slow sleep at once (not when all
 * are parked: the monitor would only go back to sleep; with one worker that was a
 * second thread wake-up per park, test_time park_alone).
 */
#include "runtime/internal.h"

#include <errno.h>
#include <execinfo.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { PERIOD_NS = 500000, STUCK_NS = 250000, SLOW_NS = 10000000, REPORTS_PER_SEC = 4 };
enum { FEW_TASKS = 16 };

/* SIGURG, as Go's preemption: ignored by default, so a stray one harms nobody, and
 * rarely used by programs (only for TCP urgent data). */
#define STALL_SIGNAL SIGURG

typedef struct {
    uint64_t tick;
    unsigned head; /* its run queue's consumer index */
    uint64_t since;
    bool reported;
    bool unstacked; /* this episode was looked at (unstack.c) */
} sample;

static _Atomic bool mon_stop;
static _Atomic int bt_want = -1; /* worker asked for its backtrace */
static struct sigaction old_bt;
static bool bt_installed;

/* Runs on the stuck worker's thread (its alternate stack). backtrace() is not formally
 * async-signal-safe, but after the warm-up call in weft__monitor_start it neither
 * allocates nor loads libgcc; backtrace_symbols_fd writes without malloc. */
static void stall_backtrace(int sig)
{
    (void)sig;
    int saved = errno;
    weft__worker *w = weft__worker_self();
    int want = atomic_load_explicit(&bt_want, memory_order_relaxed);
    if (w && want == (int)w->index && atomic_compare_exchange_strong(&bt_want, &want, -1)) {
        void *pc[64];
        int n = backtrace(pc, 64);
        char hdr[96];
        int len = snprintf(hdr, sizeof hdr, "weft: backtrace of worker %u (stuck):\n", w->index);
        if (len > 0)
            (void)!write(2, hdr, (size_t)len);
        backtrace_symbols_fd(pc, n, 2);
    }
    errno = saved;
}

static void stall_report(weft__rt *rt, unsigned i, weft_task *cur, uint64_t ran)
{
    char name[256];
    weft__symbol((const void *)__atomic_load_n(&cur->fn, __ATOMIC_RELAXED), name, sizeof name);
    fprintf(stderr,
            "weft: task %s has run for %llu ms on worker %u without suspending "
            "(WEFT_SLOW_MS=%llu); it blocks every task queued there\n",
            name, (unsigned long long)(ran / 1000000u), i,
            (unsigned long long)(rt->slow_ns / 1000000u));
    if (WEFT_TRACE_ON())
        weft__trace_stall(i, cur, ran);
    if (bt_installed) {
        int idle = -1;
        if (atomic_compare_exchange_strong(&bt_want, &idle, (int)i))
            pthread_kill(rt->workers[i].thread, STALL_SIGNAL);
    }
    weft__trace_request_dump();
}
/* 1 while the monitor sleeps a slow period. Workers read it on their park paths and the
 * monitor writes it every slow sleep: on a line of its own, away from the clock's
 * read-mostly constants. */
static struct WEFT_ALIGNED {
    _Atomic uint32_t v;
} mon_slow;

void weft__monitor_poke(void)
{
    /* seq_cst: pairs with monitor_sleep's store of mon_slow and its re-check. */
    if (atomic_load(&mon_slow.v) && atomic_exchange(&mon_slow.v, 0))
        syscall(SYS_futex, &mon_slow.v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* w's next wake-up is a latency sample, whose branch checks poke_on_next (handoff.h). */
static void check_next_wake(weft__worker *w)
{
    w->lat_sample |= WEFT_LAT_SAMPLE - 1;
}

void weft__monitor_next_queued(weft__worker *w)
{
    if (!atomic_load_explicit(&w->current, memory_order_relaxed)) {
        /* The scheduler itself (timers, I/O) runs that task next: keep watching. */
        check_next_wake(w);
        return;
    }
    w->poke_on_next = false;
    if (atomic_load_explicit(&weft__rt_cur->nparked, memory_order_relaxed))
        weft__monitor_poke();
}

void weft__monitor_unparked(weft__worker *w)
{
    w->poke_on_next = atomic_load_explicit(&weft__rt_cur->nparked, memory_order_relaxed) &&
                      atomic_load_explicit(&mon_slow.v, memory_order_relaxed);
    if (w->poke_on_next)
        check_next_wake(w);
}

/* A wake-up stamped and not yet taken up (unstack.c). */
static bool wakes_pending(const weft__rt *rt)
{
    if (!atomic_load_explicit(&rt->watch_wakes, memory_order_relaxed))
        return false;
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (atomic_load(&rt->workers[i].woken_at) || atomic_load(&rt->workers[i].preempted_at))
            return true;
    return false;
}

/* due: look again in due ns (at most a period), 0: as the workers' states say.
 * Returns true when a poke ended a slow sleep. */
static bool monitor_sleep(weft__rt *rt, weft__unstack *u, bool fifo, uint64_t due)
{
    unsigned parked = atomic_load(&rt->nparked);
    if (due || (parked > 0 && parked < rt->nworkers)) {
        if (!fifo)
            weft__unstack_place_monitor(u, rt, true);
        struct timespec ts = {0, due && due < PERIOD_NS ? (long)due : PERIOD_NS};
        nanosleep(&ts, NULL);
        return false;
    }
    if (!fifo)
        weft__unstack_place_monitor(u, rt, false);
    atomic_store(&mon_slow.v, 1);
    /* Re-check after announcing the slow sleep: a worker that parked (or a waker that
     * stamped a wake-up) in between either sees mon_slow and pokes, or is seen here. */
    parked = atomic_load(&rt->nparked);
    if (!(parked > 0 && parked < rt->nworkers) && !wakes_pending(rt)) {
        struct timespec ts = {0, SLOW_NS};
        syscall(SYS_futex, &mon_slow.v, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
    }
    return atomic_exchange(&mon_slow.v, 0) == 0; /* a poker cleared it */
}

/* The monitor must run within microseconds of its wake-up even when it is woken on the
 * CPU of a worker spinning in a long task — the case it exists for (unstack.c explains
 * why it happens). Traced here: with only the short slice below, the monitor, woken
 * with a slightly negative lag, was not eligible at once, and the spinning worker's
 * slice protection (RUN_TO_PARITY) kept it waiting 1.45 ms while the other vCPU idled.
 * So, where the process may (root, CAP_SYS_NICE or RLIMIT_RTPRIO ≥ 1), the monitor is
 * SCHED_FIFO at the lowest priority: it preempts a normal thread at once, or the RT
 * scheduler puts it on a CPU running none. It never spins: it sleeps ≥ 100 µs between
 * looks, and each look reads a few words per worker. SCHED_RESET_ON_FORK keeps the
 * policy from spreading. WEFT_MONITOR_RT=0 turns this off.
 *
 * Otherwise it asks for a short time slice (Linux 6.12+, EEVDF; unprivileged for
 * SCHED_OTHER): a woken thread with a shorter slice than the running one preempts it
 * when it is eligible. Older kernels refuse the call; nothing else changes. */
static bool monitor_priority(bool rt_allowed)
{
    struct sched_param sp = {.sched_priority = 1};
    if (rt_allowed &&
        syscall(SYS_sched_setscheduler, 0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0)
        return true;
    /* struct sched_attr's first version (48 bytes): glibc has none before 2.41, and
     * <linux/sched/types.h> redefines glibc's struct sched_param. */
    struct {
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
    } attr = {.size = sizeof attr, .policy = 0 /* SCHED_OTHER */, .runtime = 100000};
    _Static_assert(sizeof attr == 48, "SCHED_ATTR_SIZE_VER0");
    (void)syscall(SYS_sched_setattr, 0, &attr, 0);
    return false;
}

/* The earlier of two delays, 0 meaning none. */
static uint64_t sooner(uint64_t due, uint64_t d)
{
    return !due || d < due ? d : due;
}

static void *monitor_main(void *arg)
{
    weft__rt *rt = arg;
    bool fifo = monitor_priority(rt->monitor_rt);
    pthread_setname_np(pthread_self(), "weft-monitor"); /* after: tests read both */
    unsigned n = rt->nworkers;
    sample *s = weft__calloc(n, sizeof *s);
    if (!s)
        return NULL;
    weft__unstack *unstack = weft__unstack_new(rt);
    uint64_t window = 0; /* rate limit: reports in the current second */
    unsigned reports = 0;
    uint64_t due = 0, watch_until = 0;
    while (!atomic_load(&mon_stop)) {
        bool poked = monitor_sleep(rt, unstack, fifo, due);
        uint64_t now = weft_now();
        /* After a wake-up, watch at the short period for two periods even if no worker
         * is parked: the woken thread may have preempted its waker on one CPU. */
        due = weft__unstack_check(unstack, rt, now);
        if (unstack && (poked || due))
            watch_until = now + 2 * PERIOD_NS;
        if (!due && now < watch_until)
            due = PERIOD_NS;
        /* A worker just woke from an all-parked runtime: the wake-ups it makes come
         * now, while the monitor would sleep a period (pokes reach only a slow sleep),
         * so look once more after WEFT__WAKE_LATE_NS. */
        if (unstack && poked && due > WEFT__WAKE_LATE_NS)
            due = WEFT__WAKE_LATE_NS;
        weft__stacks_trim(now);
        weft__cpuload_sample(rt, now);
        bool pack = weft__packing(rt);
        bool kick = false;
        for (unsigned i = 0; i < n; i++) {
            weft__worker *w = &rt->workers[i];
            uint64_t tick = atomic_load_explicit(&w->tick, memory_order_relaxed);
            weft_task *cur = atomic_load_explicit(&w->current, memory_order_relaxed);
            bool queued = weft__runq_len(&w->runq) ||
                          atomic_load_explicit(&w->next, memory_order_relaxed) ||
                          weft__inbox_nonempty(w);
            unsigned head = ck_pr_load_uint(&w->runq.ring.c_head);
            bool moved = head != s[i].head;
            s[i].head = head;
            if (tick != s[i].tick || !cur) {
                uint64_t ran = tick - s[i].tick; /* tasks run since the last look */
                s[i].tick = tick;
                s[i].since = now;
                s[i].reported = false;
                s[i].unstacked = false;
                /* Work to steal: make sure someone is looking. Packing (idle.c step
                 * 7): only when the queue stood still for a period. */
                if (weft__runq_len(&w->runq) && (!pack || !moved))
                    kick = true;
                /* A task waits in the next slot or the inbox, which only a stuck
                 * worker gives up, while a worker is idle, and this worker ran few
                 * tasks lately, so the current one may be long: look again after
                 * STUCK_NS rather than a period, so the waiting task reaches the idle
                 * worker within ~0.5 ms even when this one started just before. (A
                 * worker passing messages runs thousands a period: no extra look.) */
                else if (cur && queued && ran <= FEW_TASKS && atomic_load(&rt->nparked))
                    due = sooner(due, STUCK_NS);
                continue;
            }
            /* Stuck: no progress for STUCK_NS at least (two looks with one tick). */
            bool stuck = now - s[i].since >= STUCK_NS;
            if (!stuck && queued && atomic_load(&rt->nparked))
                due = sooner(due, s[i].since + STUCK_NS - now);
            if (stuck && !s[i].unstacked) {
                s[i].unstacked = true;
                weft__unstack_stuck(unstack, rt, i);
            }
            if (stuck && queued) {
                atomic_store_explicit(&w->stuck_tick, tick, memory_order_relaxed);
                kick = true;
            }
            if (rt->slow_report && !s[i].reported && now - s[i].since >= rt->slow_ns) {
                if (now - window >= 1000000000u) {
                    window = now;
                    reports = 0;
                }
                if (reports < REPORTS_PER_SEC) {
                    reports++;
                    stall_report(rt, i, cur, now - s[i].since);
                }
                s[i].reported = true;
            }
        }
        if (kick && atomic_load(&rt->nparked) && !atomic_load(&rt->nsearching)) {
            weft__notify_parked();
            /* The worker just woken may land behind the stuck one (the kernel places
             * it): look again when its wake-up stamp is due, not a period later. */
            if (unstack)
                due = sooner(due, WEFT__WAKE_LATE_NS);
        }
    }
    weft__unstack_free(unstack);
    weft__free(s, n * sizeof *s);
    return NULL;
}

void weft__monitor_start(void)
{
    weft__rt *rt = weft__rt_cur;
    atomic_store(&mon_stop, false);
    if (rt->slow_report && !bt_installed) {
        void *warm[4];
        (void)backtrace(warm, 4); /* loads the unwinder now, not in the handler */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = stall_backtrace;
        sa.sa_flags = SA_RESTART | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        bt_installed = sigaction(STALL_SIGNAL, &sa, &old_bt) == 0;
    }
    rt->monitor_on = pthread_create(&rt->monitor, NULL, monitor_main, rt) == 0;
}

void weft__monitor_stop(void)
{
    weft__rt *rt = weft__rt_cur;
    if (!rt || !rt->monitor_on)
        return;
    atomic_store(&mon_stop, true);
    weft__monitor_poke();
    pthread_join(rt->monitor, NULL);
    rt->monitor_on = false;
    if (bt_installed) {
        sigaction(STALL_SIGNAL, &old_bt, NULL);
        bt_installed = false;
    }
    atomic_store(&bt_want, -1);
}
