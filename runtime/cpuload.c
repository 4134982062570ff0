/* weft — how much CPU the machine leaves this process: the signal for packing tasks
 * on fewer workers.
 *
 * Work stealing spreads tasks over every worker, which pays when each worker has a CPU
 * to itself. When other processes keep the CPUs busy (a load generator on the same
 * machine, a build, noisy neighbours' steal time), the workers instead take turns on
 * fewer CPUs than there are workers: a worker woken by one completion preempts another
 * thread, runs a task for a few microseconds and parks again. On the 2-vCPU VM with the
 * echo load generator beside the server, two workers spent 1.1-1.3 s of every 4 s
 * waiting for a CPU (schedstat run_delay; 47 ms with one worker) and served 82-87k
 * msg/s where one worker served 124k (README footnote 13).
 *
 * The monitor thread calls weft__cpuload_sample at every wake-up; every WINDOW_NS it
 * reads the busy time of the CPUs this process may run on (/proc/stat: user, nice,
 * system, irq, softirq, steal) and subtracts the process's own CPU time
 * (CLOCK_PROCESS_CPUTIME_ID): what is left is the CPU time others took. The CPUs
 * available to weft are those allowed minus the others' share, smoothed over windows
 * (EWMA, ALPHA). Packing (idle.c step 7) goes on when fewer than
 * nworkers - ON_MARGIN CPUs are available and off again above nworkers - OFF_MARGIN;
 * rt->pack_active, the available CPUs rounded (at least 1; N under WEFT_PACK=N), is how
 * many workers it aims to keep running.
 * The measure does not count weft's own threads, so packing (which lowers the
 * process's own run-queue delay) does not switch itself off; it ends when the others
 * leave CPUs free.
 *
 * WEFT_PACK=0 turns packing off, WEFT_PACK=N (N >= 1) keeps it on with N workers
 * running (tests, experiments, machines whose share is known); unset or "auto": as
 * measured. One worker never packs. Without a readable /proc/stat
 * the signal stays off. Not seen: CPU quotas of a cgroup (cpu.max), which throttle the
 * process without other processes being busy; those size the default worker count
 * instead (cgroup.c).
 *
 * Cost: one pread of /proc/stat and a parse every WINDOW_NS on the monitor thread
 * (~10 us on the 2-vCPU VM), nothing on the workers but a relaxed load of rt->pack
 * when they park or steal.
 */
#include "runtime/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { WINDOW_NS = 100000000 };
#define ALPHA 0.5
#define ON_MARGIN 0.5
#define OFF_MARGIN 0.25

static struct {
    int fd;
    cpu_set_t allowed;
    unsigned nallowed;
    double ns_per_tick;
    uint64_t last_ns;   /* weft_now() of the previous window's end */
    uint64_t last_busy; /* busy ticks of the allowed CPUs then */
    uint64_t last_self; /* this process's CPU ns then */
    double avail;       /* smoothed CPUs available to this process; < 0: no sample yet */
} ld = {.fd = -1};

static uint64_t self_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Busy ticks summed over the allowed CPUs' "cpuN" lines; false when unreadable. */
static bool read_busy(uint64_t *busy)
{
    char buf[16384];
    ssize_t n = pread(ld.fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    uint64_t sum = 0;
    unsigned seen = 0;
    for (char *p = strchr(buf, '\n'); p && p[1] == 'c' && p[2] == 'p' && p[3] == 'u';
         p = strchr(p + 1, '\n')) {
        char *q;
        unsigned long cpu = strtoul(p + 4, &q, 10);
        if (q == p + 4 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &ld.allowed))
            continue;
        /* user nice system idle iowait irq softirq steal (guest is inside user) */
        unsigned long long f[8] = {0};
        for (int i = 0; i < 8; i++)
            f[i] = strtoull(q, &q, 10);
        sum += f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
        seen++;
    }
    *busy = sum;
    return seen > 0;
}

void weft__cpuload_init(weft__rt *rt)
{
    const char *e = getenv("WEFT_PACK");
    int mode = -1; /* -1 auto, 0 off, 1 on with `active` running */
    unsigned active = 1;
    if (e && *e && strcmp(e, "auto") != 0) {
        mode = strcmp(e, "0") != 0;
        if (atoi(e) > 1)
            active = (unsigned)atoi(e);
    }
    atomic_store(&rt->pack, mode == 1 && rt->nworkers > 1);
    atomic_store(&rt->pack_active, active);
    ld.avail = -1;
    if (mode != -1 || rt->nworkers < 2)
        return;
    if (sched_getaffinity(0, sizeof ld.allowed, &ld.allowed) != 0)
        return;
    ld.nallowed = (unsigned)CPU_COUNT(&ld.allowed);
    long hz = sysconf(_SC_CLK_TCK);
    ld.ns_per_tick = 1e9 / (double)(hz > 0 ? hz : 100);
    ld.fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
    ld.last_ns = 0;
}

void weft__cpuload_fini(void)
{
    if (ld.fd >= 0)
        close(ld.fd);
    ld.fd = -1;
}

void weft__cpuload_sample(weft__rt *rt, uint64_t now)
{
    if (ld.fd < 0 || (ld.last_ns && now - ld.last_ns < WINDOW_NS))
        return;
    uint64_t busy, self = self_cpu_ns();
    if (!read_busy(&busy))
        return;
    if (ld.last_ns) {
        double wall = (double)(now - ld.last_ns);
        double others =
            ((double)(busy - ld.last_busy) * ld.ns_per_tick - (double)(self - ld.last_self)) / wall;
        double avail = (double)ld.nallowed - (others > 0 ? others : 0);
        ld.avail = ld.avail < 0 ? avail : ALPHA * avail + (1 - ALPHA) * ld.avail;
        bool on = atomic_load_explicit(&rt->pack, memory_order_relaxed);
        if (!on && ld.avail < (double)rt->nworkers - ON_MARGIN)
            on = true;
        else if (on && ld.avail > (double)rt->nworkers - OFF_MARGIN)
            on = false;
        if (on != atomic_load_explicit(&rt->pack, memory_order_relaxed) && rt->debug)
            fprintf(stderr, "weft: packing %s (%.2f of %u CPUs left to %u workers)\n",
                    on ? "on" : "off", ld.avail, ld.nallowed, rt->nworkers);
        double cpus = ld.avail + 0.5;
        atomic_store_explicit(&rt->pack_active, cpus >= 2 ? (unsigned)cpus : 1u,
                              memory_order_relaxed);
        atomic_store_explicit(&rt->pack, on, memory_order_relaxed);
    }
    ld.last_ns = now;
    ld.last_busy = busy;
    ld.last_self = self;
}

int weft_packing(void)
{
    weft__rt *rt = weft__rt_cur;
    return rt ? weft__packing(rt) : -ESRCH;
}
