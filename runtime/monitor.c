/* weft — the monitor thread: stuck workers and slow tasks.
 *
 * Every PERIOD_NS it samples each worker's tick (tasks started) and current task:
 *  1. A worker whose tick has not moved for a whole period while it runs a task is
 *     stuck in that task. If it has queued work, its stuck_tick is published — thieves
 *     may then take even its next-task slot (idle.c) — and a parked worker is woken to
 *     do so. Every runnable task thus reaches an idle worker within about two periods,
 *     including the one in the next slot, which is otherwise left to its owner so
 *     message passing stays on one core.
 *  2. The same check closes the rare lost-wake race of weft__notify_parked: queued work
 *     plus a parked worker plus no searcher gets a wake-up.
 *  3. With WEFT_DEBUG, a task that has run WEFT_SLOW_MS without suspending is reported
 *     once, with its function's name (asyncio's slow-callback warning).
 * The thread only reads workers' fields (relaxed) and writes stuck_tick; it never
 * touches a task beyond reading its fn.
 */
#include "runtime/internal.h"

#include <time.h>

enum { PERIOD_NS = 500000 };

typedef struct {
    uint64_t tick;
    uint64_t since;
    bool reported;
} sample;

static _Atomic bool mon_stop;

static void *monitor_main(void *arg)
{
    weft__rt *rt = arg;
    unsigned n = rt->nworkers;
    sample *s = weft__calloc(n, sizeof *s);
    if (!s)
        return NULL;
    struct timespec period = {0, PERIOD_NS};
    while (!atomic_load(&mon_stop)) {
        nanosleep(&period, NULL);
        uint64_t now = weft_now();
        bool kick = false;
        for (unsigned i = 0; i < n; i++) {
            weft__worker *w = &rt->workers[i];
            uint64_t tick = atomic_load_explicit(&w->tick, memory_order_relaxed);
            weft_task *cur = atomic_load_explicit(&w->current, memory_order_relaxed);
            bool queued = weft__runq_len(&w->runq) ||
                          atomic_load_explicit(&w->next, memory_order_relaxed);
            if (tick != s[i].tick || !cur) {
                s[i].tick = tick;
                s[i].since = now;
                s[i].reported = false;
                if (weft__runq_len(&w->runq))
                    kick = true; /* work to steal: make sure someone is looking */
                continue;
            }
            if (queued) {
                atomic_store_explicit(&w->stuck_tick, tick, memory_order_relaxed);
                kick = true;
            }
            if (rt->debug && !s[i].reported && now - s[i].since >= rt->slow_ns) {
                char name[256];
                fprintf(stderr,
                        "weft: task %s has run for %llu ms on worker %u without suspending "
                        "(WEFT_SLOW_MS=%llu); it blocks every task queued there\n",
                        weft__symbol((const void *)cur->fn, name, sizeof name),
                        (unsigned long long)((now - s[i].since) / 1000000u), i,
                        (unsigned long long)(rt->slow_ns / 1000000u));
                s[i].reported = true;
            }
        }
        if (kick && atomic_load(&rt->nparked) && !atomic_load(&rt->nsearching))
            weft__notify_parked();
    }
    weft__free(s, n * sizeof *s);
    return NULL;
}

void weft__monitor_start(void)
{
    weft__rt *rt = weft__rt_cur;
    atomic_store(&mon_stop, false);
    rt->monitor_on = pthread_create(&rt->monitor, NULL, monitor_main, rt) == 0;
}

void weft__monitor_stop(void)
{
    weft__rt *rt = weft__rt_cur;
    if (!rt || !rt->monitor_on)
        return;
    atomic_store(&mon_stop, true);
    pthread_join(rt->monitor, NULL);
    rt->monitor_on = false;
}
