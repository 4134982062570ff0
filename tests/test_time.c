/* test_time.c — weft_now, weft_sleep / weft_sleep_until, wake-up order, wait_for and
 * deadline scopes (weft_timeout_*, WEFT_WITH_TIMEOUT). Lower bounds on sleeping are
 * exact; upper bounds are generous (a noisy VM). */
#include "fixture.h"

#include <sys/resource.h>
#include <time.h>

#define SLACK (2 * WT_SEC) /* generous upper bound for "promptly" */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * WT_SEC + (uint64_t)ts.tv_nsec;
}

/* ---- clocks --------------------------------------------------------------------- */

static void test_now_monotonic(void **state)
{
    (void)state;
    uint64_t before = mono_ns();
    uint64_t prev = weft_now();
    for (int i = 0; i < 100000; i++) {
        uint64_t t = weft_now();
        WT_GE(t, prev);
        prev = t;
    }
    uint64_t after = mono_ns();
    WT_GE(prev, before); /* it is CLOCK_MONOTONIC */
    WT_LE(prev, after);
}

static void *now_in_task_main(void *arg)
{
    (void)arg;
    uint64_t a = mono_ns(), n = weft_now(), b = mono_ns();
    WT_GE(n, a);
    WT_LE(n, b);
    uint64_t prev = weft_now();
    for (int i = 0; i < 100; i++) {
        WT_OK(weft_yield());
        uint64_t t = weft_now();
        WT_GE(t, prev); /* also across migrations */
        prev = t;
    }
    return NULL;
}
WT_TEST_1_2(now_in_task)

/* ---- sleeping ------------------------------------------------------------------- */

static void *sleep_duration_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = weft_now();
        WT_OK(weft_sleep(10 * WT_MS));
        uint64_t dt = weft_now() - t0;
        WT_GE(dt, 10 * WT_MS);
        WT_LT(dt, SLACK);
    }
    uint64_t t0 = weft_now();
    WT_OK(weft_sleep(WT_US));
    WT_GE(weft_now() - t0, WT_US);

    uint64_t deadline = weft_now() + 15 * WT_MS;
    WT_OK(weft_sleep_until(deadline));
    WT_GE(weft_now(), deadline);
    /* A deadline in the past returns at once. */
    t0 = weft_now();
    WT_OK(weft_sleep_until(t0 - WT_MS));
    WT_LT(weft_now() - t0, SLACK);
    return NULL;
}
WT_TEST_1_2(sleep_duration)

static void test_sleep_on_plain_thread(void **state)
{
    (void)state;
    uint64_t t0 = weft_now();
    WT_OK(weft_sleep(5 * WT_MS));
    WT_GE(weft_now() - t0, 5 * WT_MS);
}

static atomic_int order_ix;
static atomic_int order_log[16];

static void *order_marker(void *arg)
{
    atomic_store(&order_log[atomic_fetch_add(&order_ix, 1)], (int)(uintptr_t)arg);
    return NULL;
}

/* weft_sleep(0) and weft_yield put the caller behind every runnable task. With one
 * worker that is observable: all the markers run before the caller resumes. */
static void *sleep_zero_yields_main(void *arg)
{
    (void)arg;
    for (int round = 0; round < 2; round++) {
        atomic_store(&order_ix, 0);
        weft_task *t[3];
        for (int i = 0; i < 3; i++)
            t[i] = wt_spawn(order_marker, (void *)(uintptr_t)i);
        uint64_t t0 = weft_now();
        WT_OK(round == 0 ? weft_sleep(0) : weft_yield());
        WT_LT(weft_now() - t0, SLACK);
        WT_EQ(atomic_load(&order_ix), 3);
        WT_OK(weft_gather(t, 3, NULL));
    }
    return NULL;
}
WT_TEST_W(sleep_zero_yields, 1)

/* Sleepers wake in deadline order. One worker: exact order with 3 ms steps. Two
 * workers: timers live on different workers, so the steps are 20 ms. */
enum { ORDERED = 16 };
static atomic_int wake_ix;
static atomic_int wake_log[ORDERED];
static atomic_int woke_early;

struct sleeper {
    unsigned rank;
    uint64_t step;
    uint64_t deadline, woke; /* weft_now() values */
};

static atomic_int n_sleeping;

static void *ordered_sleeper(void *arg)
{
    struct sleeper *s = arg;
    uint64_t d = (s->rank + 1) * s->step;
    uint64_t deadline = weft_now() + d;
    s->deadline = deadline;
    atomic_fetch_add(&n_sleeping, 1);
    WT_OK(weft_sleep_until(deadline)); /* the heap's key is exactly `deadline` */
    s->woke = weft_now();
    if (s->woke < deadline)
        atomic_fetch_add(&woke_early, 1);
    atomic_store(&wake_log[atomic_fetch_add(&wake_ix, 1)], (int)s->rank);
    return NULL;
}

static void *wake_order_main(void *arg)
{
    (void)arg;
    bool one = wt_cur_workers() == 1;
    unsigned n = one ? ORDERED : 10;
    uint64_t step = one ? 3 * WT_MS : 20 * WT_MS;
    struct sleeper sl[ORDERED];
    weft_task *t[ORDERED];
    atomic_store(&wake_ix, 0);
    atomic_store(&woke_early, 0);
    /* Spawn in a scrambled order: rank = (i * 7) mod n (7 is coprime with 16 and 10). */
    for (unsigned i = 0; i < n; i++) {
        sl[i] = (struct sleeper){.rank = (i * 7) % n, .step = step};
        t[i] = wt_spawn(ordered_sleeper, &sl[i]);
    }
    WT_OK(weft_gather(t, n, NULL));
    WT_EQ(atomic_load(&wake_ix), n);
    WT_EQ(atomic_load(&woke_early), 0);
    /* One worker: one timer heap fires in deadline order, even when it fires late and
     * several at once. Two workers: each has its own heap, so a worker that was held up
     * (a loaded machine, sanitizers) may run a later sleeper of its own first; that is
     * allowed only when the earlier sleeper was really woken after the later one's
     * deadline. Deadlines, not ranks: each sleeper takes its deadline when it starts,
     * and on a loaded machine a higher rank may start more than a step earlier. */
    struct sleeper *by_rank[ORDERED];
    unsigned pos[ORDERED];
    for (unsigned i = 0; i < n; i++)
        by_rank[sl[i].rank] = &sl[i];
    for (unsigned i = 0; i < n; i++)
        pos[atomic_load(&wake_log[i])] = i;
    for (unsigned a = 0; a < n; a++)
        for (unsigned b = 0; b < n; b++) {
            struct sleeper *x = by_rank[a], *y = by_rank[b];
            if (x->deadline >= y->deadline || pos[a] < pos[b])
                continue;
            /* x was due first but woke after y */
            print_error("rank %u (due %llu) woke after rank %u (due %llu)\n", a,
                        (unsigned long long)x->deadline, b, (unsigned long long)y->deadline);
            WT_FALSE(one);
            WT_GE(x->woke, y->deadline); /* x was held up */
        }
    return NULL;
}
WT_TEST_1_2(wake_order)

/* Timers that expire together still wake their tasks in deadline order. One worker:
 * the sleepers all start sleeping (1..16 ms, spawned scrambled), then main keeps the
 * only worker busy for 60 ms, so every deadline passes before the worker looks at its
 * timers again, and all sixteen fire in one batch. */
static void *wake_order_batched_main(void *arg)
{
    (void)arg;
    enum { N = ORDERED };
    struct sleeper sl[N];
    weft_task *t[N];
    atomic_store(&wake_ix, 0);
    atomic_store(&woke_early, 0);
    atomic_store(&n_sleeping, 0);
    for (unsigned i = 0; i < N; i++) {
        sl[i] = (struct sleeper){.rank = (i * 7) % N, .step = WT_MS};
        t[i] = wt_spawn(ordered_sleeper, &sl[i]);
    }
    /* Let them all run up to their weft_sleep. One yield is not always enough: with
     * small run queues (WEFT_SMALL_QUEUES) most of them wait in the injection queue. */
    while (atomic_load(&n_sleeping) < (int)N)
        WT_OK(weft_yield());
    WT_EQ(atomic_load(&wake_ix), 0);
    wt_spin_ns(60 * WT_MS);
    WT_OK(weft_gather(t, N, NULL));
    WT_EQ(atomic_load(&wake_ix), N);
    WT_EQ(atomic_load(&woke_early), 0);
    /* Deadline order, which is rank order unless a sleeper of higher rank took its
     * deadline more than a step before one of lower rank (a slow start under TSan). */
    struct sleeper *by_rank[N];
    for (unsigned i = 0; i < N; i++)
        by_rank[sl[i].rank] = &sl[i];
    char got[3 * N + 1] = "";
    for (unsigned i = 0; i < N; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), " %d", atomic_load(&wake_log[i]));
    for (unsigned i = 1; i < N; i++) {
        const struct sleeper *prev = by_rank[atomic_load(&wake_log[i - 1])];
        const struct sleeper *cur = by_rank[atomic_load(&wake_log[i])];
        if (prev->deadline > cur->deadline)
            print_error("timers fired in one batch woke their tasks in this order:%s\n", got);
        WT_LE(prev->deadline, cur->deadline);
    }
    return NULL;
}
WT_TEST_W(wake_order_batched, 1)

/* ---- wait_for --------------------------------------------------------------------- */

static atomic_int slow_rc;

static void *sleep_then_return(void *arg)
{
    uint64_t ms = (uintptr_t)arg;
    int rc = weft_sleep(ms * WT_MS);
    atomic_store(&slow_rc, rc);
    return (void *)(uintptr_t)(ms + 1);
}

static void *fail_eio(void *arg)
{
    WT_OK(weft_sleep(WT_MS));
    weft_fail(-EIO);
    return arg;
}

static void *wait_for_main(void *arg)
{
    (void)arg;
    /* Fast task: its result. */
    void *r = NULL;
    uint64_t t0 = weft_now();
    WT_OK(weft_wait_for(wt_spawn(sleep_then_return, (void *)5), WT_SEC, &r));
    WT_EQ((uintptr_t)r, 6);
    WT_LT(weft_now() - t0, WT_SEC);

    /* Already finished task. */
    weft_task *t = wt_spawn(sleep_then_return, (void *)0);
    while (!weft_done(t))
        WT_OK(weft_sleep(WT_MS));
    WT_OK(weft_wait_for(t, 10 * WT_MS, &r));
    WT_EQ((uintptr_t)r, 1);

    /* Slow task: -ETIMEDOUT around the timeout, and the task saw -ECANCELED. */
    atomic_store(&slow_rc, 1);
    t0 = weft_now();
    WT_EQ(weft_wait_for(wt_spawn(sleep_then_return, (void *)10000), 20 * WT_MS, NULL), -ETIMEDOUT);
    uint64_t dt = weft_now() - t0;
    WT_GE(dt, 20 * WT_MS);
    WT_LT(dt, SLACK);
    WT_EQ(atomic_load(&slow_rc), -ECANCELED); /* it was joined before wait_for returned */

    /* A failing task's status comes through. */
    WT_EQ(weft_wait_for(wt_spawn(fail_eio, NULL), WT_SEC, NULL), -EIO);
    WT_FALSE(weft_cancelled());
    return NULL;
}
WT_TEST_1_2(wait_for)

/* ---- deadline scopes ---------------------------------------------------------------- */

static void *scope_basic_main(void *arg)
{
    (void)arg;
    WT_TRUE(weft_deadline() == UINT64_MAX);

    /* enter/exit: the sleep ends with -ETIMEDOUT at the deadline; exit says expired. */
    weft_timeout s;
    uint64_t t0 = weft_now();
    weft_timeout_enter(&s, 20 * WT_MS);
    WT_GE(s.deadline, t0 + 20 * WT_MS);
    WT_LT(s.deadline, t0 + 20 * WT_MS + SLACK);
    WT_TRUE(weft_deadline() == s.deadline);
    WT_EQ(weft_sleep(10 * WT_SEC), -ETIMEDOUT);
    uint64_t dt = weft_now() - t0;
    WT_GE(dt, 20 * WT_MS);
    WT_LT(dt, SLACK);
    WT_TRUE(weft_timeout_exit(&s));
    WT_TRUE(weft_deadline() == UINT64_MAX);
    WT_OK(weft_sleep(WT_MS)); /* no deadline any more */

    /* WEFT_WITH_TIMEOUT leaves the scope at the end of the block. */
    t0 = weft_now();
    {
        WEFT_WITH_TIMEOUT(15 * WT_MS);
        WT_TRUE(weft_deadline() != UINT64_MAX);
        WT_EQ(weft_sleep(10 * WT_SEC), -ETIMEDOUT);
    }
    dt = weft_now() - t0;
    WT_GE(dt, 15 * WT_MS);
    WT_LT(dt, SLACK);
    WT_TRUE(weft_deadline() == UINT64_MAX);

    /* A scope that does not expire. */
    weft_timeout_enter(&s, 10 * WT_SEC);
    WT_OK(weft_sleep(WT_MS));
    WT_OK(weft_yield());
    WT_FALSE(weft_timeout_exit(&s));

    /* An absolute deadline already in the past: suspensions fail at once. */
    t0 = weft_now();
    weft_timeout_enter_at(&s, t0 - 1);
    WT_EQ(weft_sleep(10 * WT_SEC), -ETIMEDOUT);
    WT_LT(weft_now() - t0, SLACK);
    WT_TRUE(weft_timeout_exit(&s));
    WT_FALSE(weft_cancelled()); /* a timeout is not a cancellation */
    return NULL;
}
WT_TEST_1_2(scope_basic)

static void *scope_nested_main(void *arg)
{
    (void)arg;
    weft_timeout outer, inner;

    /* Inner shorter: the inner deadline fires first, then the outer one. */
    uint64_t t0 = weft_now();
    weft_timeout_enter(&outer, WT_SEC); /* far enough to stay open on a loaded VM */
    weft_timeout_enter(&inner, 20 * WT_MS);
    WT_TRUE(weft_deadline() == inner.deadline);
    WT_EQ(weft_sleep(10 * WT_SEC), -ETIMEDOUT);
    uint64_t dt = weft_now() - t0;
    WT_GE(dt, 20 * WT_MS);
    WT_LT(dt, WT_SEC); /* the inner one fired, not the outer */
    WT_TRUE(weft_timeout_exit(&inner));
    WT_TRUE(weft_deadline() == outer.deadline);
    WT_OK(weft_sleep(WT_MS)); /* the outer scope is still open and not expired */
    WT_EQ(weft_sleep(10 * WT_SEC), -ETIMEDOUT);
    dt = weft_now() - t0;
    WT_GE(dt, WT_SEC);
    WT_LT(dt, WT_SEC + SLACK);
    WT_TRUE(weft_timeout_exit(&outer));
    WT_TRUE(weft_deadline() == UINT64_MAX);

    /* Outer shorter: the earliest deadline wins; the inner scope did not expire. */
    t0 = weft_now();
    weft_timeout_enter(&outer, 20 * WT_MS);
    weft_timeout_enter(&inner, 5 * WT_SEC);
    WT_TRUE(weft_deadline() == outer.deadline);
    WT_EQ(weft_sleep(10 * WT_SEC), -ETIMEDOUT);
    dt = weft_now() - t0;
    WT_GE(dt, 20 * WT_MS);
    WT_LT(dt, SLACK);
    WT_FALSE(weft_timeout_exit(&inner));
    WT_TRUE(weft_timeout_exit(&outer));
    WT_TRUE(weft_deadline() == UINT64_MAX);
    return NULL;
}
WT_TEST_1_2(scope_nested)

static void *scope_chan_main(void *arg)
{
    (void)arg;
    weft_chan *c = weft_chan_new(sizeof(int), 4);
    WT_NONNULL(c);
    int x = 0;

    /* A receive that waits past the deadline. */
    weft_timeout s;
    uint64_t t0 = weft_now();
    weft_timeout_enter(&s, 20 * WT_MS);
    WT_EQ(weft_chan_recv(c, &x), -ETIMEDOUT);
    WT_GE(weft_now() - t0, 20 * WT_MS);
    /* Inside the expired scope, a receive that would wait fails at once. */
    t0 = weft_now();
    WT_EQ(weft_chan_recv(c, &x), -ETIMEDOUT);
    WT_LT(weft_now() - t0, SLACK);
    WT_TRUE(weft_timeout_exit(&s));
    WT_EQ(weft_chan_len(c), 0);

    /* A join that waits past the deadline cancels and joins the task. */
    atomic_store(&slow_rc, 1);
    weft_task *t = wt_spawn(sleep_then_return, (void *)10000);
    t0 = weft_now();
    {
        WEFT_WITH_TIMEOUT(20 * WT_MS);
        WT_EQ(weft_join(t, NULL), -ETIMEDOUT);
    }
    WT_GE(weft_now() - t0, 20 * WT_MS);
    WT_LT(weft_now() - t0, SLACK);
    WT_EQ(atomic_load(&slow_rc), -ECANCELED);

    /* A send on a full channel too. */
    weft_chan *full = weft_chan_new(sizeof(int), 1);
    WT_NONNULL(full);
    WT_OK(weft_chan_try_send(full, &x));
    {
        WEFT_WITH_TIMEOUT(10 * WT_MS);
        WT_EQ(weft_chan_send(full, &x), -ETIMEDOUT);
    }
    WT_EQ(weft_chan_len(full), 1);
    weft_chan_free(full);
    weft_chan_free(c);
    return NULL;
}
WT_TEST_1_2(scope_chan)

/* ---- quiet timers ------------------------------------------------------------------ */

enum { QUIET_SLEEPS = 400 };

/* One task sleeps in a loop on a 2-worker runtime: each expiry makes it runnable on the
 * worker whose timer fired, which runs it at once, so the other worker, idle, must not
 * be woken for it (runtime/idle.c step 5a, as for I/O completions). Before that rule,
 * every expiry woke the idle worker, which found nothing to take and parked again. */
static void *quiet_timer_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) /* warm up: the other worker settles into its park */
        WT_OK(weft_sleep(100 * WT_US));
    WT_OK(weft_sleep(5 * WT_MS));
    wt_idle_watch iw;
    wt_idle_watch_start(&iw);
    for (int i = 0; i < QUIET_SLEEPS; i++) {
        uint64_t t0 = weft_now();
        WT_OK(weft_sleep(100 * WT_US));
        WT_GE(weft_now() - t0, 100 * WT_US);
        wt_idle_watch_step(&iw);
    }
    fprintf(stderr, "quiet_timer: %d hops, %llu parks of the idle worker in %d sleeps\n", iw.hops,
            (unsigned long long)iw.idle_parks, QUIET_SLEEPS);
    WT_LT(iw.idle_parks, (uint64_t)QUIET_SLEEPS / 20);
    return NULL;
}
WT_TEST_W(quiet_timer, 2)

/* A one-worker runtime parks between sleeps; nobody else can take its work, so its parks
 * must not wake the monitor thread (runtime/idle.c, park): one voluntary context switch
 * per sleep, the worker's own, not two. Counted for the whole process (getrusage). */
static void *park_alone_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++)
        WT_OK(weft_sleep(100 * WT_US));
    struct rusage r0, r1;
    WT_OK(getrusage(RUSAGE_SELF, &r0));
    for (int i = 0; i < QUIET_SLEEPS; i++)
        WT_OK(weft_sleep(100 * WT_US));
    WT_OK(getrusage(RUSAGE_SELF, &r1));
    long sw = r1.ru_nvcsw - r0.ru_nvcsw;
    fprintf(stderr, "park_alone: %ld voluntary context switches in %d sleeps\n", sw, QUIET_SLEEPS);
    WT_GE(sw, (long)QUIET_SLEEPS / 2); /* it does park */
    WT_LT(sw, (long)QUIET_SLEEPS * 3 / 2);
    return NULL;
}
WT_TEST_W(park_alone, 1)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_now_monotonic),      cmocka_unit_test(test_now_in_task),
        cmocka_unit_test(test_sleep_duration),     cmocka_unit_test(test_sleep_on_plain_thread),
        cmocka_unit_test(test_sleep_zero_yields),  cmocka_unit_test(test_wait_for),
        cmocka_unit_test(test_scope_basic),        cmocka_unit_test(test_scope_nested),
        cmocka_unit_test(test_scope_chan),         cmocka_unit_test(test_wake_order),
        cmocka_unit_test(test_wake_order_batched), cmocka_unit_test(test_quiet_timer),
        cmocka_unit_test(test_park_alone),
    };
    return WT_RUN_GROUP(tests);
}
