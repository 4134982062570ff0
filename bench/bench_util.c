/* weft micro-benchmarks — shared helpers (see bench_util.h). */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void bench_out(const char *name, unsigned workers, double value, const char *unit)
{
    printf("bench=%s workers=%u value=%.3f unit=%s\n", name, workers, value, unit);
    fflush(stdout);
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

long bench_vm_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        bench_fail("cannot open /proc/self/status");
    char line[256];
    size_t n = strlen(field);
    long v = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    if (v < 0)
        bench_fail("no %s in /proc/self/status", field);
    return v;
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("weft_micro: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1);
}

void bench_check(int rc, const char *what)
{
    if (rc != 0)
        bench_fail("%s failed: %d (%s)", what, rc, weft_strerror(rc));
}

struct run_tramp {
    weft_fn main;
    void *arg;
    unsigned workers; /* weft_workers() seen by main */
};

/* BENCH_STATS=1: after the benchmark's main task, one stderr line per worker with the
 * scheduler's counters (weft_stats), to see where a figure comes from. */
static void print_stats(void)
{
    weft_worker_stats st[64];
    int n = weft_stats(st, 64);
    for (int i = 0; i < n; i++)
        fprintf(stderr,
                "stats worker=%d run=%llu spawned=%llu steals_in=%llu steals_out=%llu "
                "parks=%llu moved_in=%u handed_over=%llu busy_ms=%.1f search_ms=%.1f "
                "idle_ms=%.1f packing=%d\n",
                i, (unsigned long long)st[i].tasks_run, (unsigned long long)st[i].spawned,
                (unsigned long long)st[i].steals_in, (unsigned long long)st[i].steals_out,
                (unsigned long long)st[i].parks, st[i].moved_in,
                (unsigned long long)st[i].handed_over, (double)st[i].busy_ns / 1e6,
                (double)st[i].search_ns / 1e6, (double)st[i].idle_ns / 1e6, weft_packing());
}

static void *run_tramp_main(void *p)
{
    struct run_tramp *t = p;
    t->workers = weft_workers();
    void *r = t->main(t->arg);
    const char *e = getenv("BENCH_STATS");
    if (e && *e == '1')
        print_stats();
    return r;
}

unsigned bench_run(unsigned workers, weft_fn main, void *arg, void **result)
{
    weft_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.workers = workers;
    struct run_tramp t = {main, arg, 0};
    int rc = weft_run(&cfg, run_tramp_main, &t, result);
    if (rc != 0)
        bench_fail("weft_run(workers=%u) failed: %d (%s)", workers, rc, weft_strerror(rc));
    if (workers != 0 && t.workers != workers)
        bench_fail("weft_workers() is %u inside weft_run(workers=%u)", t.workers, workers);
    return t.workers;
}
