/* chan_pool: a worker pool on one channel. One producer sends 200,000 ints over a
 * channel of capacity 1024; four consumers take them and busy-spin POOL_WORK_NS (default
 * 300, environment variable) per element before taking the next. Unlike chan_mpmc the
 * consumers do work between operations, so they should run on every worker: this is
 * the case the channels' gathering of contending tasks (sync/chan.c step 11) must leave
 * alone. Prints the elements handled per second (unit Mitem_per_s) and, as a second
 * line, how many tasks the channel moved (bench=chan_pool_moves, 0 expected). weft
 * only: the peers have no such benchmark. */
#include "bench_util.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#define CP_N 200000
#define CP_CONSUMERS 4

struct cp {
    weft_chan *ch;
    uint64_t work_ns, ns;
    _Atomic uint64_t sum;
    unsigned moved;
};

static void *cp_producer(void *p)
{
    struct cp *s = p;
    for (int i = 0; i < CP_N; i++)
        bench_check(weft_chan_send(s->ch, &i), "chan_pool: weft_chan_send");
    weft_chan_close(s->ch);
    return NULL;
}

static void *cp_consumer(void *p)
{
    struct cp *s = p;
    int v, rc;
    uint64_t sum = 0;
    while ((rc = weft_chan_recv(s->ch, &v)) == 0) {
        uint64_t t0 = bench_now_ns();
        while (bench_now_ns() - t0 < s->work_ns)
            ;
        sum += (uint64_t)v;
    }
    if (rc != -EPIPE)
        bench_fail("chan_pool: weft_chan_recv failed: %d (%s)", rc, weft_strerror(rc));
    atomic_fetch_add(&s->sum, sum);
    return NULL;
}

static void *cp_main(void *p)
{
    struct cp *s = p;
    s->ch = weft_chan_new(sizeof(int), 1024);
    if (!s->ch)
        bench_fail("chan_pool: weft_chan_new returned NULL");
    weft_task *t[CP_CONSUMERS + 1];
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < CP_CONSUMERS; i++)
        if (!(t[i] = weft_spawn(cp_consumer, s)))
            bench_fail("chan_pool: weft_spawn returned NULL");
    if (!(t[CP_CONSUMERS] = weft_spawn(cp_producer, s)))
        bench_fail("chan_pool: weft_spawn returned NULL");
    bench_check(weft_gather(t, CP_CONSUMERS + 1, NULL), "chan_pool: weft_gather");
    s->ns = bench_now_ns() - t0;
    if (atomic_load(&s->sum) != (uint64_t)CP_N * (CP_N - 1) / 2)
        bench_fail("chan_pool: bad sum");
    weft_chan_free(s->ch);
    weft_worker_stats st[64];
    int n = weft_stats(st, 64);
    for (int i = 0; i < n && i < 64; i++)
        s->moved += st[i].moved_in;
    return NULL;
}

void bench_chan_pool(unsigned workers)
{
    struct cp s = {0};
    const char *e = getenv("POOL_WORK_NS");
    s.work_ns = e && *e ? (uint64_t)strtoull(e, NULL, 10) : 300;
    unsigned w = bench_run(workers, cp_main, &s, NULL);
    bench_out("chan_pool", w, (double)CP_N / ((double)s.ns / 1e9) / 1e6, "Mitem_per_s");
    bench_out("chan_pool_moves", w, (double)s.moved, "tasks");
}
