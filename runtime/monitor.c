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
 *
 * Period: PERIOD_NS while some worker is parked and another is not — the only case in
 * which a stuck worker's tasks can be helped. Otherwise SLOW_NS, so fully busy or fully
 * idle runtimes are not interrupted 2000 times a second (measured: fanout_cpu lost ~3%
 * of its 2-worker speedup to the fast tick). A worker about to park calls
 * weft__monitor_poke(), which ends a slow sleep at once.
 */
#include "runtime/internal.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { PERIOD_NS = 500000, SLOW_NS = 10000000 };

typedef struct {
    uint64_t tick;
    uint64_t since;
    bool reported;
} sample;

static _Atomic bool mon_stop;
static _Atomic uint32_t mon_slow; /* 1 while the monitor sleeps a slow period */

void weft__monitor_poke(void)
{
    if (atomic_load_explicit(&mon_slow, memory_order_relaxed) && atomic_exchange(&mon_slow, 0))
        syscall(SYS_futex, &mon_slow, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void monitor_sleep(weft__rt *rt)
{
    unsigned parked = atomic_load(&rt->nparked);
    if (parked > 0 && parked < rt->nworkers) {
        struct timespec ts = {0, PERIOD_NS};
        nanosleep(&ts, NULL);
        return;
    }
    atomic_store(&mon_slow, 1);
    /* Re-check after announcing the slow sleep: a worker that parked in between either
     * sees mon_slow and pokes, or is counted here. */
    parked = atomic_load(&rt->nparked);
    if (!(parked > 0 && parked < rt->nworkers)) {
        struct timespec ts = {0, SLOW_NS};
        syscall(SYS_futex, &mon_slow, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
    }
    atomic_store(&mon_slow, 0);
}

static void *monitor_main(void *arg)
{
    weft__rt *rt = arg;
    unsigned n = rt->nworkers;
    sample *s = weft__calloc(n, sizeof *s);
    if (!s)
        return NULL;
    while (!atomic_load(&mon_stop)) {
        monitor_sleep(rt);
        uint64_t now = weft_now();
        bool kick = false;
        for (unsigned i = 0; i < n; i++) {
            weft__worker *w = &rt->workers[i];
            uint64_t tick = atomic_load_explicit(&w->tick, memory_order_relaxed);
            weft_task *cur = atomic_load_explicit(&w->current, memory_order_relaxed);
            bool queued =
                weft__runq_len(&w->runq) || atomic_load_explicit(&w->next, memory_order_relaxed);
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
                        weft__symbol((const void *)__atomic_load_n(&cur->fn, __ATOMIC_RELAXED),
                                     name, sizeof name),
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
    weft__monitor_poke();
    pthread_join(rt->monitor, NULL);
    rt->monitor_on = false;
}
