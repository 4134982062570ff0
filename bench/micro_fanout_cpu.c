/* fanout_cpu: 64 tasks each run the same 14M-iteration xorshift loop (~20 ms); one
 * warm-up run at 1 worker, then timed runs at 1 and 2 workers, each a separate
 * weft_run. Prints fanout_cpu_w1 and fanout_cpu_w2 (ms) and fanout_cpu (speedup_x =
 * T1/T2), like the Go and Tokio peers. The command line's worker count is ignored. */
#include "bench_util.h"

#define FC_TASKS 64
#define FC_ITERS 14000000ull

/* One cache line per task so the stores do not share lines. */
static volatile uint64_t fc_sink[FC_TASKS * 8];

/* Go's cpuWork. The empty asm statements are the Rust peer's black_box: the compiler
 * cannot fold the seed or the iteration count, so the loop must run. */
static __attribute__((noinline)) uint64_t fc_work(uint64_t seed)
{
    uint64_t x = seed | 1;
    uint64_t n = FC_ITERS;
    __asm__ volatile("" : "+r"(x), "+r"(n));
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static void *fc_task(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    fc_sink[i * 8] = fc_work(i + 1);
    return NULL;
}

struct fc_res {
    uint64_t ns;
};

static void *fc_main(void *p)
{
    struct fc_res *r = p;
    weft_task *t[FC_TASKS];
    uint64_t t0 = bench_now_ns();
    for (uintptr_t i = 0; i < FC_TASKS; i++) {
        t[i] = weft_spawn(fc_task, (void *)i);
        if (!t[i])
            bench_fail("fanout_cpu: weft_spawn returned NULL");
    }
    bench_check(weft_gather(t, FC_TASKS, NULL), "fanout_cpu: weft_gather");
    r->ns = bench_now_ns() - t0;
    return NULL;
}

static uint64_t fc_run(unsigned workers)
{
    struct fc_res r = {0};
    bench_run(workers, fc_main, &r, NULL);
    /* Every task stored its result: the loop ran (a zero from xorshift is impossible
     * for a nonzero seed). */
    for (int i = 0; i < FC_TASKS; i++)
        if (fc_sink[i * 8] == 0)
            bench_fail("fanout_cpu: task %d stored no result", i);
    return r.ns;
}

void bench_fanout_cpu(unsigned workers)
{
    (void)workers;
    uint64_t ref = fc_work(1); /* all runs must agree with this */
    fc_run(1);                 /* warm-up */
    for (int i = 0; i < FC_TASKS; i++)
        fc_sink[i * 8] = 0;
    uint64_t t1 = fc_run(1);
    if (fc_sink[0] != ref)
        bench_fail("fanout_cpu: task 0 computed %llu, want %llu", (unsigned long long)fc_sink[0],
                   (unsigned long long)ref);
    for (int i = 0; i < FC_TASKS; i++)
        fc_sink[i * 8] = 0;
    uint64_t t2 = fc_run(2);
    if (fc_sink[0] != ref)
        bench_fail("fanout_cpu: task 0 computed %llu, want %llu", (unsigned long long)fc_sink[0],
                   (unsigned long long)ref);
    bench_out("fanout_cpu_w1", 1, (double)t1 / 1e6, "ms");
    bench_out("fanout_cpu_w2", 2, (double)t2 / 1e6, "ms");
    bench_out("fanout_cpu", 2, (double)t1 / (double)t2, "speedup_x");
}
