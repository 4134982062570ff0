/* gen_handoff / ctx_switch: what a generator hand-off costs next to a bare context
 * switch (issue 4: "generator hand-off <= 2x a bare context switch").
 *
 *   gen_handoff  one generator yields 2,000,000 values to one consumer (1 worker);
 *                value = ns per value handed over = one weft_gen_next + weft_gen_yield
 *                round trip, i.e. two task-to-task switches plus the bookkeeping.
 *   ctx_switch   weft__ctx_switch itself, measured the same way inside a task: two
 *                contexts switching back and forth; value = ns per round trip (two
 *                switches), no scheduler, no atomics, no errno, no sanitizer hooks.
 *   ctx_switch_deep  the same, but each side switches from three nested calls, as a
 *                task does from inside an API call (the return-stack predictor then
 *                misses on every switch; research/design.md measured the same effect).
 *   gen_ratio    gen_handoff / ctx_switch (target <= 2); gen_ratio_deep against
 *                ctx_switch_deep.
 * For reference, pingpong (two tasks over capacity-1 channels, through the scheduler)
 * measures the same round trip with queued wake-ups. */
#include "bench_util.h"

#include <errno.h>
#include <stdlib.h>

#define G_N 2000000L

/* The runtime's context switch, compiled into this program from
 * runtime/ctx_x86_64.S (bench/CMakeLists.txt): hidden in the library. */
void *weft__ctx_switch(void **save_sp, void *to_sp, void *xfer);
void *weft__ctx_make(void *hi, void (*entry)(void *)); /* runtime/ctx.c, also compiled in */

static double gen_ns, ctx_ns;

static int g_count(weft_gen *g, void *arg)
{
    (void)arg;
    for (long i = 0; i < G_N; i++)
        if (weft_gen_yield(g, (void *)(intptr_t)i) != 0)
            return -ECANCELED;
    return 0;
}

static void *g_main(void *arg)
{
    (void)arg;
    weft_gen *g = weft_gen_new(g_count, NULL);
    if (!g)
        bench_fail("gen_handoff: weft_gen_new returned NULL");
    void *v;
    long n = 0;
    /* warm-up: the first value starts the generator through the scheduler */
    bench_check(weft_gen_next(g, &v), "gen_handoff: weft_gen_next");
    n++;
    uint64_t t0 = bench_now_ns();
    int rc;
    while ((rc = weft_gen_next(g, &v)) == 0) {
        if ((intptr_t)v != n)
            bench_fail("gen_handoff: got %ld, want %ld", (long)(intptr_t)v, n);
        n++;
    }
    uint64_t ns = bench_now_ns() - t0;
    if (rc != -ENODATA || n != G_N)
        bench_fail("gen_handoff: ended with %d after %ld values", rc, n);
    bench_check(weft_gen_close(g), "gen_handoff: weft_gen_close");
    gen_ns = (double)ns / (double)(G_N - 1);
    return NULL;
}

/* ---- bare switch ------------------------------------------------------------------- */

static void *c_main_sp, *c_co_sp;
static int c_depth; /* 0: switch from the loop itself; 3: from three calls down */

#if defined(__clang__)
#define NOINL __attribute__((noinline)) /* clang has no noipa */
#else
#define NOINL __attribute__((noinline, noipa))
#endif
static NOINL void *c_sw3(void **save, void *to, void *x)
{
    void *r = weft__ctx_switch(save, to, x);
    __asm__ volatile("" ::: "memory");
    return r;
}
static NOINL void *c_sw2(void **save, void *to, void *x)
{
    void *r = c_sw3(save, to, x);
    __asm__ volatile("" ::: "memory");
    return r;
}
static NOINL void *c_sw1(void **save, void *to, void *x)
{
    void *r = c_sw2(save, to, x);
    __asm__ volatile("" ::: "memory");
    return r;
}

static inline void *c_switch(void **save, void *to, void *x)
{
    return c_depth ? c_sw1(save, to, x) : weft__ctx_switch(save, to, x);
}

static void c_entry(void *x)
{
    for (;;)
        x = c_switch(&c_co_sp, c_main_sp, x);
}

static void *c_main(void *arg)
{
    (void)arg;
    enum { STACK = 64 * 1024 };
    char *stack = malloc(STACK);
    if (!stack)
        bench_fail("ctx_switch: out of memory");
    c_co_sp = weft__ctx_make(stack + STACK, c_entry);
    uintptr_t x = 0;
    weft__ctx_switch(&c_main_sp, c_co_sp, (void *)x); /* first entry */
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < G_N; i++)
        x = (uintptr_t)c_switch(&c_main_sp, c_co_sp, (void *)(x + 1));
    uint64_t ns = bench_now_ns() - t0;
    if (x != (uintptr_t)G_N)
        bench_fail("ctx_switch: got %lu, want %ld", (unsigned long)x, G_N);
    /* the coroutine stays suspended forever; its stack is just memory */
    free(stack);
    ctx_ns = (double)ns / (double)G_N;
    return NULL;
}

void bench_gen_handoff(unsigned workers)
{
    (void)workers; /* one consumer, one generator: one worker */
    c_depth = 0;
    bench_run(1, c_main, NULL, NULL);
    double flat = ctx_ns;
    c_depth = 3;
    bench_run(1, c_main, NULL, NULL);
    double deep = ctx_ns;
    bench_run(1, g_main, NULL, NULL);
    bench_out("ctx_switch", 1, flat, "ns_per_roundtrip");
    bench_out("ctx_switch_deep", 1, deep, "ns_per_roundtrip");
    bench_out("gen_handoff", 1, gen_ns, "ns_per_value");
    bench_out("gen_ratio", 1, gen_ns / flat, "x_ctx_switch");
    bench_out("gen_ratio_deep", 1, gen_ns / deep, "x_ctx_switch_deep");
}
