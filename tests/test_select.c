/* test_select.c — weft_select: the ready case is taken, the default case (timeout 0),
 * timeouts, waking on a send or receive from another worker on every kind of channel,
 * closed and shut-down channels, fairness among ready cases, cancellation (nothing is
 * taken), plain threads, and an exactly-once storm with random cancels. */
#include "select_storm.h"

#include <pthread.h>

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

enum { NKINDS = 5 };
static weft_chan *new_kind(int k)
{
    switch (k) {
    case 0:
        return weft_chan_new(sizeof(int), 1);
    case 1:
        return weft_chan_new(sizeof(int), 4);
    case 2:
        return weft_chan_new(sizeof(int), 0);
    case 3:
        return weft_chan_new_lifo(sizeof(int), 1);
    default:
        return weft_chan_new_priority(sizeof(int), 1, cmp_int);
    }
}

static void *ready_and_default_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        weft_chan *a = new_kind(k), *b = new_kind(k);
        WT_NONNULL(a);
        WT_NONNULL(b);
        int x = -1, y = -1, v = 42;
        weft_select_case cs[] = {WEFT_RECV(a, &x), WEFT_RECV(b, &y)};
        WT_EQ(weft_select(cs, 2, 0), -EAGAIN); /* default case: nothing ready */
        WT_OK(weft_chan_send(b, &v));
        WT_EQ(weft_select(cs, 2, WEFT_SELECT_FOREVER), 1);
        WT_OK(cs[1].result);
        WT_EQ(y, 42);
        WT_EQ(x, -1);
        WT_EQ(weft_select(cs, 2, 0), -EAGAIN);
        /* A send case takes the space; a NULL channel is never ready. */
        weft_select_case ss[] = {WEFT_SEND(NULL, &v), WEFT_SEND(a, &v)};
        WT_EQ(weft_select(ss, 2, 0), 1);
        WT_EQ(weft_chan_len(a), 1);
        if (k != 1 && k != 2) /* capacity 1: now full */
            WT_EQ(weft_select(ss, 2, 0), -EAGAIN);
        WT_OK(weft_chan_recv(a, &x));
        WT_EQ(x, 42);
        /* Bad arguments. */
        weft_select_case bad[] = {{a, 7, &x, 0}};
        WT_EQ(weft_select(bad, 1, 0), -EINVAL);
        bad[0] = (weft_select_case)WEFT_RECV(a, NULL);
        WT_EQ(weft_select(bad, 1, 0), -EINVAL);
        WT_EQ(weft_select(cs, WEFT_SELECT_MAX + 1, 0), -EINVAL);
        weft_chan_free(a);
        weft_chan_free(b);
    }
    WT_EQ(weft_select(NULL, 0, 0), -EAGAIN);
    WT_EQ(weft_select(NULL, 0, WT_MS), -ETIMEDOUT);
    return NULL;
}
WT_TEST_W(ready_and_default, 1)

static void *timeout_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        weft_chan *a = new_kind(k);
        WT_NONNULL(a);
        int x = -1, v = 7;
        weft_select_case cs[] = {WEFT_RECV(a, &x)};
        uint64_t t0 = weft_now();
        WT_EQ(weft_select(cs, 1, 2 * WT_MS), -ETIMEDOUT);
        WT_GE(weft_now() - t0, 2 * WT_MS);
        WT_EQ(x, -1);
        /* An enclosing deadline is honoured too, and left as it was. */
        {
            WEFT_WITH_TIMEOUT(WT_MS);
            WT_EQ(weft_select(cs, 1, WEFT_SELECT_FOREVER), -ETIMEDOUT);
        }
        WT_EQ(weft_deadline(), UINT64_MAX);
        /* Nothing was taken by the timed-out selects. */
        WT_OK(weft_chan_send(a, &v));
        WT_EQ(weft_select(cs, 1, 5 * WT_MS), 0);
        WT_EQ(x, 7);
        weft_chan_free(a);
    }
    return NULL;
}
WT_TEST_1_2(timeout)

/* ---- waking ----------------------------------------------------------------------------- */

struct later {
    weft_chan *c;
    int value;
    bool recv;
    int got;
};

static void *later_op(void *arg)
{
    struct later *l = arg;
    WT_OK(weft_sleep(2 * WT_MS));
    return (void *)(intptr_t)(l->recv ? weft_chan_recv(l->c, &l->got) : weft_chan_send(l->c, &l->value));
}

static void *wake_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        /* full: a bounded channel of the same kind (the ring for the unbounded one) */
        weft_chan *a = new_kind(k), *b = new_kind(k), *full = new_kind(k == 2 ? 0 : k);
        WT_NONNULL(a);
        WT_NONNULL(b);
        WT_NONNULL(full);
        int v = 1, nfull = 0;
        while (weft_chan_try_send(full, &v) == 0)
            nfull++;
        /* A receive case woken by a send from another task. */
        int x = -1, y = -1, s = 99;
        weft_select_case cs[] = {WEFT_RECV(a, &x), WEFT_RECV(b, &y), WEFT_SEND(full, &s)};
        struct later l = {.c = b, .value = 5};
        weft_task *t = wt_spawn(later_op, &l);
        WT_EQ(weft_select(cs, 3, WEFT_SELECT_FOREVER), 1);
        WT_OK(cs[1].result);
        WT_EQ(y, 5);
        WT_EQ(x, -1);
        void *r;
        WT_OK(weft_join(t, &r));
        WT_OK((intptr_t)r);
        /* A send case woken by a receive that makes room. */
        l = (struct later){.c = full, .recv = true};
        t = wt_spawn(later_op, &l);
        WT_EQ(weft_select(cs, 3, WEFT_SELECT_FOREVER), 2);
        WT_OK(cs[2].result);
        WT_OK(weft_join(t, &r));
        WT_OK((intptr_t)r);
        WT_EQ(l.got, 1);
        int seen99 = 0;
        for (int i = 0; i < nfull; i++) {
            WT_OK(weft_chan_try_recv(full, &v));
            seen99 += v == 99;
        }
        WT_EQ(seen99, 1);
        WT_EQ(weft_chan_try_recv(full, &v), -EAGAIN);
        WT_EQ(weft_chan_len(a) + weft_chan_len(b), 0);
        weft_chan_free(a);
        weft_chan_free(b);
        weft_chan_free(full);
    }
    return NULL;
}
WT_TEST_1_2(wake)

/* ---- closed channels ----------------------------------------------------------------------- */

struct closer {
    weft_chan *c;
    bool shut;
};

static void *close_later(void *arg)
{
    struct closer *cl = arg;
    WT_OK(weft_sleep(2 * WT_MS));
    if (cl->shut)
        weft_chan_shutdown(cl->c, false);
    else
        weft_chan_close(cl->c);
    return NULL;
}

static void *closed_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        for (int shut = 0; shut < 2; shut++) {
            int want = shut ? -ESHUTDOWN : -EPIPE;
            weft_chan *a = new_kind(k), *b = new_kind(k);
            WT_NONNULL(a);
            WT_NONNULL(b);
            int x = -1, y = -1, v = 3;
            weft_select_case cs[] = {WEFT_RECV(a, &x), WEFT_RECV(b, &y)};
            /* Closed while the select waits: it is released with the error. */
            struct closer cl = {b, shut};
            weft_task *t = wt_spawn(close_later, &cl);
            WT_EQ(weft_select(cs, 2, WEFT_SELECT_FOREVER), 1);
            WT_EQ(cs[1].result, want);
            WT_OK(weft_join(t, NULL));
            /* Closed and drained is always ready; buffered elements come first. */
            WT_OK(weft_chan_send(a, &v));
            if (shut)
                weft_chan_shutdown(a, false);
            else
                weft_chan_close(a);
            cs[1].chan = NULL;
            WT_EQ(weft_select(cs, 2, 0), 0);
            WT_OK(cs[0].result);
            WT_EQ(x, 3);
            WT_EQ(weft_select(cs, 2, 0), 0);
            WT_EQ(cs[0].result, want);
            weft_select_case ss[] = {WEFT_SEND(a, &v)};
            WT_EQ(weft_select(ss, 1, WEFT_SELECT_FOREVER), 0);
            WT_EQ(ss[0].result, want);
            weft_chan_free(a);
            weft_chan_free(b);
        }
    }
    return NULL;
}
WT_TEST_1_2(closed)

/* ---- one channel in several cases ---------------------------------------------------- */

struct self_match {
    weft_chan *c;
    int rc, x, y;
};

static void *send_and_recv_same(void *arg)
{
    struct self_match *m = arg;
    int v = 11;
    /* A send and two receives on one channel: the select must never meet itself. */
    weft_select_case cs[] = {WEFT_SEND(m->c, &v), WEFT_RECV(m->c, &m->x), WEFT_RECV(m->c, &m->y)};
    m->rc = weft_select(cs, 3, WEFT_SELECT_FOREVER);
    return NULL;
}

static void *same_channel_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        struct self_match m = {.c = new_kind(k), .rc = -100, .x = -1, .y = -1};
        WT_NONNULL(m.c);
        if (k == 2) { /* unbounded: the send is always ready */
            WT_OK(weft_join(wt_spawn(send_and_recv_same, &m), NULL));
            WT_EQ(m.rc, 0);
            WT_EQ(weft_chan_len(m.c), 1);
            weft_chan_free(m.c);
            continue;
        }
        int v = 0; /* fill it: the send case must wait, the receive cases are ready */
        while (weft_chan_try_send(m.c, &v) == 0)
            ;
        WT_OK(weft_join(wt_spawn(send_and_recv_same, &m), NULL));
        WT_TRUE(m.rc == 1 || m.rc == 2);
        /* Empty: the send case is ready and goes into the channel; the select's own
         * receive cases (queued on the same channel meanwhile, when it had to wait)
         * never get its element. */
        while (weft_chan_try_recv(m.c, &v) == 0)
            ;
        m.x = m.y = -1;
        WT_OK(weft_join(wt_spawn(send_and_recv_same, &m), NULL));
        WT_EQ(m.rc, 0);
        WT_EQ(m.x, -1);
        WT_EQ(m.y, -1);
        WT_EQ(weft_chan_len(m.c), 1);
        weft_chan_free(m.c);
    }
    return NULL;
}
WT_TEST_1_2(same_channel)

/* ---- fairness ------------------------------------------------------------------------------ */

static void *fairness_main(void *arg)
{
    (void)arg;
    enum { N = 4000 };
    weft_chan *a = weft_chan_new(sizeof(int), 0), *b = weft_chan_new(sizeof(int), 0);
    WT_NONNULL(a);
    WT_NONNULL(b);
    for (int i = 0; i < N; i++) {
        WT_OK(weft_chan_send(a, &i));
        WT_OK(weft_chan_send(b, &i));
    }
    int x, y, count[2] = {0, 0};
    weft_select_case cs[] = {WEFT_RECV(a, &x), WEFT_RECV(b, &y)};
    for (int i = 0; i < N; i++) {
        int rc = weft_select(cs, 2, 0); /* both always ready */
        WT_GE(rc, 0);
        count[rc]++;
    }
    /* Each ready case gets a fair share (expected N/2; this bound is ~30 sigma away). */
    WT_GT(count[0], N / 4);
    WT_GT(count[1], N / 4);
    weft_chan_free(a);
    weft_chan_free(b);
    return NULL;
}
WT_TEST_W(fairness, 1)

/* ---- cancellation --------------------------------------------------------------------------- */

static void *select_forever(void *arg)
{
    weft_chan **ch = arg;
    int x, y;
    weft_select_case cs[] = {WEFT_RECV(ch[0], &x), WEFT_RECV(ch[1], &y)};
    return (void *)(intptr_t)weft_select(cs, 2, WEFT_SELECT_FOREVER);
}

static void *cancel_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        weft_chan *ch[2] = {new_kind(k), new_kind(k)};
        WT_NONNULL(ch[0]);
        WT_NONNULL(ch[1]);
        weft_task *t = wt_spawn(select_forever, ch);
        WT_OK(weft_sleep(2 * WT_MS));
        weft_cancel(t);
        WT_EQ(weft_join(t, NULL), -ECANCELED);
        /* The select left both queues: a send now stays in the channel. */
        int v = 8, x;
        WT_OK(weft_chan_send(ch[0], &v));
        WT_OK(weft_chan_try_recv(ch[0], &x));
        WT_EQ(x, 8);
        weft_chan_free(ch[0]);
        weft_chan_free(ch[1]);
    }
    return NULL;
}
WT_TEST_1_2(cancel)

/* ---- plain threads ------------------------------------------------------------------------- */

struct th {
    weft_chan *a, *b;
    int rc_timeout, rc, got;
    atomic_int timed_out; /* the first select is over: send only then */
};

static void *thread_selects(void *arg)
{
    struct th *s = arg;
    int x = -1, y = -1;
    weft_select_case cs[] = {WEFT_RECV(s->a, &x), WEFT_RECV(s->b, &y)};
    s->rc_timeout = weft_select(cs, 2, WT_MS);
    atomic_store(&s->timed_out, 1);
    s->rc = weft_select(cs, 2, WEFT_SELECT_FOREVER);
    s->got = s->rc == 1 ? y : x;
    return NULL;
}

static void *plain_thread_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        struct th s = {.a = new_kind(k), .b = new_kind(k)};
        WT_NONNULL(s.a);
        WT_NONNULL(s.b);
        pthread_t th;
        WT_OK(pthread_create(&th, NULL, thread_selects, &s));
        wt_wait_ge(&s.timed_out, 1);
        WT_OK(weft_sleep(2 * WT_MS)); /* most likely waiting in the second select now */
        int v = 77;
        WT_OK(weft_chan_send(s.b, &v));
        WT_OK(pthread_join(th, NULL));
        WT_EQ(s.rc_timeout, -ETIMEDOUT);
        WT_EQ(s.rc, 1);
        WT_EQ(s.got, 77);
        weft_chan_free(s.a);
        weft_chan_free(s.b);
    }
    return NULL;
}
WT_TEST_1_2(plain_thread)

/* Many selects on a plain thread against senders on the workers: nothing lost. */
enum { PT_N = WT_SCALE(20000, 5000, 1000) };

struct pt_many {
    weft_chan *ch[2];
    long long sum;
};

static void *thread_many(void *arg)
{
    struct pt_many *m = arg;
    int x, y;
    weft_select_case cs[] = {WEFT_RECV(m->ch[0], &x), WEFT_RECV(m->ch[1], &y)};
    for (int i = 0; i < 2 * PT_N; i++) {
        int rc = weft_select(cs, 2, WEFT_SELECT_FOREVER);
        if (rc < 0 || cs[rc].result != 0)
            return (void *)1;
        m->sum += rc ? y : x;
    }
    return NULL;
}

static void *pt_sender(void *arg)
{
    weft_chan *c = arg;
    for (int i = 0; i < PT_N; i++)
        WT_OK(weft_chan_send(c, &i));
    return NULL;
}

static void *plain_thread_many_main(void *arg)
{
    (void)arg;
    for (int k = 0; k < NKINDS; k++) {
        struct pt_many m = {.ch = {new_kind(k), new_kind(k)}};
        WT_NONNULL(m.ch[0]);
        WT_NONNULL(m.ch[1]);
        pthread_t th;
        WT_OK(pthread_create(&th, NULL, thread_many, &m));
        weft_task *t[2] = {wt_spawn(pt_sender, m.ch[0]), wt_spawn(pt_sender, m.ch[1])};
        WT_OK(weft_gather(t, 2, NULL));
        void *r;
        WT_OK(pthread_join(th, &r)); /* blocks this worker: the thread needs no worker */
        WT_TRUE(r == NULL);
        WT_EQ(m.sum, (long long)PT_N * (PT_N - 1));
        weft_chan_free(m.ch[0]);
        weft_chan_free(m.ch[1]);
    }
    return NULL;
}
WT_TEST_1_2(plain_thread_many)

/* ---- exactly once under a storm ------------------------------------------------------------- */

static void *storm_main(void *arg)
{
    (void)arg;
    storm_run(WT_SCALE(5000, 2000, 500));
    WT_GT(atomic_load(&storm.cancels), 0);
    return NULL;
}
WT_TEST_1_2(storm)
static void test_storm_4(void **state)
{
    (void)state;
    (void)wt_run(4, storm_main, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_and_default), cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_wake),              cmocka_unit_test(test_closed),
        cmocka_unit_test(test_fairness),          cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_plain_thread),      cmocka_unit_test(test_plain_thread_many),
        cmocka_unit_test(test_same_channel),      cmocka_unit_test(test_storm),
        cmocka_unit_test(test_storm_4),
    };
    return WT_RUN_GROUP(tests);
}
