/* test_gen.c — async generators: values in order, exhaustion, generators that suspend
 * between yields (sleep, channel), running on another worker, closing early (clean-up
 * ran, nothing leaked), a consumer cancelled while waiting, a failing generator, foreach
 * and collect, two generators read in turns and a close from another task while the
 * consumer holds the generator (gen.c step 7), and many generators consumed at once
 * across workers. */
#include "fixture.h"

/* ---- generators used below ------------------------------------------------------ */

struct cnt {
    long n;             /* values to yield: 0..n-1 */
    uint64_t sleep_ns;  /* sleep before each value */
    int fail;           /* returned after the last value */
    weft_chan *ch;      /* when set, each value is received from it first */
    atomic_int cleanup; /* set when the body returned */
    atomic_int yielded;
    atomic_int last_yield_rc;
    atomic_int cleanup_sleep_rc; /* a suspension in the clean-up after a close */
};

static void cnt_init(struct cnt *c, long n)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    atomic_store(&c->last_yield_rc, 1);
    atomic_store(&c->cleanup_sleep_rc, 1);
}

static int counter(weft_gen *g, void *arg)
{
    struct cnt *c = arg;
    int rc = 0;
    for (long i = 0; i < c->n; i++) {
        long v = i;
        if (c->sleep_ns && (rc = weft_sleep(c->sleep_ns)) != 0)
            break;
        if (c->ch && (rc = weft_chan_recv(c->ch, &v)) != 0)
            break;
        rc = weft_gen_yield(g, (void *)(intptr_t)v);
        atomic_store(&c->last_yield_rc, rc);
        if (rc)
            break;
        atomic_fetch_add(&c->yielded, 1);
    }
    if (rc == -ECANCELED && !weft_cancelled())
        atomic_store(&c->cleanup_sleep_rc, weft_sleep(WT_MS)); /* `finally` may await */
    atomic_store(&c->cleanup, 1);
    if (rc)
        return rc;
    return c->fail;
}

/* ---- values in order, exhaustion ---------------------------------------------------- */

static void *order_main(void *arg)
{
    (void)arg;
    struct cnt c;
    cnt_init(&c, 1000);
    weft_gen *g = weft_gen_new(counter, &c);
    WT_NONNULL(g);
    for (long i = 0; i < 1000; i++) {
        void *v = NULL;
        WT_OK(weft_gen_next(g, &v));
        WT_EQ((intptr_t)v, i);
    }
    void *v = (void *)1;
    WT_EQ(weft_gen_next(g, &v), -ENODATA);
    WT_EQ(weft_gen_next(g, &v), -ENODATA); /* and again */
    WT_EQ((intptr_t)v, 1);                 /* untouched */
    WT_EQ(atomic_load(&c.cleanup), 1);
    WT_OK(weft_gen_close(g));
    return NULL;
}
WT_TEST_1_2(order)

static int empty_gen(weft_gen *g, void *arg)
{
    (void)g;
    (void)arg;
    return 0;
}

static void *empty_main(void *arg)
{
    (void)arg;
    weft_gen *g = weft_gen_new(empty_gen, NULL);
    WT_NONNULL(g);
    void *v;
    WT_EQ(weft_gen_next(g, &v), -ENODATA);
    WT_OK(weft_gen_close(g));
    /* Closed without ever asking: the body never runs. */
    struct cnt c;
    cnt_init(&c, 5);
    g = weft_gen_new(counter, &c);
    WT_NONNULL(g);
    WT_OK(weft_gen_close(g));
    WT_EQ(atomic_load(&c.cleanup), 0);
    WT_EQ(weft_gen_next(NULL, &v), -EINVAL);
    WT_EQ(weft_gen_close(NULL), -EINVAL);
    WT_EQ(weft_gen_yield(NULL, NULL), -EPERM);
    return NULL;
}
WT_TEST_1_2(empty)

/* ---- suspending between yields ------------------------------------------------------ */

static void *sleeping_main(void *arg)
{
    (void)arg;
    struct cnt c;
    cnt_init(&c, 20);
    c.sleep_ns = WT_MS;
    weft_gen *g = weft_gen_new(counter, &c);
    WT_NONNULL(g);
    long i = 0;
    int rc;
    WEFT_GEN_FOREACH_RC(rc, g, v)
    {
        WT_EQ((intptr_t)v, i);
        i++;
    }
    WT_EQ(rc, -ENODATA);
    WT_EQ(i, 20);
    WT_OK(weft_gen_close(g));
    return NULL;
}
WT_TEST_1_2(sleeping)

static void *chan_feeder(void *arg)
{
    weft_chan *ch = arg;
    for (long i = 0; i < 200; i++) {
        long v = i * 3;
        WT_OK(weft_chan_send(ch, &v));
        if (i % 7 == 0)
            WT_OK(weft_yield());
    }
    return NULL;
}

static void *channel_main(void *arg)
{
    (void)arg;
    struct cnt c;
    cnt_init(&c, 200);
    c.ch = weft_chan_new(sizeof(long), 4);
    WT_NONNULL(c.ch);
    weft_task *f = wt_spawn(chan_feeder, c.ch);
    weft_gen *g = weft_gen_new(counter, &c);
    WT_NONNULL(g);
    void **vals = NULL;
    size_t n = 0;
    WT_OK(weft_gen_collect(g, &vals, &n));
    WT_EQ(n, 200);
    for (size_t i = 0; i < n; i++)
        WT_EQ((intptr_t)vals[i], (long)i * 3);
    free(vals);
    WT_OK(weft_gen_close(g));
    WT_OK(weft_join(f, NULL));
    weft_chan_free(c.ch);
    return NULL;
}
WT_TEST_1_2(channel)

/* The generator is started from a task on another worker and sleeps there; the consumer
 * moves too. Each value records the worker that produced it. */
static int where_gen(weft_gen *g, void *arg)
{
    atomic_int *other = arg;
    for (int i = 0; i < 200; i++) {
        if (i % 10 == 0 && weft_sleep(200 * WT_US) != 0)
            return -ECANCELED;
        int wid = weft_worker_id();
        if (weft_gen_yield(g, (void *)(intptr_t)wid))
            return -ECANCELED;
        if (wid != 0)
            atomic_fetch_add(other, 1);
    }
    return 0;
}

static void *make_gen(void *arg)
{
    return weft_gen_new(where_gen, arg);
}

static void *other_worker_main(void *arg)
{
    (void)arg;
    atomic_int other = 0;
    weft_gen *g = NULL;
    /* Create it in a task that runs while this one keeps its worker busy. */
    weft_task *t = wt_spawn(make_gen, &other);
    wt_spin_ns(2 * WT_MS);
    WT_OK(weft_join(t, (void **)&g));
    WT_NONNULL(g);
    long n = 0;
    WEFT_GEN_FOREACH(g, v)
    {
        WT_GE((intptr_t)v, 0);
        WT_LT((intptr_t)v, (intptr_t)wt_cur_workers());
        if (n % 17 == 0)
            WT_OK(weft_sleep(100 * WT_US));
        n++;
    }
    WT_EQ(n, 200);
    WT_OK(weft_gen_close(g));
    return NULL;
}
WT_TEST_W(other_worker, 2)

/* ---- closing early ------------------------------------------------------------------ */

static void *close_early_main(void *arg)
{
    (void)arg;
    struct cnt c;
    cnt_init(&c, 1000000);
    weft_gen *g = weft_gen_new(counter, &c);
    WT_NONNULL(g);
    long i = 0;
    WEFT_GEN_FOREACH(g, v)
    {
        WT_EQ((intptr_t)v, i);
        if (++i == 10)
            break;
    }
    WT_OK(weft_gen_close(g)); /* aclose at the yield */
    WT_EQ(atomic_load(&c.cleanup), 1);
    WT_EQ(atomic_load(&c.yielded), 9); /* the 10th yield returned -ECANCELED */
    WT_EQ(atomic_load(&c.last_yield_rc), -ECANCELED);
    WT_EQ(atomic_load(&c.cleanup_sleep_rc), 0); /* clean-up could still suspend */
    return NULL;
}
WT_TEST_1_2(close_early)

/* A consumer cancelled while the generator sleeps: next returns -ECANCELED at once, the
 * generator is left alone and its value is returned by the next call. */
struct cancel_ctx {
    weft_gen *g;
    atomic_int started;
    atomic_int rc;
};

static void *waiting_consumer(void *arg)
{
    struct cancel_ctx *x = arg;
    void *v;
    WT_OK(weft_gen_next(x->g, &v)); /* value 0, no sleep: fast path */
    WT_EQ((intptr_t)v, 0);
    atomic_store(&x->started, 1);
    atomic_store(&x->rc, weft_gen_next(x->g, &v)); /* the generator now sleeps 200 ms */
    return NULL;
}

static int slow_second(weft_gen *g, void *arg)
{
    (void)arg;
    if (weft_gen_yield(g, (void *)0))
        return -ECANCELED;
    if (weft_sleep(200 * WT_MS))
        return -ECANCELED;
    if (weft_gen_yield(g, (void *)1))
        return -ECANCELED;
    if (weft_gen_yield(g, (void *)2))
        return -ECANCELED;
    return 0;
}

static void *consumer_cancel_main(void *arg)
{
    (void)arg;
    struct cancel_ctx x = {.g = weft_gen_new(slow_second, NULL)};
    WT_NONNULL(x.g);
    atomic_store(&x.rc, 1);
    weft_task *t = wt_spawn(waiting_consumer, &x);
    wt_wait_ge(&x.started, 1);
    WT_OK(weft_sleep(5 * WT_MS));
    uint64_t t0 = weft_now();
    weft_cancel(t);
    WT_EQ(weft_join(t, NULL), -ECANCELED);
    WT_EQ(atomic_load(&x.rc), -ECANCELED);
    WT_LT(weft_now() - t0, 150 * WT_MS); /* did not wait for the generator's sleep */
    /* Not lost: the value produced after the consumer gave up comes next. */
    void *v;
    WT_OK(weft_gen_next(x.g, &v));
    WT_EQ((intptr_t)v, 1);
    WT_OK(weft_gen_next(x.g, &v));
    WT_EQ((intptr_t)v, 2);
    WT_EQ(weft_gen_next(x.g, &v), -ENODATA);
    WT_OK(weft_gen_close(x.g));
    return NULL;
}
WT_TEST_1_2(consumer_cancel)

/* A deadline on the consumer while the generator sleeps; then close while it is busy
 * producing: it is cancelled. */
static void *deadline_main(void *arg)
{
    (void)arg;
    weft_gen *g = weft_gen_new(slow_second, NULL);
    WT_NONNULL(g);
    void *v;
    {
        WEFT_DEADLINE_SCOPE(50 * WT_MS);
        WT_OK(weft_gen_next(g, &v)); /* direct switch with a deadline armed */
        WT_EQ(weft_gen_next(g, &v), -ETIMEDOUT);
    }
    uint64_t t0 = weft_now();
    WT_OK(weft_gen_close(g)); /* cancels the sleeping generator */
    WT_LT(weft_now() - t0, 150 * WT_MS);
    return NULL;
}
WT_TEST_1_2(deadline)

/* ---- failures --------------------------------------------------------------------- */

static void *failing_main(void *arg)
{
    (void)arg;
    struct cnt c;
    cnt_init(&c, 3);
    c.fail = -EIO;
    weft_gen *g = weft_gen_new(counter, &c);
    WT_NONNULL(g);
    void **vals = NULL;
    size_t n = 0;
    WT_EQ(weft_gen_collect(g, &vals, &n), -EIO);
    WT_EQ(n, 3);
    free(vals);
    void *v;
    WT_EQ(weft_gen_next(g, &v), -EIO);
    WT_EQ(weft_gen_close(g), -EIO);
    return NULL;
}
WT_TEST_1_2(failing)

static int self_next(weft_gen *g, void *arg)
{
    (void)arg;
    void *v;
    WT_EQ(weft_gen_next(g, &v), -EDEADLK);
    WT_EQ(weft_gen_close(g), -EDEADLK);
    weft_fail(-EPROTO);
    return 0;
}

static void *misuse_main(void *arg)
{
    (void)arg;
    weft_gen *g = weft_gen_new(self_next, NULL);
    WT_NONNULL(g);
    WT_EQ(weft_gen_yield(g, NULL), -EPERM); /* not the generator's task */
    void *v;
    WT_EQ(weft_gen_next(g, &v), -EPROTO);
    WT_EQ(weft_gen_close(g), -EPROTO);
    return NULL;
}
WT_TEST_1_2(misuse)

/* ---- nested: a generator consuming another one --------------------------------------- */

static int doubler(weft_gen *g, void *arg)
{
    weft_gen *inner = arg;
    int rc;
    WEFT_GEN_FOREACH_RC(rc, inner, v)
    {
        if (weft_gen_yield(g, (void *)((intptr_t)v * 2)))
            return -ECANCELED;
    }
    return rc == -ENODATA ? 0 : rc;
}

static void *nested_main(void *arg)
{
    (void)arg;
    struct cnt c;
    cnt_init(&c, 300);
    c.sleep_ns = 0;
    weft_gen *inner = weft_gen_new(counter, &c);
    weft_gen *outer = weft_gen_new(doubler, inner);
    WT_NONNULL(inner);
    WT_NONNULL(outer);
    long i = 0;
    WEFT_GEN_FOREACH(outer, v)
    {
        WT_EQ((intptr_t)v, 2 * i);
        if (i % 50 == 0)
            WT_OK(weft_sleep(100 * WT_US));
        i++;
    }
    WT_EQ(i, 300);
    WT_OK(weft_gen_close(outer));
    WT_OK(weft_gen_close(inner));
    return NULL;
}
WT_TEST_1_2(nested)

/* ---- the consumer holding its generator (sync/gen.c step 7) --------------------------- */

/* After a steady-state hand-off the consumer holds the generator lent to it. Two
 * generators read in turns: the second finds its consumer holding the first, so it
 * parks instead of being lent (a task holds one lender); values stay in order. */
static void *two_in_turns_main(void *arg)
{
    (void)arg;
    struct cnt a, b;
    cnt_init(&a, 2000);
    cnt_init(&b, 2000);
    weft_gen *ga = weft_gen_new(counter, &a), *gb = weft_gen_new(counter, &b);
    WT_NONNULL(ga);
    WT_NONNULL(gb);
    void *va, *vb;
    for (long i = 0; i < 2000; i++) {
        WT_OK(weft_gen_next(ga, &va));
        WT_OK(weft_gen_next(gb, &vb));
        WT_EQ((intptr_t)va, i);
        WT_EQ((intptr_t)vb, i);
    }
    WT_EQ(weft_gen_next(ga, &va), -ENODATA);
    WT_EQ(weft_gen_next(gb, &vb), -ENODATA);
    WT_OK(weft_gen_close(ga));
    WT_OK(weft_gen_close(gb));
    return NULL;
}
WT_TEST_1_2(two_in_turns)

/* Another task closes the generator while its consumer, holding it, waits for
 * something else: the consumer's wait hands the generator back to the scheduler
 * (worker.c lenders_release), so the close reaches it at its yield. */
struct held {
    weft_gen *g;
    weft_event closed;
};

static void *closer(void *arg)
{
    struct held *h = arg;
    int rc = weft_gen_close(h->g);
    weft_event_set(&h->closed);
    return (void *)(intptr_t)rc;
}

static void *closed_while_held_main(void *arg)
{
    (void)arg;
    struct cnt c;
    cnt_init(&c, 1000000);
    struct held h;
    WT_NONNULL(h.g = weft_gen_new(counter, &c));
    weft_event_init(&h.closed);
    void *v;
    for (long i = 0; i < 100; i++) {
        WT_OK(weft_gen_next(h.g, &v));
        WT_EQ((intptr_t)v, i);
    }
    /* A pass through the scheduler ends the worker's streak of direct switches
     * (weft__direct_ok), so the next value is a steady-state hand-off: held after it. */
    WT_OK(weft_sleep(WT_US));
    WT_OK(weft_gen_next(h.g, &v));
    WT_EQ((intptr_t)v, 100);
    weft_task *t = wt_spawn(closer, &h);
    WT_OK(weft_event_wait(&h.closed)); /* we hold the generator until we wait here */
    void *rc;
    WT_OK(weft_join(t, &rc));
    WT_EQ((intptr_t)rc, 0);
    WT_EQ(atomic_load(&c.cleanup), 1);
    WT_EQ(atomic_load(&c.yielded), 100); /* the 101st yield returned -ECANCELED */
    WT_EQ(atomic_load(&c.last_yield_rc), -ECANCELED);
    weft_event_destroy(&h.closed);
    return NULL;
}
WT_TEST_1_2(closed_while_held)

/* ---- many generators, many consumers, all workers ------------------------------------ */

#define MANY_CONSUMERS 16
#define MANY_VALUES 2000

struct many {
    atomic_long sum;
    atomic_int count;
};

static int many_gen(weft_gen *g, void *arg)
{
    intptr_t seed = (intptr_t)arg;
    for (long i = 0; i < MANY_VALUES; i++) {
        if ((i + seed) % 97 == 0 && weft_sleep(50 * WT_US))
            return -ECANCELED;
        if ((i + seed) % 31 == 0 && weft_yield())
            return -ECANCELED;
        if (weft_gen_yield(g, (void *)(intptr_t)i))
            return -ECANCELED;
    }
    return 0;
}

static struct many many_state;

static void *many_consumer(void *arg)
{
    intptr_t k = (intptr_t)arg;
    weft_gen *g = weft_gen_new(many_gen, (void *)k);
    WT_NONNULL(g);
    long expect = 0, sum = 0;
    int rc;
    WEFT_GEN_FOREACH_RC(rc, g, v)
    {
        WT_EQ((intptr_t)v, expect);
        expect++;
        sum += (intptr_t)v;
        if ((expect + k) % 113 == 0)
            WT_OK(weft_sleep(20 * WT_US));
    }
    WT_EQ(rc, -ENODATA);
    WT_EQ(expect, MANY_VALUES);
    WT_OK(weft_gen_close(g));
    atomic_fetch_add(&many_state.sum, sum);
    atomic_fetch_add(&many_state.count, 1);
    return NULL;
}

static void *many_main(void *arg)
{
    (void)arg;
    atomic_store(&many_state.sum, 0);
    atomic_store(&many_state.count, 0);
    weft_task *t[MANY_CONSUMERS];
    for (intptr_t i = 0; i < MANY_CONSUMERS; i++)
        t[i] = wt_spawn(many_consumer, (void *)i);
    WT_OK(weft_gather(t, MANY_CONSUMERS, NULL));
    WT_EQ(atomic_load(&many_state.count), MANY_CONSUMERS);
    WT_EQ(atomic_load(&many_state.sum), (long)MANY_CONSUMERS * MANY_VALUES * (MANY_VALUES - 1) / 2);
    return NULL;
}
WT_TEST_1_2(many)

static void *many4_main(void *arg)
{
    return many_main(arg);
}
WT_TEST_W(many4, 4)

/* Consumers cancelled at random moments while generators run: every generator is
 * closed, nothing leaks (the fixture checks), nothing hangs. */
static void *storm_consumer(void *arg)
{
    weft_gen *g = weft_gen_new(many_gen, arg);
    WT_NONNULL(g);
    void *v;
    while (weft_gen_next(g, &v) == 0)
        ;
    (void)weft_gen_close(g);
    return NULL;
}

static void *storm_main(void *arg)
{
    (void)arg;
    enum { N = 24 };
    for (int round = 0; round < WT_SCALE(10, 4, 3); round++) {
        weft_task *t[N];
        for (intptr_t i = 0; i < N; i++)
            t[i] = wt_spawn(storm_consumer, (void *)(i + round));
        WT_OK(weft_sleep((uint64_t)(round % 4) * 300 * WT_US));
        for (int i = 0; i < N; i += 2)
            weft_cancel(t[i]);
        for (int i = 0; i < N; i++) {
            int rc = weft_join(t[i], NULL);
            WT_TRUE(rc == 0 || rc == -ECANCELED);
        }
    }
    return NULL;
}
WT_TEST_1_2(storm)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_sleeping),
        cmocka_unit_test(test_channel),
        cmocka_unit_test(test_other_worker),
        cmocka_unit_test(test_close_early),
        cmocka_unit_test(test_consumer_cancel),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_failing),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_two_in_turns),
        cmocka_unit_test(test_closed_while_held),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_many4),
        cmocka_unit_test(test_storm),
    };
    return WT_RUN_GROUP(tests);
}
