/* gather_greetings — three coroutines gathered, as in the asyncio tutorial:
 *
 *     async def greet(name):
 *         await asyncio.sleep(1)
 *         print(f'Hello, {name}')
 *
 *     async def main():
 *         await asyncio.gather(greet('Ada'), greet('Alan'), greet('Grace'))
 *
 * The three sleeps overlap, so the greetings arrive together after about 1 s, not 3 s.
 *
 *   gather_greetings [--blocking] [--ms N] [--workers N]
 *
 * --blocking: each greeting calls the POSIX sleep(3) instead of weft_sleep. A blocking
 * call does not suspend the task: it stalls its worker thread, and every task queued on
 * that worker waits behind it. With 2 workers two greetings block both cores and the
 * third only starts when one of them is done: about 6 s in all. Run it with WEFT_DEBUG=1
 * and the runtime names the culprit on stderr (a task that has run longer than
 * WEFT_SLOW_MS, default 100, without suspending):
 *
 *     weft: task greet_blocking has run for 100 ms on worker 0 without suspending ...
 *
 * --ms N sleeps N milliseconds instead (1000 by default, 3000 with --blocking).
 */
#include <weft.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned sleep_ms = 1000;

/* The greeting coroutine. Exported (not static) so WEFT_DEBUG's report can name it. */
void *greet(void *arg)
{
    const char *name = arg;
    int rc = weft_sleep(sleep_ms * WEFT_NS_PER_MS); /* await asyncio.sleep(1) */
    if (rc < 0)
        return NULL; /* cancelled */
    printf("Hello, %s (worker %d)\n", name, weft_worker_id());
    return NULL;
}

/* The same with a blocking sleep: the worker thread itself sleeps. Don't do this. */
void *greet_blocking(void *arg)
{
    const char *name = arg;
    if (sleep_ms % 1000 == 0)
        sleep(sleep_ms / 1000); /* time.sleep(3) inside a coroutine */
    else
        usleep(sleep_ms * 1000u);
    printf("Hello, %s (worker %d, which was blocked all along)\n", name, weft_worker_id());
    return NULL;
}

static weft_fn body = greet;

static void *main_task(void *arg)
{
    (void)arg;
    static const char *names[3] = {"Ada", "Alan", "Grace"};
    uint64_t t0 = weft_now();
    weft_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = weft_spawn(body, (void *)names[i]); /* asyncio.create_task */
    int rc = weft_gather(t, 3, NULL);             /* await asyncio.gather(...) */
    double s = (double)(weft_now() - t0) / WEFT_NS_PER_SEC;
    printf("3 greetings done in %.2f s on %u workers (each slept %.2f s)\n", s, weft_workers(),
           sleep_ms / 1000.0);
    if (body == greet_blocking)
        printf("the blocking sleep held its worker: greetings queued behind it waited\n");
    return (void *)(intptr_t)rc;
}

int main(int argc, char **argv)
{
    weft_config cfg = {0};
    bool ms_set = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--blocking") == 0) {
            body = greet_blocking;
        } else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc) {
            sleep_ms = (unsigned)strtoul(argv[++i], NULL, 10);
            ms_set = true;
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            cfg.workers = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: gather_greetings [--blocking] [--ms N] [--workers N]\n");
            return 2;
        }
    }
    if (body == greet_blocking && !ms_set)
        sleep_ms = 3000; /* the tutorial's sleep(3) */
    void *res = NULL;
    int rc = weft_run(&cfg, main_task, NULL, &res);
    if (rc < 0 || res) {
        fprintf(stderr, "gather_greetings: %s\n", weft_strerror(rc < 0 ? rc : (int)(intptr_t)res));
        return 1;
    }
    return 0;
}
