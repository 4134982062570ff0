/* test_task.c — spawn, join, detach, cancel at every kind of suspension, weft_fail,
 * weft_self, gather, spawning from plain threads, errno per task across suspensions
 * and migrations, and work spreading over both workers. */
#include "fixture.h"

#include <pthread.h>

static void *return_arg(void *arg)
{
    return arg;
}

static void *plus_one(void *arg)
{
    return (void *)((uintptr_t)arg + 1);
}

static atomic_int marker_ran;

static void *marker(void *arg)
{
    (void)arg;
    atomic_fetch_add(&marker_ran, 1);
    return NULL;
}

/* ---- spawn / join / detach ------------------------------------------------------- */

static void *spawn_join_main(void *arg)
{
    (void)arg;
    for (uintptr_t i = 0; i < 100; i++) {
        weft_task *t = wt_spawn(plus_one, (void *)i);
        void *r = NULL;
        WT_OK(weft_join(t, &r));
        WT_EQ((uintptr_t)r, i + 1);
    }
    /* Many at once, joined in reverse order; a NULL result pointer is allowed. */
    weft_task *t[64];
    for (uintptr_t i = 0; i < 64; i++)
        t[i] = wt_spawn(plus_one, (void *)(i * 3));
    for (int i = 63; i >= 0; i--) {
        void *r = NULL;
        WT_OK(weft_join(t[i], i % 2 ? &r : NULL));
        if (i % 2)
            WT_EQ((uintptr_t)r, (uintptr_t)i * 3 + 1);
    }
    return NULL;
}
WT_TEST_1_2(spawn_join)

static void test_spawn_outside_runtime_is_null(void **state)
{
    (void)state;
    WT_TRUE(weft_spawn(return_arg, NULL) == NULL);
}

/* Joining a finished task must not suspend: with one worker, a task spawned just
 * before the join cannot run unless the join suspends. */
static void *join_finished_main(void *arg)
{
    (void)arg;
    bool one = wt_cur_workers() == 1;
    weft_task *t = wt_spawn(return_arg, (void *)0x42);
    if (one) /* nothing ran it yet: the only worker is running us */
        WT_FALSE(weft_done(t));
    uint64_t t0 = weft_now();
    while (!weft_done(t)) {
        WT_OK(weft_sleep(WT_MS));
        WT_LT(weft_now() - t0, 5 * WT_SEC);
    }
    WT_TRUE(weft_done(t));
    atomic_store(&marker_ran, 0);
    weft_task *m = wt_spawn(marker, NULL);
    void *r = NULL;
    WT_OK(weft_join(t, &r));
    WT_EQ((uintptr_t)r, 0x42);
    if (one)
        WT_EQ(atomic_load(&marker_ran), 0); /* the join did not suspend */
    WT_OK(weft_join(m, NULL));
    WT_EQ(atomic_load(&marker_ran), 1);
    return NULL;
}
WT_TEST_1_2(join_finished)

static atomic_int detached_done;

static void *detached_task(void *arg)
{
    WT_OK(weft_sleep((uintptr_t)arg * WT_MS));
    atomic_fetch_add(&detached_done, 1);
    return NULL;
}

static void *detach_main(void *arg)
{
    (void)arg;
    atomic_store(&detached_done, 0);
    for (uintptr_t i = 0; i < 10; i++)
        weft_detach(wt_spawn(detached_task, (void *)(i % 3)));
    /* Detach a task that already finished. */
    weft_task *t = wt_spawn(detached_task, (void *)0);
    while (!weft_done(t))
        WT_OK(weft_sleep(WT_MS));
    weft_detach(t);
    wt_wait_ge(&detached_done, 11);
    /* Give the last ones time to be freed; the fixture's leak check covers them
     * either way, since weft_run must not return before they are gone. */
    WT_OK(weft_sleep(2 * WT_MS));
    return NULL;
}
WT_TEST_1_2(detach)

/* ---- cancellation at every kind of suspension --------------------------------------- */

enum wait_kind { W_SLEEP, W_RECV, W_SEND, W_JOIN, W_SET_NEXT, W_YIELD, W_SELF, W_KINDS };
static const char *const kind_names[W_KINDS] = {
    "sleep", "chan recv", "chan send (full)", "join", "weft_set_next", "yield", "self-cancel"};

struct victim {
    enum wait_kind kind;
    atomic_int ready;
    atomic_int rc, rc_again, saw_cancelled, other_rc;
    weft_chan *chan;
    weft_set *set;
};

static void *long_sleeper(void *arg)
{
    struct victim *v = arg;
    atomic_store(&v->other_rc, weft_sleep(10 * WT_SEC));
    return NULL;
}

static void *victim_task(void *arg)
{
    struct victim *v = arg;
    int rc = 1, x = 7;
    weft_task *other = NULL, *got = NULL;
    if (v->kind == W_JOIN)
        other = wt_spawn(long_sleeper, v);
    if (v->kind == W_SET_NEXT)
        WT_NONNULL(weft_set_spawn(v->set, long_sleeper, v));
    atomic_store(&v->ready, 1);
    switch (v->kind) {
    case W_SLEEP:
        rc = weft_sleep(10 * WT_SEC);
        break;
    case W_RECV:
        rc = weft_chan_recv(v->chan, &x);
        break;
    case W_SEND:
        rc = weft_chan_send(v->chan, &x);
        break;
    case W_JOIN:
        rc = weft_join(other, NULL);
        break;
    case W_SET_NEXT:
        rc = weft_set_next(v->set, &got);
        break;
    case W_YIELD:
        while ((rc = weft_yield()) == 0) {
        }
        break;
    case W_SELF:
        weft_cancel(weft_self());
        rc = weft_yield();
        break;
    default:
        break;
    }
    atomic_store(&v->rc, rc);
    atomic_store(&v->saw_cancelled, weft_cancelled());
    /* Every later suspension fails at once too (not after 10 s). */
    uint64_t t0 = weft_now();
    atomic_store(&v->rc_again, weft_sleep(10 * WT_SEC));
    WT_LT(weft_now() - t0, 2 * WT_SEC);
    if (v->kind == W_SET_NEXT) /* cancels and joins the member, even though we are cancelled */
        weft_set_free(v->set);
    return (void *)0x1234;
}

static void run_cancel_kind(enum wait_kind kind)
{
    struct victim v = {.kind = kind};
    atomic_init(&v.rc, 1);
    atomic_init(&v.rc_again, 1);
    atomic_init(&v.other_rc, 1);
    int x = 1;
    if (kind == W_RECV)
        v.chan = weft_chan_new(sizeof(int), 4);
    if (kind == W_SEND) {
        v.chan = weft_chan_new(sizeof(int), 1);
        WT_NONNULL(v.chan);
        WT_OK(weft_chan_try_send(v.chan, &x)); /* full */
    }
    if (kind == W_SET_NEXT)
        WT_NONNULL(v.set = weft_set_new());
    uint64_t t0 = weft_now();
    weft_task *t = wt_spawn(victim_task, &v);
    wt_wait_ge(&v.ready, 1);
    WT_OK(weft_sleep(5 * WT_MS)); /* let it block */
    if (kind != W_SELF)
        weft_cancel(t);
    void *r = NULL;
    int st = weft_join(t, &r);
    if (st != -ECANCELED || atomic_load(&v.rc) != -ECANCELED)
        print_error("cancel during %s: join %d, victim's call returned %d\n", kind_names[kind], st,
                    atomic_load(&v.rc));
    WT_EQ(st, -ECANCELED);
    WT_EQ(atomic_load(&v.rc), -ECANCELED);
    WT_EQ(atomic_load(&v.rc_again), -ECANCELED);
    WT_EQ(atomic_load(&v.saw_cancelled), 1);
    WT_LT(weft_now() - t0, 5 * WT_SEC);
    if (kind == W_JOIN || kind == W_SET_NEXT) /* the awaited task was cancelled too */
        WT_EQ(atomic_load(&v.other_rc), -ECANCELED);
    if (kind == W_RECV) { /* the cancelled receiver took nothing */
        x = 99;
        WT_OK(weft_chan_try_send(v.chan, &x));
        WT_EQ(weft_chan_len(v.chan), 1);
        x = 0;
        WT_OK(weft_chan_try_recv(v.chan, &x));
        WT_EQ(x, 99);
    }
    if (kind == W_SEND) { /* the cancelled sender sent nothing */
        WT_EQ(weft_chan_len(v.chan), 1);
        WT_OK(weft_chan_try_recv(v.chan, &x));
        WT_EQ(x, 1);
        WT_EQ(weft_chan_try_recv(v.chan, &x), -EAGAIN);
    }
    if (v.chan)
        weft_chan_free(v.chan);
}

static void *cancel_each_suspension_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < W_KINDS; k++)
        run_cancel_kind((enum wait_kind)k);
    return NULL;
}
WT_TEST_1_2(cancel_each_suspension)

/* A task cancelled before it first runs still ends -ECANCELED. */
static atomic_int early_rc;

static void *early_victim(void *arg)
{
    (void)arg;
    atomic_store(&early_rc, weft_sleep(10 * WT_SEC));
    return NULL;
}

static void *cancel_before_start_main(void *arg)
{
    (void)arg;
    atomic_store(&early_rc, 1);
    weft_task *t = wt_spawn(early_victim, NULL);
    weft_cancel(t);
    weft_cancel(t); /* twice is harmless */
    WT_EQ(weft_join(t, NULL), -ECANCELED);
    int rc = atomic_load(&early_rc);
    WT_TRUE(rc == 1 /* never ran */ || rc == -ECANCELED);
    return NULL;
}
WT_TEST_1_2(cancel_before_start)

static void *cancel_finished_main(void *arg)
{
    (void)arg;
    weft_task *t = wt_spawn(return_arg, (void *)0x99);
    while (!weft_done(t))
        WT_OK(weft_sleep(WT_MS));
    weft_cancel(t);
    void *r = NULL;
    WT_OK(weft_join(t, &r));
    WT_EQ((uintptr_t)r, 0x99);
    /* The canceller itself is not affected. */
    WT_FALSE(weft_cancelled());
    WT_OK(weft_yield());
    return NULL;
}
WT_TEST_1_2(cancel_finished)

/* ---- weft_fail, weft_self, weft_cancelled ------------------------------------------ */

static void *failing(void *arg)
{
    int err = (int)(intptr_t)arg;
    WT_OK(weft_yield());
    weft_fail(err);
    return (void *)0x7;
}

static void *fail_then_clear(void *arg)
{
    (void)arg;
    weft_fail(-EIO);
    weft_fail(0);
    return (void *)0x8;
}

static void *fail_status_main(void *arg)
{
    (void)arg;
    void *r = NULL;
    WT_EQ(weft_join(wt_spawn(failing, (void *)(intptr_t)-EIO), &r), -EIO);
    WT_EQ((uintptr_t)r, 0x7); /* the function returned normally: its result is kept */
    WT_EQ(weft_join(wt_spawn(failing, (void *)(intptr_t)-EPERM), NULL), -EPERM);
    r = NULL;
    WT_OK(weft_join(wt_spawn(fail_then_clear, NULL), &r));
    WT_EQ((uintptr_t)r, 0x8);
    return NULL;
}
WT_TEST_1_2(fail_status)

struct self_box {
    _Atomic(weft_task *) handle;
    atomic_int checked, same, cancelled_before, cancelled_after;
};

static void *self_task(void *arg)
{
    struct self_box *b = arg;
    while (atomic_load(&b->handle) == NULL)
        WT_OK(weft_sleep(WT_MS));
    atomic_store(&b->same, weft_self() == atomic_load(&b->handle));
    atomic_store(&b->cancelled_before, weft_cancelled());
    atomic_store(&b->checked, 1);
    int rc = weft_sleep(10 * WT_SEC);
    atomic_store(&b->cancelled_after, weft_cancelled() && rc == -ECANCELED);
    return NULL;
}

static void *self_main(void *arg)
{
    (void)arg;
    WT_NONNULL(weft_self());
    WT_FALSE(weft_cancelled());
    struct self_box b = {.handle = NULL};
    weft_task *t = wt_spawn(self_task, &b);
    WT_TRUE(t != weft_self());
    atomic_store(&b.handle, t);
    wt_wait_ge(&b.checked, 1);
    WT_OK(weft_sleep(2 * WT_MS));
    weft_cancel(t);
    WT_EQ(weft_join(t, NULL), -ECANCELED);
    WT_EQ(atomic_load(&b.same), 1);
    WT_EQ(atomic_load(&b.cancelled_before), 0);
    WT_EQ(atomic_load(&b.cancelled_after), 1);
    return NULL;
}
WT_TEST_1_2(self)

/* ---- gather ------------------------------------------------------------------------- */

struct gspec {
    unsigned sleep_ms;
    int fail;
    uintptr_t ret;
};

static void *gather_member(void *arg)
{
    struct gspec *g = arg;
    WT_OK(weft_sleep(g->sleep_ms * WT_MS));
    if (g->fail)
        weft_fail(g->fail);
    return (void *)g->ret;
}

static void *gather_main(void *arg)
{
    (void)arg;
    enum { N = 8 };
    struct gspec spec[N];
    weft_task *t[N];
    void *res[N];

    /* All succeed: results land in index order although they finish in reverse. */
    for (int i = 0; i < N; i++) {
        spec[i] = (struct gspec){.sleep_ms = (unsigned)(N - i) * 2, .ret = (uintptr_t)i * 10};
        t[i] = wt_spawn(gather_member, &spec[i]);
        res[i] = (void *)0xbad;
    }
    WT_OK(weft_gather(t, N, res));
    for (int i = 0; i < N; i++)
        WT_EQ((uintptr_t)res[i], (uintptr_t)i * 10);

    /* Two fail; the one at the higher index finishes first. The status is the first
     * nonzero one in index order: -EIO from index 2, not -EPERM from index 5. */
    for (int i = 0; i < N; i++) {
        spec[i] = (struct gspec){.sleep_ms = (unsigned)(N - i) * 3, .ret = (uintptr_t)i + 1};
        t[i] = wt_spawn(gather_member, &spec[i]);
        res[i] = NULL;
    }
    spec[2].fail = -EIO;
    spec[5].fail = -EPERM;
    WT_EQ(weft_gather(t, N, res), -EIO);
    for (int i = 0; i < N; i++)
        if (!spec[i].fail)
            WT_EQ((uintptr_t)res[i], (uintptr_t)i + 1);

    /* results may be NULL; n may be 0. */
    for (int i = 0; i < 3; i++) {
        spec[i] = (struct gspec){.sleep_ms = 1};
        t[i] = wt_spawn(gather_member, &spec[i]);
    }
    WT_OK(weft_gather(t, 3, NULL));
    WT_OK(weft_gather(t, 0, NULL));
    return NULL;
}
WT_TEST_1_2(gather)

/* A gatherer that is cancelled cancels and joins what it was waiting for. */
static atomic_int gsleep_cancelled;

static void *gather_sleeper(void *arg)
{
    (void)arg;
    if (weft_sleep(10 * WT_SEC) == -ECANCELED)
        atomic_fetch_add(&gsleep_cancelled, 1);
    return NULL;
}

static atomic_int gatherer_ready, gatherer_rc;

static void *gatherer(void *arg)
{
    (void)arg;
    weft_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = wt_spawn(gather_sleeper, NULL);
    atomic_store(&gatherer_ready, 1);
    atomic_store(&gatherer_rc, weft_gather(t, 3, NULL));
    return NULL;
}

static void *gather_cancelled_main(void *arg)
{
    (void)arg;
    atomic_store(&gsleep_cancelled, 0);
    atomic_store(&gatherer_ready, 0);
    atomic_store(&gatherer_rc, 1);
    uint64_t t0 = weft_now();
    weft_task *g = wt_spawn(gatherer, NULL);
    wt_wait_ge(&gatherer_ready, 1);
    WT_OK(weft_sleep(5 * WT_MS));
    weft_cancel(g);
    WT_EQ(weft_join(g, NULL), -ECANCELED);
    WT_EQ(atomic_load(&gatherer_rc), -ECANCELED);
    WT_EQ(atomic_load(&gsleep_cancelled), 3);
    WT_LT(weft_now() - t0, 5 * WT_SEC);
    return NULL;
}
WT_TEST_1_2(gather_cancelled)

/* ---- spawning and joining from a plain thread ---------------------------------------- */

static atomic_int thread_ok;

static void *plain_thread(void *arg)
{
    (void)arg;
    int ok = 1;
    ok &= weft_worker_id() == -1;
    ok &= weft_self() == NULL;
    for (uintptr_t i = 0; i < 20; i++) {
        weft_task *t = weft_spawn(plus_one, (void *)i);
        if (t == NULL) {
            ok = 0;
            break;
        }
        void *r = NULL;
        ok &= weft_join(t, &r) == 0; /* blocks this thread */
        ok &= (uintptr_t)r == i + 1;
    }
    atomic_store(&thread_ok, ok ? 1 : -1);
    return NULL;
}

static void *plain_thread_main(void *arg)
{
    (void)arg;
    atomic_store(&thread_ok, 0);
    pthread_t th;
    WT_OK(pthread_create(&th, NULL, plain_thread, NULL));
    uint64_t t0 = weft_now();
    while (atomic_load(&thread_ok) == 0) {
        WT_OK(weft_sleep(WT_MS));
        WT_LT(weft_now() - t0, 10 * WT_SEC);
    }
    WT_OK(pthread_join(th, NULL)); /* it has finished: this does not block a worker long */
    WT_EQ(atomic_load(&thread_ok), 1);
    return NULL;
}
WT_TEST_1_2(plain_thread)

/* ---- errno is per task, across suspensions and migrations ---------------------------- */

/* Through non-inlined functions, so &errno is computed afresh on whichever thread the
 * task runs now, exactly as library code would. */
WT_NOINLINE static int read_errno(void)
{
    return errno;
}
WT_NOINLINE static void write_errno(int v)
{
    errno = v;
}

enum { ERRNO_TASKS = 8, ERRNO_ITERS = 300 };
static atomic_int migrations;

static void *errno_task(void *arg)
{
    int base = 1000 + (int)(uintptr_t)arg * 100;
    int want = base;
    write_errno(want);
    int last_worker = weft_worker_id();
    for (int i = 0; i < ERRNO_ITERS; i++) {
        int rc;
        switch (i % 4) {
        case 0:
            rc = weft_yield();
            break;
        case 1:
            rc = weft_sleep(0);
            break;
        case 2:
            rc = weft_sleep(20 * WT_US);
            break;
        default:
            wt_spin_ns(20 * WT_US); /* keep the workers busy so work moves around */
            rc = weft_yield();
            break;
        }
        WT_EQ(rc, 0);
        WT_EQ(read_errno(), want);
        int w = weft_worker_id();
        if (w != last_worker)
            atomic_fetch_add(&migrations, 1);
        last_worker = w;
        if (i % 16 == 15) {
            want = base + i;
            write_errno(want);
        }
    }
    return NULL;
}

static void *errno_main(void *arg)
{
    (void)arg;
    atomic_store(&migrations, 0);
    write_errno(4242);
    weft_task *t[ERRNO_TASKS];
    for (int i = 0; i < ERRNO_TASKS; i++)
        t[i] = wt_spawn(errno_task, (void *)(uintptr_t)i);
    WT_OK(weft_gather(t, ERRNO_TASKS, NULL));
    WT_EQ(read_errno(), 4242);
    if (wt_cur_workers() == 2)
        print_message("      errno test: %d worker changes observed across suspensions\n",
                      atomic_load(&migrations));
    return NULL;
}
WT_TEST_1_2(errno)

/* ---- work spreads over both workers -------------------------------------------------- */

enum { BUSY_TASKS = 16 };
static atomic_int busy_used[2];
static atomic_int busy_bad;

static void *busy_task(void *arg)
{
    (void)arg;
    int w = weft_worker_id();
    wt_spin_ns(20 * WT_MS); /* no suspension: the task cannot move meanwhile */
    if (weft_worker_id() != w || w < 0 || w > 1)
        atomic_fetch_add(&busy_bad, 1);
    else
        atomic_fetch_add(&busy_used[w], 1);
    return NULL;
}

static void *work_spreads_main(void *arg)
{
    (void)arg;
    atomic_store(&busy_used[0], 0);
    atomic_store(&busy_used[1], 0);
    atomic_store(&busy_bad, 0);
    WT_EQ(weft_workers(), 2);
    weft_task *t[BUSY_TASKS];
    for (int i = 0; i < BUSY_TASKS; i++)
        t[i] = wt_spawn(busy_task, NULL);
    WT_OK(weft_gather(t, BUSY_TASKS, NULL));
    WT_EQ(atomic_load(&busy_bad), 0);
    print_message("      worker 0 ran %d, worker 1 ran %d of %d busy tasks\n",
                  atomic_load(&busy_used[0]), atomic_load(&busy_used[1]), BUSY_TASKS);
    WT_EQ(atomic_load(&busy_used[0]) + atomic_load(&busy_used[1]), BUSY_TASKS);
    WT_GT(atomic_load(&busy_used[0]), 0);
    WT_GT(atomic_load(&busy_used[1]), 0);
    return NULL;
}
WT_TEST_W(work_spreads, 2)

/* ---- weft_move_to ------------------------------------------------------------------ */

enum { MOVE_ROUNDS = 200 };

static void *mover(void *arg)
{
    int base = 7000 + (int)(uintptr_t)arg * 100;
    unsigned n = weft_workers();
    for (int i = 0; i < MOVE_ROUNDS; i++) {
        unsigned to = (unsigned)(i + (int)(uintptr_t)arg) % n;
        write_errno(base + i);
        WT_OK(weft_move_to(to));
        /* Nothing else runs, so the target (woken if it slept) takes it from its
         * inbox and runs it at once: no thief can get at it in between. */
        WT_EQ(weft_worker_id(), (int)to);
        WT_EQ(read_errno(), base + i);
        if (i % 5 == 0)
            WT_OK(weft_sleep(50 * WT_US)); /* a suspension elsewhere in between */
    }
    return NULL;
}

static void *move_to_main(void *arg)
{
    (void)arg;
    unsigned n = weft_workers();
    WT_EQ(weft_move_to(n), -EINVAL);
    WT_EQ(weft_move_to(UINT32_MAX), -EINVAL);
    int here = weft_worker_id();
    WT_OK(weft_move_to((unsigned)here)); /* already there: returns at once */
    WT_EQ(weft_worker_id(), here);
    WT_OK(weft_join(wt_spawn(mover, NULL), NULL));
    /* A cancelled task is told so instead of moving. */
    weft_cancel(weft_self());
    WT_EQ(weft_move_to(0), -ECANCELED);
    return NULL;
}

static void test_move_to(void **state)
{
    (void)state;
    WT_EQ(weft_move_to(0), -EPERM); /* outside the runtime */
    (void)wt_run(2, move_to_main, NULL);
    (void)wt_run(1, move_to_main, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_join),
        cmocka_unit_test(test_spawn_outside_runtime_is_null),
        cmocka_unit_test(test_join_finished),
        cmocka_unit_test(test_detach),
        cmocka_unit_test(test_cancel_each_suspension),
        cmocka_unit_test(test_cancel_before_start),
        cmocka_unit_test(test_cancel_finished),
        cmocka_unit_test(test_fail_status),
        cmocka_unit_test(test_self),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_gather_cancelled),
        cmocka_unit_test(test_plain_thread),
        cmocka_unit_test(test_errno),
        cmocka_unit_test(test_work_spreads),
        cmocka_unit_test(test_move_to),
    };
    return WT_RUN_GROUP(tests);
}
