/* sleep_wake: what a timer-driven task costs the process. N tasks each sleep S µs in a
 * loop, L times; value = process CPU time (user + system, every thread: workers, the
 * monitor) per wake-up, in µs. Two shapes:
 *   sleep_wake_1x100us   one task, 100 µs sleeps, 10,000 of them: on two workers the
 *                        other worker must not be woken for each expiry (idle.c 5a)
 *   sleep_wake_16x1ms    16 tasks, 1 ms sleeps, 1,000 rounds: expiries come in batches
 *                        that a second worker may share
 * Also sleep_wake_1x100us_wall: wall time per loop iteration (sleep + wake-up latency).
 * weft only (no peer runs it); run it by name. */
#include "bench_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/resource.h>

struct sw {
    unsigned n, loops;
    uint64_t sleep_ns;
};

static void *sw_sleeper(void *p)
{
    const struct sw *s = p;
    for (unsigned i = 0; i < s->loops; i++)
        bench_check(weft_sleep(s->sleep_ns), "sleep_wake: weft_sleep");
    return NULL;
}

static void *sw_main(void *p)
{
    const struct sw *s = p;
    weft_task *t[16];
    for (unsigned i = 0; i < s->n; i++)
        if (!(t[i] = weft_spawn(sw_sleeper, p)))
            bench_fail("sleep_wake: weft_spawn returned NULL");
    bench_check(weft_gather(t, s->n, NULL), "sleep_wake: weft_gather");
    return NULL;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void run_one(const char *name, unsigned workers, unsigned n, unsigned loops,
                    uint64_t sleep_ns, bool wall)
{
    struct sw s = {n, loops, sleep_ns};
    double c0 = cpu_s();
    uint64_t t0 = bench_now_ns();
    unsigned w = bench_run(workers, sw_main, &s, NULL);
    uint64_t ns = bench_now_ns() - t0;
    double wakes = (double)n * loops;
    bench_out(name, w, (cpu_s() - c0) / wakes * 1e6, "cpu_us_per_wake");
    if (wall) {
        char wname[64];
        snprintf(wname, sizeof wname, "%s_wall", name);
        bench_out(wname, w, (double)ns / 1e3 / loops, "us_per_sleep");
    }
}

void bench_sleep_wake(unsigned workers)
{
    run_one("sleep_wake_1x100us", workers, 1, 10000, 100 * WEFT_NS_PER_US, true);
    run_one("sleep_wake_16x1ms", workers, 16, 1000, WEFT_NS_PER_MS, false);
}
