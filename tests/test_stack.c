/* test_stack.c — task stacks: the configured size is usable, overflowing it gives a
 * clear diagnostic (in a child process), tens of thousands of tasks can hold a stack at
 * once, and the pages of stacks left idle after such a burst go back to the kernel.
 *
 * The overflow runs in a fresh process: this program re-executes itself with
 * --overflow-child, so cmocka's signal handlers are not inherited, and the parent
 * reads the child's stderr through a pipe. */
#include "fixture.h"

#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define OVERFLOW_STACK (128 * 1024)

/* ---- stack size is honoured -------------------------------------------------------- */

WT_NOINLINE static unsigned use_stack(size_t bytes)
{
    volatile char buf[bytes]; /* VLA on the task's stack; touch every page */
    for (size_t i = 0; i < bytes; i += 512)
        buf[i] = (char)i;
    unsigned sum = 0;
    for (size_t i = 0; i < bytes; i += 4096)
        sum += (unsigned char)buf[i];
    return sum;
}

static void *big_user(void *arg)
{
    size_t bytes = (size_t)(uintptr_t)arg;
    (void)use_stack(bytes);
    WT_OK(weft_yield()); /* and the stack survives a switch (and a migration) */
    (void)use_stack(bytes);
    return (void *)1;
}

static void *big_stack_main(void *arg)
{
    size_t bytes = (size_t)(uintptr_t)arg;
    weft_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = wt_spawn(big_user, (void *)(uintptr_t)bytes);
    WT_OK(weft_gather(t, 4, NULL));
    return NULL;
}

static void test_stack_size_honoured(void **state)
{
    (void)state;
    for (unsigned w = 1; w <= 2; w++) {
        /* 1 MiB configured; use 768 KiB of it. */
        weft_config cfg = {.workers = w, .stack_size = 1024 * 1024};
        (void)wt_run_cfg(&cfg, big_stack_main, (void *)(uintptr_t)(768 * 1024));
        /* Default size (64 KiB, 256 KiB under sanitizers): 32 KiB is fine. */
        cfg.stack_size = 0;
        (void)wt_run_cfg(&cfg, big_stack_main, (void *)(uintptr_t)(32 * 1024));
    }
}

/* ---- stack overflow diagnostic ------------------------------------------------------- */

/* Recurses with 1 KiB per frame until the guard page is hit. Not static and exported
 * (-rdynamic), so the runtime can name it in its diagnostic. */
__attribute__((noinline, visibility("default"))) unsigned overflow_recurse(unsigned depth);

__attribute__((noinline, visibility("default"))) unsigned overflow_recurse(unsigned depth)
{
    volatile char buf[1024];
    buf[0] = (char)depth;
    buf[sizeof buf - 1] = (char)(depth >> 8);
    if (depth == UINT_MAX)
        return buf[0];
    /* Not a tail call: the result is used after the call returns. */
    return overflow_recurse(depth + 1) + (unsigned)buf[depth % sizeof buf];
}

__attribute__((noinline, visibility("default"))) void *overflow_task(void *arg);

__attribute__((noinline, visibility("default"))) void *overflow_task(void *arg)
{
    (void)arg;
    return (void *)(uintptr_t)overflow_recurse(0);
}

/* Stacks held by blocked tasks before the overflowing one starts (--overflow-child-late):
 * its stack is then deep in the second slab of 256, so the guard checked is one that
 * the batched guard install (runtime/stack.c step 2a) put in, not the first slot's. */
enum { LATE_HOLDERS = 300 };

static atomic_uint holders_up;

static void *holder(void *arg)
{
    int v;
    atomic_fetch_add(&holders_up, 1);
    (void)weft_chan_recv(arg, &v); /* blocks: the child dies of the overflow meanwhile */
    return NULL;
}

static void *overflow_child_main(void *arg)
{
    unsigned holders = (unsigned)(uintptr_t)arg;
    weft_chan *c = weft_chan_new(sizeof(int), 0);
    for (unsigned i = 0; c && i < holders; i++) {
        weft_task *h = weft_spawn(holder, c);
        if (h)
            weft_detach(h);
    }
    while (atomic_load(&holders_up) < holders) /* each runs and blocks, keeping its stack */
        weft_sleep(WEFT_NS_PER_MS);
    weft_task *t = weft_spawn(overflow_task, NULL);
    if (t != NULL)
        weft_join(t, NULL);
    return NULL;
}

static int overflow_child(unsigned holders)
{
    weft_config cfg = {.workers = 1, .stack_size = OVERFLOW_STACK};
    int rc = weft_run(&cfg, overflow_child_main, (void *)(uintptr_t)holders, NULL);
    fprintf(stderr, "overflow child: weft_run returned %d: no overflow was detected\n", rc);
    return 3;
}

/* Does `out` name the stack size, as bytes or as KiB? */
static bool names_stack_size(const char *out)
{
    char bytes[32];
    snprintf(bytes, sizeof bytes, "%d", OVERFLOW_STACK);
    if (strstr(out, bytes))
        return true;
    const char *kib = "128";
    for (const char *p = strstr(out, kib); p; p = strstr(p + 1, kib)) {
        const char *q = p + strlen(kib);
        while (*q == ' ')
            q++;
        if (*q == 'K' || *q == 'k')
            return true;
    }
    return false;
}

static void overflow_diagnostic(const char *arg)
{
    int status = 0;
    char *out = wt_run_child(arg, NULL, &status);

    print_message("      child: %s %d; its output:\n%s\n",
                  WIFSIGNALED(status) ? "killed by signal" : "exit status",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), out);

    bool died = (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) ||
                (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3 &&
                 WEXITSTATUS(status) != 127);
    bool weft_msg = strstr(out, "stack overflow") != NULL;
    bool asan_msg = WT_ASAN && strstr(out, "stack-overflow") != NULL;
    if (!died)
        fail_msg("the child should die by SIGABRT or a nonzero exit after a stack overflow");
    if (asan_msg && !weft_msg) {
        /* AddressSanitizer caught the fault first; its report is accepted as is. */
    } else {
        if (!weft_msg)
            fail_msg("no \"stack overflow\" in the child's stderr");
        if (!strstr(out, "overflow_task"))
            fail_msg("the diagnostic does not name the task's function (overflow_task)");
        if (!names_stack_size(out))
            fail_msg("the diagnostic does not give the stack size (%d bytes / 128 KiB)",
                     OVERFLOW_STACK);
    }
    free(out);
}

static void test_stack_overflow_diagnostic(void **state)
{
    (void)state;
    overflow_diagnostic("--overflow-child");
}

static void test_stack_overflow_late_slot(void **state)
{
    (void)state;
    overflow_diagnostic("--overflow-child-late");
}

/* ---- many live stacks ------------------------------------------------------------------ */

enum { MANY = WT_SCALE(50000, 50000, 2000) };
static atomic_int many_ready;

static void *many_waiter(void *arg)
{
    weft_chan *c = arg;
    int v = 0;
    atomic_fetch_add(&many_ready, 1);
    WT_OK(weft_chan_recv(c, &v));
    return (void *)(uintptr_t)v;
}

/* Spawns n tasks of fn(c) and waits until every one has started (counted in
 * many_ready) and so holds a stack. Returns the malloc'ed handles. */
static weft_task **spawn_blocked(weft_fn fn, weft_chan *c, int n)
{
    weft_task **t = malloc((size_t)n * sizeof *t);
    WT_NONNULL(t);
    for (int i = 0; i < n; i++)
        t[i] = wt_spawn(fn, c);
    uint64_t t0 = weft_now();
    while (atomic_load(&many_ready) < n) {
        WT_OK(weft_sleep(WT_MS));
        if (weft_now() - t0 > 30 * WT_SEC)
            fail_msg("only %d of %d tasks started", atomic_load(&many_ready), n);
    }
    return t;
}

static void *many_tasks_main(void *arg)
{
    (void)arg;
    atomic_store(&many_ready, 0);
    weft_chan *c = weft_chan_new(sizeof(int), 0);
    WT_NONNULL(c);
    unsigned char *seen = calloc(MANY + 1, 1);
    WT_NONNULL(seen);
    weft_task **t = spawn_blocked(many_waiter, c, MANY);
    /* Every one of them has run (so holds a stack) and none has finished. */
    WT_GE(weft__tasks_live(), (size_t)MANY + 1);
    for (int i = 1; i <= MANY; i++)
        WT_OK(weft_chan_send(c, &i));
    long long sum = 0;
    for (int i = 0; i < MANY; i++) {
        void *r = NULL;
        WT_OK(weft_join(t[i], &r));
        uintptr_t v = (uintptr_t)r;
        WT_TRUE(v >= 1 && v <= MANY);
        WT_EQ(seen[v], 0);
        seen[v] = 1;
        sum += (long long)v;
    }
    WT_EQ(sum, (long long)MANY * (MANY + 1) / 2);
    free(seen);
    free(t);
    weft_chan_free(c);
    return NULL;
}

static void test_many_live_stacks(void **state)
{
    (void)state;
    print_message("      %d tasks blocked at once\n", MANY);
    wt_run_1_2(many_tasks_main, NULL);
}

/* ---- idle stacks give their pages back ------------------------------------------------ */

enum { BURST = WT_SCALE(8000, 8000, 2000), BURST_TOUCH = 16 * 1024 };

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    WT_NONNULL(f);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    WT_GE(kb, 0);
    return kb;
}

static void *burst_waiter(void *arg)
{
    (void)use_stack(BURST_TOUCH); /* 16 KiB of this stack's pages become resident */
    atomic_fetch_add(&many_ready, 1);
    int v;
    WT_EQ(weft_chan_recv(arg, &v), -EPIPE); /* burst_main closes the channel */
    return NULL;
}

static void *burst_main(void *arg)
{
    (void)arg;
    atomic_store(&many_ready, 0);
    weft_chan *c = weft_chan_new(sizeof(int), 0);
    WT_NONNULL(c);
    weft_task **t = spawn_blocked(burst_waiter, c, BURST);
    long peak = rss_kb();
    weft_chan_close(c);
    for (int i = 0; i < BURST; i++)
        WT_OK(weft_join(t[i], NULL));
    /* Every stack is free now. The runtime keeps some for the next burst (a global
     * reserve of 1024 plus the workers' caches) and gives the rest back after about a
     * second without use, off the workers' hot path. Wait up to 6 s for at least half
     * of the pages beyond the reserve. */
    long want = (long)(BURST - 1024 - 2 * 64) * (BURST_TOUCH / 1024) / 2;
    long now = rss_kb();
    uint64_t t0 = weft_now();
    while (peak - now < want && weft_now() - t0 < 6 * WT_SEC) {
        WT_OK(weft_sleep(100 * WT_MS));
        now = rss_kb();
    }
    print_message("      RSS %ld KiB with %d blocked tasks, %ld KiB after they finished\n", peak,
                  BURST, now);
    if (peak - now < want)
        fail_msg("RSS fell by %ld KiB, want at least %ld", peak - now, want);
    free(t);
    weft_chan_free(c);
    return NULL;
}

static void test_idle_stacks_returned(void **state)
{
    (void)state;
    wt_run_1_2(burst_main, NULL);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--overflow-child") == 0)
        return overflow_child(0);
    if (argc > 1 && strcmp(argv[1], "--overflow-child-late") == 0)
        return overflow_child(LATE_HOLDERS);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stack_size_honoured),
        cmocka_unit_test(test_stack_overflow_diagnostic),
        cmocka_unit_test(test_stack_overflow_late_slot),
        cmocka_unit_test(test_many_live_stacks),
        cmocka_unit_test(test_idle_stacks_returned),
    };
    return WT_RUN_GROUP(tests);
}
