/* weft — the monitor thread: stuck workers and slow tasks.
 *
 * Every PERIOD_NS it samples each worker's tick (tasks started) and current task:
 *  1. A worker whose tick has not moved for a whole period while it runs a task is
 *     stuck in that task. If it has queued work, its stuck_tick is published — thieves
 *     may then take even its next-task slot and its inbox (idle.c, migrate.c) — and a
 *     parked worker is woken to do so. Every runnable task thus reaches an idle worker
 *     within about two periods, including the one in the next slot, which is otherwise
 *     left to its owner so message passing stays on one core.
 *  2. The same check closes the rare lost-wake race of weft__notify_parked: queued work
 *     plus a parked worker plus no searcher gets a wake-up. While packing (idle.c step
 *     7), only a queue whose head stood still since the last sample does: one its
 *     owner works through is left to it.
 *  1a. A worker whose thread waits for a CPU behind another worker's thread is moved
 *     off that CPU (unstack.c): one woken (weft__worker_wake) that has not run
 *     WAKE_LATE_NS later, and one that made no progress for a period.
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
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { PERIOD_NS = 500000, SLOW_NS = 10000000, REPORTS_PER_SEC = 4 };

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
static _Atomic uint32_t mon_slow; /* 1 while the monitor sleeps a slow period */

void weft__monitor_poke(void)
{
    /* seq_cst: pairs with monitor_sleep's store of mon_slow and its re-check. */
    if (atomic_load(&mon_slow) && atomic_exchange(&mon_slow, 0))
        syscall(SYS_futex, &mon_slow, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* A wake-up stamped and not yet taken up (unstack.c). */
static bool wakes_pending(const weft__rt *rt)
{
    if (!atomic_load_explicit(&rt->watch_wakes, memory_order_relaxed))
        return false;
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (atomic_load(&rt->workers[i].woken_at))
            return true;
    return false;
}

/* due: look again in due ns (at most a period), 0: as the workers' states say.
 * Returns true when a poke ended a slow sleep. */
static bool monitor_sleep(weft__rt *rt, uint64_t due)
{
    unsigned parked = atomic_load(&rt->nparked);
    if (due || (parked > 0 && parked < rt->nworkers)) {
        struct timespec ts = {0, due && due < PERIOD_NS ? (long)due : PERIOD_NS};
        nanosleep(&ts, NULL);
        return false;
    }
    atomic_store(&mon_slow, 1);
    /* Re-check after announcing the slow sleep: a worker that parked (or a waker that
     * stamped a wake-up) in between either sees mon_slow and pokes, or is seen here. */
    parked = atomic_load(&rt->nparked);
    if (!(parked > 0 && parked < rt->nworkers) && !wakes_pending(rt)) {
        struct timespec ts = {0, SLOW_NS};
        syscall(SYS_futex, &mon_slow, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
    }
    return atomic_exchange(&mon_slow, 0) == 0; /* a poker cleared it */
}

/* Ask for a short time slice (Linux 6.12+, EEVDF; unprivileged for SCHED_OTHER): a
 * woken thread with a shorter slice than the running one preempts it, so the monitor,
 * woken on the CPU of a worker spinning in a long task (unstack.c explains why that
 * happens), runs at once instead of after that worker's slice. Older kernels refuse
 * the call; nothing else changes. */
static void short_slice(void)
{
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
}

static void *monitor_main(void *arg)
{
    weft__rt *rt = arg;
    pthread_setname_np(pthread_self(), "weft-monitor");
    short_slice();
    unsigned n = rt->nworkers;
    sample *s = weft__calloc(n, sizeof *s);
    if (!s)
        return NULL;
    weft__unstack *unstack = weft__unstack_new(rt);
    uint64_t window = 0; /* rate limit: reports in the current second */
    unsigned reports = 0;
    uint64_t due = 0, watch_until = 0;
    while (!atomic_load(&mon_stop)) {
        bool poked = monitor_sleep(rt, due);
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
                s[i].tick = tick;
                s[i].since = now;
                s[i].reported = false;
                s[i].unstacked = false;
                /* Work to steal: make sure someone is looking. Packing (idle.c step
                 * 7): only when the queue stood still for a period. */
                if (weft__runq_len(&w->runq) && (!pack || !moved))
                    kick = true;
                continue;
            }
            /* Stuck: no progress for a whole period (the monitor may look sooner when
             * a wake-up is pending). */
            bool stuck = now - s[i].since >= PERIOD_NS;
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
        if (kick && atomic_load(&rt->nparked) && !atomic_load(&rt->nsearching))
            weft__notify_parked();
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
