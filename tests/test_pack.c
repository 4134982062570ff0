/* test_pack.c — packing (runtime/idle.c step 7, runtime/cpuload.c): when other
 * processes leave fewer CPUs than workers, tasks woken by a parked worker's completions
 * go to a running worker; otherwise they stay where they were woken.
 *  - io_handover: a reader on an otherwise idle worker, fed through a pipe, ends up on
 *    the busy worker with WEFT_PACK=1 and stays on its own with WEFT_PACK=0; with
 *    WEFT_PACK=2 (two workers kept running) it moves only when two others are busy.
 *  - signal: with two CPU-bound child processes on the runtime's two CPUs, the
 *    measured signal turns packing on; once they are gone, off again.
 * test_steal runs again with WEFT_PACK=1 (ctest test_steal_pack): a worker stuck in
 * one task still has its queued tasks taken by the idle one. */
#include "fixture.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft/trace.h>

/* ---- io_handover ------------------------------------------------------------------ */

enum { READS = 20, MAX_WORKERS = 3 };

struct handover {
    int rd, wr;
    int nbusy;             /* busy tasks, one on each of workers 0..nbusy-1 */
    atomic_int busy_ready; /* how many run where they belong */
    atomic_int reading;    /* the reader is about to read: the writer may go on */
    atomic_int done;
    int read_on[READS]; /* worker each read returned on */
    int reader_start;   /* worker the reader started reading on */
    uint64_t handed;    /* tasks that worker handed over (weft_stats) */
};

struct busy_arg {
    struct handover *h;
    unsigned worker;
};

/* Keeps its worker running tasks (yielding, so the worker reaps its ring) until done. */
static void *busy(void *arg)
{
    struct busy_arg *b = arg;
    WT_OK(weft_move_to(b->worker));
    atomic_fetch_add(&b->h->busy_ready, 1);
    while (!atomic_load(&b->h->done)) {
        weft_yield();
        if ((unsigned)weft_worker_id() != b->worker) /* stolen: back where it belongs */
            WT_OK(weft_move_to(b->worker));
    }
    return NULL;
}

/* Reads on the last worker, where no busy task runs. */
static void *reader(void *arg)
{
    struct handover *h = arg;
    WT_OK(weft_move_to(weft_workers() - 1));
    h->reader_start = weft_worker_id();
    for (int i = 0; i < READS; i++) {
        char c;
        atomic_store(&h->reading, i + 1);
        WT_EQ(weft_read(h->rd, &c, 1, WEFT_CUR), 1);
        h->read_on[i] = weft_worker_id();
    }
    return NULL;
}

/* A plain thread: one byte each time the reader waits, 2 ms later (its worker parks). */
static void *writer(void *arg)
{
    struct handover *h = arg;
    for (int i = 0; i < READS; i++) {
        while (atomic_load(&h->reading) < i + 1)
            usleep(100);
        usleep(2000);
        WT_EQ(write(h->wr, "x", 1), 1);
    }
    return NULL;
}

static void *handover_main(void *arg)
{
    struct handover *h = arg;
    struct busy_arg ba[MAX_WORKERS];
    weft_task *b[MAX_WORKERS];
    for (int i = 0; i < h->nbusy; i++) {
        ba[i] = (struct busy_arg){h, (unsigned)i};
        b[i] = wt_spawn(busy, &ba[i]);
    }
    while (atomic_load(&h->busy_ready) < h->nbusy)
        WT_OK(weft_sleep(100 * WT_US));
    weft_task *r = wt_spawn(reader, h);
    pthread_t th;
    WT_OK(pthread_create(&th, NULL, writer, h));
    WT_OK(weft_join(r, NULL));
    WT_OK(pthread_join(th, NULL));
    weft_worker_stats st[MAX_WORKERS];
    WT_EQ(weft_stats(st, MAX_WORKERS), (int)weft_workers());
    h->handed = st[h->reader_start].handed_over;
    atomic_store(&h->done, 1);
    WT_OK(weft_gather(b, (size_t)h->nbusy, NULL));
    return NULL;
}

/* Runs the scenario with `workers` workers, `nbusy` of them kept busy; returns how many
 * reads returned on a busy worker and sets *handed to the tasks the reader's worker
 * handed over. */
static int run_handover(const char *mode, unsigned workers, int nbusy, uint64_t *handed)
{
    setenv("WEFT_PACK", mode, 1);
    struct handover h = {.nbusy = nbusy};
    int p[2];
    WT_OK(pipe2(p, O_CLOEXEC));
    h.rd = p[0];
    h.wr = p[1];
    weft_config cfg = {.workers = workers};
    wt_run_cfg(&cfg, handover_main, &h);
    unsetenv("WEFT_PACK");
    close(p[0]);
    close(p[1]);
    *handed = h.handed;
    WT_EQ(h.reader_start, (int)workers - 1);
    int on_busy = 0;
    for (int i = 0; i < READS; i++)
        on_busy += h.read_on[i] < nbusy;
    print_message("      WEFT_PACK=%s, %u workers, %d busy: %d of %d reads returned on a busy "
                  "worker, %llu tasks handed over\n",
                  mode, workers, nbusy, on_busy, READS, (unsigned long long)*handed);
    return on_busy;
}

static void test_io_handover(void **state)
{
    (void)state;
    uint64_t handed;
    /* Packing: the reader's worker parks between bytes; the first completion it reaps
     * goes to the busy worker, and later reads are submitted (and complete) there. */
    int on = run_handover("1", 2, 1, &handed);
    WT_GE(handed, 1);
    WT_GE(on, READS - 2);
    /* Not packing: the reader's worker runs what its completions wake, and the busy
     * worker, never idle, steals nothing. */
    int off = run_handover("0", 2, 1, &handed);
    WT_EQ(handed, 0);
    WT_LE(off, 2);
}

/* WEFT_PACK=2 keeps two workers running: with only one busy, the reader's worker is
 * the second and keeps its task; with two busy, it hands the task to one of them. */
static void test_io_handover_two_running(void **state)
{
    (void)state;
    uint64_t handed;
    int kept = run_handover("2", 3, 1, &handed);
    WT_EQ(handed, 0);
    WT_LE(kept, 2);
    int moved = run_handover("2", 3, 2, &handed);
    WT_GE(handed, 1);
    WT_GE(moved, READS - 2);
}

/* ---- signal ----------------------------------------------------------------------- */

static pid_t spinners[2];

static void stop_spinners(void)
{
    for (int i = 0; i < 2; i++)
        if (spinners[i] > 0) {
            kill(spinners[i], SIGKILL);
            waitpid(spinners[i], NULL, 0);
            spinners[i] = 0;
        }
}

/* Polls weft_packing() every 10 ms for up to limit_ns; returns the ns it took to
 * read `want`, or -1. */
static int64_t wait_packing(int want, uint64_t limit_ns)
{
    uint64_t t0 = weft_now();
    while (weft_now() - t0 < limit_ns) {
        if (weft_packing() == want)
            return (int64_t)(weft_now() - t0);
        WT_OK(weft_sleep(10 * WT_MS));
    }
    return -1;
}

static void *signal_main(void *arg)
{
    cpu_set_t *two = arg;
    WT_EQ(weft_packing(), 0);
    for (int i = 0; i < 2; i++) {
        spinners[i] = fork();
        WT_GE(spinners[i], 0);
        if (spinners[i] == 0) {
            sched_setaffinity(0, sizeof *two, two);
            alarm(30); /* never outlives a crashed test */
            for (volatile unsigned long n = 0;; n++)
                ;
        }
    }
    int64_t on = wait_packing(1, 5 * WT_SEC);
    stop_spinners();
    int64_t off = wait_packing(0, 10 * WT_SEC);
    print_message("      packing on after %lld ms of two spinners, off %lld ms after they "
                  "ended\n",
                  (long long)(on / 1000000), (long long)(off / 1000000));
    WT_GE(on, 0);
    WT_GE(off, 0);
    return NULL;
}

static void test_signal(void **state)
{
    (void)state;
    cpu_set_t old, two;
    WT_OK(sched_getaffinity(0, sizeof old, &old));
    if (CPU_COUNT(&old) < 2)
        skip(); /* one CPU for two workers: always packing */
    if (access("/proc/stat", R_OK) != 0)
        skip(); /* no signal: packing stays off (runtime/cpuload.c) */
    CPU_ZERO(&two);
    for (int c = 0, n = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &old)) {
            CPU_SET(c, &two);
            n++;
        }
    /* The runtime measures the CPUs it may use: two, shared with the spinners. */
    WT_OK(sched_setaffinity(0, sizeof two, &two));
    unsetenv("WEFT_PACK");
    weft_config cfg = {.workers = 2};
    wt_run_cfg(&cfg, signal_main, &two);
    stop_spinners();
    WT_OK(sched_setaffinity(0, sizeof old, &old));
    WT_EQ(weft_packing(), -ESRCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_handover),
        cmocka_unit_test(test_io_handover_two_running),
        cmocka_unit_test(test_signal),
    };
    return WT_RUN_GROUP(tests);
}
