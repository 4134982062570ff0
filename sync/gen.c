/* weft — async generators: a task handing values to its consumer, one at a time.
 *
 * Consumer C and generator task G take turns, like Python's: G runs only between C's
 * request and G's next yield. `phase` says whose turn it is:
 *   IDLE  → REQ    C asks for a value (weft_gen_next);
 *   REQ   → VALUE  G yields one (weft_gen_yield);
 *   VALUE → IDLE   C takes it;
 *   any   → DONE   G's function returned (status in `status`).
 *
 * Protocol (runtime/worker.c has the direct hand-off; park.c the park rules):
 *  1. C stores itself in `waiter`, then REQ (release). If G is PARKED it takes G
 *     (weft__task_acquire) and switches straight to it; with no deadline to honour it
 *     lends itself (G->lender = C: C stays suspended, no atomic on its state), otherwise
 *     it parks as it leaves, its deadline timer armed. If G is not parked (it is still
 *     on its way to the yield), C wakes it the usual way (weft__unpark).
 *  2. C then waits in a loop: VALUE or DONE ends it; an interruption (cancel, deadline)
 *     ends it too, leaving G alone: G finishes that value, which stays in VALUE for the
 *     next call.
 *  3. G's yield stores the value, then VALUE (release), then claims `waiter` (exchange,
 *     so a wake-up is sent once). A lent C is resumed by a direct switch back; a PARKED
 *     C is taken and switched to; otherwise C is unparked. G leaves by parking
 *     (publish after switch), so a cancel can always reach it, and waits for REQ.
 *  4. Every direct switch is one a waker could have made by queuing the task: who
 *     switches owns the target (it was parked, or lent), so a stack never runs twice.
 *     When G suspends on something else (sleep, I/O) while C is lent, the scheduler
 *     parks C (worker.c step 3) and the path of step 3 here wakes it later.
 *  5. Lost wake-ups: C writes `waiter` before reading `phase`; G writes `phase` before
 *     exchanging `waiter`. In the one case where both run at once (C comes back after an
 *     interruption while G produces), C's store is seq_cst, so one of them sees the
 *     other. Otherwise G only reads `waiter` after seeing REQ, which C wrote after it.
 *  6. Close sets `closing` (seq_cst) and wakes G (a cancel if G is busy producing), then
 *     joins it. G checks `closing` before every wait and after every wake-up.
 *  7. G's steady-state yield lends G back to C (runtime/handoff.h step 3: C->lender = G,
 *     G stays ACTIVE and wakers only leave it a permit) instead of parking it, and C's
 *     next request switches back to the G it holds without taking it from PARKED: no
 *     atomic read-modify-write either way (gen_handoff 21.6 -> 17.5 ns). A task holds
 *     one lender, so G parks as before when C already holds one (nested generators: C
 *     is itself a generator holding its own consumer). C keeps G while it runs on;
 *     when C leaves for the scheduler (waits, yields, returns) the scheduler parks G
 *     (worker.c lenders_release), and C's slow paths and close park it first (unlend),
 *     so a wake-up or a cancel reaches G as usual. A close from another task than C
 *     waits until C calls next or leaves for the scheduler.
 */
#include "runtime/handoff.h"
#include "runtime/internal.h"

#include <errno.h>
#include <stdlib.h>

enum { P_IDLE, P_REQ, P_VALUE, P_DONE };

struct weft_gen {
    weft_task *task; /* G; its handle is joined by weft_gen_close */
    weft_gen_fn fn;
    void *arg;
    _Atomic int phase;
    _Atomic(weft_task *) waiter; /* C waiting in weft_gen_next */
    _Atomic bool closing;
    void *value;
    int status; /* G's outcome, written before DONE */
};

/* One round of either side's wait loop, after its condition was found unmet: the
 * interruption (cancel, deadline) if any, else 0 after parking once (the deadline's
 * timer armed first, once per wait; the caller disarms it). */
static inline int wait_round(weft_task *t, bool *armed)
{
    int rc = weft__interrupted(t);
    if (rc)
        return rc;
    if (!*armed && t->deadline != UINT64_MAX && !t->nointr) {
        weft__timer_arm(t->w, t, t->deadline);
        *armed = true;
    }
    weft__park(t);
    return 0;
}

/* Step 7: a switcher is lent to `to` only if `to` holds no lender yet (a task holds
 * one); otherwise it parks as it leaves. */
static inline uintptr_t lend_or_park(weft_task *to)
{
    return WEFT_LIKELY(!to->lender) ? 0 : WEFT_XFER_PARK;
}

/* ---- the generator's side -------------------------------------------------------- */

/* G waits at a yield (or before its first run) for REQ; first runs `to`, when set, by a
 * direct switch: the task G owns and hands over to. */
static inline __attribute__((always_inline)) int wait_request(weft_gen *g, weft_task *self,
                                                              weft_task *to)
{
    bool armed = false;
    int rc;
    if (WEFT_LIKELY(to)) {
        /* Drop a stale permit, then re-check everything a waker could have announced
         * with it: the consumer may have taken the value early (a spurious wake-up saw
         * VALUE) and already asked for the next one before we took it over, so REQ can
         * be set here. Parking then would lose that request. Otherwise hand over. */
        weft__permit_drop(self);
        if (WEFT_LIKELY(!atomic_load(&g->closing) &&
                        atomic_load_explicit(&g->phase, memory_order_acquire) != P_REQ &&
                        !weft__interrupted(self)))
            weft__switch_direct(self, to, WEFT_XFER_PARK);
        else
            weft__schedule(to, true); /* it re-checks and finds what it waits for */
    }
    for (;;) {
        /* seq_cst: step 6, against close's store then unpark */
        if (atomic_load(&g->closing)) {
            rc = -ECANCELED;
            break;
        }
        if (atomic_load_explicit(&g->phase, memory_order_acquire) == P_REQ) {
            rc = 0;
            break;
        }
        if ((rc = wait_round(self, &armed)))
            break;
    }
    if (armed)
        weft__timer_disarm(self);
    return rc;
}

static void *gen_entry(void *arg)
{
    weft_gen *g = arg;
    weft_task *self = weft__task_self();
    /* Diagnostics (WEFT_DEBUG's slow-task report, stack overflows, traces) name a task
     * by its fn, which task_entry has already called: name the generator's body
     * instead of this wrapper. Never called through this pointer. */
    __atomic_store_n(&self->fn, (weft_fn)(void (*)(void))g->fn, __ATOMIC_RELAXED);
    int rc = wait_request(g, self, NULL);
    if (rc == 0)
        rc = g->fn(g, g->arg);
    if (rc == 0)
        rc = self->status; /* weft_fail */
    g->status = rc;
    atomic_store_explicit(&g->phase, P_DONE, memory_order_release);
    /* A lent consumer only gets a permit here; the scheduler, parking it when this task
     * has finished (worker.c step 3), finds the permit and queues it. */
    weft_task *c = atomic_exchange(&g->waiter, NULL);
    if (c)
        weft__unpark(c);
    return NULL;
}

/* The whole of a yield, every case (steady state inline in weft_gen_yield). */
static __attribute__((noinline)) WEFT_RESUME_RET int yield_full(weft_gen *g, void *value,
                                                                weft_task *self)
{
    if (!g || !self || self != g->task)
        return -EPERM;
    if (atomic_load(&g->closing))
        return -ECANCELED;
    int rc = weft__interrupted(self);
    if (rc)
        return rc;
    g->value = value;
    atomic_store_explicit(&g->phase, P_VALUE, memory_order_release);
    weft_task *to = NULL;
    weft_task *c = self->lender;
    /* Our lender may also be a generator of ours lent back to us (step 7). */
    if (c && c == atomic_load_explicit(&g->waiter, memory_order_relaxed)) {
        /* C is lent to us and waits for exactly this: back to it, no atomics. */
        self->lender = NULL;
        atomic_store_explicit(&g->waiter, NULL, memory_order_relaxed);
        to = c;
    } else if ((c = atomic_exchange(&g->waiter, NULL))) {
        if (weft__direct_ok(self) && weft__task_acquire(c))
            to = c;
        else
            weft__unpark(c);
    }
    return wait_request(g, self, to);
}

/* A yield resumed to anything but the next request: wait_request's loop. */
static __attribute__((noinline)) WEFT_RESUME_RET int yield_wait(weft_gen *g, weft_task *self)
{
    return wait_request(g, self, NULL);
}

/* No deadline, no cancel: weft__interrupted is 0 without reading the clock. */
static inline bool quiet(weft_task *t)
{
    return t->deadline == UINT64_MAX && !atomic_load_explicit(&t->cancelled, memory_order_relaxed);
}

WEFT_RESUME_RET int weft_gen_yield(weft_gen *g, void *value)
{
    weft_task *self = weft__task_self();
    weft_task *c;
    /* The steady state, yield_full's lent case with wait_request's hand-off spelled out
     * so that it needs few registers: C lent to us, nothing to interrupt. */
    if (WEFT_LIKELY(g && self && self == g->task && (c = self->lender) &&
                    c == atomic_load_explicit(&g->waiter, memory_order_relaxed) &&
                    !atomic_load(&g->closing) && quiet(self))) {
        g->value = value;
        atomic_store_explicit(&g->phase, P_VALUE, memory_order_release);
        self->lender = NULL;
        atomic_store_explicit(&g->waiter, NULL, memory_order_relaxed);
        /* A permit dropped may have announced what we wait for: re-check, as
         * wait_request does. */
        if (WEFT_LIKELY(!weft__permit_drop(self) ||
                        (!atomic_load(&g->closing) &&
                         atomic_load_explicit(&g->phase, memory_order_acquire) != P_REQ &&
                         quiet(self))))
            /* Step 7: lent back to C, unless C already holds another task. */
            weft__switch_direct(self, c, lend_or_park(c));
        else
            weft__schedule(c, true);
        if (WEFT_LIKELY(!atomic_load(&g->closing) &&
                        atomic_load_explicit(&g->phase, memory_order_acquire) == P_REQ))
            return 0;
        return yield_wait(g, self);
    }
    return yield_full(g, value, self);
}

/* ---- the consumer's side --------------------------------------------------------- */

/* Step 7: if c holds G lent since G's last yield, parks G as the scheduler would, so
 * the slow paths find it as they always did: PARKED, or queued if woken meanwhile. */
static void unlend(weft_task *c, weft_task *gt)
{
    if (c && c->lender == gt) {
        c->lender = NULL;
        weft__park_finish(gt);
    }
}

static int take(weft_gen *g, void **value)
{
    *value = g->value;
    atomic_store_explicit(&g->phase, P_IDLE, memory_order_release);
    return 0;
}

static int done_status(weft_gen *g)
{
    return g->status ? g->status : -ENODATA;
}

/* The end of every weft_gen_next that made a request. G may not have claimed `waiter`
 * (we saw the phase first, or gave up): it would only wake us spuriously, but a stale
 * pointer must not outlive the call. */
static inline int next_end(weft_gen *g, int rc)
{
    if (atomic_load_explicit(&g->waiter, memory_order_relaxed))
        atomic_store_explicit(&g->waiter, NULL, memory_order_relaxed);
    return rc;
}

/* Step 2: C waits for VALUE or DONE after its request. */
static __attribute__((noinline)) WEFT_RESUME_RET int next_wait(weft_gen *g, void **value,
                                                               weft_task *c, bool armed)
{
    int rc;
    for (;;) {
        int p = atomic_load(&g->phase);
        if (p == P_VALUE) {
            rc = take(g, value);
            break;
        }
        if (p == P_DONE) {
            rc = done_status(g);
            break;
        }
        if ((rc = wait_round(c, &armed)))
            break;
    }
    if (armed)
        weft__timer_disarm(c);
    return next_end(g, rc);
}

/* The whole of weft_gen_next, every case (steady state inline in weft_gen_next). */
static __attribute__((noinline)) WEFT_RESUME_RET int next_full(weft_gen *g, void **value)
{
    if (!g || !value)
        return -EINVAL;
    weft_task *c = weft__task_self();
    if (!c)
        return -EPERM;
    if (c == g->task)
        return -EDEADLK;
    unlend(c, g->task);
    int p = atomic_load_explicit(&g->phase, memory_order_acquire);
    if (p == P_VALUE)
        return take(g, value); /* produced after an earlier call gave up */
    if (p == P_DONE)
        return done_status(g);
    int rc = weft__interrupted(c);
    if (rc)
        return rc;
    bool armed = false;
    if (p == P_IDLE) {
        /* Step 1. G reads waiter only after it sees REQ (release). */
        atomic_store_explicit(&g->waiter, c, memory_order_relaxed);
        atomic_store_explicit(&g->phase, P_REQ, memory_order_release);
        weft_task *gt = g->task;
        if (!weft__direct_ok(c)) {
            weft__unpark_fifo(gt); /* behind the worker's other tasks */
        } else if (weft__task_acquire(gt)) {
            if ((c->deadline == UINT64_MAX || c->nointr) && !gt->lender) {
                weft__switch_direct(c, gt, 0);
            } else {
                /* Parks as it leaves (a deadline to honour, or G holds a lender: step
                 * 7): drop a stale permit first (weft__permit_drop). */
                weft__permit_drop(c);
                rc = weft__interrupted(c);
                if (rc) {
                    weft__schedule(gt, true); /* it produces the value for a later call */
                    return next_end(g, rc);
                }
                if (c->deadline != UINT64_MAX && !c->nointr) {
                    weft__timer_arm(c->w, c, c->deadline);
                    armed = true;
                }
                weft__switch_direct(c, gt, WEFT_XFER_PARK);
            }
        } else {
            weft__unpark(gt);
        }
    } else {
        /* REQ: G is still producing for a call that gave up; step 5's seq_cst store. */
        atomic_store(&g->waiter, c);
    }
    return next_wait(g, value, c, armed);
}

WEFT_RESUME_RET int weft_gen_next(weft_gen *g, void **value)
{
    weft_task *c = weft__task_self();
    /* The steady state, next_full's first case spelled out so that it needs few
     * registers: G parked at its yield, nothing to interrupt us, no deadline. */
    if (WEFT_LIKELY(g && value && c && c != g->task &&
                    atomic_load_explicit(&g->phase, memory_order_acquire) == P_IDLE && quiet(c) &&
                    weft__direct_ok(c))) {
        atomic_store_explicit(&g->waiter, c, memory_order_relaxed);
        atomic_store_explicit(&g->phase, P_REQ, memory_order_release);
        weft_task *gt = g->task;
        if (WEFT_LIKELY(c->lender == gt)) {
            /* Step 7: G is lent to us since its last yield: ours to run, no atomic. */
            c->lender = NULL;
            weft__switch_direct(c, gt, lend_or_park(gt));
        } else if (WEFT_LIKELY(weft__task_acquire(gt))) {
            weft__switch_direct(c, gt, lend_or_park(gt));
        } else {
            weft__unpark(gt);
        }
        if (WEFT_LIKELY(atomic_load(&g->phase) == P_VALUE))
            return next_end(g, take(g, value));
        return next_wait(g, value, c, false);
    }
    return next_full(g, value);
}

/* ---- life cycle ------------------------------------------------------------------- */

weft_gen *weft_gen_new(weft_gen_fn fn, void *arg)
{
    if (!fn)
        return NULL;
    weft_gen *g = weft__calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->fn = fn;
    g->arg = arg;
    atomic_init(&g->phase, P_IDLE);
    g->task = weft_spawn(gen_entry, g);
    if (!g->task) {
        weft__free(g, sizeof *g);
        return NULL;
    }
    return g;
}

int weft_gen_close(weft_gen *g)
{
    if (!g)
        return -EINVAL;
    weft_task *gt = g->task;
    if (weft__task_self() == gt)
        return -EDEADLK; /* the generator closing itself: return from fn instead */
    unlend(weft__task_self(), gt);
    atomic_store(&g->closing, true); /* seq_cst: step 6 */
    if (atomic_load(&g->phase) == P_REQ)
        weft_cancel(gt); /* busy producing a value nobody waits for: interrupt it */
    else
        weft__unpark(gt); /* at a yield, before its first run, or finished */
    int rc = weft_join(gt, NULL);
    int st = g->status;
    weft__free(g, sizeof *g);
    weft_task *self = weft__task_self();
    if (rc == -ETIMEDOUT && st != -ETIMEDOUT)
        return rc;
    if (rc == -ECANCELED && self && atomic_load_explicit(&self->cancelled, memory_order_relaxed))
        return rc;
    return st == -ECANCELED ? 0 : st;
}

int weft_gen_collect(weft_gen *g, void ***out, size_t *n)
{
    if (!g || !out || !n)
        return -EINVAL;
    void **a = NULL;
    size_t len = 0, cap = 0;
    int rc;
    void *v;
    while ((rc = weft_gen_next(g, &v)) == 0) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void **na = realloc(a, ncap * sizeof *na);
            if (!na) {
                rc = -ENOMEM;
                break;
            }
            a = na;
            cap = ncap;
        }
        a[len++] = v;
    }
    *out = a;
    *n = len;
    return rc == -ENODATA ? 0 : rc;
}
