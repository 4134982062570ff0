/* stress_sleepers.c — 100k tasks sleep at once for 1..200 ms; every one wakes, and
 * none before its deadline. 2 workers. */
#include "fixture.h"

enum { SLEEPERS = WT_SCALE(100000, 100000, 2000) };

static atomic_int woke, early, failed;

static void *sleeper(void *arg)
{
    uint64_t d = ((uintptr_t)arg * 7919u) % 200 * WT_MS + WT_MS; /* 1..200 ms */
    uint64_t deadline = weft_now() + d;
    int rc = weft_sleep(d);
    if (rc != 0)
        atomic_fetch_add(&failed, 1);
    else if (weft_now() < deadline)
        atomic_fetch_add(&early, 1);
    atomic_fetch_add(&woke, 1);
    return NULL;
}

static void *sleepers_main(void *arg)
{
    (void)arg;
    atomic_store(&woke, 0);
    atomic_store(&early, 0);
    atomic_store(&failed, 0);
    weft_task **t = malloc(SLEEPERS * sizeof *t);
    WT_NONNULL(t);
    uint64_t t0 = weft_now();
    for (int i = 0; i < SLEEPERS; i++)
        t[i] = wt_spawn(sleeper, (void *)(uintptr_t)i);
    for (int i = 0; i < SLEEPERS; i++)
        WT_OK(weft_join(t[i], NULL));
    print_message("      %d sleepers on %u workers: all done after %.0f ms\n", SLEEPERS,
                  weft_workers(), wt_ms_since(t0));
    WT_EQ(atomic_load(&woke), SLEEPERS);
    WT_EQ(atomic_load(&failed), 0);
    WT_EQ(atomic_load(&early), 0);
    free(t);
    return NULL;
}

static void test_sleepers(void **state)
{
    (void)state;
    (void)wt_run(2, sleepers_main, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sleepers),
    };
    return WT_RUN_GROUP(tests);
}
