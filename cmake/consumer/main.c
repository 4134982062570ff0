/* Install smoke test: runs a task that spawns and joins a child, and checks the
 * result that comes back out of weft_run. Exit 0 on success. */
#include <weft.h>

#include <stdint.h>
#include <stdio.h>

static void *square(void *arg)
{
    intptr_t x = (intptr_t)arg;
    return (void *)(x * x);
}

static void *main_task(void *arg)
{
    if (weft_worker_id() < 0)
        return NULL;
    weft_task *t = weft_spawn(square, arg);
    if (t == NULL)
        return NULL;
    void *r = NULL;
    int err = weft_join(t, &r);
    if (err != 0) {
        fprintf(stderr, "weft_join: %s\n", weft_strerror(err));
        return NULL;
    }
    return (void *)((intptr_t)r + 1);
}

int main(void)
{
    weft_config cfg = {.workers = 2};
    void *result = NULL;
    int err = weft_run(&cfg, main_task, (void *)(intptr_t)6, &result);
    if (err != 0) {
        fprintf(stderr, "weft_run: %s\n", weft_strerror(err));
        return 1;
    }
    if ((intptr_t)result != 37) {
        fprintf(stderr, "main task returned %ld, expected 37\n", (long)(intptr_t)result);
        return 1;
    }
    printf("weft consumer: ok\n");
    return 0;
}
