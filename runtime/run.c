/* weft — weft_run: starting the workers, running main, the shutdown protocol.
 *
 * Shutdown, in order:
 *  1. main returns inside its wrapper task; `shutdown` is set, so tasks spawned from now
 *     on start cancelled;
 *  2. the wrapper cancels every live task and re-scans every millisecond until none but
 *     itself is unfinished (tasks may spawn more or still be unwinding);
 *  3. it signals the thread blocked in weft_run, which sets `stopping` and wakes every
 *     worker; workers leave their loops once they find no work;
 *  4. worker threads are joined; WEFT_DEBUG lists finished tasks nobody joined; task
 *     objects, stacks, timers and rings are released.
 */
#include "io/internal.h"
#include "runtime/internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(WEFT_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

weft__rt *weft__rt_cur;
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;

void weft__worker_bind(weft__worker *w);
void weft__worker_loop(weft__worker *w);

int weft_worker_id(void)
{
    weft__worker *w = weft__worker_self();
    return w ? (int)w->index : -1;
}

unsigned weft_workers(void)
{
    weft__rt *rt = weft__rt_cur;
    return rt ? rt->nworkers : 0;
}

/* ---- stack overflow diagnostics --------------------------------------------------- */

static struct sigaction old_segv;
static bool segv_installed;

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
    const weft__stack *s = weft__stack_guard_hit(si->si_addr);
    weft__worker *w = weft__worker_self();
    weft_task *t = w ? atomic_load_explicit(&w->current, memory_order_relaxed) : NULL;
    if (s && t) {
        char name[256], msg[512];
        weft__symbol((const void *)t->fn, name, sizeof name);
        int n = snprintf(msg, sizeof msg,
                         "weft: stack overflow in task %s (stack size %zu bytes) on worker %u; "
                         "raise weft_config.stack_size\n",
                         name, weft__stack_size(), w->index);
        if (n > 0)
            (void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    /* Not ours: hand it to whoever was there before, or take the default action. */
    if (old_segv.sa_flags & SA_SIGINFO && old_segv.sa_sigaction) {
        old_segv.sa_sigaction(sig, si, uc);
    } else if (old_segv.sa_handler != SIG_IGN && old_segv.sa_handler != SIG_DFL &&
               old_segv.sa_handler) {
        old_segv.sa_handler(sig);
    } else {
        signal(SIGSEGV, SIG_DFL); /* returning re-executes the fault, now fatal */
    }
}

static void install_segv(void)
{
    if (segv_installed)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = segv_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &old_segv) == 0)
        segv_installed = true;
}

/* ---- worker threads ----------------------------------------------------------------- */

static int ring_init(weft__worker *w, unsigned entries)
{
    struct io_uring_params p;
    /* Newest first; each falls back for older kernels (6.1 lacks nothing here, 5.x
     * lacks SINGLE_ISSUER / DEFER_TASKRUN). */
    const unsigned flags[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        0,
    };
    int rc = -EINVAL;
    /* WEFT_RING_COMPAT=1 skips the newest flags (tests the fallback on new kernels). */
    const char *compat = getenv("WEFT_RING_COMPAT");
    size_t first = compat && *compat && *compat != '0' ? 1 : 0;
    for (size_t i = first; i < sizeof flags / sizeof flags[0]; i++) {
        memset(&p, 0, sizeof p);
        /* Completions of every operation in flight must fit (servers keep one recv per
         * connection waiting); the kernel keeps overflow (FEAT_NODROP) but slowly. */
        p.flags = flags[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = entries * 16;
        rc = io_uring_queue_init_params(entries, &w->ring, &p);
        if (rc == 0)
            return 0;
    }
    return rc;
}

static int worker_setup(weft__rt *rt, weft__worker *w)
{
    weft__worker_bind(w);
    w->tid = gettid();
    atomic_store_explicit(&w->run_cpu, sched_getcpu(), memory_order_relaxed);
    char name[16]; /* shown by top -H, perf and ftrace */
    snprintf(name, sizeof name, "weft-w%u", w->index);
    pthread_setname_np(pthread_self(), name);
    int rc = ring_init(w, rt->ring_entries);
    if (rc < 0)
        return rc;
    w->ring_ok = true;
    w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->wake_fd < 0)
        return -errno;
    /* An alternate signal stack, so the overflow handler can run when a task's stack is
     * exhausted (the signal arrives on this worker's thread). */
    size_t alt = 64 * 1024;
    w->altstack = mmap(NULL, alt, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (w->altstack == MAP_FAILED) {
        w->altstack = NULL;
        return -ENOMEM;
    }
    stack_t ss = {.ss_sp = w->altstack, .ss_size = alt};
    sigaltstack(&ss, NULL);
    if (rt->pin) {
        cpu_set_t allowed, one;
        if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
            unsigned k = 0;
            for (int c = 0; c < CPU_SETSIZE; c++)
                if (CPU_ISSET(c, &allowed) && k++ == w->index % (unsigned)CPU_COUNT(&allowed)) {
                    CPU_ZERO(&one);
                    CPU_SET(c, &one);
                    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
                    break;
                }
        }
    }
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &w->stack_lo, &w->stack_size);
        pthread_attr_destroy(&attr);
    }
#if defined(WEFT_TSAN)
    w->tsan_fiber = __tsan_get_current_fiber();
#endif
    w->rand = 0x9e3779b9u * (w->index + 1);
    return 0;
}

static void worker_teardown(weft__worker *w)
{
    if (w->altstack) {
        stack_t ss = {.ss_flags = SS_DISABLE};
        sigaltstack(&ss, NULL);
        munmap(w->altstack, 64 * 1024);
        w->altstack = NULL;
    }
    weft__stack_cache_drain(&w->stacks);
    if (w->ring_ok)
        io_uring_queue_exit(&w->ring);
    w->ring_ok = false;
    /* wake_fd stays open: weft_run may still write to it; it closes it after joining. */
    weft__worker_bind(NULL);
}

void *weft__worker_main(void *arg)
{
    weft__worker *w = arg;
    weft__rt *rt = weft__rt_cur;
    int rc = worker_setup(rt, w);
    pthread_mutex_lock(&rt->lock);
    if (rc && !rt->start_error)
        rt->start_error = rc;
    atomic_fetch_add(&rt->started_workers, 1);
    pthread_cond_broadcast(&rt->cond);
    pthread_mutex_unlock(&rt->lock);
    if (rc == 0) {
        atomic_store_explicit(&w->t_start, weft__clock_raw(), memory_order_relaxed);
        weft__trace_worker_begin(w);
        weft__worker_loop(w);
        weft__trace_worker_end(w);
    }
    worker_teardown(w);
    return NULL;
}

/* ---- main task and shutdown --------------------------------------------------------- */

typedef struct {
    weft__rt *rt;
    weft_fn fn;
    void *arg;
} main_args;

typedef struct {
    weft_task *self;
    size_t unfinished;
} scan;

static void cancel_one(weft_task *t, void *arg)
{
    scan *sc = arg;
    if (t == sc->self || atomic_load(&t->jstate) == WEFT_J_DONE)
        return;
    sc->unfinished++;
    if (!atomic_load_explicit(&t->cancelled, memory_order_relaxed))
        weft_cancel(t);
}

static void *main_wrapper(void *p)
{
    main_args *ma = p;
    weft__rt *rt = ma->rt;
    rt->main_result = ma->fn(ma->arg);
    /* Step 1 and 2 of the shutdown protocol. */
    atomic_store(&rt->shutdown, true);
    weft_task *self = weft__task_self();
    self->nointr = true;
    self->deadline = UINT64_MAX;
    for (;;) {
        scan sc = {.self = self};
        weft__taskpool_each(cancel_one, &sc);
        if (sc.unfinished == 0)
            break;
        weft_sleep(1000000);
    }
    pthread_mutex_lock(&rt->lock);
    rt->main_done = true;
    pthread_cond_broadcast(&rt->cond);
    pthread_mutex_unlock(&rt->lock);
    return NULL;
}

static void report_unjoined(weft_task *t, void *arg)
{
    weft__rt *rt = arg;
    if (t == rt->main_task)
        return;
    char name[256];
    fprintf(stderr, "weft: task %s was never joined nor detached\n",
            weft__symbol((const void *)t->fn, name, sizeof name));
}

static unsigned default_workers(void)
{
    const char *e = getenv("WEFT_WORKERS");
    if (e && atoi(e) > 0)
        return (unsigned)atoi(e);
    unsigned cpus;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
        cpus = (unsigned)CPU_COUNT(&set);
    } else {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cpus = n > 0 ? (unsigned)n : 1;
    }
    /* A container's CPU quota (cgroup.c): no more workers than CPUs it may use. */
    return weft__workers_for_limit(cpus, weft__cgroup_cpu_limit(""));
}

static bool env_flag(const char *name)
{
    const char *e = getenv(name);
    return e && *e && strcmp(e, "0") != 0;
}

/* Valgrind runs one thread at a time under a global lock, and 3.19 (Debian 12) keeps
 * holding it through io_uring_enter (it does not treat the call as one that may block):
 * a worker parked in its ring would stop every other thread, among them the ones that
 * would wake it. Its tools preload vgpreload_*.so into the program, which is how we
 * tell. */
static bool under_valgrind(void)
{
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "/vgpreload_");
}

enum { MAX_WORKERS = 1024 };

int weft_run(const weft_config *cfg, weft_fn fn, void *arg, void **result)
{
    weft_config c = cfg ? *cfg : (weft_config){0};
    if (!fn || weft__worker_self() || c.workers > MAX_WORKERS)
        return -EINVAL;
    if (c.stack_size && c.stack_size < 16 * 1024)
        c.stack_size = 16 * 1024;
    if (pthread_mutex_trylock(&run_lock) != 0)
        return -EBUSY; /* one runtime per process at a time */

    weft__rt *rt = weft__calloc(1, sizeof *rt);
    weft__worker *ws = NULL;
    int rc = -ENOMEM;
    if (!rt)
        goto out_unlock;
    rt->nworkers = c.workers ? c.workers : default_workers();
    rt->stack_size = c.stack_size ? c.stack_size : WEFT_DEFAULT_STACK;
    rt->ring_entries = c.ring_entries ? c.ring_entries : 256;
    rt->pin = c.pin_workers;
    weft__io_probe();
    rt->debug = env_flag("WEFT_DEBUG");
    const char *slow = getenv("WEFT_SLOW_MS");
    rt->slow_ns = (slow && atoi(slow) > 0 ? (uint64_t)atoi(slow) : 100) * 1000000u;
    rt->slow_report = rt->debug || (slow && atoi(slow) > 0);
    weft__clock_init();
    /* Waking a halted vCPU costs ~21 us on the VMs we measure on: a searcher spins this
     * long before parking. I/O-bound servers sharing cores with their load may want less. */
    const char *spin = getenv("WEFT_SPIN_US");
    rt->spin_ns = (spin && *spin ? (uint64_t)atoi(spin) : 50) * 1000u;
    /* A searcher leaves a victim's queued tasks alone while the victim will reach them
     * sooner than this (idle.c step 1a): moving a task that would have run in a few
     * microseconds anyway costs its cache and, for tasks that talk to each other, makes
     * both cores fight over the same lines. */
    const char *age = getenv("WEFT_STEAL_AGE_US");
    rt->steal_age_ns = (age && *age ? (uint64_t)atoi(age) : 20) * 1000u;
    weft__cpuload_init(rt); /* WEFT_PACK (cpuload.c) */
    /* Channel tasks gathering (sync/chan.c step 11): "0", "always"; else auto. */
    const char *gather = getenv("WEFT_GATHER");
    rt->gather = WEFT_GATHER_AUTO;
    if (gather && strcmp(gather, "0") == 0)
        rt->gather = WEFT_GATHER_OFF;
    else if (gather && strcmp(gather, "always") == 0)
        rt->gather = WEFT_GATHER_ALWAYS;
    if (under_valgrind())
        rt->park_max_ns = 1000000u;
    const char *mrt = getenv("WEFT_MONITOR_RT");
    rt->monitor_rt = !(mrt && strcmp(mrt, "0") == 0);
    pthread_mutex_init(&rt->lock, NULL);
    pthread_cond_init(&rt->cond, NULL);
    if (posix_memalign((void **)&ws, WEFT_CACHELINE, rt->nworkers * sizeof *ws) != 0)
        goto out_free_rt;
    memset(ws, 0, rt->nworkers * sizeof *ws);
    rt->workers = ws;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        ws[i].index = i;
        ws[i].wake_fd = -1;
        ws[i].spin_ns = rt->spin_ns;
        /* No tick value yet: a worker that has run nothing (tick 0) is not stuck. */
        atomic_init(&ws[i].stuck_tick, UINT64_MAX);
        atomic_init(&ws[i].woken_by, -1);
        atomic_init(&ws[i].woken_cpu, -1);
        atomic_init(&ws[i].run_cpu, -1);
        weft__runq_init(&ws[i].runq);
        weft__timers_init(&ws[i].timers);
    }
    if ((rc = weft__stacks_init(rt->stack_size)) < 0 || (rc = weft__taskpool_init()) < 0)
        goto out_free_ws;
    install_segv();
    if ((rc = weft__trace_start(c.trace_path, rt->nworkers)) < 0)
        goto out_pool_only;
    weft__rt_cur = rt;

    main_args ma = {rt, fn, arg};
    rt->main_task = weft__spawn(main_wrapper, &ma, NULL);
    if (!rt->main_task) {
        rc = -ENOMEM;
        goto out_pool;
    }
    unsigned started = 0;
    for (; started < rt->nworkers; started++) {
        if ((rc = -pthread_create(&ws[started].thread, NULL, weft__worker_main, &ws[started])))
            break;
    }
    pthread_mutex_lock(&rt->lock);
    while ((unsigned)atomic_load(&rt->started_workers) < started)
        pthread_cond_wait(&rt->cond, &rt->lock);
    if (!rc)
        rc = rt->start_error;
    pthread_mutex_unlock(&rt->lock);
    if (rc == 0) {
        weft__monitor_start();
        pthread_mutex_lock(&rt->lock);
        while (!rt->main_done)
            pthread_cond_wait(&rt->cond, &rt->lock);
        pthread_mutex_unlock(&rt->lock);
    }
    /* Step 3: stop the workers. */
    atomic_store(&rt->stopping, true);
    weft__worker_wake_all();
    for (unsigned i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    /* Blocking threads may still wake tasks' workers (eventfds) until joined. */
    weft__blocking_shutdown();
    weft__monitor_stop();
    weft__trace_stop(); /* every thread that records is gone */
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (ws[i].wake_fd >= 0)
            close(ws[i].wake_fd);
    /* Step 4. */
    if (rc == 0 && rt->debug)
        weft__taskpool_each(report_unjoined, rt);
    if (rc == 0 && result)
        *result = rt->main_result;
    weft__task_free(NULL, rt->main_task);
    for (unsigned i = 0; i < rt->nworkers; i++)
        weft__timers_fini(&ws[i].timers);
out_pool:
    weft__rt_cur = NULL;
    while (weft__inject_pop())
        ; /* only after a failed start */
    weft__inject_fini();
    weft__trace_stop();
out_pool_only:
    weft__taskpool_fini();
    weft__stacks_fini();
out_free_ws:
    free(ws);
out_free_rt:
    weft__cpuload_fini();
    pthread_cond_destroy(&rt->cond);
    pthread_mutex_destroy(&rt->lock);
    weft__free(rt, sizeof *rt);
out_unlock:
    pthread_mutex_unlock(&run_lock);
    return rc;
}
