/* chan_mpmc: 4 producer tasks and 4 consumer tasks on one weft channel of uint64_t with
 * capacity 1024; 10,000,000 messages in total. When the producers are joined the
 * channel is closed and the consumers receive until -EPIPE; the sum is checked
 * (Go: buffered chan + close; Tokio: async-channel bounded(1024)). Timed in the main
 * task from spawning the consumers to joining them. Unit: Mmsg_per_s. */
#include "bench_util.h"

#include <errno.h>

#define MP_N 10000000ull
#define MP_P 4
#define MP_C 4

struct mp {
    weft_chan *ch;
    uint64_t ns;
};

struct mp_prod {
    struct mp *s;
    uint64_t base, count;
};

static void *mp_producer(void *p)
{
    struct mp_prod *pr = p;
    for (uint64_t i = 0; i < pr->count; i++) {
        uint64_t v = pr->base + i;
        bench_check(weft_chan_send(pr->s->ch, &v), "chan_mpmc: weft_chan_send");
    }
    return NULL;
}

static void *mp_consumer(void *p)
{
    struct mp *s = p;
    uint64_t sum = 0, v;
    int rc;
    while ((rc = weft_chan_recv(s->ch, &v)) == 0)
        sum += v;
    if (rc != -EPIPE)
        bench_fail("chan_mpmc: weft_chan_recv failed: %d (%s)", rc, weft_strerror(rc));
    return (void *)(uintptr_t)sum;
}

static void *mp_main(void *p)
{
    struct mp *s = p;
    struct mp_prod prods[MP_P];
    weft_task *pt[MP_P], *ct[MP_C];
    void *sums[MP_C];
    s->ch = weft_chan_new(sizeof(uint64_t), 1024);
    if (!s->ch)
        bench_fail("chan_mpmc: weft_chan_new returned NULL");
    uint64_t t0 = bench_now_ns();
    for (int c = 0; c < MP_C; c++) {
        ct[c] = weft_spawn(mp_consumer, s);
        if (!ct[c])
            bench_fail("chan_mpmc: weft_spawn returned NULL");
    }
    for (int i = 0; i < MP_P; i++) {
        prods[i].s = s;
        prods[i].count = MP_N / MP_P;
        prods[i].base = (uint64_t)i * (MP_N / MP_P);
        pt[i] = weft_spawn(mp_producer, &prods[i]);
        if (!pt[i])
            bench_fail("chan_mpmc: weft_spawn returned NULL");
    }
    bench_check(weft_gather(pt, MP_P, NULL), "chan_mpmc: weft_gather(producers)");
    weft_chan_close(s->ch);
    bench_check(weft_gather(ct, MP_C, sums), "chan_mpmc: weft_gather(consumers)");
    s->ns = bench_now_ns() - t0;
    uint64_t total = 0;
    for (int c = 0; c < MP_C; c++)
        total += (uintptr_t)sums[c];
    if (total != MP_N * (MP_N - 1) / 2)
        bench_fail("chan_mpmc: bad sum %llu, want %llu", (unsigned long long)total,
                   MP_N * (MP_N - 1) / 2);
    weft_chan_free(s->ch);
    return NULL;
}

void bench_chan_mpmc(unsigned workers)
{
    struct mp s = {0};
    unsigned w = bench_run(workers, mp_main, &s, NULL);
    bench_out("chan_mpmc", w, (double)MP_N / ((double)s.ns / 1e9) / 1e6, "Mmsg_per_s");
}
