/* say_hello — the first program of the asyncio tutorial, written with weft.
 *
 *     async def main():
 *         print('hello')
 *         await asyncio.sleep(1)
 *         print('world')
 *
 *     asyncio.run(main())
 *
 * weft_run is asyncio.run: it starts one worker thread per CPU, runs main_task as the
 * first task, and returns when it has returned. A task is a plain C function; calling a
 * weft function that waits (weft_sleep here) is the `await`: it suspends this task
 * only, and its worker runs other tasks meanwhile. The task may wake up on another
 * worker than the one it went to sleep on.
 */
#include <weft.h>

#include <stdio.h>

void *main_task(void *arg)
{
    (void)arg;
    printf("hello (on worker %d)\n", weft_worker_id());
    weft_sleep(1 * WEFT_NS_PER_SEC); /* await asyncio.sleep(1) */
    printf("world (on worker %d)\n", weft_worker_id());
    return NULL;
}

int main(void)
{
    /* NULL config: every CPU gets a worker (WEFT_WORKERS=N overrides). */
    int rc = weft_run(NULL, main_task, NULL, NULL);
    if (rc < 0) {
        fprintf(stderr, "say_hello: weft_run: %s\n", weft_strerror(rc));
        return 1;
    }
    return 0;
}
