/* test_unstack.c — the monitor's move of a worker thread that waits behind another
 * worker's thread on one CPU (runtime/unstack.c). Whether the kernel stacks a woken
 * worker is the kernel's choice (test_steal prints how soon tasks escape a hog), so
 * this test builds the situation itself: two plain threads spin, both allowed only one
 * CPU, and stand for two workers of a runtime made up for the test. Checked: a worker
 * stuck for a period and a worker woken and not running after 0.1 ms are moved off the
 * CPU (their affinity becomes the allowed set minus that CPU), a thread alone on its
 * CPU or not runnable is left alone, the full set comes back after progress, and a
 * stale wake-up stamp is dropped; a waker whose woken worker runs on its CPU is moved
 * when it has not moved on 0.1 ms later, and that stamp is set only on the waker's CPU.
 * Last, the monitor thread's policy: SCHED_FIFO where permitted, SCHED_OTHER with
 * WEFT_MONITOR_RT=0. The fake-runtime tests need 2 allowed CPUs (skip otherwise). */
#include "fixture.h"
#include "runtime/internal.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct spinner {
    pthread_t thread;
    _Atomic pid_t tid;
    atomic_bool stop;
    atomic_bool sleep; /* block instead of spinning */
    atomic_int cpu;    /* where it last looked */
};

static void *spin_main(void *arg)
{
    struct spinner *s = arg;
    atomic_store(&s->tid, gettid());
    while (!atomic_load(&s->stop)) {
        atomic_store_explicit(&s->cpu, sched_getcpu(), memory_order_relaxed);
        if (atomic_load(&s->sleep))
            usleep(50000); /* long naps: it is rarely caught runnable (test_alone_or_asleep_left) */
        else
            __builtin_ia32_pause();
    }
    return NULL;
}

struct fake {
    weft__rt rt;
    weft__worker w[2];
    struct spinner s[2];
    cpu_set_t full, one;
    int cpu;
};

static int fake_setup(void **state)
{
    struct fake *f = calloc(1, sizeof *f);
    WT_NONNULL(f);
    WT_EQ(sched_getaffinity(0, sizeof f->full, &f->full), 0);
    if (CPU_COUNT(&f->full) < 2) {
        free(f);
        print_message("      one allowed CPU: nothing to move\n");
        skip();
    }
    for (f->cpu = 0; !CPU_ISSET(f->cpu, &f->full); f->cpu++)
        ;
    CPU_ZERO(&f->one);
    CPU_SET(f->cpu, &f->one);
    f->rt.nworkers = 2;
    f->rt.workers = f->w;
    for (int i = 0; i < 2; i++) {
        WT_EQ(pthread_create(&f->s[i].thread, NULL, spin_main, &f->s[i]), 0);
        while (!atomic_load(&f->s[i].tid))
            usleep(100);
        f->w[i].tid = atomic_load(&f->s[i].tid);
        WT_EQ(sched_setaffinity(f->w[i].tid, sizeof f->one, &f->one), 0);
    }
    /* Both on that CPU before the tests look (a move takes effect asynchronously). */
    for (int i = 0; i < 2; i++) {
        atomic_store(&f->s[i].cpu, -1);
        while (atomic_load(&f->s[i].cpu) != f->cpu)
            usleep(100);
    }
    *state = f;
    return 0;
}

static int fake_teardown(void **state)
{
    struct fake *f = *state;
    for (int i = 0; i < 2; i++) {
        atomic_store(&f->s[i].stop, true);
        pthread_join(f->s[i].thread, NULL);
    }
    free(f);
    return 0;
}

static bool has_affinity(pid_t tid, const cpu_set_t *want)
{
    cpu_set_t got;
    CPU_ZERO(&got);
    WT_EQ(sched_getaffinity(tid, sizeof got, &got), 0);
    return CPU_EQUAL(&got, want);
}

/* What a move gives: the allowed set minus the shared CPU. */
static bool moved_off(struct fake *f, pid_t tid)
{
    cpu_set_t want = f->full;
    CPU_CLR(f->cpu, &want);
    return has_affinity(tid, &want);
}

/* Progress made, so the monitor's next look gives the full set back. */
static void check_restored(struct fake *f, weft__unstack *u, unsigned j)
{
    WT_EQ(weft__unstack_check(u, &f->rt, weft_now()), 0);
    WT_TRUE(has_affinity(f->w[j].tid, &f->full));
    weft__unstack_free(u);
}

static void test_stuck_worker_moved(void **state)
{
    struct fake *f = *state;
    weft__unstack *u = weft__unstack_new(&f->rt);
    WT_NONNULL(u);
    WT_TRUE(atomic_load(&f->rt.watch_wakes));
    weft__unstack_stuck(u, &f->rt, 0);
    WT_TRUE(moved_off(f, f->w[0].tid));
    WT_EQ(atomic_load(&f->w[0].n_unstacked), 1);
    WT_TRUE(has_affinity(f->w[1].tid, &f->one)); /* the other is left where it is */
    /* No progress yet: it stays moved. */
    WT_EQ(weft__unstack_check(u, &f->rt, weft_now()), 0);
    WT_TRUE(moved_off(f, f->w[0].tid));
    /* It ran a task: the full set again. */
    atomic_fetch_add(&f->w[0].tick, 1);
    check_restored(f, u, 0);
}

static void test_late_wake_moved(void **state)
{
    struct fake *f = *state;
    weft__unstack *u = weft__unstack_new(&f->rt);
    WT_NONNULL(u);
    uint64_t now = weft_now();
    /* Woken just now: not late yet; the monitor is told when to look again. */
    atomic_store(&f->w[1].woken_at, now - 20000);
    uint64_t due = weft__unstack_check(u, &f->rt, now);
    WT_EQ(due, WEFT__WAKE_LATE_NS - 20000);
    WT_TRUE(has_affinity(f->w[1].tid, &f->one));
    /* Late, and runnable beside worker 0's thread: moved. */
    atomic_store(&f->w[1].woken_at, now - 2 * WEFT__WAKE_LATE_NS);
    WT_NE(weft__unstack_check(u, &f->rt, now), 0); /* still pending */
    WT_TRUE(moved_off(f, f->w[1].tid));
    WT_EQ(atomic_load(&f->w[1].n_unstacked), 1);
    /* It parked (stamp cleared, parks counted): the full set again. */
    atomic_store(&f->w[1].woken_at, 0);
    atomic_fetch_add(&f->w[1].n_parks, 1);
    check_restored(f, u, 1);
}

static void test_alone_or_asleep_left(void **state)
{
    struct fake *f = *state;
    weft__unstack *u = weft__unstack_new(&f->rt);
    WT_NONNULL(u);
    /* Worker 1 blocks: worker 0 is alone on its CPU, nothing to gain. */
    atomic_store(&f->s[1].sleep, true);
    usleep(20000);
    weft__unstack_stuck(u, &f->rt, 0);
    WT_TRUE(has_affinity(f->w[0].tid, &f->one));
    /* A late stamp on a blocked thread: not runnable, not moved. */
    uint64_t now = weft_now();
    atomic_store(&f->w[1].woken_at, now - 2 * WEFT__WAKE_LATE_NS);
    (void)weft__unstack_check(u, &f->rt, now);
    WT_TRUE(has_affinity(f->w[1].tid, &f->one));
    WT_EQ(atomic_load(&f->w[0].n_unstacked) + atomic_load(&f->w[1].n_unstacked), 0);
    /* A stamp 10 ms old is stale: dropped, nothing pending. */
    atomic_store(&f->w[1].woken_at, now - 20000000);
    WT_EQ(weft__unstack_check(u, &f->rt, now), 0);
    WT_EQ(atomic_load(&f->w[1].woken_at), 0);
    atomic_store(&f->s[1].sleep, false);
    weft__unstack_free(u);
}

static void test_preempted_waker_moved(void **state)
{
    struct fake *f = *state;
    weft__unstack *u = weft__unstack_new(&f->rt);
    WT_NONNULL(u);
    uint64_t now = weft_now();
    /* Worker 0 woke worker 1, which runs on its CPU; worker 0 has not moved on since. */
    atomic_store(&f->w[0].preempted_tick, atomic_load(&f->w[0].tick));
    atomic_store(&f->w[0].preempted_at, now - 30000);
    WT_EQ(weft__unstack_check(u, &f->rt, now), WEFT__WAKE_LATE_NS - 30000);
    WT_TRUE(has_affinity(f->w[0].tid, &f->one));
    atomic_store(&f->w[0].preempted_at, now - 2 * WEFT__WAKE_LATE_NS);
    WT_EQ(weft__unstack_check(u, &f->rt, now), 0); /* looked at once: nothing pending */
    WT_EQ(atomic_load(&f->w[0].preempted_at), 0);
    WT_TRUE(moved_off(f, f->w[0].tid));
    WT_EQ(atomic_load(&f->w[0].n_unstacked), 1);
    atomic_fetch_add(&f->w[0].tick, 1);
    check_restored(f, u, 0);
}

static void test_waker_moved_on_left(void **state)
{
    struct fake *f = *state;
    weft__unstack *u = weft__unstack_new(&f->rt);
    WT_NONNULL(u);
    uint64_t now = weft_now();
    /* It ran another task since the stamp: dropped at once, no look, nothing due. */
    atomic_store(&f->w[0].preempted_tick, atomic_load(&f->w[0].tick) - 1);
    atomic_store(&f->w[0].preempted_at, now - 2 * WEFT__WAKE_LATE_NS);
    WT_EQ(weft__unstack_check(u, &f->rt, now), 0);
    WT_EQ(atomic_load(&f->w[0].preempted_at), 0);
    /* It parked (a waker handing work over): dropped too, even before it is late. */
    atomic_store(&f->w[0].preempted_tick, atomic_load(&f->w[0].tick));
    atomic_store(&f->w[0].parked, true);
    atomic_store(&f->w[0].preempted_at, now - 1000);
    WT_EQ(weft__unstack_check(u, &f->rt, now), 0);
    WT_EQ(atomic_load(&f->w[0].preempted_at), 0);
    atomic_store(&f->w[0].parked, false);
    WT_TRUE(has_affinity(f->w[0].tid, &f->one));
    WT_EQ(atomic_load(&f->w[0].n_unstacked), 0);
    weft__unstack_free(u);
}

/* The woken worker's side: it stamps its waker only when it runs on the waker's CPU. */
static void test_woken_stamps_waker_on_its_cpu(void **state)
{
    struct fake *f = *state;
    cpu_set_t mine;
    WT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
    WT_EQ(sched_setaffinity(0, sizeof f->one, &f->one), 0); /* this thread plays worker 1 */
    weft__rt_cur = &f->rt;
    f->w[1].index = 1;
    atomic_store(&f->w[0].tick, 7);
    atomic_store(&f->w[1].woken_by, 0);
    atomic_store(&f->w[1].woken_cpu, f->cpu == 0 ? 1 : 0); /* elsewhere: no stamp */
    weft__unstack_woken(&f->w[1]);
    WT_EQ(atomic_load(&f->w[0].preempted_at), 0);
    atomic_store(&f->w[1].woken_cpu, f->cpu); /* on the waker's CPU: stamped */
    uint64_t before = weft_now();
    weft__unstack_woken(&f->w[1]);
    WT_GE(atomic_load(&f->w[0].preempted_at), before);
    WT_EQ(atomic_load(&f->w[0].preempted_tick), 7);
    atomic_store(&f->w[0].preempted_at, 0);
    atomic_store(&f->w[1].woken_by, -1); /* a plain thread's kick: no waker to stamp */
    weft__unstack_woken(&f->w[1]);
    WT_EQ(atomic_load(&f->w[0].preempted_at), 0);
    weft__rt_cur = NULL;
    WT_EQ(sched_setaffinity(0, sizeof mine, &mine), 0);
}

/* ---- the monitor's scheduling policy (monitor.c) ---------------------------------- */

static void *try_fifo(void *arg)
{
    (void)arg;
    struct sched_param sp = {.sched_priority = 1};
    return (void *)(intptr_t)(sched_setscheduler(0, SCHED_FIFO, &sp) == 0);
}

static int policy_seen;

/* The monitor's thread id, 0 if no thread is called weft-monitor. */
static pid_t monitor_tid(void)
{
    pid_t tid = 0;
    DIR *d = opendir("/proc/self/task");
    WT_NONNULL(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        if (fgets(comm, sizeof comm, fp) && strncmp(comm, "weft-monitor", 12) == 0)
            tid = atoi(e->d_name);
        fclose(fp);
    }
    closedir(d);
    return tid;
}

/* The monitor's policy, or -1 if no thread is called weft-monitor. */
static int monitor_policy(void)
{
    pid_t tid = monitor_tid();
    return tid ? sched_getscheduler(tid) & ~SCHED_RESET_ON_FORK : -1;
}

static void *read_monitor_policy(void *arg)
{
    (void)arg;
    /* The monitor sets its policy, then its name, as it starts: wait for the name. */
    for (int i = 0; i < 2000 && (policy_seen = monitor_policy()) < 0; i++)
        WT_OK(weft_sleep(WT_MS));
    return NULL;
}

static void test_monitor_policy(void **state)
{
    (void)state;
    pthread_t th;
    void *ok = NULL;
    WT_EQ(pthread_create(&th, NULL, try_fifo, NULL), 0);
    WT_EQ(pthread_join(th, &ok), 0);
    weft_config cfg = {.workers = 2};
    WT_EQ(weft_run(&cfg, read_monitor_policy, NULL, NULL), 0);
    print_message("      monitor policy %d (SCHED_FIFO permitted: %s)\n", policy_seen,
                  ok ? "yes" : "no");
    WT_EQ(policy_seen, ok ? SCHED_FIFO : SCHED_OTHER);
    WT_EQ(setenv("WEFT_MONITOR_RT", "0", 1), 0);
    WT_EQ(weft_run(&cfg, read_monitor_policy, NULL, NULL), 0);
    unsetenv("WEFT_MONITOR_RT");
    WT_EQ(policy_seen, SCHED_OTHER);
}

/* Where the monitor may run without SCHED_FIFO (monitor.c, placement): while one worker
 * spins in a task and the other is parked, anywhere but the spinning worker's CPU; once
 * both are parked (seen by a plain thread: a task looking would be running), anywhere. */
struct placed {
    cpu_set_t full, want;  /* the allowed set; it minus the spinning worker's run_cpu */
    int spin_cpu;          /* that worker's run_cpu */
    bool seen_spinning;    /* the monitor had `want` while the task spun */
    atomic_bool full_idle; /* the monitor had the full set while both workers slept */
    /* the runtime's parked count, published by the task for the plain thread */
    _Atomic(_Atomic unsigned *) nparked;
    atomic_bool done; /* weft_run returned */
};

static bool monitor_has(pid_t tid, const cpu_set_t *set)
{
    cpu_set_t got;
    CPU_ZERO(&got);
    return sched_getaffinity(tid, sizeof got, &got) == 0 && CPU_EQUAL(&got, set);
}

static void *placed_main(void *arg)
{
    struct placed *p = arg;
    weft__rt *rt = weft__rt_cur;
    pid_t mon = 0;
    for (int i = 0; i < 2000 && !(mon = monitor_tid()); i++)
        WT_OK(weft_sleep(WT_MS));
    WT_NE(mon, 0);
    /* Spin on this worker until the monitor, looking every period while the other
     * worker is parked, has left this worker's CPU (or 2 s pass). */
    weft__worker *me = weft__worker_self();
    unsigned other = me->index ^ 1;
    uint64_t end = weft_now() + 2000 * WT_MS;
    while (weft_now() < end && !p->seen_spinning) {
        if (!atomic_load(&rt->workers[other].parked))
            continue;
        int c = atomic_load(&me->run_cpu);
        if (c < 0)
            continue;
        p->spin_cpu = c;
        p->want = p->full;
        CPU_CLR(c, &p->want);
        p->seen_spinning = monitor_has(mon, &p->want);
    }
    return NULL;
}

static void *watch_idle(void *arg)
{
    struct placed *p = arg;
    pid_t mon = 0;
    while (!atomic_load(&p->full_idle) && !atomic_load(&p->done)) {
        _Atomic unsigned *nparked = atomic_load(&p->nparked);
        if (!mon)
            mon = monitor_tid();
        else if (nparked && atomic_load(nparked) == 2)
            atomic_store(&p->full_idle, monitor_has(mon, &p->full));
        usleep(500);
    }
    return NULL;
}

static void *placed_then_sleep(void *arg)
{
    struct placed *p = arg;
    placed_main(p);
    atomic_store(&p->nparked, &weft__rt_cur->nparked);
    /* Both workers parked for up to 2 s while watch_idle (a plain thread) looks. */
    for (int i = 0; i < 200 && !atomic_load(&p->full_idle); i++)
        WT_OK(weft_sleep(10 * WT_MS));
    return NULL;
}

static void test_monitor_placement(void **state)
{
    (void)state;
    struct placed p = {0};
    WT_EQ(sched_getaffinity(0, sizeof p.full, &p.full), 0);
    if (CPU_COUNT(&p.full) < 2) {
        print_message("      one allowed CPU: nowhere else to sleep\n");
        skip();
    }
    WT_EQ(setenv("WEFT_MONITOR_RT", "0", 1), 0);
    pthread_t th;
    WT_EQ(pthread_create(&th, NULL, watch_idle, &p), 0);
    weft_config cfg = {.workers = 2};
    WT_EQ(weft_run(&cfg, placed_then_sleep, &p, NULL), 0);
    atomic_store(&p.done, true);
    WT_EQ(pthread_join(th, NULL), 0);
    unsetenv("WEFT_MONITOR_RT");
    print_message("      spinning worker's CPU %d: monitor kept off it %s, full set while "
                  "idle %s\n",
                  p.spin_cpu, p.seen_spinning ? "yes" : "no",
                  atomic_load(&p.full_idle) ? "yes" : "no");
    WT_TRUE(p.seen_spinning);
    WT_TRUE(atomic_load(&p.full_idle));
}

static void test_pinned_off(void **state)
{
    struct fake *f = *state;
    f->rt.pin = true;
    atomic_store(&f->rt.watch_wakes, false);
    assert_null(weft__unstack_new(&f->rt));
    WT_FALSE(atomic_load(&f->rt.watch_wakes));
    f->rt.pin = false;
    /* NULL is accepted everywhere. */
    WT_EQ(weft__unstack_check(NULL, &f->rt, weft_now()), 0);
    weft__unstack_stuck(NULL, &f->rt, 0);
    weft__unstack_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stuck_worker_moved, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_late_wake_moved, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_alone_or_asleep_left, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_preempted_waker_moved, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_waker_moved_on_left, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_woken_stamps_waker_on_its_cpu, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_pinned_off, fake_setup, fake_teardown),
        cmocka_unit_test(test_monitor_policy),
        cmocka_unit_test(test_monitor_placement),
    };
    return WT_RUN_GROUP(tests);
}
