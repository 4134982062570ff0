/* weft runtime — internal hooks of the trace recorder (trace.c) and metrics (stats.c).
 *
 * Every hook is a macro that costs one predictable branch on a read-mostly global when
 * tracing is off: WEFT_TRACE_ON() reads weft__trace_on, which weft_run writes only
 * while no worker, monitor or blocking-pool thread exists (thread creation and join
 * order it against every reader). The out-of-line recorder does the rest.
 *
 * Suspend reasons: a task that is about to wait says why with weft__trace_reason(t, r)
 * right before weft__park() or weft__waiter_wait() (the latter re-applies it on every
 * park of its loop). The switch-out consumes it (back to OTHER), so a wait that does not
 * tag itself shows as WEFT_TR_OTHER, never as a stale reason. Sync primitives use
 * WEFT_TR_LOCK, channels and select WEFT_TR_CHAN, joins WEFT_TR_JOIN.
 */
#ifndef WEFT_RUNTIME_TRACE_H
#define WEFT_RUNTIME_TRACE_H

#include "runtime/trace_format.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

extern bool weft__trace_on;

#if defined(WEFT_NO_TRACE_HOOKS) /* -DWEFT_TRACE_HOOKS=OFF: to measure what the hooks cost */
#define WEFT_TRACE_ON() 0
#else
#define WEFT_TRACE_ON() WEFT_UNLIKELY(__atomic_load_n(&weft__trace_on, __ATOMIC_RELAXED))
#endif

/* Records one event into the calling thread's buffer (a worker's own, or the shared
 * one of plain threads). Never blocks; drops and counts the event when no buffer is free. */
void weft__trace_ev(unsigned type, unsigned reason, uint32_t a, uint64_t task, uint64_t b,
                    uint64_t c);
#define WEFT_TRACE(type, reason, a, task, b, c)                                                    \
    do {                                                                                           \
        if (WEFT_TRACE_ON())                                                                       \
            weft__trace_ev((type), (reason), (a), (task), (b), (c));                               \
    } while (0)

/* The scheduler is about to do something that may take longer than a few tens of ns:
 * its next events read the clock again (weft__worker.tr_fresh). */
#define WEFT_TRACE_STALE(w) ((w)->tr_fresh = false)

/* A task spawned by a plain thread (the id and the SPAWN event). */
void weft__trace_spawn_outside(weft_task *t);
/* The scheduler's hot hooks (spawn, run start/stop, wake) are inline, in
 * runtime/trace_hooks.h, which their callers include. */
/* The monitor saw task t stuck on worker w for ns nanoseconds. */
void weft__trace_stall(unsigned worker, weft_task *t, uint64_t ns);

/* Tags why the calling task t parks next (weft_trace_reason). */
static inline void weft__trace_reason(weft_task *t, int reason)
{
    t->tr_reason = (uint8_t)reason;
}

/* The same for the task behind a waiter record (none for a plain thread). */
static inline void weft__trace_waiter(weft__waiter *w, int reason)
{
    if (w->task)
        w->task->tr_reason = (uint8_t)reason;
}

/* Lifecycle, from weft_run: start before the main task is spawned (path == NULL and no
 * WEFT_TRACE: nothing to do); worker_begin/end on each worker thread; stop after every
 * thread that could record has been joined. */
int weft__trace_start(const char *path, unsigned nworkers);
void weft__trace_worker_begin(weft__worker *w);
void weft__trace_worker_end(weft__worker *w);
void weft__trace_stop(void);
/* Asks the writer for a flight-recorder dump (the monitor, on a stall); no-op otherwise. */
void weft__trace_request_dump(void);

/* ---- the cheap clock (clock.c) ------------------------------------------------------- */
/* Raw ticks: the TSC where it is invariant (constant_tsc and nonstop_tsc), otherwise
 * CLOCK_MONOTONIC nanoseconds. Only differences converted by weft__clock_ns mean
 * anything. */
extern bool weft__clock_tsc;
void weft__clock_init(void);
static inline uint64_t weft__clock_raw(void)
{
#if defined(__x86_64__)
    if (WEFT_LIKELY(weft__clock_tsc)) {
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        return ((uint64_t)hi << 32) | lo;
    }
#endif
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
/* Nanoseconds per raw tick, calibrated against CLOCK_MONOTONIC since the first
 * weft__clock_init (more exact the longer the process runs). */
double weft__clock_ns_per_tick(void);
/* The same, fixed at its first value and never sleeping: 0 during the first 2 ms of the
 * process, when there is no baseline yet. For workers. */
double weft__clock_ns_per_tick_quick(void);

/* ---- metrics (stats.c) --------------------------------------------------------------- */
enum { WEFT_LAT_SAMPLE = 64 }; /* two clock reads per sample: ~12 ns each on a VM */
#if defined(WEFT_NO_TRACE_HOOKS)
#define WEFT_LAT_SAMPLING 0
#else
#define WEFT_LAT_SAMPLING 1
#endif
/* t started running on w; it was woken at t->wake_tsc (sampled). */
void weft__stats_latency(weft__worker *w, weft_task *t);

#endif
