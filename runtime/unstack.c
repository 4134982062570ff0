/* weft — moving a worker thread that waits behind another worker's thread off that CPU
 * (monitor thread only).
 *
 * A worker woken to take work (weft__worker_wake: a task spawned or woken while it was
 * parked) should run at once. Linux does not always let it: it may wake the thread on
 * its waker's CPU, and when the waker then spins in a long task, the woken worker waits
 * there until that thread's time slice ends or the load balancer moves it, while the
 * other CPU idles; or the woken thread preempts its waker, which then waits in the
 * middle of its task. Traced on the 2-vCPU VM (sched_waking/sched_switch/
 * sched_migrate_task): a woken worker was migrated from the idle vCPU to its waker's
 * busy one, and waited 1–5 ms. A hypervisor reports an idle vCPU as preempted, which
 * makes Linux treat it as busy when it places a wakee. Pinned workers never meet this.
 *
 * Three triggers, all ending in unstack_one():
 *  - the waker stamps the time (woken_at) and pokes the monitor out of a slow sleep;
 *    the worker clears the stamp when it runs. While a stamp is pending, the monitor
 *    looks again when it is WAKE_LATE_NS old (a wake-up takes ~20 µs here);
 *  - the waker also leaves its index and CPU (woken_by, woken_cpu); the woken worker,
 *    when it runs on that CPU, stamps the waker (preempted_at, with its tick) and pokes
 *    the monitor: if the waker is still in the same task WAKE_LATE_NS later, the
 *    monitor looks at it once — the woken thread may have preempted it (traced: the
 *    main task spawned a hog and woke the other worker, which preempted it on its vCPU
 *    and stole the hog; the hog's child waited behind both for 0.8 ms);
 *  - a worker that made no progress (tick) for STUCK_NS (0.25 ms, monitor.c), once per
 *    episode.
 * unstack_one reads the thread's state and CPU (/proc/self/task/TID/stat); if it is
 * runnable where another worker's thread is runnable too, it gets the allowed CPUs
 * minus that one as its affinity, which makes the kernel move it at once. It gets the
 * full set back once it has run a task or parked. The cost: a stamp and a relaxed load
 * per wake-up (a syscall anyway), a futex wake when the monitor sleeps a slow period,
 * and /proc reads only for a late or stuck worker. Off with pinned workers and with
 * one allowed CPU. The monitor stops only after the workers have exited, so nothing is
 * left moved; if the program changes a worker thread's affinity meanwhile, the restore
 * sets the process's affinity from weft_run's start. Without SCHED_FIFO the monitor
 * keeps itself off busy workers' CPUs the same way (weft__unstack_place_monitor).
 */
#include "runtime/internal.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A stamp older than WAKE_STALE_NS is dropped: the worker ran long ago (a waker that
 * lost a race with another wake-up source stamped it after it cleared its stamp). */
enum { WAKE_LATE_NS = WEFT__WAKE_LATE_NS, WAKE_STALE_NS = 10000000 };

struct weft__unstack {
    cpu_set_t allowed;
    cpu_set_t monitor; /* the monitor thread's affinity (weft__unstack_place_monitor) */
    unsigned n;
    struct {
        bool on;     /* its affinity is the allowed set minus one CPU */
        uint64_t tick, parks; /* its counters then: progress gives the set back */
    } moved[];
};

weft__unstack *weft__unstack_new(weft__rt *rt)
{
    cpu_set_t allowed;
    if (rt->pin || rt->nworkers < 2 || sched_getaffinity(0, sizeof allowed, &allowed) ||
        CPU_COUNT(&allowed) < 2)
        return NULL;
    weft__unstack *u = weft__calloc(1, sizeof *u + rt->nworkers * sizeof u->moved[0]);
    if (!u)
        return NULL;
    u->allowed = allowed;
    u->monitor = allowed;
    u->n = rt->nworkers;
    atomic_store(&rt->watch_wakes, true);
    return u;
}

/* State letter and last CPU of thread tid, from /proc/self/task/TID/stat; 0 on failure. */
static char thread_cpu(pid_t tid, int *cpu)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0)
        return 0;
    buf[len] = '\0';
    /* "pid (comm) S f4 ... f39": comm may hold spaces and ')'; the last ')' ends it. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2])
        return 0;
    char state = p[2];
    p += 3;
    for (int field = 3; field < 39; field++) { /* to the space before field 39 */
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    if (sscanf(p, "%d", cpu) != 1)
        return 0;
    return state;
}

/* Worker j's thread is runnable on a CPU where another worker's thread is runnable
 * too: one of them waits. Move j off that CPU (the kernel migrates it at once, running
 * or not) until it has made progress. */
static void unstack_one(weft__unstack *u, const weft__rt *rt, unsigned j)
{
    weft__worker *w = &rt->workers[j];
    int cpu;
    if (u->moved[j].on || thread_cpu(w->tid, &cpu) != 'R' || cpu < 0 || cpu >= CPU_SETSIZE)
        return;
    bool shared = false;
    for (unsigned i = 0; i < u->n && !shared; i++) {
        int other;
        shared = i != j && thread_cpu(rt->workers[i].tid, &other) == 'R' && other == cpu;
    }
    cpu_set_t away = u->allowed;
    CPU_CLR(cpu, &away);
    if (!shared || !CPU_COUNT(&away))
        return;
    /* Its counters before the move: once moved it may run at once. */
    u->moved[j].tick = atomic_load_explicit(&w->tick, memory_order_relaxed);
    u->moved[j].parks = atomic_load_explicit(&w->n_parks, memory_order_relaxed);
    if (sched_setaffinity(w->tid, sizeof away, &away))
        return;
    u->moved[j].on = true;
    atomic_fetch_add_explicit(&w->n_unstacked, 1, memory_order_relaxed);
}

void weft__unstack_stuck(weft__unstack *u, const weft__rt *rt, unsigned worker)
{
    if (u)
        unstack_one(u, rt, worker);
}

/* One stamp of worker j: dropped when stale or when still_there says j moved on since.
 * Once WAKE_LATE_NS old, j is looked at; then every WAKE_LATE_NS while the stamp stays
 * (the woken worker clears woken_at when it runs), or only once (once: the monitor
 * clears it). Lowers *due to when the next look is wanted. */
static void check_stamp(weft__unstack *u, const weft__rt *rt, unsigned j,
                        _Atomic uint64_t *stamp, bool still_there, bool once, uint64_t now,
                        uint64_t *due)
{
    uint64_t at = atomic_load_explicit(stamp, memory_order_relaxed);
    if (!at)
        return;
    uint64_t age = now > at ? now - at : 0;
    if (!still_there || age >= WAKE_STALE_NS) {
        (void)atomic_compare_exchange_strong(stamp, &at, 0); /* a later kick stamped anew */
        return;
    }
    if (age >= WAKE_LATE_NS) {
        unstack_one(u, rt, j);
        if (once) {
            (void)atomic_compare_exchange_strong(stamp, &at, 0);
            return;
        }
    }
    uint64_t wait = age < WAKE_LATE_NS ? WAKE_LATE_NS - age : WAKE_LATE_NS;
    if (!*due || wait < *due)
        *due = wait;
}

uint64_t weft__unstack_check(weft__unstack *u, const weft__rt *rt, uint64_t now)
{
    if (!u)
        return 0;
    uint64_t due = 0; /* ns until the next look is wanted */
    for (unsigned j = 0; j < u->n; j++) {
        weft__worker *w = &rt->workers[j];
        uint64_t tick = atomic_load_explicit(&w->tick, memory_order_relaxed);
        /* Moved and since then ran a task or parked: the full set again (widening
         * migrates nothing). */
        if (u->moved[j].on &&
            (tick != u->moved[j].tick ||
             atomic_load_explicit(&w->n_parks, memory_order_relaxed) != u->moved[j].parks)) {
            (void)sched_setaffinity(w->tid, sizeof u->allowed, &u->allowed);
            u->moved[j].on = false;
        }
        /* Woken and (the worker clears the stamp when it runs) not running yet. */
        check_stamp(u, rt, j, &w->woken_at, true, false, now, &due);
        /* The worker it woke runs on its CPU, and it is still in the same task (not
         * parked: a waker handing work over often parks right after). */
        check_stamp(u, rt, j, &w->preempted_at,
                    tick == atomic_load_explicit(&w->preempted_tick, memory_order_relaxed) &&
                        !atomic_load_explicit(&w->parked, memory_order_relaxed),
                    true, now, &due);
    }
    return due;
}

void weft__unstack_woken(weft__worker *w)
{
    int by = atomic_load_explicit(&w->woken_by, memory_order_relaxed);
    int cpu = atomic_load_explicit(&w->woken_cpu, memory_order_relaxed);
    weft__rt *rt = weft__rt_cur;
    if (by < 0 || (unsigned)by >= rt->nworkers || (unsigned)by == w->index || cpu < 0 ||
        sched_getcpu() != cpu)
        return;
    weft__worker *waker = &rt->workers[by];
    atomic_store_explicit(&waker->preempted_tick,
                          atomic_load_explicit(&waker->tick, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store(&waker->preempted_at, weft_now()); /* seq_cst: as woken_at's store */
    weft__monitor_poke();
}

/* Where the monitor itself sleeps. Without SCHED_FIFO its wake-up is placed by the fair
 * scheduler, which puts it where its waker or timer is when it sees no idle CPU — and a
 * hypervisor reports an idle vCPU as preempted, so Linux often sees none (above).
 * Traced (bench/run_steal.sh with WEFT_MONITOR_RT=0): a worker woke the other onto its
 * own CPU, the woken one took the task and spun in it, and the monitor, woken on that
 * CPU too, waited 1.5 ms behind the spinner while the other vCPU idled; the load
 * balancer ended it. So before every short sleep its affinity becomes the allowed CPUs
 * minus those of the workers running a task (each records its CPU when it starts and
 * when it leaves a park: run_cpu); the kernel must then wake it elsewhere. The full set
 * when that leaves none, and for slow sleeps. One sched_setaffinity per change of the
 * set (~45 a second under wrk against weft-httpd). Not with SCHED_FIFO (it preempts a
 * normal thread wherever it wakes, and one allowed CPU would make it wait for that
 * vCPU), pinned workers or one CPU. A CPU another process keeps busy can still hold it
 * up: only SCHED_FIFO rules that out. */
void weft__unstack_place_monitor(weft__unstack *u, const weft__rt *rt, bool shun_busy)
{
    if (!u)
        return;
    cpu_set_t want = u->allowed;
    if (shun_busy) {
        for (unsigned i = 0; i < u->n; i++) {
            const weft__worker *w = &rt->workers[i];
            int c = atomic_load_explicit(&w->run_cpu, memory_order_relaxed);
            if (atomic_load_explicit(&w->current, memory_order_relaxed) && c >= 0 &&
                c < CPU_SETSIZE)
                CPU_CLR(c, &want);
        }
        if (!CPU_COUNT(&want))
            want = u->allowed;
    }
    if (!CPU_EQUAL(&want, &u->monitor) && sched_setaffinity(0, sizeof want, &want) == 0)
        u->monitor = want;
}

void weft__unstack_free(weft__unstack *u)
{
    if (u)
        weft__free(u, sizeof *u + u->n * sizeof u->moved[0]);
}
