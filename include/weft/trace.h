/* weft — tracing, the flight recorder and always-on scheduler metrics.
 *
 * Tracing is switched on for a whole weft_run by the environment or the config:
 *   WEFT_TRACE=FILE           record every scheduling event into FILE (the binary format
 *                             of docs/trace-format.md; read it with tools/weft-trace);
 *                             weft_config.trace_path does the same and wins over it.
 *   WEFT_TRACE_FLIGHT=MIB     flight recorder: keep only about the last MIB MiB of events
 *                             in memory (minimum 1) and write nothing until a dump: on
 *                             weft_trace_dump(), on the signal WEFT_TRACE_SIGNAL (a
 *                             number; default SIGUSR2, 0 for none) and when the stall
 *                             detector fires. Signal and stall dumps go to FILE, then
 *                             FILE.1, FILE.2, ...
 *   WEFT_SLOW_MS=N            report a task that runs N ms without suspending: its
 *                             function, a backtrace of its worker (on stderr) and, with
 *                             the flight recorder on, a dump. WEFT_DEBUG=1 turns the report
 *                             on with the default of 100 ms.
 * A worker never blocks on the trace: when the writer falls behind, events are dropped
 * and counted (the END record of the file says how many).
 */
#ifndef WEFT_TRACE_H
#define WEFT_TRACE_H

#include "weft/common.h"

WEFT_BEGIN_DECLS

/* Writes the flight recorder's window to path (NULL: the WEFT_TRACE file, numbered as
 * for a signal). Blocks the calling thread (or task's worker) until the file is
 * written. Returns 0; -ENOTSUP when no flight recorder is running, -EINVAL for an
 * empty path, or the negative errno of creating or writing the file. */
WEFT_API int weft_trace_dump(const char *path);

/* True while events are being recorded (WEFT_TRACE or the flight recorder). */
WEFT_API bool weft_trace_enabled(void);

/* Schedule-latency histogram buckets: bucket i counts wake-ups whose task started
 * running between 2^i and 2^(i+1) - 1 ns after it was woken (bucket 0 also counts 0). */
#define WEFT_STATS_LAT_BUCKETS 32

/* One worker's counters since the runtime started. Always kept, whether or not a trace
 * is recorded. Time is split by what the worker was doing: idle_ns parked in its
 * io_uring, search_ns looking for work to steal, busy_ns the rest (running tasks,
 * polling I/O and timers). The schedule latency is sampled (about one wake-up in 64). */
typedef struct weft_worker_stats {
    uint64_t tasks_run;  /* task resumptions (a task that suspends 3 times counts 4) */
    uint64_t spawned;    /* tasks spawned by tasks running on this worker */
    uint64_t steals_in;  /* tasks this worker stole from others */
    uint64_t steals_out; /* tasks others stole from this worker */
    uint64_t parks;      /* times it went to sleep */
    uint64_t busy_ns;
    uint64_t idle_ns;
    uint64_t search_ns;
    uint64_t elapsed_ns;   /* since the worker started: busy + idle + search */
    uint64_t io_submitted; /* io_uring operations queued */
    uint64_t io_completed; /* and finished */
    uint32_t queue_depth;  /* tasks in its local run queue now */
    uint32_t moved_in;     /* tasks moved here (weft_move_to, channels, mutexes), modulo 2^32 */
    uint64_t sched_latency[WEFT_STATS_LAT_BUCKETS];
    /* Tasks this worker, back from a park, handed to a running worker because other
     * processes left fewer CPUs than workers (packing; WEFT_PACK in runtime.h). */
    uint64_t handed_over;
    /* Times the monitor moved this worker's thread off a CPU it waited on behind another
     * worker's thread after a wake-up (unpinned workers; see "How it works"). */
    uint64_t unstacked;
} weft_worker_stats;

/* Fills out[0..min(n, workers)) with the running runtime's per-worker counters (read
 * without stopping the workers, so they are each a moment apart). Returns the number of
 * workers (which may exceed n), or -ESRCH when no runtime runs. */
WEFT_API int weft_stats(weft_worker_stats *out, unsigned n);

/* 1 while the running runtime packs its tasks on fewer workers because other
 * processes leave it fewer CPUs than it has workers (measured every 100 ms from
 * /proc/stat; WEFT_PACK in weft/runtime.h), 0 when not, -ESRCH when no runtime runs. */
WEFT_API int weft_packing(void);

WEFT_END_DECLS

#endif
