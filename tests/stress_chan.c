/* stress_chan.c — MPMC channel under load: 4 producers x 4 consumers on 2 workers,
 * 2M messages through a small bounded channel (and through an unbounded one). Every
 * message arrives exactly once (a bitmap catches duplicates), the count and sum are
 * exact, and each consumer sees each producer's sequence numbers increasing. The same
 * under a cancellation storm: consumers are cancelled at random while they wait and
 * replaced; an element handed to a waiter that is being cancelled must still be counted
 * exactly once (the waiter keeps it) — never lost, never delivered twice. */
#include "fixture.h"

enum {
    PRODUCERS = 4,
    CONSUMERS = 4,
    TOTAL = WT_SCALE(2000000, 2000000, 100000),
};

static uint32_t per_producer; /* messages per producer in the current run */

struct msg {
    uint32_t producer;
    uint32_t seq;
};

static weft_chan *chan;
static atomic_uchar *seen; /* PRODUCERS * per_producer flags */
static atomic_llong sum;
static atomic_llong count;
static atomic_int dup_or_order_errors;

static void *producer(void *arg)
{
    uint32_t p = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = 0; i < per_producer; i++) {
        struct msg m = {p, i};
        int rc = weft_chan_send(chan, &m);
        if (rc != 0)
            WT_OK(rc);
    }
    return NULL;
}

/* Checks and records one received message: 0, or -1 for a duplicate or an element out
 * of its producer's order (counted in dup_or_order_errors). */
static int take(const struct msg *m, int64_t *last)
{
    if (m->producer >= PRODUCERS || m->seq >= per_producer ||
        (int64_t)m->seq <= last[m->producer] ||
        atomic_exchange_explicit(&seen[(size_t)m->producer * per_producer + m->seq], 1,
                                 memory_order_relaxed) != 0) {
        atomic_fetch_add(&dup_or_order_errors, 1);
        return -1;
    }
    last[m->producer] = m->seq;
    return 0;
}

/* Receives until the channel is closed and drained (or, with `cancellable`, until the
 * task is cancelled), adding what it took to sum and count. */
static void consume(bool cancellable)
{
    int64_t last[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++)
        last[p] = -1;
    long long my_sum = 0, my_count = 0;
    struct msg m;
    int rc;
    while ((rc = weft_chan_recv(chan, &m)) == 0) {
        if (take(&m, last) == 0) {
            my_sum += m.seq;
            my_count++;
        }
    }
    if (!(cancellable && rc == -ECANCELED))
        WT_EQ(rc, -EPIPE);
    atomic_fetch_add(&sum, my_sum);
    atomic_fetch_add(&count, my_count);
}

static void *consumer(void *arg)
{
    (void)arg;
    consume(false);
    return NULL;
}

struct run {
    size_t cap;
    uint32_t total;
};

static void *mpmc_main(void *arg)
{
    const struct run *run = arg;
    size_t cap = run->cap;
    per_producer = run->total / PRODUCERS;
    WT_NONNULL(chan = weft_chan_new(sizeof(struct msg), cap));
    WT_NONNULL(seen = calloc((size_t)PRODUCERS * per_producer, 1));
    atomic_store(&sum, 0);
    atomic_store(&count, 0);
    atomic_store(&dup_or_order_errors, 0);
    uint64_t t0 = weft_now();
    weft_task *prod[PRODUCERS], *cons[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++)
        cons[i] = wt_spawn(consumer, NULL);
    for (int i = 0; i < PRODUCERS; i++)
        prod[i] = wt_spawn(producer, (void *)(uintptr_t)i);
    WT_OK(weft_gather(prod, PRODUCERS, NULL));
    weft_chan_close(chan);
    WT_OK(weft_gather(cons, CONSUMERS, NULL));
    print_message("      %u messages, capacity %zu, %u workers: %.0f ms\n",
                  per_producer * PRODUCERS, cap, weft_workers(), wt_ms_since(t0));
    WT_EQ(atomic_load(&dup_or_order_errors), 0);
    WT_EQ(atomic_load(&count), (long long)per_producer * PRODUCERS);
    WT_EQ(atomic_load(&sum),
          (long long)PRODUCERS * ((long long)per_producer * (per_producer - 1) / 2));
    for (size_t i = 0; i < (size_t)PRODUCERS * per_producer; i++)
        if (!atomic_load_explicit(&seen[i], memory_order_relaxed))
            fail_msg("message %zu of producer %zu never arrived", i % per_producer,
                     i / per_producer);
    WT_EQ(weft_chan_len(chan), 0);
    free(seen);
    weft_chan_free(chan);
    return NULL;
}

static void test_mpmc_bounded(void **state)
{
    (void)state;
    struct run r = {.cap = 64, .total = TOTAL};
    (void)wt_run(2, mpmc_main, &r);
}

static void test_mpmc_capacity1(void **state)
{
    (void)state;
    /* Nearly every message waits here: a tenth of the volume. */
    struct run r = {.cap = 1, .total = TOTAL / 10};
    (void)wt_run(2, mpmc_main, &r);
}

static void test_mpmc_unbounded(void **state)
{
    (void)state;
    struct run r = {.cap = 0, .total = TOTAL};
    (void)wt_run(2, mpmc_main, &r);
}

/* ---- cancellation storm ---------------------------------------------------------------- */

static atomic_int producers_left;

static void *storm_producer(void *arg)
{
    (void)producer(arg);
    atomic_fetch_sub(&producers_left, 1);
    return NULL;
}

static void *storm_consumer(void *arg)
{
    (void)arg;
    consume(true);
    return NULL;
}

enum { STORM_CONSUMERS = 8 };

static void *storm_main(void *arg)
{
    const struct run *run = arg;
    per_producer = run->total / PRODUCERS;
    WT_NONNULL(chan = weft_chan_new(sizeof(struct msg), run->cap));
    WT_NONNULL(seen = calloc((size_t)PRODUCERS * per_producer, 1));
    atomic_store(&sum, 0);
    atomic_store(&count, 0);
    atomic_store(&dup_or_order_errors, 0);
    atomic_store(&producers_left, PRODUCERS);
    weft_task *prod[PRODUCERS], *cons[STORM_CONSUMERS];
    for (int i = 0; i < STORM_CONSUMERS; i++)
        cons[i] = wt_spawn(storm_consumer, NULL);
    for (int i = 0; i < PRODUCERS; i++)
        prod[i] = wt_spawn(storm_producer, (void *)(uintptr_t)i);
    uint32_t rnd = 12345;
    long cancels = 0;
    while (atomic_load(&producers_left) > 0) {
        rnd = rnd * 1103515245u + 12345u;
        unsigned i = (rnd >> 16) % STORM_CONSUMERS;
        weft_cancel(cons[i]);
        (void)weft_join(cons[i], NULL);
        cons[i] = wt_spawn(storm_consumer, NULL);
        cancels++;
        if (cancels % 4 == 0)
            WT_OK(weft_yield());
    }
    WT_OK(weft_gather(prod, PRODUCERS, NULL));
    weft_chan_close(chan);
    WT_OK(weft_gather(cons, STORM_CONSUMERS, NULL));
    print_message("      %u messages, capacity %zu, %u workers, %ld consumers cancelled\n",
                  per_producer * PRODUCERS, run->cap, weft_workers(), cancels);
    WT_EQ(atomic_load(&dup_or_order_errors), 0);
    WT_EQ(atomic_load(&count), (long long)per_producer * PRODUCERS);
    WT_EQ(weft_chan_len(chan), 0);
    free(seen);
    weft_chan_free(chan);
    return NULL;
}

static void test_storm_bounded(void **state)
{
    (void)state;
    struct run r = {.cap = 4, .total = TOTAL / 10};
    (void)wt_run(2, storm_main, &r);
}

static void test_storm_capacity1(void **state)
{
    (void)state;
    struct run r = {.cap = 1, .total = TOTAL / 20};
    (void)wt_run(4, storm_main, &r);
}

static void test_storm_unbounded(void **state)
{
    (void)state;
    struct run r = {.cap = 0, .total = TOTAL / 10};
    (void)wt_run(2, storm_main, &r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpmc_bounded),
        cmocka_unit_test(test_mpmc_capacity1),
        cmocka_unit_test(test_mpmc_unbounded),
        cmocka_unit_test(test_storm_bounded),
        cmocka_unit_test(test_storm_capacity1),
        cmocka_unit_test(test_storm_unbounded),
    };
    return WT_RUN_GROUP(tests);
}
