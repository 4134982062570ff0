/* yield: one task calls weft_yield() 10,000,000 times (Go runtime.Gosched, Tokio
 * yield_now); nothing else is runnable, so this is the cost of the yield path itself.
 * Unit: ns_per_yield.
 * yield_switch (weft only): two tasks each yield 5,000,000 times, so with one worker
 * every yield is a real switch to the other task; ns per yield over all 10,000,000. */
#include "bench_util.h"

#define Y_N 10000000u

struct y_res {
    uint64_t ns;
};

static void *y_loop(void *arg)
{
    uintptr_t n = (uintptr_t)arg;
    for (uintptr_t i = 0; i < n; i++)
        bench_check(weft_yield(), "yield: weft_yield");
    return NULL;
}

/* Timed inside the yielding task, as the peers do. */
static void *y_timed(void *p)
{
    struct y_res *r = p;
    uint64_t t0 = bench_now_ns();
    y_loop((void *)(uintptr_t)Y_N);
    r->ns = bench_now_ns() - t0;
    return NULL;
}

static void *y_main(void *p)
{
    weft_task *t = weft_spawn(y_timed, p);
    if (!t)
        bench_fail("yield: weft_spawn returned NULL");
    bench_check(weft_join(t, NULL), "yield: weft_join");
    return NULL;
}

static void *ys_main(void *p)
{
    struct y_res *r = p;
    weft_task *t[2];
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < 2; i++) {
        t[i] = weft_spawn(y_loop, (void *)(uintptr_t)(Y_N / 2));
        if (!t[i])
            bench_fail("yield_switch: weft_spawn returned NULL");
    }
    bench_check(weft_gather(t, 2, NULL), "yield_switch: weft_gather");
    r->ns = bench_now_ns() - t0;
    return NULL;
}

void bench_yield_switch(unsigned workers)
{
    struct y_res r = {0};
    unsigned w = bench_run(workers, ys_main, &r, NULL);
    bench_out("yield_switch", w, (double)r.ns / Y_N, "ns_per_yield");
}

void bench_yield(unsigned workers)
{
    struct y_res r = {0};
    unsigned w = bench_run(workers, y_main, &r, NULL);
    bench_out("yield", w, (double)r.ns / Y_N, "ns_per_yield");
    bench_yield_switch(workers);
}
