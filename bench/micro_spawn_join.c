/* spawn_join: spawn 1,000,000 trivial tasks returning their index, join them all in
 * spawn order, check the sum. Peer semantics: Tokio tokio::spawn + JoinHandles awaited
 * in order, Go goroutines + WaitGroup. Timed from the first spawn to the last join.
 * Unit: ns_per_task. */
#include "bench_util.h"

#include <stdlib.h>

#define SJ_N 1000000u

struct sj_res {
    uint64_t ns;
};

static void *sj_leaf(void *arg)
{
    return arg; /* the index */
}

static void *sj_main(void *p)
{
    struct sj_res *r = p;
    weft_task **tasks = malloc(SJ_N * sizeof *tasks);
    if (!tasks)
        bench_fail("spawn_join: out of memory");
    uint64_t t0 = bench_now_ns();
    for (uintptr_t i = 0; i < SJ_N; i++) {
        tasks[i] = weft_spawn(sj_leaf, (void *)i);
        if (!tasks[i])
            bench_fail("spawn_join: weft_spawn returned NULL at task %lu", (unsigned long)i);
    }
    uint64_t sum = 0;
    for (uintptr_t i = 0; i < SJ_N; i++) {
        void *res = NULL;
        bench_check(weft_join(tasks[i], &res), "spawn_join: weft_join");
        sum += (uintptr_t)res;
    }
    r->ns = bench_now_ns() - t0;
    free(tasks);
    uint64_t want = (uint64_t)SJ_N * (SJ_N - 1) / 2;
    if (sum != want)
        bench_fail("spawn_join: bad sum %llu, want %llu", (unsigned long long)sum,
                   (unsigned long long)want);
    return NULL;
}

void bench_spawn_join(unsigned workers)
{
    struct sj_res r = {0};
    unsigned w = bench_run(workers, sj_main, &r, NULL);
    bench_out("spawn_join", w, (double)r.ns / SJ_N, "ns_per_task");
}
