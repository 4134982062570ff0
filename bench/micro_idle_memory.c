/* idle_memory: 100,000 tasks all blocked in weft_chan_recv on one channel nobody writes
 * (Go: <-chan, Tokio: Notify::notified()). Each task bumps a counter before blocking;
 * main polls with weft_sleep until all have started, sleeps 50 ms more (as the peers
 * do), then reports the VmRSS and VmHWM growth since before the spawns, per task.
 * Then it closes the channel: every task must get -EPIPE and is joined.
 * Units: bytes_per_task_rss (idle_memory) and bytes_per_task_hwm (idle_memory_hwm). */
#include "bench_util.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#define IM_N 100000u

struct im {
    weft_chan *ch;
    atomic_uint started;
    long rss_kb, hwm_kb; /* deltas */
};

static void *im_task(void *p)
{
    struct im *s = p;
    unsigned char b;
    atomic_fetch_add_explicit(&s->started, 1, memory_order_relaxed);
    int rc = weft_chan_recv(s->ch, &b);
    return (void *)(intptr_t)rc;
}

static void *im_main(void *p)
{
    struct im *s = p;
    s->ch = weft_chan_new(1, 1);
    if (!s->ch)
        bench_fail("idle_memory: weft_chan_new returned NULL");
    long base = bench_vm_kb("VmRSS");
    long base_hwm = bench_vm_kb("VmHWM");
    /* The handle array is counted in the delta, as the Tokio peer's Vec of JoinHandles. */
    weft_task **tasks = malloc(IM_N * sizeof *tasks);
    if (!tasks)
        bench_fail("idle_memory: out of memory");
    for (unsigned i = 0; i < IM_N; i++) {
        tasks[i] = weft_spawn(im_task, s);
        if (!tasks[i])
            bench_fail("idle_memory: weft_spawn returned NULL at task %u", i);
    }
    uint64_t t0 = bench_now_ns();
    while (atomic_load_explicit(&s->started, memory_order_relaxed) < IM_N) {
        bench_check(weft_sleep(1 * WEFT_NS_PER_MS), "idle_memory: weft_sleep");
        if (bench_now_ns() - t0 > 60 * WEFT_NS_PER_SEC)
            bench_fail("idle_memory: only %u of %u tasks started after 60 s",
                       atomic_load(&s->started), IM_N);
    }
    bench_check(weft_sleep(50 * WEFT_NS_PER_MS), "idle_memory: weft_sleep");
    s->rss_kb = bench_vm_kb("VmRSS") - base;
    s->hwm_kb = bench_vm_kb("VmHWM") - base_hwm;

    if (weft_chan_len(s->ch) != 0)
        bench_fail("idle_memory: the channel is not empty");
    weft_chan_close(s->ch);
    for (unsigned i = 0; i < IM_N; i++) {
        void *res = NULL;
        bench_check(weft_join(tasks[i], &res), "idle_memory: weft_join");
        if ((intptr_t)res != -EPIPE)
            bench_fail("idle_memory: task %u: weft_chan_recv returned %ld, want -EPIPE", i,
                       (long)(intptr_t)res);
    }
    free(tasks);
    weft_chan_free(s->ch);
    return NULL;
}

void bench_idle_memory(unsigned workers)
{
    struct im s;
    s.ch = NULL;
    atomic_init(&s.started, 0);
    s.rss_kb = s.hwm_kb = 0;
    unsigned w = bench_run(workers, im_main, &s, NULL);
    bench_out("idle_memory", w, (double)s.rss_kb * 1024.0 / IM_N, "bytes_per_task_rss");
    bench_out("idle_memory_hwm", w, (double)s.hwm_kb * 1024.0 / IM_N, "bytes_per_task_hwm");
}
