/* weft — idle workers: searching for work, parking in the io_uring, waking.
 *
 * Protocol (Tokio's "searching" rule, Go's spinning Ms):
 *  1. A worker out of local work becomes a searcher if fewer than half the workers
 *     (at least one) are searching. A searcher steals about half of a random victim's
 *     queue and spins for up to WEFT_SPIN_US (default 50 µs): waking a halted vCPU
 *     costs ~21 µs on the VMs we measure on, so a short spin is far cheaper than a park
 *     and a wake.
 * 1a. It steals from a victim's queue only once the task at its head has waited
 *     WEFT_STEAL_AGE_US (default 20 µs), or when the victim's backlog would take longer
 *     than that at the pace seen (queue_stale below); Go likewise lets a running P keep
 *     its runnext for 3 µs. The next slot is taken only from a stuck worker (step 6).
 * 1b. For MOVED_HOLD_NS after a task was moved to a worker on purpose (migrate.c: a
 *     channel or a mutex gathered the tasks that fought over it there; counted from
 *     the move, not from when the owner takes it in), its queue is stolen from only
 *     once its head waited MOVED_STEAL_AGE_NS, and after a steal what is left waits
 *     its own age: stealing them back would only restart the fight. Its inbox, which
 *     thieves take only behind a stuck worker (step 6), is left alone until
 *     MOVED_STEAL_AGE_NS after the last move: a task that takes a mutex in a loop runs
 *     for milliseconds without suspending, and taking back the tasks gathered behind
 *     it each time the monitor finds it stuck kept lock-only tasks fighting (test_sync
 *     mutex_gathers, 8 tasks: one worker made 50-84 % of the acquisitions instead of
 *     95-99 %).
 * 1c. The spin adapts per worker: a search that ends in a park halves the next one's
 *     limit, one that finds work doubles it (plus 1 µs), up to WEFT_SPIN_US. A worker
 *     woken for work its owner runs at once (I/O servers: completions queue tasks on
 *     their own worker, which wakes the idle one) stops burning the CPU the rest of the
 *     machine needs: on the 2-vCPU VM with the load generator on the same CPUs,
 *     weft-httpd -w 2 went from 55-68k to 69-82k req/s and the echo server from 63-75k
 *     to 77-81k msg/s.
 *  2. A searcher that finds work stops searching; if it was the last searcher it wakes a
 *     parked worker, so work keeps spreading without a thundering herd.
 *  3. Parking: set `parked` and count it (seq_cst), then re-check every queue — a pusher
 *     either sees the count or its task is seen here. Then wait in
 *     io_uring_submit_and_wait_timeout with the nearest timer as the timeout (under
 *     valgrind, which holds its global lock through that call, in nanosleep for at most
 *     1 ms instead: park_wait_valgrind).
 *  4. Waking: whoever flips `parked` from true to false owns the wake-up: it decrements
 *     nparked and writes the worker's eventfd, whose read is armed in that worker's ring
 *     (sticky: a write before the worker sleeps makes its wait return at once).
 *     MSG_RING would avoid the fd, but an eventfd works from any thread and on every
 *     kernel; research/design.md measured both within noise of each other here.
 *  5. Pushers call weft__notify_parked(): a relaxed look at nparked, and only if someone
 *     is parked a fence and a wake. The rare race this leaves (a worker parks just as
 *     the pusher looked) is closed by the monitor thread, which wakes a parked worker
 *     when another has queued work (monitor.c).
 * 5a. Completions and timer expiries are the exception (io/uring.c weft__io_reap,
 *     runtime/timer.c weft__timers_run): they queue their tasks on the worker that
 *     reaped or fired them without a wake-up each, and a parked worker is woken only
 *     once two or more tasks are queued there (next slot included): that worker runs
 *     the first itself at once. The reaper looks once, after the batch; the timer loop
 *     as soon as the second task is queued (waking after a batch of 16 expiries made
 *     the woken worker steal half of them every round: +24 % CPU in `weft_micro
 *     sleep_wake`). Likewise a searcher whose own completions or timers gave it work
 *     wakes nobody unless a second task is queued. A task sleeping in a loop on two
 *     workers used to wake the idle one at every expiry (test_time quiet_timer: 400
 *     parks in 400 sleeps, now none; CPU per 100 µs sleep 85-106 -> 35-40 µs). On the echo
 *     server at two workers (64 connections, ~80k msg/s) a wake per completion woke the
 *     other worker for nothing it could take; without that, server CPU per message went
 *     from 14.3 to 12.4-12.8 µs and weft-httpd's per request from 18.3 to 16.2 µs
 *     (medians of 5-6 alternated runs; 59.1k -> 65.5k req/s under wrk -c256).
 *  6. A parked worker's next-task slot is empty (it runs it before parking). A stuck
 *     worker's next slot and inbox become stealable once the monitor has marked it
 *     stuck (the inbox after step 1b's wait).
 *  7. Packing. Spreading pays when each worker has a CPU; when other processes leave
 *     fewer CPUs than workers (runtime/cpuload.c measures it; WEFT_PACK), the workers
 *     take turns on the CPUs that are left, and each turn is a wake-up, a few
 *     microseconds of work and a park. Then:
 *     a. a worker back from a park with at most PACK_MAX tasks queued by its own
 *        completions or timers hands them to a worker that is running a task (its
 *        inbox, migrate.c; the one with the shortest queue), if at least as many
 *        others run as CPUs are left (cpuload.c), and parks again; their next I/O is
 *        submitted on the new worker's ring, so connections move there;
 *     b. a queue is stolen from only once its head stood still PACK_STEAL_AGE_NS
 *        (no pace rule), or at once behind a worker the monitor found stuck;
 *     c. nobody spins: a search is one look; park() does not count other workers'
 *        queues as work (the monitor kicks a parked worker when a queue stands still
 *        for a period, or its owner is stuck);
 *     d. completions, timers and inboxes wake no parked worker for a second task.
 *     Echo server at -w 2 on the 2-vCPU VM with its load generator beside it: 82-89k
 *     msg/s without, 108-126k with (the -w 1 figure), Tokio 103-115k.
 */
#include "io/internal.h"
#include "runtime/internal.h"

#include <errno.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

/* Step 1b. */
#define MOVED_HOLD_NS 10000000ull
#define MOVED_STEAL_AGE_NS 500000ull

/* Step 7. */
#define PACK_STEAL_AGE_NS 1000000ull
enum { PACK_MAX = 8, PACK_QUEUE_MAX = 256 };

/* Step 1c: a search that found work lets the next spin longer, up to WEFT_SPIN_US. */
static void spin_paid(weft__rt *rt, weft__worker *w)
{
    uint64_t n = 2 * w->spin_ns + 1000;
    w->spin_ns = n < rt->spin_ns ? n : rt->spin_ns;
}

static bool moved_hold(weft__worker *v, uint64_t now)
{
    return now - atomic_load_explicit(&v->moved_in_at, memory_order_relaxed) < MOVED_HOLD_NS;
}

/* The monitor found v stuck in one task (monitor.c step 1). */
static bool stuck(weft__worker *v)
{
    return atomic_load_explicit(&v->stuck_tick, memory_order_relaxed) ==
           atomic_load_explicit(&v->tick, memory_order_relaxed);
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Metrics: ticks spent searching since s0 (stats.c; owner-written). */
static void search_time(weft__worker *w, uint64_t s0)
{
    uint64_t d = weft__clock_raw() - s0;
    atomic_store_explicit(&w->t_search,
                          atomic_load_explicit(&w->t_search, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

static bool begin_search(weft__rt *rt, weft__worker *w)
{
    unsigned n = atomic_load(&rt->nsearching);
    do {
        if (2 * n >= rt->nworkers && n > 0)
            return false;
    } while (!atomic_compare_exchange_weak(&rt->nsearching, &n, n + 1));
    w->searching = true;
    return true;
}

/* Returns true when w was the last searcher. */
static bool end_search(weft__rt *rt, weft__worker *w)
{
    if (!w->searching)
        return false;
    w->searching = false;
    return atomic_fetch_sub(&rt->nsearching, 1) == 1;
}

/* Step 1a: is v's queue worth stealing from now? Only when the task at its head has
 * waited steal_age_ns, or when the victim, at the pace seen since our last look, would
 * need longer than that for its backlog. Otherwise the victim reaches its tasks soon
 * enough itself: a steal would only move them away from their cache and from the tasks
 * they exchange data with. Every runnable task stays stealable; it is only a matter of
 * how soon. The thief pays for this (a clock read per look), never the victim. */
static bool queue_stale(weft__rt *rt, weft__worker *w, weft__worker *v)
{
    ck_ring_t *r = &v->runq.ring;
    unsigned c = ck_pr_load_uint(&r->c_head);
    unsigned backlog = ck_pr_load_uint(&r->p_tail) - c;
    __typeof__(w->seen[0]) *s = &w->seen[v->index & 7];
    if (backlog == 0 || backlog > r->mask) {
        if (s->victim == v->index)
            s->t = 0;
        return false;
    }
    bool pack = weft__packing(rt);
    if (rt->steal_age_ns == 0 && !pack)
        return true;
    /* Packing (step 7) leaves a queue alone longer, but not behind a worker the
     * monitor found stuck in one task. */
    if (pack && stuck(v))
        return true;
    uint64_t now = weft_now();
    uint64_t age = rt->steal_age_ns;
    /* Packing (step 7): only a queue that stood still this long is helped. */
    if (pack && age < PACK_STEAL_AGE_NS)
        age = PACK_STEAL_AGE_NS;
    /* Tasks were moved to v on purpose lately (migrate.c): leave it alone longer. */
    if (moved_hold(v, now) && age < MOVED_STEAL_AGE_NS)
        age = MOVED_STEAL_AGE_NS;
    if (s->t == 0 || s->victim != v->index) {
        s->victim = v->index;
        s->head = c;
        s->t = now;
        return false;
    }
    uint64_t waited = now - s->t;
    if (c == s->head || pack)
        return c == s->head && waited >= age;
    bool slow = (uint64_t)backlog * waited >= (uint64_t)(c - s->head) * age;
    s->head = c;
    s->t = now;
    return slow;
}

static weft_task *steal_round(weft__rt *rt, weft__worker *w)
{
    unsigned n = rt->nworkers;
    unsigned start = xorshift(&w->rand) % n;
    for (unsigned i = 0; i < n; i++) {
        weft__worker *v = &rt->workers[(start + i) % n];
        if (v == w)
            continue;
        weft_task *t = queue_stale(rt, w, v) ? weft__runq_steal(w, v) : NULL;
        if (t) {
            /* What is left has waited as long: unless the victim moves on, the next
             * look takes more at once; not while v holds tasks gathered on purpose
             * (step 1b): then what is left must wait its own age. */
            w->seen[v->index & 7].head = ck_pr_load_uint(&v->runq.ring.c_head);
            uint64_t now = weft_now();
            if (moved_hold(v, now))
                w->seen[v->index & 7].t = now;
            return t;
        }
        /* A worker stuck in one task for a monitor period gives up its next slot and
         * the tasks sent to it (migrate.c). */
        if (!stuck(v))
            continue;
        if (atomic_load_explicit(&v->next, memory_order_relaxed) &&
            (t = atomic_exchange_explicit(&v->next, NULL, memory_order_acquire))) {
            atomic_fetch_add_explicit(&w->n_steals, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&v->n_stolen, 1, memory_order_relaxed);
            WEFT_TRACE(WEFT_EV_STEAL, 0, v->index, 0, 1, 0);
            return t;
        }
        /* ... but tasks moved there on purpose stay while moves keep coming (step 1b) */
        if (weft__inbox_nonempty(v) &&
            weft_now() - atomic_load_explicit(&v->moved_in_at, memory_order_relaxed) >=
                MOVED_STEAL_AGE_NS &&
            (t = weft__inbox_steal(w, v)))
            return t;
    }
    return weft__inject_pop_batch(w);
}

static bool work_visible(weft__rt *rt, weft__worker *w)
{
    if (weft__inject_len())
        return true;
    /* Packing (step 7): other workers' queues wait for their owners, or for the
     * monitor's kick once one stands still; looking again and again would take the
     * CPU the others need. */
    if (weft__packing(rt))
        return weft__runq_len(&w->runq) != 0;
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (weft__runq_len(&rt->workers[i].runq))
            return true;
    return false;
}

static void arm_wake_read(weft__worker *w)
{
    if (w->wake_armed)
        return;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (!sqe)
        return; /* the ring is full; the next park arms it */
    io_uring_prep_read(sqe, w->wake_fd, &w->wake_buf, sizeof w->wake_buf, 0);
    io_uring_sqe_set_data64(sqe, WEFT_IO_TAG_WAKE);
    w->wake_armed = true;
}

/* Step 7: the worker is back from a park with at most PACK_MAX tasks its own
 * completions or timers woke. When as many other workers are running tasks as there
 * are CPUs left to the process (rt->pack_active), the one with the shortest queue
 * takes them instead: the running workers stay about as many as the CPUs. */
static void pack_handover(weft__rt *rt, weft__worker *w)
{
    unsigned q = weft__queued_local(w);
    if (q == 0 || q > PACK_MAX || atomic_load(&rt->stopping))
        return;
    weft__worker *to = NULL;
    unsigned running = 0, best = PACK_QUEUE_MAX;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        weft__worker *v = &rt->workers[i];
        if (v == w || !atomic_load_explicit(&v->current, memory_order_relaxed) ||
            atomic_load_explicit(&v->parked, memory_order_relaxed))
            continue;
        running++;
        unsigned len = weft__runq_len(&v->runq);
        if (len < best) {
            best = len;
            to = v;
        }
    }
    if (!to || running < atomic_load_explicit(&rt->pack_active, memory_order_relaxed))
        return;
    weft_task *t;
    unsigned n = 0;
    while ((t = weft__runq_pop(&w->runq))) {
        weft__inbox_push(to, t);
        n++;
    }
    if (atomic_load_explicit(&w->next, memory_order_relaxed) &&
        (t = atomic_exchange_explicit(&w->next, NULL, memory_order_acquire))) {
        weft__inbox_push(to, t);
        n++;
    }
    atomic_fetch_add_explicit(&w->n_handed, n, memory_order_relaxed);
}

/* It runs: a waker's stamp is taken up (unstack.c). True if there was one. */
static inline bool clear_woken(weft__worker *w)
{
    if (!atomic_load_explicit(&w->woken_at, memory_order_relaxed))
        return false;
    atomic_store_explicit(&w->woken_at, 0, memory_order_relaxed);
    return true;
}

/* park's wait under valgrind (run.c, under_valgrind), which holds its global lock
 * through io_uring_enter and runs a thread that got it back on until its time slice ends:
 * a worker parked in its ring kept the others from running for up to a second (a
 * 100-ms timer of theirs fired after 1 s). So submit without waiting, and sleep outside
 * the ring, at most park_max_ns; park's caller looks again, as after any wake-up. */
static void park_wait_valgrind(weft__rt *rt, weft__worker *w, const struct __kernel_timespec *tsp)
{
    io_uring_submit(&w->ring);
    if (io_uring_cq_ready(&w->ring))
        return;
    uint64_t d = rt->park_max_ns;
    uint64_t due = tsp ? (uint64_t)tsp->tv_sec * 1000000000u + (uint64_t)tsp->tv_nsec : d;
    if (due < d)
        d = due;
    struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
    nanosleep(&ts, NULL);
}

static void park(weft__rt *rt, weft__worker *w)
{
    clear_woken(w);
    atomic_store(&w->parked, true);
    atomic_fetch_add(&rt->nparked, 1);
    /* Cancels other workers asked for go in before we sleep. Handing them over wakes
     * the waiting tasks (into this worker's next slot), so this comes before the
     * checks below: a parked worker must have nothing runnable of its own. */
    if (atomic_load_explicit(&w->cancel_pending, memory_order_relaxed))
        weft__io_poll(w);
    if (work_visible(rt, w) || atomic_load(&rt->stopping) || atomic_load(&w->next) ||
        atomic_load(&w->inbox)) {
        if (atomic_exchange(&w->parked, false))
            atomic_fetch_sub(&rt->nparked, 1);
        return;
    }
    atomic_fetch_add_explicit(&w->n_parks, 1, memory_order_relaxed);
    /* Someone is idle now: stuck workers become worth watching, if any worker is still
     * running (counted above, so this sees itself). When all are parked, the monitor
     * would wake only to find that and sleep again: a wasted thread wake-up per park,
     * on every park of a one-worker runtime. */
    if (atomic_load(&rt->nparked) < rt->nworkers)
        weft__monitor_poke();
    uint64_t due = w->timers.len ? weft__timers_run(w, weft_now()) : UINT64_MAX;
    if (atomic_load(&w->next) || weft__runq_len(&w->runq)) { /* a timer woke a task */
        if (atomic_exchange(&w->parked, false))
            atomic_fetch_sub(&rt->nparked, 1);
        return;
    }
    arm_wake_read(w);
    if (WEFT_TRACE_ON()) {
        unsigned ready = io_uring_sq_ready(&w->ring);
        if (ready > 1 || (ready == 1 && w->io_inflight)) /* not just the wake read */
            weft__trace_ev(WEFT_EV_IO_SUBMIT, 0, 0, 0, ready, 0);
        weft__trace_ev(WEFT_EV_PARK, 0, 0, 0, 0, 0);
    }
    struct __kernel_timespec ts, *tsp = NULL;
    if (due != UINT64_MAX) {
        uint64_t now = weft_now();
        uint64_t d = due > now ? due - now : 0;
        ts.tv_sec = (long long)(d / 1000000000u);
        ts.tv_nsec = (long long)(d % 1000000000u);
        tsp = &ts;
    }
    uint64_t t0 = weft__clock_raw();
    if (rt->park_max_ns) {
        park_wait_valgrind(rt, w, tsp);
    } else {
        struct io_uring_cqe *cqe;
        int rc = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, tsp, NULL);
        (void)rc; /* -ETIME on timeout, -EINTR on a signal: either way look again */
    }
    uint64_t t1 = weft__clock_raw();
    atomic_store_explicit(&w->t_idle,
                          atomic_load_explicit(&w->t_idle, memory_order_relaxed) + (t1 - t0),
                          memory_order_relaxed);
    WEFT_TRACE(WEFT_EV_UNPARK, 0, 0, 0, 0, 0);
    atomic_store_explicit(&w->run_cpu, sched_getcpu(), memory_order_relaxed);
    weft__io_reap(w);
    if (atomic_exchange(&w->parked, false))
        atomic_fetch_sub(&rt->nparked, 1);
    /* After the exchange: a waker that won it stamped before. */
    if (clear_woken(w))
        weft__unstack_woken(w);
    /* Back to work while others sleep, and the monitor perhaps sleeping its slow period:
     * not poked here (with the monitor SCHED_FIFO that was +7 µs CPU per timer wake of a
     * lone task, bench sleep_wake). What can strand a task pokes it then: waking another
     * worker (weft__worker_wake), or a task filling the next slot (poke_on_next). */
    weft__monitor_unparked(w);
    if (w->timers.len)
        weft__timers_run(w, weft_now());
    if (weft__packing(rt))
        pack_handover(rt, w);
}

weft_task *weft__idle(weft__worker *w)
{
    weft__rt *rt = weft__rt_cur;
    if (rt->nworkers > 1 && begin_search(rt, w)) {
        uint64_t t0 = 0;
        WEFT_TRACE(WEFT_EV_SEARCH, 0, 0, 0, 0, 0);
        uint64_t s0 = weft__clock_raw();
        for (unsigned spin = 0;; spin++) {
            weft_task *t = weft__inbox_nonempty(w) ? weft__inbox_take(w) : NULL;
            if (!t)
                t = steal_round(rt, w);
            if (t) {
                spin_paid(rt, w);
                search_time(w, s0);
                if (end_search(rt, w))
                    weft__notify_parked();
                return t;
            }
            if (atomic_load_explicit(&rt->stopping, memory_order_relaxed))
                break;
            if ((spin & 15) == 0) {
                if (weft__io_busy(w)) {
                    weft__io_poll(w);
                    if ((t = weft__find_work(w))) {
                        spin_paid(rt, w);
                        search_time(w, s0);
                        /* Its own completions: only work left beyond t is worth
                         * a wake-up (step 5a). */
                        if (end_search(rt, w))
                            (void)weft__notify_beyond(w, 0);
                        return t;
                    }
                }
                uint64_t now = weft_now();
                if (!t0)
                    t0 = now;
                else if (now - t0 > w->spin_ns || weft__packing(rt))
                    break; /* packing: the CPU is wanted elsewhere (step 7) */
                if (w->timers.len) {
                    weft__timers_run(w, now);
                    if ((t = weft__find_work(w))) {
                        spin_paid(rt, w);
                        search_time(w, s0);
                        /* Its own timers: likewise (step 5a). */
                        if (end_search(rt, w))
                            (void)weft__notify_beyond(w, 0);
                        return t;
                    }
                }
            }
            __builtin_ia32_pause();
        }
        /* The last searcher to give up re-checks the queues after leaving the count
         * (park() below re-checks too, after counting itself parked). */
        w->spin_ns /= 2; /* spinning did not pay: spin less next time (step 1c) */
        search_time(w, s0);
        end_search(rt, w);
    }
    weft_task *t = weft__find_work(w);
    if (t)
        return t;
    if (atomic_load(&rt->stopping))
        return NULL;
    park(rt, w);
    return weft__find_work(w);
}

void weft__worker_wake(weft__worker *w)
{
    uint64_t one = 1;
    weft__worker *self = weft__worker_self();
    if (self)
        WEFT_TRACE_STALE(self); /* a syscall: not part of the next run in the trace */
    /* The monitor moves it if it gets no CPU (unstack.c): stamp, then make sure the
     * monitor watches (seq_cst store, pairs with monitor_sleep's re-check). */
    if (atomic_load_explicit(&weft__rt_cur->watch_wakes, memory_order_relaxed)) {
        atomic_store_explicit(&w->woken_by, self ? (int)self->index : -1, memory_order_relaxed);
        atomic_store_explicit(&w->woken_cpu, self ? sched_getcpu() : -1, memory_order_relaxed);
        atomic_store(&w->woken_at, weft_now());
        /* Before the write: the woken thread may preempt this one right in it. */
        weft__monitor_poke();
    }
    (void)!write(w->wake_fd, &one, sizeof one);
}

void weft__notify_parked(void)
{
    weft__rt *rt = weft__rt_cur;
    if (atomic_load_explicit(&rt->nparked, memory_order_relaxed) == 0)
        return;
    /* StoreLoad: our queue push before the reads of nsearching/parked (step 3). */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load(&rt->nsearching) != 0)
        return;
    /* Not the caller: a worker about to park is already counted as parked when it runs
     * its timers (park, step 3), and a wake-up meant for another worker would land on
     * itself and leave the other asleep. */
    weft__worker *self = weft__worker_self();
    unsigned n = rt->nworkers;
    for (unsigned i = 0; i < n; i++) {
        weft__worker *v = &rt->workers[i];
        if (v != self && atomic_load_explicit(&v->parked, memory_order_relaxed) &&
            atomic_exchange(&v->parked, false)) {
            atomic_fetch_sub(&rt->nparked, 1);
            weft__worker_wake(v);
            return;
        }
    }
}

void weft__worker_wake_all(void)
{
    weft__rt *rt = weft__rt_cur;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        weft__worker *v = &rt->workers[i];
        if (atomic_exchange(&v->parked, false))
            atomic_fetch_sub(&rt->nparked, 1);
        weft__worker_wake(v);
    }
}
