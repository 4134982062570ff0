/* test_hist.c — weft-fetch's latency histogram (tools/hist.c): bucket boundaries, the
 * ≤1% relative error of every percentile against the exact nearest-rank value of a
 * sorted array (several distributions), merging, and the empty and clamped cases. */
#include "fixture.h"

#include "../tools/hist.h"

#include <math.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_buckets(void **state)
{
    (void)state;
    /* Every bucket's range maps back to it, ranges tile the line, width <= lo/128. */
    uint64_t prev_hi = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t lo, hi;
        hist_bucket_range(i, &lo, &hi);
        if (i > 0)
            WT_EQ(lo, prev_hi + 1);
        WT_EQ(hist_index(lo), i);
        WT_EQ(hist_index(hi), i);
        if (lo >= 256)
            WT_LE((hi - lo + 1) * 128, lo);
        prev_hi = hi;
    }
    WT_EQ(hist_index(UINT64_MAX), HIST_BUCKETS - 1);
    WT_EQ(hist_index(0), 0);
    WT_EQ(hist_index(255), 255);
    WT_EQ(hist_index(256), 256);
}

/* Exact nearest rank, the peers' rule: sorted[ceil(p/100 n) - 1]. */
static uint64_t exact(const uint64_t *s, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return s[rank - 1];
}

static void check_dist(uint64_t (*gen)(size_t i), size_t n)
{
    uint64_t *v = malloc(n * sizeof *v);
    /* Recorded into 4 histograms and merged, as weft-fetch's tasks do. */
    hist *hs = malloc(4 * sizeof *hs), *all = malloc(sizeof *all);
    for (int k = 0; k < 4; k++)
        hist_init(&hs[k]);
    hist_init(all);
    for (size_t i = 0; i < n; i++) {
        v[i] = gen(i);
        hist_record(&hs[i % 4], v[i]);
    }
    for (int k = 0; k < 4; k++)
        hist_merge(all, &hs[k]);
    qsort(v, n, sizeof *v, cmp_u64);
    WT_EQ(all->count, n);
    WT_EQ(all->min, v[0]);
    WT_EQ(all->max, v[n - 1]);
    const double ps[] = {0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};
    for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++) {
        uint64_t want = exact(v, n, ps[j]), got = hist_percentile(all, ps[j]);
        double err = want ? fabs((double)got - (double)want) / (double)want : (double)got;
        if (err > 0.01)
            fail_msg("p%g: histogram %llu, exact %llu (error %.3f%%)", ps[j],
                     (unsigned long long)got, (unsigned long long)want, err * 100);
    }
    WT_EQ(hist_percentile(all, 100), v[n - 1]);
    free(v);
    free(hs);
    free(all);
}

static uint64_t gen_uniform(size_t i)
{
    (void)i;
    return 1000 + rnd() % 10000000; /* 1 µs .. 10 ms in ns */
}
static uint64_t gen_lognormalish(size_t i)
{
    (void)i;
    /* Products of uniforms: a heavy right tail like real latencies. */
    uint64_t v = 50000;
    for (int k = 0; k < 4; k++)
        v = v * (50 + rnd() % 100) / 100;
    return v + (rnd() % 1000 == 0 ? 500000000ull : 0); /* rare 0.5 s stalls */
}
static uint64_t gen_small(size_t i)
{
    return i % 300; /* the exact range and the first log range */
}
static uint64_t gen_steps(size_t i)
{
    return (i % 7 + 1) * 123457ull;
}

static void test_percentiles(void **state)
{
    (void)state;
    check_dist(gen_uniform, 100000);
    check_dist(gen_lognormalish, 200000);
    check_dist(gen_small, 3001);
    check_dist(gen_steps, 7);
    check_dist(gen_steps, 1);
}

static void test_empty_and_clamp(void **state)
{
    (void)state;
    hist *h = malloc(sizeof *h), *e = malloc(sizeof *e);
    hist_init(h);
    hist_init(e);
    WT_EQ(hist_percentile(h, 50), 0);
    hist_merge(h, e); /* merging an empty one changes nothing */
    WT_EQ(h->count, 0);
    hist_record(h, 1ull << 50); /* beyond the range: clamped into the last bucket */
    WT_EQ(h->count, 1);
    WT_EQ(hist_percentile(h, 50), 1ull << 50); /* exact max wins for the top rank */
    free(h);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_empty_and_clamp),
    };
    return WT_RUN_GROUP(tests);
}
