/* select4: 4 producer tasks each send 1,000,000 uint64_t values on its own channel
 * (capacity 64) and then close it; one consumer (the main task) runs weft_select over
 * the 4 receive cases until all 4 are closed and drained, switching each closed case
 * off (Go: the same with a 4-case select and nil channels, bench/peers/select).
 * Timed from spawning the producers to the last select. The sum is checked.
 * Unit: ops/s, one op = one select that received an element. */
#include "bench_util.h"

#include <errno.h>

#define SEL_K 4
#define SEL_PER 1000000ull
#define SEL_N (SEL_K * SEL_PER)
#define SEL_CAP 64

struct sel {
    weft_chan *ch[SEL_K];
    uint64_t ns;
};

struct sel_prod {
    struct sel *s;
    unsigned k;
};

static void *sel_producer(void *p)
{
    struct sel_prod *pr = p;
    weft_chan *c = pr->s->ch[pr->k];
    for (uint64_t i = 0; i < SEL_PER; i++) {
        uint64_t v = pr->k * SEL_PER + i;
        bench_check(weft_chan_send(c, &v), "select4: weft_chan_send");
    }
    weft_chan_close(c);
    return NULL;
}

static void *sel_main(void *p)
{
    struct sel *s = p;
    struct sel_prod prods[SEL_K];
    weft_task *pt[SEL_K];
    uint64_t v[SEL_K], sum = 0, n = 0;
    weft_select_case cs[SEL_K];
    for (unsigned k = 0; k < SEL_K; k++) {
        if (!(s->ch[k] = weft_chan_new(sizeof(uint64_t), SEL_CAP)))
            bench_fail("select4: weft_chan_new returned NULL");
        cs[k] = (weft_select_case)WEFT_RECV(s->ch[k], &v[k]);
    }
    uint64_t t0 = bench_now_ns();
    for (unsigned k = 0; k < SEL_K; k++) {
        prods[k] = (struct sel_prod){s, k};
        if (!(pt[k] = weft_spawn(sel_producer, &prods[k])))
            bench_fail("select4: weft_spawn returned NULL");
    }
    for (unsigned open = SEL_K; open;) {
        int i = weft_select(cs, SEL_K, WEFT_SELECT_FOREVER);
        if (i < 0)
            bench_fail("select4: weft_select failed: %d (%s)", i, weft_strerror(i));
        if (cs[i].result == 0) {
            sum += v[i];
            n++;
        } else if (cs[i].result == -EPIPE) {
            cs[i].chan = NULL; /* closed and drained: off, like a nil channel in Go */
            open--;
        } else {
            bench_fail("select4: case result %d", cs[i].result);
        }
    }
    s->ns = bench_now_ns() - t0;
    bench_check(weft_gather(pt, SEL_K, NULL), "select4: weft_gather");
    if (n != SEL_N || sum != SEL_N * (SEL_N - 1) / 2)
        bench_fail("select4: got %llu elements, sum %llu", (unsigned long long)n,
                   (unsigned long long)sum);
    for (unsigned k = 0; k < SEL_K; k++)
        weft_chan_free(s->ch[k]);
    return NULL;
}

void bench_select4(unsigned workers)
{
    struct sel s = {0};
    unsigned w = bench_run(workers, sel_main, &s, NULL);
    bench_out("select4", w, (double)SEL_N / ((double)s.ns / 1e9), "ops/s");
}
