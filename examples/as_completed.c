/* as_completed — results taken as tasks finish, not in the order they were started:
 *
 *     async def work(i, delay):
 *         await asyncio.sleep(delay)
 *         return i, delay
 *
 *     async def main():
 *         tasks = [work(i, d) for i, d in enumerate((0.5, 0.1, 0.4, 0.2, 0.3))]
 *         for coro in asyncio.as_completed(tasks):
 *             i, delay = await coro
 *             print(f'task {i} done after {delay} s')
 *
 * A weft_set owns its tasks; weft_set_next waits for whichever member finishes next,
 * on any worker, and hands it over (Tokio's JoinSet::join_next).
 */
#include <weft.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

static const unsigned delays_ms[5] = {500, 100, 400, 200, 300};

static void *work(void *arg)
{
    intptr_t i = (intptr_t)arg;
    weft_sleep(delays_ms[i] * WEFT_NS_PER_MS); /* await asyncio.sleep(delay) */
    printf("  task %ld finished on worker %d\n", (long)i, weft_worker_id());
    return arg;
}

static void *main_task(void *arg)
{
    (void)arg;
    weft_set *s = weft_set_new();
    if (!s)
        return (void *)1;
    for (intptr_t i = 0; i < 5; i++)
        weft_set_spawn(s, work, (void *)i);
    weft_task *t;
    int order = 0;
    while (weft_set_next(s, &t) == 0) { /* for coro in as_completed(tasks) */
        void *r;
        weft_join(t, &r); /* already finished: returns at once */
        intptr_t i = (intptr_t)r;
        printf("result %d: task %ld done after %.1f s\n", ++order, (long)i,
               delays_ms[i] / 1000.0);
    }
    weft_set_free(s);
    return NULL;
}

int main(void)
{
    void *res = NULL;
    int rc = weft_run(NULL, main_task, NULL, &res);
    return rc < 0 || res ? 1 : 0;
}
