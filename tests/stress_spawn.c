/* stress_spawn.c — a million spawn/join pairs, from one task and from several tasks
 * at once, on 2 workers; the sum of the results is checked exactly. */
#include "fixture.h"

enum { TOTAL = WT_SCALE(1000000, 1000000, 2000), BATCH = 1000, SPAWNERS = 4 };

static void *identity(void *arg)
{
    return arg;
}

/* Spawns `n` tasks in batches of BATCH (so a bounded number is alive) and returns the
 * sum of their results. Task k returns first + k. */
static uint64_t spawn_join_range(uint64_t first, uint64_t n)
{
    weft_task *t[BATCH];
    uint64_t sum = 0;
    for (uint64_t done = 0; done < n;) {
        uint64_t b = n - done < BATCH ? n - done : BATCH;
        for (uint64_t i = 0; i < b; i++)
            t[i] = wt_spawn(identity, (void *)(uintptr_t)(first + done + i));
        for (uint64_t i = 0; i < b; i++) {
            void *r = NULL;
            WT_OK(weft_join(t[i], &r));
            sum += (uintptr_t)r;
        }
        done += b;
    }
    return sum;
}

static void *one_spawner_main(void *arg)
{
    (void)arg;
    uint64_t n = TOTAL;
    uint64_t t0 = weft_now();
    uint64_t sum = spawn_join_range(1, n);
    WT_EQ(sum, n * (n + 1) / 2);
    print_message("      %llu spawn/join from one task on %u workers: %.0f ms\n",
                  (unsigned long long)n, weft_workers(), wt_ms_since(t0));
    return NULL;
}

static void *spawner(void *arg)
{
    uint64_t k = (uintptr_t)arg, per = TOTAL / SPAWNERS;
    return (void *)(uintptr_t)spawn_join_range(k * per + 1, per);
}

static void *many_spawners_main(void *arg)
{
    (void)arg;
    uint64_t n = (TOTAL / SPAWNERS) * SPAWNERS;
    weft_task *t[SPAWNERS];
    void *res[SPAWNERS];
    uint64_t t0 = weft_now();
    for (uintptr_t k = 0; k < SPAWNERS; k++)
        t[k] = wt_spawn(spawner, (void *)k);
    WT_OK(weft_gather(t, SPAWNERS, res));
    uint64_t sum = 0;
    for (int k = 0; k < SPAWNERS; k++)
        sum += (uintptr_t)res[k];
    WT_EQ(sum, n * (n + 1) / 2);
    print_message("      %llu spawn/join from %d tasks on %u workers: %.0f ms\n",
                  (unsigned long long)n, SPAWNERS, weft_workers(), wt_ms_since(t0));
    return NULL;
}

/* Detached tasks that count themselves: all of them run, none leaks. */
static atomic_int detached_count;

static void *count_me(void *arg)
{
    (void)arg;
    atomic_fetch_add(&detached_count, 1);
    return NULL;
}

static void *detached_main(void *arg)
{
    (void)arg;
    enum { N = TOTAL / 10 };
    atomic_store(&detached_count, 0);
    for (int i = 0; i < N; i++) {
        weft_detach(wt_spawn(count_me, NULL));
        if (i % BATCH == BATCH - 1)
            WT_OK(weft_yield());
    }
    wt_wait_ge(&detached_count, N);
    return NULL;
}

static void test_one_spawner(void **state)
{
    (void)state;
    (void)wt_run(2, one_spawner_main, NULL);
}

static void test_many_spawners(void **state)
{
    (void)state;
    (void)wt_run(2, many_spawners_main, NULL);
}

static void test_detached(void **state)
{
    (void)state;
    (void)wt_run(2, detached_main, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_spawner),
        cmocka_unit_test(test_many_spawners),
        cmocka_unit_test(test_detached),
    };
    return WT_RUN_GROUP(tests);
}
