/* weft — how a task suspends and how it is woken.
 *
 * The protocol (research/design.md §2, "publish after switch"):
 *  1. A task that must wait records what it waits for (a waiter in some list, a timer),
 *     re-checks its condition, then calls weft__park().
 *  2. weft__park consumes a pending permit (NOTIFIED → ACTIVE) and returns at once, or
 *     moves ACTIVE → PARKING and switches to its worker's scheduler.
 *  3. Only after the switch, on the worker's own stack, the scheduler moves
 *     PARKING → PARKED. From then on the task belongs to whoever wakes it; before that no
 *     waker may queue it, so no other worker can resume a stack that is still in use.
 *  4. weft__unpark: ACTIVE → NOTIFIED (a permit), PARKING → PARKING_NOTIFIED (the
 *     scheduler re-queues it after the switch), PARKED → ACTIVE (the waker queues it).
 *     NOTIFIED and PARKING_NOTIFIED are re-written with a CAS too, so a waker always
 *     synchronizes with the task's next read of the state.
 *  5. Running and queued are one state (ACTIVE): resuming a task writes nothing, which
 *     keeps a locked instruction off every switch.
 *  6. Wake-ups may be spurious (a permit left by an earlier wait, a late timer, a task
 *     object reused from the pool): every wait is a loop that re-checks its condition.
 *
 * Why this cannot lose a wake-up: the waker writes its condition (waiter->fired, the
 * cancel flag; release) and then performs a read-modify-write on the state; the task
 * reads the condition and then performs a read-modify-write on the state. RMWs on one
 * variable are totally ordered: if the task's comes first the waker sees PARKING or
 * PARKED and re-queues it; if the waker's comes first the task finds the permit.
 */
#include "runtime/handoff.h"
#include "runtime/internal.h"
#include "runtime/trace_hooks.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

WEFT_RESUME_RET void weft__park(weft_task *t)
{
    weft__park_inline(t);
}

static inline void unpark(weft_task *t, bool lifo)
{
    int s = atomic_load_explicit(&t->state, memory_order_relaxed);
    for (;;) {
        int to;
        switch (s) {
        case WEFT_TS_ACTIVE:
            to = WEFT_TS_NOTIFIED;
            break;
        case WEFT_TS_PARKING:
            to = WEFT_TS_PARKING_NOTIFIED;
            break;
        case WEFT_TS_PARKED:
            to = WEFT_TS_ACTIVE;
            break;
        case WEFT_TS_NOTIFIED:
        case WEFT_TS_PARKING_NOTIFIED:
            to = s;
            break;
        default:
            return; /* FREE: a finished task */
        }
        if (atomic_compare_exchange_weak(&t->state, &s, to)) {
            if (WEFT_TRACE_ON() && (s == WEFT_TS_PARKED || s == WEFT_TS_PARKING))
                weft__trace_wake_cold(t);
            if (s == WEFT_TS_PARKED)
                weft__schedule(t, lifo);
            return;
        }
    }
}

void weft__unpark(weft_task *t)
{
    unpark(t, true);
}
void weft__unpark_fifo(weft_task *t)
{
    unpark(t, false);
}

int weft__deadline_passed(weft_task *t)
{
    return weft_now() >= t->deadline ? -ETIMEDOUT : 0;
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void weft__waiter_fire(weft__waiter *w, int res)
{
    if (w->task) {
        /* The task's worker is not known here; NULL makes the wake-up find it. */
        weft__waiter_fire_on(NULL, w, res);
        return;
    }
    w->res = res;
    /* release: the element copied for the waiter and res */
    atomic_store_explicit(&w->fired, 1, memory_order_release);
    futex_wake(&w->fired); /* at worst a spurious wake of a reused address */
}

void weft__waiter_wait_thread(weft__waiter *w)
{
    while (!atomic_load(&w->fired))
        futex_wait(&w->fired, 0);
}

int weft__waiter_wait(weft__waiter *w)
{
    return weft__waiter_wait_inline(w);
}

int weft__waiter_await_fire(weft__waiter *w)
{
    unsigned spins = 0;
    /* acquire: pairs with the fire's release store, as in weft__waiter_wait */
    while (!atomic_load_explicit(&w->fired, memory_order_acquire)) {
        if (++spins < 1000)
            __builtin_ia32_pause();
        else
            sched_yield(); /* the waker's thread was preempted between pop and fire */
    }
    return w->res;
}

