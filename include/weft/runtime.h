/* weft — starting and stopping the runtime (asyncio.run). */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include "weft/common.h"

WEFT_BEGIN_DECLS

/* A task's function. Its return value is the task's result (weft_join). */
typedef void *(*weft_fn)(void *arg);

typedef struct weft_config {
    unsigned workers;       /* 0: WEFT_WORKERS, else one per allowed CPU (at most a cgroup quota) */
    size_t stack_size;      /* 0: 64 KiB (256 KiB in sanitizer builds); rounded up to pages */
    unsigned ring_entries;  /* 0: 256 */
    bool pin_workers;       /* pin worker i to the i-th allowed CPU */
    const char *trace_path; /* NULL: $WEFT_TRACE, unset = no trace */
} weft_config;

/* asyncio.run: start the workers, run main(arg) as a task and wait for it. When it
 * returns, tasks still alive are cancelled and joined, the workers stop, and *result
 * (if result is non-NULL) receives main's return value.
 * Returns 0; -EINVAL for a bad config or a call from inside a running runtime;
 * -ENOMEM or another negative errno when the workers could not be started (no task
 * ran then). Only one runtime runs in a process at a time; it can be started again
 * after it returned.
 * Environment: WEFT_WORKERS overrides cfg->workers when that is 0; WEFT_DEBUG=1 lists
 * tasks never joined nor detached when weft_run returns and warns about tasks that
 * run longer than WEFT_SLOW_MS (default 100) without suspending; setting WEFT_SLOW_MS
 * alone turns that warning on too, with a backtrace of the stuck worker (weft/trace.h).
 * WEFT_TRACE=FILE (or cfg->trace_path) records a trace (weft/trace.h). WEFT_SPIN_US (default 50)
 * is how long a worker out of work keeps looking (stealing, polling its ring) before
 * it sleeps; 0 parks at once, which saves CPU when the machine is shared.
 * WEFT_STEAL_AGE_US (default 20; 0 = at once) is how long the task at the head of a busy
 * worker's queue must have waited before an idle worker steals it, unless the busy
 * worker's backlog would take longer than that to drain. WEFT_PACK (default auto):
 * when other processes leave fewer CPUs than there are workers, a worker woken by a
 * few completions hands their tasks to a running worker and stealing waits 1 ms, so the
 * tasks pack onto fewer workers instead of making them take turns on the CPUs left;
 * as many workers keep running as CPUs are left. 0 never packs; N >= 1 always does,
 * keeping N running (weft_packing in weft/trace.h tells the state). WEFT_GATHER
 * (default auto) moves tasks that do little but pass messages through a channel, or
 * take one mutex, across cores onto one worker (README, Channels and Mutex); 0 never,
 * always without timing them. */
WEFT_API int weft_run(const weft_config *cfg, weft_fn main, void *arg, void **result);

/* Index of the worker running the caller (0..weft_workers()-1), -1 outside the
 * runtime. A task may move between workers at any suspension point. */
WEFT_API int weft_worker_id(void);

/* Number of workers of the running runtime, 0 when none runs. */
WEFT_API unsigned weft_workers(void);

WEFT_END_DECLS

#endif
