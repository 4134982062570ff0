/* test_chan.c — channels: FIFO order, bounded and unbounded, try_*, close semantics
 * for buffered data and for waiting senders and receivers, len, element sizes,
 * capacity-1 handoff, a small MPMC run, and the plain-thread bridge both ways. */
#include "fixture.h"

#include <pthread.h>

/* ---- single-task behaviour ---------------------------------------------------------- */

static void *bounded_fifo_main(void *arg)
{
    (void)arg;
    weft_chan *c = weft_chan_new(sizeof(int), 16);
    WT_NONNULL(c);
    WT_EQ(weft_chan_len(c), 0);
    for (int i = 0; i < 16; i++) {
        WT_OK(i % 2 ? weft_chan_send(c, &i) : weft_chan_try_send(c, &i));
        WT_EQ(weft_chan_len(c), i + 1);
    }
    int x = -1;
    WT_EQ(weft_chan_try_send(c, &x), -EAGAIN); /* full */
    WT_EQ(weft_chan_len(c), 16);
    for (int i = 0; i < 16; i++) {
        WT_OK(i % 2 ? weft_chan_recv(c, &x) : weft_chan_try_recv(c, &x));
        WT_EQ(x, i);
        WT_EQ(weft_chan_len(c), 15 - i);
    }
    WT_EQ(weft_chan_try_recv(c, &x), -EAGAIN); /* empty */
    /* Wrap around the ring a few times. */
    for (int i = 0; i < 100; i++) {
        WT_OK(weft_chan_try_send(c, &i));
        WT_OK(weft_chan_try_recv(c, &x));
        WT_EQ(x, i);
    }
    weft_chan_free(c);
    return NULL;
}
WT_TEST_1_2(bounded_fifo)

static void *unbounded_grows_main(void *arg)
{
    (void)arg;
    enum { N = 100000 };
    weft_chan *c = weft_chan_new(sizeof(int), 0);
    WT_NONNULL(c);
    for (int i = 0; i < N; i++)
        WT_OK(i % 2 ? weft_chan_send(c, &i) : weft_chan_try_send(c, &i));
    WT_EQ(weft_chan_len(c), N);
    int x;
    for (int i = 0; i < N; i++) {
        WT_OK(weft_chan_try_recv(c, &x));
        if (x != i)
            WT_EQ(x, i);
    }
    WT_EQ(weft_chan_len(c), 0);
    WT_EQ(weft_chan_try_recv(c, &x), -EAGAIN);
    weft_chan_free(c);
    return NULL;
}
WT_TEST_1_2(unbounded_grows)

static void *bad_elem_size_main(void *arg)
{
    (void)arg;
    WT_TRUE(weft_chan_new(0, 4) == NULL);
    WT_TRUE(weft_chan_new(65537, 4) == NULL);
    weft_chan *c = weft_chan_new(65536, 1);
    WT_NONNULL(c);
    weft_chan_free(c);
    return NULL;
}
WT_TEST_W(bad_elem_size, 1)

static void *close_buffered_main(void *arg)
{
    (void)arg;
    weft_chan *c = weft_chan_new(sizeof(int), 8);
    WT_NONNULL(c);
    for (int i = 0; i < 3; i++)
        WT_OK(weft_chan_send(c, &i));
    weft_chan_close(c);
    weft_chan_close(c); /* twice is harmless */
    int x = 42;
    WT_EQ(weft_chan_try_send(c, &x), -EPIPE);
    WT_EQ(weft_chan_send(c, &x), -EPIPE);
    WT_EQ(weft_chan_len(c), 3);
    for (int i = 0; i < 3; i++) { /* receivers drain what is left */
        WT_OK(i == 1 ? weft_chan_try_recv(c, &x) : weft_chan_recv(c, &x));
        WT_EQ(x, i);
    }
    WT_EQ(weft_chan_recv(c, &x), -EPIPE);
    WT_EQ(weft_chan_try_recv(c, &x), -EPIPE);
    WT_EQ(weft_chan_recv(c, &x), -EPIPE);
    weft_chan_free(c);

    /* Unbounded too. */
    c = weft_chan_new(sizeof(int), 0);
    WT_NONNULL(c);
    WT_OK(weft_chan_send(c, &x));
    weft_chan_close(c);
    WT_EQ(weft_chan_send(c, &x), -EPIPE);
    WT_OK(weft_chan_recv(c, &x));
    WT_EQ(weft_chan_recv(c, &x), -EPIPE);
    weft_chan_free(c);
    return NULL;
}
WT_TEST_1_2(close_buffered)

/* ---- close releases waiters ----------------------------------------------------------- */

struct waiter {
    weft_chan *c;
    atomic_int ready;
    atomic_int epipe;
};

static void *blocked_receiver(void *arg)
{
    struct waiter *w = arg;
    int x;
    atomic_fetch_add(&w->ready, 1);
    int rc = weft_chan_recv(w->c, &x);
    if (rc == -EPIPE)
        atomic_fetch_add(&w->epipe, 1);
    return (void *)(intptr_t)rc;
}

static void *blocked_sender(void *arg)
{
    struct waiter *w = arg;
    int x = 1000;
    atomic_fetch_add(&w->ready, 1);
    int rc = weft_chan_send(w->c, &x);
    if (rc == -EPIPE)
        atomic_fetch_add(&w->epipe, 1);
    return (void *)(intptr_t)rc;
}

static void *close_releases_receivers_main(void *arg)
{
    (void)arg;
    struct waiter w = {.c = weft_chan_new(sizeof(int), 4)};
    WT_NONNULL(w.c);
    weft_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = wt_spawn(blocked_receiver, &w);
    wt_wait_ge(&w.ready, 4);
    WT_OK(weft_sleep(5 * WT_MS));
    weft_chan_close(w.c);
    for (int i = 0; i < 4; i++) {
        void *r;
        WT_OK(weft_join(t[i], &r)); /* not cancelled: released */
        WT_EQ((intptr_t)r, -EPIPE);
    }
    WT_EQ(atomic_load(&w.epipe), 4);
    weft_chan_free(w.c);
    return NULL;
}
WT_TEST_1_2(close_releases_receivers)

static void *close_releases_senders_main(void *arg)
{
    (void)arg;
    struct waiter w = {.c = weft_chan_new(sizeof(int), 1)};
    WT_NONNULL(w.c);
    int x = 7;
    WT_OK(weft_chan_send(w.c, &x)); /* now full */
    weft_task *t[4];
    for (int i = 0; i < 4; i++)
        t[i] = wt_spawn(blocked_sender, &w);
    wt_wait_ge(&w.ready, 4);
    WT_OK(weft_sleep(5 * WT_MS));
    WT_EQ(weft_chan_len(w.c), 1);
    weft_chan_close(w.c);
    for (int i = 0; i < 4; i++) {
        void *r;
        WT_OK(weft_join(t[i], &r));
        WT_EQ((intptr_t)r, -EPIPE);
    }
    WT_EQ(atomic_load(&w.epipe), 4);
    /* The element sent before the close is still there; the senders' are not. */
    WT_EQ(weft_chan_len(w.c), 1);
    x = 0;
    WT_OK(weft_chan_recv(w.c, &x));
    WT_EQ(x, 7);
    WT_EQ(weft_chan_recv(w.c, &x), -EPIPE);
    weft_chan_free(w.c);
    return NULL;
}
WT_TEST_1_2(close_releases_senders)

/* ---- element sizes ----------------------------------------------------------------- */

struct sized {
    weft_chan *c;
    size_t size;
    int count;
};

static unsigned char pattern(int i, size_t j)
{
    return (unsigned char)(i * 31 + (int)j * 7 + 1);
}

static void *sized_producer(void *arg)
{
    struct sized *s = arg;
    unsigned char *buf = malloc(s->size);
    WT_NONNULL(buf);
    for (int i = 0; i < s->count; i++) {
        for (size_t j = 0; j < s->size; j++)
            buf[j] = pattern(i, j);
        WT_OK(weft_chan_send(s->c, buf));
    }
    free(buf);
    return NULL;
}

static void *sized_consumer(void *arg)
{
    struct sized *s = arg;
    unsigned char *buf = malloc(s->size);
    WT_NONNULL(buf);
    for (int i = 0; i < s->count; i++) {
        memset(buf, 0, s->size);
        WT_OK(weft_chan_recv(s->c, buf));
        for (size_t j = 0; j < s->size; j++)
            if (buf[j] != pattern(i, j))
                fail_msg("elem size %zu, item %d, byte %zu: %u != %u", s->size, i, j, buf[j],
                         pattern(i, j));
    }
    free(buf);
    return NULL;
}

static void *elem_sizes_main(void *arg)
{
    (void)arg;
    static const size_t sizes[] = {1, 8, 24, 4096, 65536};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (size_t cap = 0; cap <= 4; cap += 4) { /* unbounded and bounded */
            struct sized s = {.size = sizes[k], .count = sizes[k] > 4096 ? 20 : 200};
            WT_NONNULL(s.c = weft_chan_new(s.size, cap));
            weft_task *t[2] = {wt_spawn(sized_consumer, &s), wt_spawn(sized_producer, &s)};
            WT_OK(weft_gather(t, 2, NULL));
            WT_EQ(weft_chan_len(s.c), 0);
            weft_chan_free(s.c);
        }
    }
    return NULL;
}
WT_TEST_1_2(elem_sizes)

/* ---- capacity 1: ping-pong and ordered handoff --------------------------------------- */

struct pingpong {
    weft_chan *ping, *pong;
    int rounds;
};

static void *ponger(void *arg)
{
    struct pingpong *p = arg;
    for (int i = 0; i < p->rounds; i++) {
        int x;
        WT_OK(weft_chan_recv(p->ping, &x));
        WT_EQ(x, i);
        x = -i;
        WT_OK(weft_chan_send(p->pong, &x));
    }
    return NULL;
}

static void *cap1_producer(void *arg)
{
    weft_chan *c = arg;
    for (int i = 0; i < 10000; i++)
        WT_OK(weft_chan_send(c, &i));
    weft_chan_close(c);
    return NULL;
}

static void *capacity1_main(void *arg)
{
    (void)arg;
    struct pingpong p = {.ping = weft_chan_new(sizeof(int), 1),
                         .pong = weft_chan_new(sizeof(int), 1),
                         .rounds = WT_SCALE(10000, 10000, 2000)};
    WT_NONNULL(p.ping);
    WT_NONNULL(p.pong);
    weft_task *t = wt_spawn(ponger, &p);
    for (int i = 0; i < p.rounds; i++) {
        int x = i;
        WT_OK(weft_chan_send(p.ping, &x));
        WT_OK(weft_chan_recv(p.pong, &x));
        WT_EQ(x, -i);
    }
    WT_OK(weft_join(t, NULL));
    weft_chan_free(p.ping);
    weft_chan_free(p.pong);

    /* One producer, one consumer, capacity 1: order is kept, nothing lost. */
    weft_chan *c = weft_chan_new(sizeof(int), 1);
    WT_NONNULL(c);
    t = wt_spawn(cap1_producer, c);
    int x, n = 0;
    while (weft_chan_recv(c, &x) == 0) {
        WT_EQ(x, n);
        n++;
    }
    WT_EQ(n, 10000);
    WT_OK(weft_join(t, NULL));
    weft_chan_free(c);
    return NULL;
}
WT_TEST_1_2(capacity1)

/* ---- yield before waiting (chan.c step 12) ---------------------------------------------- */

/* A wakes B (B waits on `d`, A's send hands it main's order and puts B in A's worker's
 * next-task slot), then receives on the empty `c`: on one worker A switches to B first
 * and stays runnable. What B does meanwhile must reach A's receive: an element, a
 * close, or a cancel of A. */
enum { YB_SEND, YB_CLOSE, YB_CANCEL };

struct yb {
    weft_chan *c, *d, *o; /* o: main's order to A */
    weft_task *a;
};

static void *yb_b(void *arg)
{
    struct yb *y = arg;
    int order;
    WT_OK(weft_chan_recv(y->d, &order));
    if (order == YB_SEND) {
        int v = 42;
        WT_OK(weft_chan_send(y->c, &v));
    } else if (order == YB_CLOSE) {
        weft_chan_close(y->c);
    } else {
        weft_cancel(y->a);
    }
    return NULL;
}

static void *yb_a(void *arg)
{
    struct yb *y = arg;
    int order;
    WT_OK(weft_chan_recv(y->o, &order)); /* from main: which case */
    WT_OK(weft_chan_send(y->d, &order)); /* B waits there: B goes to the next slot */
    int v = 0;
    int rc = weft_chan_recv(y->c, &v);
    if (rc == 0 && v != 42)
        rc = -EBADMSG;
    return (void *)(intptr_t)rc;
}

static void *yield_before_wait_main(void *arg)
{
    (void)arg;
    static const int want[] = {[YB_SEND] = 0, [YB_CLOSE] = -EPIPE, [YB_CANCEL] = -ECANCELED};
    for (int round = 0; round < 30; round++) {
        int order = round % 3;
        struct yb y = {.c = weft_chan_new(sizeof(int), 1),
                       .d = weft_chan_new(sizeof(int), 1),
                       .o = weft_chan_new(sizeof(int), 1)};
        WT_NONNULL(y.c);
        WT_NONNULL(y.d);
        WT_NONNULL(y.o);
        y.a = wt_spawn(yb_a, &y);
        weft_task *b = wt_spawn(yb_b, &y);
        WT_OK(weft_sleep(WT_MS)); /* A waits on o, B on d */
        WT_OK(weft_chan_send(y.o, &order));
        void *r;
        int jrc = weft_join(y.a, &r);
        if (order == YB_CANCEL)
            WT_TRUE(jrc == 0 || jrc == -ECANCELED);
        else
            WT_OK(jrc);
        WT_EQ((intptr_t)r, want[order]);
        WT_OK(weft_join(b, NULL));
        weft_chan_free(y.c);
        weft_chan_free(y.d);
        weft_chan_free(y.o);
    }
    return NULL;
}
WT_TEST_1_2(yield_before_wait)

/* ---- small MPMC ------------------------------------------------------------------------ */

enum { MP_PRODUCERS = 3, MP_CONSUMERS = 3, MP_PER = 5000 };

struct mpmc {
    weft_chan *c;
    atomic_llong sum;
    atomic_int count;
    atomic_uchar seen[MP_PRODUCERS][MP_PER];
};

struct msg {
    uint32_t producer, seq;
};

static struct mpmc mp;

static void *mp_producer(void *arg)
{
    uint32_t p = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < MP_PER; i++) {
        struct msg m = {p, i};
        WT_OK(weft_chan_send(mp.c, &m));
    }
    return NULL;
}

static void *mp_consumer(void *arg)
{
    (void)arg;
    int64_t last[MP_PRODUCERS];
    for (int p = 0; p < MP_PRODUCERS; p++)
        last[p] = -1;
    struct msg m;
    int rc;
    while ((rc = weft_chan_recv(mp.c, &m)) == 0) {
        WT_LT(m.producer, MP_PRODUCERS);
        WT_LT(m.seq, MP_PER);
        WT_GT((int64_t)m.seq, last[m.producer]); /* per-producer FIFO */
        last[m.producer] = m.seq;
        WT_EQ(atomic_exchange(&mp.seen[m.producer][m.seq], 1), 0); /* no duplicate */
        atomic_fetch_add(&mp.sum, (long long)m.seq);
        atomic_fetch_add(&mp.count, 1);
    }
    WT_EQ(rc, -EPIPE);
    return NULL;
}

static void *mpmc_main(void *arg)
{
    (void)arg;
    memset(&mp, 0, sizeof mp);
    WT_NONNULL(mp.c = weft_chan_new(sizeof(struct msg), 8));
    weft_task *prod[MP_PRODUCERS], *cons[MP_CONSUMERS];
    for (int i = 0; i < MP_CONSUMERS; i++)
        cons[i] = wt_spawn(mp_consumer, NULL);
    for (int i = 0; i < MP_PRODUCERS; i++)
        prod[i] = wt_spawn(mp_producer, (void *)(uintptr_t)i);
    WT_OK(weft_gather(prod, MP_PRODUCERS, NULL));
    weft_chan_close(mp.c);
    WT_OK(weft_gather(cons, MP_CONSUMERS, NULL));
    WT_EQ(atomic_load(&mp.count), MP_PRODUCERS * MP_PER);
    WT_EQ(atomic_load(&mp.sum), (long long)MP_PRODUCERS * MP_PER * (MP_PER - 1) / 2);
    weft_chan_free(mp.c);
    return NULL;
}
WT_TEST_1_2(mpmc)

/* ---- tasks that fight over a channel from two cores gather on one ------------------- */

/* Two producers and two consumers do nothing but channel operations on 2 workers. Run
 * side by side on both cores they lose ticket claims to each other on every few
 * operations; the channel then moves them to one worker (chan.c step 11). Checked: no
 * element lost, doubled or reordered per producer (every run); that tasks were moved
 * when they were seen running on both workers at the same moment in the first half; and
 * that in the second half they seldom were (at most 1 sample in 10, against 1 in 4 to 1 in 2
 * measured with the gathering switched off). A loaded machine that never runs the two
 * workers together passes the second check trivially and skips the first. Sanitizer
 * builds check the data only: the ASan build's 3-slot run queues overflow into the
 * global queue, which any worker serves, and TSan's slow operations let the tasks
 * gather only partly (56-73 % of the second half on one worker). */
enum { GA_PER = WT_SCALE(400000, 100000, 40000), GA_SAMPLE = 256 };

struct gather_chan {
    weft_chan *c;
    atomic_llong sum;
    atomic_int samples[2];    /* second-half samples of the running worker, per worker */
    _Atomic uint64_t seen[2]; /* weft_now() of each worker's last sample */
    atomic_int overlaps[2];   /* per half: samples taken while the other worker sampled */
};

static void ga_sample(struct gather_chan *g, uint32_t i)
{
    if (i % GA_SAMPLE != 0)
        return;
    int w = weft_worker_id();
    WT_TRUE(w == 0 || w == 1);
    uint64_t now = weft_now();
    atomic_store_explicit(&g->seen[w], now, memory_order_relaxed);
    if (now - atomic_load_explicit(&g->seen[!w], memory_order_relaxed) < 20 * WT_US)
        atomic_fetch_add(&g->overlaps[i >= GA_PER / 2], 1);
    if (i >= GA_PER / 2)
        atomic_fetch_add(&g->samples[w], 1);
}

static void *ga_producer(void *arg)
{
    struct gather_chan *g = arg;
    static atomic_uint next_id;
    uint32_t p = atomic_fetch_add(&next_id, 1) & 1;
    for (uint32_t i = 0; i < GA_PER; i++) {
        struct msg m = {p, i};
        WT_OK(weft_chan_send(g->c, &m));
        ga_sample(g, i);
    }
    return NULL;
}

static void *ga_consumer(void *arg)
{
    struct gather_chan *g = arg;
    int64_t last[2] = {-1, -1};
    uint32_t n = 0;
    struct msg m;
    int rc;
    while ((rc = weft_chan_recv(g->c, &m)) == 0) {
        WT_LT(m.producer, 2);
        WT_GT((int64_t)m.seq, last[m.producer]); /* per-producer FIFO */
        last[m.producer] = m.seq;
        atomic_fetch_add_explicit(&g->sum, (long long)m.seq, memory_order_relaxed);
        ga_sample(g, n++);
    }
    WT_EQ(rc, -EPIPE);
    return NULL;
}

/* One run; *arg (bool) is set when the gathering checks held. */
static void *gather_contended_main(void *arg)
{
    bool *held = arg;
    struct gather_chan g = {0};
    WT_NONNULL(g.c = weft_chan_new(sizeof(struct msg), 256));
    weft_task *prod[2], *cons[2];
    for (int i = 0; i < 2; i++) {
        cons[i] = wt_spawn(ga_consumer, &g);
        prod[i] = wt_spawn(ga_producer, &g);
    }
    WT_OK(weft_gather(prod, 2, NULL));
    weft_chan_close(g.c);
    WT_OK(weft_gather(cons, 2, NULL));
    WT_EQ(atomic_load(&g.sum), 2 * ((long long)GA_PER * (GA_PER - 1) / 2));
    weft_chan_free(g.c);

    weft_worker_stats st[2];
    WT_EQ(weft_stats(st, 2), 2);
    unsigned moved = st[0].moved_in + st[1].moved_in;
    int s0 = atomic_load(&g.samples[0]), s1 = atomic_load(&g.samples[1]);
    int most = s0 > s1 ? s0 : s1;
    WT_GT(s0 + s1, 0);
    double major = (double)most / (double)(s0 + s1);
    int ov1 = atomic_load(&g.overlaps[0]), ov2 = atomic_load(&g.overlaps[1]);
    print_message("      samples with both workers running: %d in the first half, %d of %d in "
                  "the second; %u moves; second half %d samples on worker 0, %d on worker 1 "
                  "(%.0f%% on one)\n",
                  ov1, ov2, s0 + s1, moved, s0, s1, 100.0 * major);
    *held = (ov1 < 50 || moved > 0) && 10 * ov2 <= s0 + s1;
    return NULL;
}

static void test_gather_contended(void **state)
{
    (void)state;
    /* A loaded machine (ctest -j2 in CI) can preempt a worker in the middle of many
     * windows, which then do not count, and gathering comes late: one run in ~20 showed
     * 11 % overlap. A working mechanism passes one of three runs; without it all three
     * fail (25-50 % overlap each). */
    bool held = false;
    for (int attempt = 0; attempt < 3 && !held; attempt++)
        (void)wt_run(2, gather_contended_main, &held);
    if (!WT_ASAN && !WT_TSAN)
        WT_TRUE(held);
}

/* ---- ... but tasks that work between operations stay spread --------------------------- */

/* One producer, four consumers that spin 400 ns per element: their claims collide too
 * (1 in 8 and more when they run on both cores), but they gain more from the second
 * core than they lose to the contention, so the channel must not gather them (chan.c
 * step 11: only tasks longer inside their operations than between them gather). Before
 * the first such rule they were gathered (17-36 moves a run) and ran ~1.7x slower.
 * The producer works between its sends too (a quarter of that): a producer that only
 * sends may move to its consumers (step 11's other-end rule, other_end_gathers below),
 * which would make the count of moves say nothing about the consumers.
 * Sanitizers make each operation several times slower (TSan ~10x), so the work per
 * element grows with them: the premise is work well above an operation's cost. */
enum {
    WP_ITEMS = WT_SCALE(50000, 10000, 2000),
    WP_CONSUMERS = 4,
    WP_SPIN_NS = WT_SCALE(400, 2000, 10000),
};

struct work_pool {
    weft_chan *c;
    atomic_llong sum;
    atomic_int per_worker[2];
};

static void *wp_producer(void *arg)
{
    struct work_pool *p = arg;
    for (int i = 0; i < WP_ITEMS; i++) {
        wt_spin_ns(WP_SPIN_NS / 4);
        WT_OK(weft_chan_send(p->c, &i));
    }
    weft_chan_close(p->c);
    return NULL;
}

static void *wp_consumer(void *arg)
{
    struct work_pool *p = arg;
    int v;
    while (weft_chan_recv(p->c, &v) == 0) {
        wt_spin_ns(WP_SPIN_NS);
        atomic_fetch_add_explicit(&p->sum, v, memory_order_relaxed);
        int w = weft_worker_id();
        if (w == 0 || w == 1)
            atomic_fetch_add_explicit(&p->per_worker[w], 1, memory_order_relaxed);
    }
    return NULL;
}

static void *work_stays_spread_main(void *arg)
{
    (void)arg;
    struct work_pool p = {0};
    WT_NONNULL(p.c = weft_chan_new(sizeof(int), 1024));
    weft_task *t[WP_CONSUMERS + 1];
    t[0] = wt_spawn(wp_producer, &p);
    for (int i = 1; i <= WP_CONSUMERS; i++)
        t[i] = wt_spawn(wp_consumer, &p);
    WT_OK(weft_gather(t, WP_CONSUMERS + 1, NULL));
    WT_EQ(atomic_load(&p.sum), (long long)WP_ITEMS * (WP_ITEMS - 1) / 2);
    weft_chan_free(p.c);
    weft_worker_stats st[2];
    WT_EQ(weft_stats(st, 2), 2);
    print_message("      items on worker 0: %d, on worker 1: %d; %u moves\n",
                  atomic_load(&p.per_worker[0]), atomic_load(&p.per_worker[1]),
                  st[0].moved_in + st[1].moved_in);
    WT_EQ(st[0].moved_in + st[1].moved_in, 0);
    return NULL;
}
WT_TEST_W(work_stays_spread, 2)

/* ---- ... and a task that passes messages to a task on another worker moves to it --- */

/* A producer that only sends, alone on its channel (so no claim is ever lost), and a
 * consumer that only selects on it and keeps itself on worker 0; the producer runs on
 * worker 1. The channel holds every element, so the producer never waits, no wake-up
 * moves it and no thief can take it (it never leaves its worker's CPU): without step
 * 11's other-end rule (WEFT_GATHER=0) every send is made on worker 1, every element
 * crossing between the cores. With it, the producer's sampled look (every 256th
 * operation) finds the consumer's worker at the other end, and after a window of 32
 * operations it moves there. WEFT_GATHER=always leaves out the window's time votes,
 * which depend on what the cores cost (on this VM the lone producer's sends are cheap
 * while it runs ahead of its consumer, so "auto" may not decide here; bench select4 is
 * where it does): what is tested is the rule's mechanism, not the machine. A select
 * takes no part in the rule, so the consumer never moves on its own.
 * The consumer takes its first element (sent by main) on worker 0 before the producer
 * starts: the producer's first send may wake it into worker 1's next slot, where it
 * waits behind the running producer until the monitor frees it, and the rule needs the
 * consumer's ticket on worker 0. */
enum { OE_N = WT_SCALE(400000, 100000, 40000) };

struct other_end {
    weft_chan *c;
    weft_event ready; /* the consumer took element 0 on worker 0 */
    int on0;          /* sends made on worker 0 (written by the producer before it closes) */
};

static void *oe_producer(void *arg)
{
    struct other_end *o = arg;
    WT_OK(weft_event_wait(&o->ready));
    WT_OK(weft_move_to(1)); /* the wake-up put it on the consumer's worker */
    int on0 = 0;
    for (int i = 1; i < OE_N; i++) {
        WT_OK(weft_chan_send(o->c, &i));
        on0 += weft_worker_id() == 0;
    }
    o->on0 = on0;
    weft_chan_close(o->c);
    return NULL;
}

static void *oe_consumer(void *arg)
{
    struct other_end *o = arg;
    int v;
    long long sum = 0, n = 0;
    weft_select_case cs[1] = {WEFT_RECV(o->c, &v)};
    for (;;) {
        if (weft_worker_id() != 0)
            WT_OK(weft_move_to(0));
        WT_EQ(weft_select(cs, 1, WEFT_SELECT_FOREVER), 0);
        if (cs[0].result != 0)
            break;
        sum += v;
        if (++n == 1)
            weft_event_set(&o->ready);
        else if (n % 32 == 0)
            WT_OK(weft_yield()); /* the channel never runs dry: let the worker's queue run */
    }
    WT_EQ(cs[0].result, -EPIPE);
    WT_EQ(n, OE_N);
    WT_EQ(sum, (long long)OE_N * (OE_N - 1) / 2);
    return NULL;
}

/* Runs the pair and returns the sends made on worker 0. */
static void *other_end_main(void *arg)
{
    (void)arg;
    struct other_end *o = calloc(1, sizeof *o);
    WT_NONNULL(o);
    WT_NONNULL(o->c = weft_chan_new(sizeof(int), OE_N));
    weft_event_init(&o->ready);
    int zero = 0;
    WT_OK(weft_chan_send(o->c, &zero));
    weft_task *t[2];
    t[0] = wt_spawn(oe_consumer, o);
    t[1] = wt_spawn(oe_producer, o);
    WT_OK(weft_gather(t, 2, NULL));
    weft_chan_free(o->c);
    weft_event_destroy(&o->ready);
    intptr_t on0 = o->on0;
    free(o);
    return (void *)on0;
}

static int other_end_run(const char *gather)
{
    setenv("WEFT_GATHER", gather, 1);
    int on0 = (int)(intptr_t)wt_run(2, other_end_main, NULL);
    unsetenv("WEFT_GATHER");
    print_message("      WEFT_GATHER=%s: sends made on the consumer's worker: %d of %d\n", gather,
                  on0, OE_N);
    return on0;
}

static void test_other_end_gathers(void **state)
{
    (void)state;
    /* 399,713 of 399,999 (the first 256 + 32 sends are made before the move) in 80 of
     * 80 runs on an otherwise idle 2-vCPU VM; with a CPU hog beside it (ctest -j2) 53
     * of 60, the rest 114k-363k: while the OS keeps worker 0's thread off its CPU, the
     * idle worker 1 takes the producer back from its queue. The control makes none. */
    WT_GE(other_end_run("always"), OE_N / 8);
}

/* The control: with gathering off the producer stays where it started. */
static void test_other_end_off(void **state)
{
    (void)state;
    WT_EQ(other_end_run("0"), 0);
}

/* ---- the plain-thread bridge ----------------------------------------------------------- */

enum { BRIDGE_N = WT_SCALE(20000, 20000, 2000) };

struct bridge {
    weft_chan *c;
    atomic_int done;   /* the thread finished */
    atomic_int errors; /* failed calls on the thread */
    atomic_llong sum;  /* what was received */
    atomic_int count;
};

static void *thread_sender(void *arg)
{
    struct bridge *b = arg;
    for (int i = 1; i <= BRIDGE_N; i++)
        if (weft_chan_send(b->c, &i) != 0) /* blocks this thread while full */
            atomic_fetch_add(&b->errors, 1);
    weft_chan_close(b->c);
    atomic_store(&b->done, 1);
    return NULL;
}

static void *task_receiver(void *arg)
{
    struct bridge *b = arg;
    int x, last = 0, rc;
    while ((rc = weft_chan_recv(b->c, &x)) == 0) {
        WT_GT(x, last); /* one producer: each receiver sees increasing values */
        last = x;
        atomic_fetch_add(&b->sum, x);
        atomic_fetch_add(&b->count, 1);
    }
    WT_EQ(rc, -EPIPE);
    return NULL;
}

static void wait_thread(struct bridge *b, pthread_t th)
{
    uint64_t t0 = weft_now();
    while (!atomic_load(&b->done)) { /* do not block a worker in pthread_join */
        WT_OK(weft_sleep(WT_MS));
        WT_LT(weft_now() - t0, 20 * WT_SEC);
    }
    WT_OK(pthread_join(th, NULL));
}

static void *bridge_thread_to_tasks_main(void *arg)
{
    (void)arg;
    struct bridge b = {.c = weft_chan_new(sizeof(int), 4)};
    WT_NONNULL(b.c);
    weft_task *t[2] = {wt_spawn(task_receiver, &b), wt_spawn(task_receiver, &b)};
    pthread_t th;
    WT_OK(pthread_create(&th, NULL, thread_sender, &b));
    WT_OK(weft_gather(t, 2, NULL));
    wait_thread(&b, th);
    WT_EQ(atomic_load(&b.errors), 0);
    WT_EQ(atomic_load(&b.count), BRIDGE_N);
    WT_EQ(atomic_load(&b.sum), (long long)BRIDGE_N * (BRIDGE_N + 1) / 2);
    weft_chan_free(b.c);
    return NULL;
}
WT_TEST_1_2(bridge_thread_to_tasks)

static void *thread_receiver(void *arg)
{
    struct bridge *b = arg;
    int x, rc;
    while ((rc = weft_chan_recv(b->c, &x)) == 0) { /* blocks this thread while empty */
        atomic_fetch_add(&b->sum, x);
        atomic_fetch_add(&b->count, 1);
    }
    if (rc != -EPIPE)
        atomic_fetch_add(&b->errors, 1);
    atomic_store(&b->done, 1);
    return NULL;
}

static void *task_sender(void *arg)
{
    struct bridge *b = arg;
    for (int i = 1; i <= BRIDGE_N; i++)
        WT_OK(weft_chan_send(b->c, &i));
    return NULL;
}

static void *bridge_tasks_to_thread_main(void *arg)
{
    (void)arg;
    struct bridge b = {.c = weft_chan_new(sizeof(int), 4)};
    WT_NONNULL(b.c);
    pthread_t th;
    WT_OK(pthread_create(&th, NULL, thread_receiver, &b));
    weft_task *t[2] = {wt_spawn(task_sender, &b), wt_spawn(task_sender, &b)};
    WT_OK(weft_gather(t, 2, NULL));
    weft_chan_close(b.c);
    wait_thread(&b, th);
    WT_EQ(atomic_load(&b.errors), 0);
    WT_EQ(atomic_load(&b.count), 2 * BRIDGE_N);
    WT_EQ(atomic_load(&b.sum), (long long)BRIDGE_N * (BRIDGE_N + 1));
    weft_chan_free(b.c);
    return NULL;
}
WT_TEST_1_2(bridge_tasks_to_thread)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounded_fifo),
        cmocka_unit_test(test_unbounded_grows),
        cmocka_unit_test(test_bad_elem_size),
        cmocka_unit_test(test_close_buffered),
        cmocka_unit_test(test_close_releases_receivers),
        cmocka_unit_test(test_close_releases_senders),
        cmocka_unit_test(test_elem_sizes),
        cmocka_unit_test(test_capacity1),
        cmocka_unit_test(test_yield_before_wait),
        cmocka_unit_test(test_mpmc),
        cmocka_unit_test(test_gather_contended),
        cmocka_unit_test(test_work_stays_spread),
        cmocka_unit_test(test_other_end_gathers),
        cmocka_unit_test(test_other_end_off),
        cmocka_unit_test(test_bridge_thread_to_tasks),
        cmocka_unit_test(test_bridge_tasks_to_thread),
    };
    return WT_RUN_GROUP(tests);
}
