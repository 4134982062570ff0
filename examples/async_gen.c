/* async_gen — an async generator, from the asyncio tutorial:
 *
 *     async def mygen(b, n):
 *         for i in range(n):
 *             await asyncio.sleep(0.05)
 *             yield b ** i
 *
 *     async def main():
 *         print([v async for v in mygen(2, 10)])   # async comprehension
 *         async for v in mygen(3, 5):              # async for
 *             print(v)
 *
 * weft_gen_new starts the generator as a task; weft_gen_yield inside hands one value to
 * the consumer and suspends until the next one is asked for; weft_gen_next outside
 * asks. When the generator waits at its yield, the hand-over is a direct switch from
 * one task's stack to the other's. Between values it may suspend like any task (the
 * sleep here), on whatever worker. weft_gen_close is aclose(): it also frees it.
 */
#include <weft.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct mygen_args {
    long b, n;
};

static int mygen(weft_gen *g, void *arg)
{
    const struct mygen_args *a = arg;
    long p = 1;
    for (long i = 0; i < a->n; i++) {
        int rc = weft_sleep(50 * WEFT_NS_PER_MS); /* await asyncio.sleep(0.05) */
        if (rc < 0)
            return rc;
        if (weft_gen_yield(g, (void *)(intptr_t)p) < 0) /* yield b ** i */
            return -ECANCELED;                           /* closed early */
        p *= a->b;
    }
    return 0; /* exhausted */
}

static void *main_task(void *arg)
{
    (void)arg;
    /* [v async for v in mygen(2, 10)] */
    struct mygen_args a2 = {2, 10};
    weft_gen *g = weft_gen_new(mygen, &a2);
    if (!g)
        return (void *)1;
    void **vals;
    size_t n;
    int rc = weft_gen_collect(g, &vals, &n);
    weft_gen_close(g);
    printf("[");
    for (size_t i = 0; i < n; i++)
        printf("%s%ld", i ? ", " : "", (long)(intptr_t)vals[i]);
    printf("]\n");
    free(vals);
    if (rc < 0)
        return (void *)1;

    /* async for v in mygen(3, 5): print(v) */
    struct mygen_args a3 = {3, 5};
    g = weft_gen_new(mygen, &a3);
    if (!g)
        return (void *)1;
    WEFT_GEN_FOREACH(g, v)
        printf("%ld (consumer on worker %d)\n", (long)(intptr_t)v, weft_worker_id());
    weft_gen_close(g);
    return NULL;
}

int main(void)
{
    void *res = NULL;
    int rc = weft_run(NULL, main_task, NULL, &res);
    return rc < 0 || res ? 1 : 0;
}
