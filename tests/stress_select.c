/* stress_select.c — the select storm of test_select.c, bigger and on 1, 2 and 4
 * workers: producers' selects over send cases (some with short timeouts), consumers'
 * selects over receive cases on four channels of different kinds, consumers cancelled
 * at random; every id arrives exactly once. */
#include "select_storm.h"

static void *big_storm_main(void *arg)
{
    (void)arg;
    storm_run(WT_SCALE(100000, 20000, 3000));
    printf("stress_select: %d workers: %lld received, %lld send timeouts, %lld cancels\n",
           (int)weft_workers(), (long long)atomic_load(&storm.received),
           (long long)atomic_load(&storm.timeouts), (long long)atomic_load(&storm.cancels));
    return NULL;
}

static void test_big_storm(void **state)
{
    (void)state;
    static const unsigned w[] = {1, 2, 4};
    for (size_t i = 0; i < 3; i++)
        (void)wt_run(w[i], big_storm_main, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_big_storm)};
    return WT_RUN_GROUP(tests);
}
