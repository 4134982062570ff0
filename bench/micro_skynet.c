/* skynet: 1,000,000 leaves, fan-out 10, every node a task (1,111,111 tasks). Each inner
 * node spawns its 10 children and awaits them with weft_gather (Tokio: spawned tasks +
 * JoinHandles, Go: the original channel version). Result 499999500000 checked.
 * Timed in the main task from spawning the root to joining it. Unit: ms. */
#include "bench_util.h"

#define SK_LEAVES 1000000ull
#define SK_DIV 10
#define SK_WANT 499999500000ull

_Static_assert(sizeof(void *) == 8, "skynet packs (num, size) and the sum into a pointer");

/* arg = num << 32 | size; result = the subtree's sum. */
static void *sk_node(void *arg)
{
    uint64_t a = (uintptr_t)arg;
    uint64_t num = a >> 32, size = a & 0xffffffffu;
    if (size == 1)
        return (void *)(uintptr_t)num;
    uint64_t sub = size / SK_DIV;
    weft_task *kids[SK_DIV];
    void *res[SK_DIV];
    for (int i = 0; i < SK_DIV; i++) {
        uint64_t n = num + (uint64_t)i * sub;
        kids[i] = weft_spawn(sk_node, (void *)(uintptr_t)(n << 32 | sub));
        if (!kids[i])
            bench_fail("skynet: weft_spawn returned NULL");
    }
    bench_check(weft_gather(kids, SK_DIV, res), "skynet: weft_gather");
    uint64_t sum = 0;
    for (int i = 0; i < SK_DIV; i++)
        sum += (uintptr_t)res[i];
    return (void *)(uintptr_t)sum;
}

struct sk_res {
    uint64_t ns, sum;
};

static void *sk_main(void *p)
{
    struct sk_res *r = p;
    uint64_t t0 = bench_now_ns();
    weft_task *root = weft_spawn(sk_node, (void *)(uintptr_t)SK_LEAVES); /* num 0 */
    if (!root)
        bench_fail("skynet: weft_spawn returned NULL");
    void *res = NULL;
    bench_check(weft_join(root, &res), "skynet: weft_join");
    r->ns = bench_now_ns() - t0;
    r->sum = (uintptr_t)res;
    return NULL;
}

void bench_skynet(unsigned workers)
{
    struct sk_res r = {0};
    unsigned w = bench_run(workers, sk_main, &r, NULL);
    if (r.sum != SK_WANT)
        bench_fail("skynet: bad result %llu, want %llu", (unsigned long long)r.sum, SK_WANT);
    bench_out("skynet", w, (double)r.ns / 1e6, "ms");
}
