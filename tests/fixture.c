/* fixture.c — runs test bodies as weft main tasks and checks nothing leaked. */
#include "fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static atomic_uint cur_workers;

unsigned wt_cur_workers(void)
{
    return atomic_load(&cur_workers);
}

void *wt_run_cfg(const weft_config *cfg, weft_fn fn, void *arg)
{
    /* A value main never returns, so a runtime that forgets to store the result shows. */
    void *result = (void *)(uintptr_t)0xdeadbeefu;

    WT_EQ(weft_workers(), 0);
    WT_EQ(weft_worker_id(), -1);
    atomic_store(&cur_workers, cfg ? cfg->workers : 0);

    int rc = weft_run(cfg, fn, arg, &result);
    if (rc != 0)
        fail_msg("weft_run returned %d (%s)", rc, weft_strerror(rc));

    atomic_store(&cur_workers, 0);
    WT_EQ(weft_workers(), 0);
    WT_EQ(weft_worker_id(), -1);
    size_t live = weft__tasks_live();
    if (live != 0)
        fail_msg("%zu task(s) still allocated after weft_run returned (leak)", live);
    return result;
}

void *wt_run(unsigned workers, weft_fn fn, void *arg)
{
    weft_config cfg = {.workers = workers};
    return wt_run_cfg(&cfg, fn, arg);
}

void wt_run_1_2(weft_fn fn, void *arg)
{
    (void)wt_run(1, fn, arg);
    (void)wt_run(2, fn, arg);
}

int wt_run_group(const char *name, const struct CMUnitTest *tests, size_t n)
{
    /* Failures inside tasks happen on worker threads: abort instead of longjmp. */
    setenv("CMOCKA_TEST_ABORT", "1", 1);
    /* Make the output readable when a test aborts half-way through a line. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* WT_FILTER=test_x* runs only matching tests; WT_SKIP=pattern skips some. */
    const char *only = getenv("WT_FILTER"), *skip = getenv("WT_SKIP");
    if (only && *only)
        cmocka_set_test_filter(only);
    if (skip && *skip)
        cmocka_set_skip_filter(skip);
    return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}

void wt__cmp_fail(const char *a_src, const char *op, const char *b_src, long long a, long long b,
                  const char *file, int line)
{
    char ea[96] = "", eb[96] = "";
    if (a < 0 && a > -4096)
        snprintf(ea, sizeof ea, " (%s)", weft_strerror((int)a));
    if (b < 0 && b > -4096)
        snprintf(eb, sizeof eb, " (%s)", weft_strerror((int)b));
    print_error("%s:%d: expected %s %s %s\n      left:  %s = %lld%s\n      right: %s = %lld%s\n",
                file, line, a_src, op, b_src, a_src, a, ea, b_src, b, eb);
    _fail(file, line);
}

int wt_tmpdir_make(char *tmpl)
{
    return mkdtemp(tmpl) ? 0 : -1;
}

int wt_tmpdir_remove(const char *dir)
{
    char cmd[300];
    if ((size_t)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir) >= sizeof cmd)
        return -1;
    return system(cmd) == 0 ? 0 : -1;
}

void wt_wait_ge(atomic_int *v, int n)
{
    uint64_t t0 = weft_now();
    while (atomic_load(v) < n) {
        if (weft_now() - t0 > 10 * WT_SEC)
            fail_msg("waited 10 s for a counter to reach %d; it is %d", n, atomic_load(v));
        int rc = weft_sleep(WT_MS);
        WT_EQ(rc, 0);
    }
}

void wt_spin_ns(uint64_t ns)
{
    uint64_t t0 = weft_now();
    while (weft_now() - t0 < ns) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

double wt_ms_since(uint64_t t0)
{
    return (double)(weft_now() - t0) / 1e6;
}

weft_task *wt_spawn(weft_fn fn, void *arg)
{
    weft_task *t = weft_spawn(fn, arg);
    if (t == NULL)
        fail_msg("weft_spawn returned NULL");
    return t;
}

char *wt_run_child(const char *arg, const char *const *env, int *status)
{
    int fds[2];
    WT_OK(pipe2(fds, O_CLOEXEC));
    fflush(NULL);
    pid_t pid = fork();
    WT_GE(pid, 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        dup2(fds[1], STDOUT_FILENO);
        for (const char *const *e = env; e && *e; e++) {
            const char *eq = strchr(*e, '=');
            if (eq) {
                char name[128];
                snprintf(name, sizeof name, "%.*s", (int)(eq - *e), *e);
                setenv(name, eq + 1, 1);
            } else {
                unsetenv(*e);
            }
        }
        execl("/proc/self/exe", "wt-child", arg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap + 1);
    WT_NONNULL(out);
    uint64_t t0 = weft_now();
    for (;;) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int left = (int)((30 * WT_SEC - (weft_now() - t0)) / WT_MS);
        if (left <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        if (poll(&pfd, 1, left) <= 0)
            continue;
        if (len == cap)
            WT_NONNULL(out = realloc(out, (cap *= 2) + 1));
        ssize_t n = read(fds[0], out + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    close(fds[0]);
    WT_EQ(waitpid(pid, status, 0), pid);
    return out;
}

void wt_idle_watch_start(wt_idle_watch *iw)
{
    memset(iw, 0, sizeof *iw);
    WT_EQ(weft_stats(iw->prev, 2), 2);
    iw->on = weft_worker_id();
}

void wt_idle_watch_step(wt_idle_watch *iw)
{
    weft_worker_stats cur[2];
    int now = weft_worker_id();
    WT_TRUE(now == 0 || now == 1);
    iw->hops += now != iw->on;
    iw->on = now;
    WT_EQ(weft_stats(cur, 2), 2);
    iw->idle_parks += cur[1 - now].parks - iw->prev[1 - now].parks;
    memcpy(iw->prev, cur, sizeof cur);
}
