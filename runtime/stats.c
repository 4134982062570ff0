/* weft — always-on scheduler metrics (weft_stats).
 *
 * Every counter is written by its worker alone, with relaxed load + store (no locked
 * instruction), and read by anyone with relaxed loads; n_stolen is the exception,
 * added to by thieves (a relaxed fetch_add on its own cache line, on the steal path
 * only). Time is split without touching the hot path: the idle path (idle.c) adds the
 * ticks it spent searching and parked; busy is the rest of the worker's lifetime.
 * Schedule latency is sampled: weft__schedule stamps one wake-up in WEFT_LAT_SAMPLE with
 * the cheap clock, and the worker that runs the task adds the difference to its
 * histogram.
 */
#include "runtime/internal.h"

#include <string.h>

static inline void bump(_Atomic uint64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

void weft__stats_latency(weft__worker *w, weft_task *t)
{
    /* 32 bits of ticks: waits longer than ~1.4 s (at 3 GHz) alias to shorter ones. */
    uint32_t d = (uint32_t)weft__clock_raw() - t->wake_tsc;
    t->wake_tsc = 0;
    double r = weft__clock_ns_per_tick_quick();
    if (r == 0)
        return; /* the first 2 ms of the process: no calibration yet */
    uint64_t ns = (uint64_t)((double)d * r);
    unsigned b = ns ? 63u - (unsigned)__builtin_clzll(ns) : 0;
    if (b >= WEFT_STATS_LAT_BUCKETS)
        b = WEFT_STATS_LAT_BUCKETS - 1;
    bump(&w->lat_hist[b], 1);
}

int weft_stats(weft_worker_stats *out, unsigned n)
{
    weft__rt *rt = weft__rt_cur;
    if (!rt)
        return -ESRCH;
    double npt = weft__clock_ns_per_tick();
    uint64_t now = weft__clock_raw();
    for (unsigned i = 0; i < rt->nworkers && i < n; i++) {
        weft__worker *w = &rt->workers[i];
        weft_worker_stats *s = &out[i];
        memset(s, 0, sizeof *s);
#define LD(x) atomic_load_explicit(&w->x, memory_order_relaxed)
        s->tasks_run = LD(tick);
        s->spawned = LD(n_spawned);
        s->steals_in = LD(n_steals);
        s->steals_out = LD(n_stolen);
        s->parks = LD(n_parks);
        s->moved_in = (uint32_t)LD(n_moved_in);
        s->handed_over = LD(n_handed);
        s->unstacked = LD(n_unstacked);
        uint64_t start = LD(t_start);
        uint64_t el = start && now > start ? (uint64_t)((double)(now - start) * npt) : 0;
        s->idle_ns = (uint64_t)((double)LD(t_idle) * npt);
        s->search_ns = (uint64_t)((double)LD(t_search) * npt);
        s->elapsed_ns = el;
        uint64_t other = s->idle_ns + s->search_ns;
        s->busy_ns = el > other ? el - other : 0;
        s->io_submitted = LD(n_io_sub);
        s->io_completed = LD(n_io_done);
        s->queue_depth = weft__runq_len(&w->runq);
        for (unsigned b = 0; b < WEFT_STATS_LAT_BUCKETS; b++)
            s->sched_latency[b] = LD(lat_hist[b]);
#undef LD
    }
    return (int)rt->nworkers;
}
