/* weft_micro — weft's versions of the peer micro-benchmarks
 * (/work/shared/peers/micro: Go, Tokio, ...), same semantics, same output lines:
 *     bench=NAME workers=W value=V unit=U
 *
 * Usage: weft_micro BENCH [WORKERS]
 *   BENCH    spawn_join | yield | yield_switch | pingpong | skynet | chan_mpmc | chan_pool |
 *            fanout_cpu | idle_memory | mutex_contended | mutex_contended_fifo |
 *            select4 | gen_handoff | sleep_wake | all
 *            (yield prints the yield and yield_switch lines; fanout_cpu ignores
 *            WORKERS and runs a warm-up, then 1 and 2 workers itself)
 *   WORKERS  weft_config.workers (0 = one per CPU). Default 1; for "all" the default
 *            runs every benchmark at 1 and then at 2 workers.
 * Exit status 1 (with a message on stderr) on a wrong result or a failing weft call. */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench {
    const char *name;
    void (*fn)(unsigned workers);
};

static const struct bench benches[] = {
    {"spawn_join", bench_spawn_join},
    {"yield", bench_yield},
    {"yield_switch", bench_yield_switch},
    {"pingpong", bench_pingpong},
    {"skynet", bench_skynet},
    {"chan_mpmc", bench_chan_mpmc},
    {"chan_pool", bench_chan_pool},
    {"fanout_cpu", bench_fanout_cpu},
    {"idle_memory", bench_idle_memory},
    {"mutex_contended", bench_mutex},
    {"mutex_contended_fifo", bench_mutex_fifo},
    {"select4", bench_select4},
    {"gen_handoff", bench_gen_handoff},
    {"sleep_wake", bench_sleep_wake},
};
#define NBENCH (sizeof benches / sizeof benches[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: weft_micro BENCH [WORKERS]\n  BENCH: all");
    for (size_t i = 0; i < NBENCH; i++)
        fprintf(f, " %s", benches[i].name);
    fprintf(f, "\n  WORKERS: weft_config.workers (0 = one per CPU; default 1, "
               "\"all\" without WORKERS runs 1 and 2)\n");
}

static void run_all(unsigned workers)
{
    for (size_t i = 0; i < NBENCH; i++) {
        if (strcmp(benches[i].name, "yield_switch") == 0)
            continue; /* "yield" prints it */
        if (strcmp(benches[i].name, "fanout_cpu") == 0)
            continue; /* runs 1 and 2 workers itself: once, at the end */
        if (strcmp(benches[i].name, "gen_handoff") == 0 ||
            strcmp(benches[i].name, "sleep_wake") == 0)
            continue; /* weft only, no peer: run it by name */
        benches[i].fn(workers);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    unsigned workers = 1;
    if (argc == 3) {
        char *end;
        unsigned long w = strtoul(argv[2], &end, 10);
        if (*argv[2] == '\0' || *end != '\0' || w > 4096) {
            fprintf(stderr, "weft_micro: bad WORKERS '%s'\n", argv[2]);
            return 2;
        }
        workers = (unsigned)w;
    }
    if (strcmp(argv[1], "all") == 0) {
        if (argc == 3) {
            run_all(workers);
        } else {
            run_all(1);
            run_all(2);
        }
        bench_fanout_cpu(0);
        return 0;
    }
    for (size_t i = 0; i < NBENCH; i++) {
        if (strcmp(argv[1], benches[i].name) == 0) {
            benches[i].fn(workers);
            return 0;
        }
    }
    fprintf(stderr, "weft_micro: unknown bench '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
