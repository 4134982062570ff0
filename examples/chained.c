/* chained — chained coroutines, from the asyncio tutorial:
 *
 *     async def part1(n): await asyncio.sleep(...); return f'result{n}-1'
 *     async def part2(n, arg): await asyncio.sleep(...); return f'result{n}-2 derived from {arg}'
 *     async def chain(n):
 *         p1 = await part1(n)
 *         p2 = await part2(n, p1)
 *         print(f'-->Chained result{n} => {p2}')
 *     async def main():
 *         await asyncio.gather(*(chain(n) for n in (1, 2, 3)))
 *
 * In weft, `await part1(n)` is a plain function call: part1 runs on the caller's stack
 * and suspends the caller while it sleeps. The three chains run as tasks on every
 * worker; each one's steps run in sequence, the chains overlap. Step 2 of chain 2 is
 * also shown the other way: spawned as a task of its own and joined (await
 * create_task(...)).
 */
#include <weft.h>

#include <stdio.h>
#include <stdlib.h>

struct chain {
    int n;
    char p1[64], p2[160];
};

/* Sleeps: different per chain and step, so the output interleaves. */
static uint64_t delay(int n, int step)
{
    static const unsigned ms[3][2] = {{300, 100}, {100, 400}, {200, 200}};
    return ms[(n - 1) % 3][step - 1] * WEFT_NS_PER_MS;
}

static int part1(struct chain *c)
{
    printf("part1(%d) sleeping on worker %d\n", c->n, weft_worker_id());
    int rc = weft_sleep(delay(c->n, 1));
    snprintf(c->p1, sizeof c->p1, "result%d-1", c->n);
    printf("Returning part1(%d) == %s\n", c->n, c->p1);
    return rc;
}

static int part2(struct chain *c)
{
    printf("part2(%d, '%s') sleeping on worker %d\n", c->n, c->p1, weft_worker_id());
    int rc = weft_sleep(delay(c->n, 2));
    snprintf(c->p2, sizeof c->p2, "result%d-2 derived from %s", c->n, c->p1);
    printf("Returning part2(%d, '%s') == %s\n", c->n, c->p1, c->p2);
    return rc;
}

static void *part2_task(void *arg)
{
    weft_fail(part2(arg));
    return NULL;
}

void *chain(void *arg)
{
    struct chain *c = arg;
    uint64_t t0 = weft_now();
    if (part1(c) < 0) /* p1 = await part1(n) */
        return NULL;
    int rc;
    if (c->n == 2) {
        /* the same step as a task of its own: p2 = await asyncio.create_task(part2(...)) */
        rc = weft_join(weft_spawn(part2_task, c), NULL);
    } else {
        rc = part2(c); /* p2 = await part2(n, p1) */
    }
    if (rc < 0)
        return NULL;
    printf("-->Chained result%d => %s (took %.1f s)\n", c->n, c->p2,
           (double)(weft_now() - t0) / WEFT_NS_PER_SEC);
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    struct chain c[3] = {{.n = 1}, {.n = 2}, {.n = 3}};
    weft_task *t[3];
    uint64_t t0 = weft_now();
    for (int i = 0; i < 3; i++)
        t[i] = weft_spawn(chain, &c[i]);
    int rc = weft_gather(t, 3, NULL);
    printf("Program finished in %.1f s.\n", (double)(weft_now() - t0) / WEFT_NS_PER_SEC);
    return (void *)(intptr_t)rc;
}

int main(void)
{
    void *res = NULL;
    int rc = weft_run(NULL, main_task, NULL, &res);
    return rc < 0 || res ? 1 : 0;
}
