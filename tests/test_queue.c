/* test_queue.c — asyncio.Queue semantics on channels: task_done / join (across
 * workers, interrupted, from a plain thread), shutdown with and without immediate for
 * buffered elements and for waiting senders, receivers and joiners, close vs shutdown,
 * and the LIFO and priority channels' order, each on every kind of channel. */
#include "fixture.h"

#include <pthread.h>

/* The kinds of channel every test runs on. */
enum { K_RING, K_UNBOUNDED, K_LIFO, K_LIFO_UNB, K_PRIO, K_PRIO_UNB, NKINDS };

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* cap is used by the bounded kinds. */
static weft_chan *new_kind(int k, size_t cap)
{
    switch (k) {
    case K_RING:
        return weft_chan_new(sizeof(int), cap);
    case K_UNBOUNDED:
        return weft_chan_new(sizeof(int), 0);
    case K_LIFO:
        return weft_chan_new_lifo(sizeof(int), cap);
    case K_LIFO_UNB:
        return weft_chan_new_lifo(sizeof(int), 0);
    case K_PRIO:
        return weft_chan_new_priority(sizeof(int), cap, cmp_int);
    default:
        return weft_chan_new_priority(sizeof(int), 0, cmp_int);
    }
}

static bool bounded(int k)
{
    return k == K_RING || k == K_LIFO || k == K_PRIO;
}

/* ---- task_done / join ---------------------------------------------------------------- */

enum { JP = 3, JC = 3, JN = WT_SCALE(3000, 1000, 300) };

struct jq {
    weft_chan *c;
    atomic_int processed;
    atomic_llong sum;
};

static void *jq_producer(void *arg)
{
    struct jq *q = arg;
    for (int i = 0; i < JN; i++)
        WT_OK(weft_chan_send(q->c, &i));
    return NULL;
}

static void *jq_consumer(void *arg)
{
    struct jq *q = arg;
    int x, rc, n = 0;
    while ((rc = weft_chan_recv(q->c, &x)) == 0) {
        if (++n % 64 == 0)
            WT_OK(weft_yield()); /* "work" that lets join's wait overlap */
        atomic_fetch_add(&q->sum, x);
        atomic_fetch_add(&q->processed, 1); /* before task_done: join implies processed */
        WT_OK(weft_chan_task_done(q->c));
    }
    return (void *)(intptr_t)rc;
}

static void *join_workers_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        struct jq q = {.c = new_kind(k, 4)};
        WT_NONNULL(q.c);
        WT_OK(weft_chan_join(q.c)); /* nothing sent: at once */
        weft_task *p[JP], *c[JC];
        for (int i = 0; i < JC; i++)
            c[i] = wt_spawn(jq_consumer, &q);
        for (int i = 0; i < JP; i++)
            p[i] = wt_spawn(jq_producer, &q);
        WT_OK(weft_gather(p, JP, NULL));
        WT_OK(weft_chan_join(q.c));
        WT_EQ(atomic_load(&q.processed), JP * JN);
        WT_EQ(atomic_load(&q.sum), (long long)JP * JN * (JN - 1) / 2);
        WT_EQ(weft_chan_unfinished(q.c), 0);
        WT_EQ(weft_chan_task_done(q.c), -EINVAL);
        weft_chan_shutdown(q.c, false); /* ends the consumers */
        for (int i = 0; i < JC; i++) {
            void *r;
            WT_OK(weft_join(c[i], &r));
            WT_EQ((intptr_t)r, -ESHUTDOWN);
        }
        weft_chan_free(q.c);
    }
    return NULL;
}
WT_TEST_1_2(join_workers)
static void test_join_workers_4(void **state)
{
    (void)state;
    (void)wt_run(4, join_workers_main, NULL);
}

static void *task_done_count_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        weft_chan *c = new_kind(k, 4);
        WT_NONNULL(c);
        WT_EQ(weft_chan_task_done(c), -EINVAL);
        int x = 1;
        WT_OK(weft_chan_send(c, &x));
        WT_OK(weft_chan_try_send(c, &x));
        WT_EQ(weft_chan_unfinished(c), 2);
        WT_OK(weft_chan_recv(c, &x));
        WT_OK(weft_chan_task_done(c));
        WT_EQ(weft_chan_unfinished(c), 1);
        /* task_done counts sends, not receives (Python does the same) */
        WT_OK(weft_chan_task_done(c));
        WT_EQ(weft_chan_task_done(c), -EINVAL);
        WT_EQ(weft_chan_unfinished(c), 0);
        WT_OK(weft_chan_join(c));
        weft_chan_free(c);
    }
    return NULL;
}
WT_TEST_W(task_done_count, 1)

static void *joiner(void *arg)
{
    return (void *)(intptr_t)weft_chan_join(arg);
}

static void *timed_joiner(void *arg)
{
    WEFT_WITH_TIMEOUT(2 * WT_MS);
    return (void *)(intptr_t)weft_chan_join(arg);
}

static void *thread_joiner(void *arg)
{
    return (void *)(intptr_t)weft_chan_join(arg);
}

static void *join_interrupted_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        weft_chan *c = new_kind(k, 4);
        WT_NONNULL(c);
        int x = 5;
        WT_OK(weft_chan_send(c, &x));
        weft_task *t = wt_spawn(joiner, c);
        WT_OK(weft_sleep(WT_MS));
        weft_cancel(t);
        void *r;
        WT_EQ(weft_join(t, &r), -ECANCELED);
        WT_OK(weft_join(wt_spawn(timed_joiner, c), &r));
        WT_EQ((intptr_t)r, -ETIMEDOUT);
        /* A joiner on another worker and one on a plain thread are released by the
         * last task_done. */
        t = wt_spawn(joiner, c);
        pthread_t th;
        WT_OK(pthread_create(&th, NULL, thread_joiner, c));
        WT_OK(weft_sleep(2 * WT_MS));
        WT_FALSE(weft_done(t));
        WT_OK(weft_chan_recv(c, &x));
        WT_OK(weft_chan_task_done(c));
        WT_OK(weft_join(t, &r));
        WT_EQ((intptr_t)r, 0);
        WT_OK(pthread_join(th, &r));
        WT_EQ((intptr_t)r, 0);
        weft_chan_free(c);
    }
    return NULL;
}
WT_TEST_1_2(join_interrupted)

/* ---- shutdown ------------------------------------------------------------------------- */

struct blocked {
    weft_chan *c;
    atomic_int ready;
};

static void *blocked_send(void *arg)
{
    struct blocked *b = arg;
    int x = 1000;
    atomic_fetch_add(&b->ready, 1);
    return (void *)(intptr_t)weft_chan_send(b->c, &x);
}

static void *blocked_recv(void *arg)
{
    struct blocked *b = arg;
    int x;
    atomic_fetch_add(&b->ready, 1);
    return (void *)(intptr_t)weft_chan_recv(b->c, &x);
}

/* n tasks running fn, waiting on b->c; then shutdown; each must end with want. */
static void release_all(struct blocked *b, weft_fn fn, int n, bool immediate, int want)
{
    weft_task *t[4];
    atomic_store(&b->ready, 0);
    for (int i = 0; i < n; i++)
        t[i] = wt_spawn(fn, b);
    wt_wait_ge(&b->ready, n);
    WT_OK(weft_sleep(2 * WT_MS));
    weft_chan_shutdown(b->c, immediate);
    for (int i = 0; i < n; i++) {
        void *r;
        WT_OK(weft_join(t[i], &r));
        WT_EQ((intptr_t)r, want);
    }
}

static void *shutdown_waiters_main(void *arg)
{
    (void)arg;
    for (int imm = 0; imm < 2; imm++) {
        for (int k = 0; k < NKINDS; k++) {
            /* Waiting receivers of an empty channel. */
            struct blocked b = {.c = new_kind(k, 2)};
            WT_NONNULL(b.c);
            release_all(&b, blocked_recv, 4, imm, -ESHUTDOWN);
            int x = 1;
            WT_EQ(weft_chan_send(b.c, &x), -ESHUTDOWN);
            WT_EQ(weft_chan_try_send(b.c, &x), -ESHUTDOWN);
            WT_EQ(weft_chan_recv(b.c, &x), -ESHUTDOWN);
            weft_chan_free(b.c);
            if (!bounded(k))
                continue;
            /* Waiting senders of a full one: released; the buffered elements stay for
             * the receivers unless immediate. */
            WT_NONNULL(b.c = new_kind(k, 2));
            for (int i = 1; i <= 2; i++)
                WT_OK(weft_chan_send(b.c, &i));
            release_all(&b, blocked_send, 4, imm, -ESHUTDOWN);
            if (!imm) {
                int sum = 0;
                for (int i = 0; i < 2; i++) {
                    WT_OK(weft_chan_recv(b.c, &x));
                    sum += x;
                }
                WT_EQ(sum, 3);
            }
            WT_EQ(weft_chan_len(b.c), 0);
            WT_EQ(weft_chan_recv(b.c, &x), -ESHUTDOWN);
            WT_EQ(weft_chan_try_recv(b.c, &x), -ESHUTDOWN);
            WT_EQ(weft_chan_unfinished(b.c), imm ? 0 : 2);
            weft_chan_free(b.c);
        }
    }
    return NULL;
}
WT_TEST_1_2(shutdown_waiters)

static void *shutdown_immediate_join_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        weft_chan *c = new_kind(k, 8);
        WT_NONNULL(c);
        for (int i = 0; i < 5; i++)
            WT_OK(weft_chan_send(c, &i));
        int x;
        WT_OK(weft_chan_recv(c, &x)); /* taken, not done yet */
        weft_task *t = wt_spawn(joiner, c);
        WT_OK(weft_sleep(2 * WT_MS));
        weft_chan_shutdown(c, true);
        WT_EQ(weft_chan_len(c), 0); /* dropped... */
        WT_EQ(weft_chan_unfinished(c), 1); /* ...and counted as done */
        WT_EQ(weft_chan_recv(c, &x), -ESHUTDOWN);
        WT_FALSE(weft_done(t)); /* the element taken is still unfinished */
        WT_OK(weft_chan_task_done(c));
        void *r;
        WT_OK(weft_join(t, &r));
        WT_EQ((intptr_t)r, 0);
        WT_EQ(weft_chan_task_done(c), -EINVAL);
        weft_chan_free(c);

        /* Nothing taken: the shutdown alone releases the joiner. */
        WT_NONNULL(c = new_kind(k, 8));
        WT_OK(weft_chan_send(c, &x));
        t = wt_spawn(joiner, c);
        WT_OK(weft_sleep(WT_MS));
        weft_chan_shutdown(c, true);
        WT_OK(weft_join(t, &r));
        WT_EQ((intptr_t)r, 0);
        weft_chan_free(c);
    }
    return NULL;
}
WT_TEST_1_2(shutdown_immediate_join)

static void *close_vs_shutdown_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        weft_chan *c = new_kind(k, 4);
        WT_NONNULL(c);
        int x = 3;
        WT_OK(weft_chan_send(c, &x));
        weft_chan_close(c);
        WT_EQ(weft_chan_send(c, &x), -EPIPE);
        weft_chan_shutdown(c, false); /* -EPIPE becomes -ESHUTDOWN */
        WT_EQ(weft_chan_send(c, &x), -ESHUTDOWN);
        weft_chan_close(c); /* and stays */
        WT_EQ(weft_chan_try_send(c, &x), -ESHUTDOWN);
        WT_OK(weft_chan_recv(c, &x)); /* drained first */
        WT_EQ(x, 3);
        WT_EQ(weft_chan_recv(c, &x), -ESHUTDOWN);
        weft_chan_free(c);
    }
    return NULL;
}
WT_TEST_W(close_vs_shutdown, 1)

/* ---- LIFO and priority order ----------------------------------------------------------- */

static void *lifo_prio_order_main(void *arg)
{
    (void)arg;
    static const int in[] = {5, 1, 9, 3, 7, 3, 0, 8};
    enum { N = sizeof in / sizeof in[0] };
    for (size_t cap = 0; cap <= N; cap += N) {
        weft_chan *l = weft_chan_new_lifo(sizeof(int), cap);
        weft_chan *p = weft_chan_new_priority(sizeof(int), cap, cmp_int);
        WT_NONNULL(l);
        WT_NONNULL(p);
        for (int i = 0; i < N; i++) {
            WT_OK(weft_chan_send(l, &in[i]));
            WT_OK(weft_chan_send(p, &in[i]));
        }
        if (cap) {
            WT_EQ(weft_chan_try_send(l, &in[0]), -EAGAIN);
            WT_EQ(weft_chan_try_send(p, &in[0]), -EAGAIN);
        }
        WT_EQ(weft_chan_len(p), N);
        int x, last = -1;
        for (int i = N - 1; i >= 0; i--) {
            WT_OK(weft_chan_recv(l, &x));
            WT_EQ(x, in[i]);
            WT_OK(weft_chan_recv(p, &x));
            WT_GE(x, last);
            last = x;
        }
        WT_EQ(last, 9);
        WT_EQ(weft_chan_try_recv(l, &x), -EAGAIN);
        WT_EQ(weft_chan_try_recv(p, &x), -EAGAIN);
        weft_chan_free(l);
        weft_chan_free(p);
    }
    /* Larger heap, many elements: sorted out. */
    weft_chan *p = weft_chan_new_priority(sizeof(int), 0, cmp_int);
    WT_NONNULL(p);
    for (int i = 0; i < 1000; i++) {
        int v = (i * 7919) % 1000;
        WT_OK(weft_chan_send(p, &v));
    }
    for (int i = 0; i < 1000; i++) {
        int v;
        WT_OK(weft_chan_recv(p, &v));
        WT_EQ(v, i);
    }
    weft_chan_free(p);
    WT_TRUE(weft_chan_new_priority(sizeof(int), 4, NULL) == NULL);
    return NULL;
}
WT_TEST_W(lifo_prio_order, 1)

/* A full bounded priority channel: a waiting sender's element enters as soon as a
 * receiver makes room, and is ordered with the rest. */
static void *prio_waiting_sender_main(void *arg)
{
    (void)arg;
    struct blocked b = {.c = weft_chan_new_priority(sizeof(int), 2, cmp_int)};
    WT_NONNULL(b.c);
    int x = 2000;
    WT_OK(weft_chan_send(b.c, &x));
    x = 3000;
    WT_OK(weft_chan_send(b.c, &x));
    weft_task *t = wt_spawn(blocked_send, &b); /* sends 1000 */
    wt_wait_ge(&b.ready, 1);
    WT_OK(weft_sleep(2 * WT_MS));
    WT_OK(weft_chan_recv(b.c, &x));
    WT_EQ(x, 2000);
    void *r;
    WT_OK(weft_join(t, &r));
    WT_EQ((intptr_t)r, 0);
    WT_OK(weft_chan_recv(b.c, &x));
    WT_EQ(x, 1000);
    WT_OK(weft_chan_recv(b.c, &x));
    WT_EQ(x, 3000);
    weft_chan_free(b.c);
    return NULL;
}
WT_TEST_1_2(prio_waiting_sender)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_workers),
        cmocka_unit_test(test_join_workers_4),
        cmocka_unit_test(test_task_done_count),
        cmocka_unit_test(test_join_interrupted),
        cmocka_unit_test(test_shutdown_waiters),
        cmocka_unit_test(test_shutdown_immediate_join),
        cmocka_unit_test(test_close_vs_shutdown),
        cmocka_unit_test(test_lifo_prio_order),
        cmocka_unit_test(test_prio_waiting_sender),
    };
    return WT_RUN_GROUP(tests);
}
