/* mutex_contended (weft_mutex in its default mode, the design Go's sync.Mutex uses)
 * and mutex_contended_fifo (weft_mutex_init_fifo, strict hand-off): 64 tasks each do MX_K iterations of lock / increment / unlock on
 * one weft_mutex (Go: sync.Mutex with 64 goroutines; Tokio: tokio::sync::Mutex with 64
 * tasks, bench/peers/sync). Timed from before the first spawn to after the last join;
 * the counter must come out at 64 * MX_K. Unit: ops_per_s (lock+unlock pairs). */
#include "bench_util.h"

#define MX_TASKS 64
#define MX_K 100000

struct mx {
    weft_mutex m;
    uint64_t counter; /* under m */
    double ops_per_s;
};

static void *mx_worker(void *p)
{
    struct mx *s = p;
    for (int i = 0; i < MX_K; i++) {
        int rc = weft_mutex_lock(&s->m);
        if (__builtin_expect(rc != 0, 0)) /* inline: the peers' loops have no call here */
            bench_check(rc, "mutex_contended: weft_mutex_lock");
        s->counter++;
        weft_mutex_unlock(&s->m);
    }
    return NULL;
}

static void *mx_main(void *p)
{
    struct mx *s = p;
    weft_task *t[MX_TASKS];
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < MX_TASKS; i++)
        if (!(t[i] = weft_spawn(mx_worker, s)))
            bench_fail("mutex_contended: weft_spawn returned NULL");
    bench_check(weft_gather(t, MX_TASKS, NULL), "mutex_contended: weft_gather");
    uint64_t ns = bench_now_ns() - t0;
    if (s->counter != (uint64_t)MX_TASKS * MX_K)
        bench_fail("mutex_contended: counter %llu, want %llu", (unsigned long long)s->counter,
                   (unsigned long long)MX_TASKS * MX_K);
    s->ops_per_s = (double)MX_TASKS * MX_K * 1e9 / (double)ns;
    return NULL;
}

void bench_mutex(unsigned workers)
{
    struct mx s = {.m = WEFT_MUTEX_INIT};
    unsigned w = bench_run(workers, mx_main, &s, NULL);
    bench_out("mutex_contended", w, s.ops_per_s, "ops/s");
}

void bench_mutex_fifo(unsigned workers)
{
    struct mx s = {.m = WEFT_MUTEX_FIFO_INIT};
    unsigned w = bench_run(workers, mx_main, &s, NULL);
    bench_out("mutex_contended_fifo", w, s.ops_per_s, "ops/s");
}
