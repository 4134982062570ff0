/* weft — synchronisation primitives that suspend the task, never the worker
 * (asyncio.Lock/Semaphore/BoundedSemaphore/Event/Condition/Barrier, Go's sync.WaitGroup,
 * sync.RWMutex and sync.Once).
 *
 * Common contract of every primitive here:
 *  - Any task on any worker may wait on any object. Waiting suspends the calling task;
 *    the worker runs other tasks meanwhile. From a plain thread (outside the runtime) the
 *    same calls work and block the thread (futex); plain threads are never interrupted.
 *  - Waiters are served in FIFO order, and releases hand the resource directly to the
 *    first waiter (a newcomer cannot overtake a queued waiter), so no waiter starves.
 *    The mutex is the one exception by default, as Go's sync.Mutex is: a running task
 *    may take a free mutex ahead of the queue, which avoids a task switch per contended
 *    acquisition, and the overtaking is bounded to about 1 ms (WEFT_MUTEX_STARVE_NS),
 *    after which the mutex is handed over in FIFO order. weft_mutex_init_fifo gives
 *    the strict hand-off above.
 *  - A call that has to wait returns -ECANCELED when the task is cancelled and
 *    -ETIMEDOUT when its deadline (weft_timeout_enter) passes; it then holds nothing
 *    and left the queue. A call that does not have to wait (a free lock, a set event)
 *    succeeds at once even for a cancelled task: it is not a suspension point.
 *  - If the resource (or wake-up) had already been handed to a waiter when its cancel
 *    lands, the waiter keeps it and the call succeeds (returns 0 or its success value);
 *    the cancel stays pending and the task's next suspension reports it. So a hand-off
 *    is never lost nor duplicated.
 *  - Objects are embedded by value (fixed-size storage, 32-40 bytes), initialised with
 *    weft_X_init() or the WEFT_X_INIT static initialiser. weft_X_destroy() checks that
 *    nobody waits (it is optional for objects that are idle). Objects must not be moved
 *    or copied while in use.
 *  - Uncontended acquire and release cost one compare-and-swap each.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include "weft/common.h"

WEFT_BEGIN_DECLS

/* ---- Mutex (asyncio.Lock) ------------------------------------------------------------ */

typedef struct weft_mutex {
    /* bit 0 locked, 1 queued, 2 woken; bits 3-31 count acquisitions (sync/mutex*.c) */
    uint32_t weft__state;
    uint32_t weft__priv0; /* 1: strict FIFO hand-off mode */
    uint64_t weft__priv[3];
} weft_mutex;
#define WEFT_MUTEX_INIT {0, 0, {0, 0, 0}}

/* The default mutex (weft_mutex_init, WEFT_MUTEX_INIT) works as Go's sync.Mutex: a
 * running task may take a free mutex ahead of queued waiters, which keeps a busy lock
 * on one core and avoids a task switch per acquisition (the lock convoy a strict
 * hand-off forms under contention). Unlock wakes the first waiter to compete instead of
 * handing it over; a waiter that loses keeps its place at the head of the queue, and
 * once it has waited WEFT_MUTEX_STARVE_NS (1 ms) the next unlock hands it the mutex
 * directly, so no waiter starves and queued waiters are served in FIFO order.
 * Tasks on several workers that take it so often that its cache line moving between
 * the cores costs more than the second core gains (more than once per ~100 ns on two
 * workers) move to one worker (WEFT_GATHER; README, How it works, Mutex). */
WEFT_API void weft_mutex_init(weft_mutex *m);
#define WEFT_MUTEX_STARVE_NS 1000000u
/* A strict FIFO mutex (asyncio.Lock, Tokio's Mutex): unlock hands the mutex to the first
 * waiter, and nobody may take it ahead of the queue. Every contended acquisition is
 * then a task switch. Same calls and cancellation contract otherwise. */
WEFT_API void weft_mutex_init_fifo(weft_mutex *m);
#define WEFT_MUTEX_FIFO_INIT {0, 1, {0, 0, 0}}
/* Asserts that the mutex is unlocked with nobody waiting. */
WEFT_API void weft_mutex_destroy(weft_mutex *m);
/* 0 when taken, -EBUSY when held (FIFO mode: also while being handed over). Never
 * suspends. */
WEFT_API int weft_mutex_trylock(weft_mutex *m);
/* The out-of-line halves of lock and unlock below (they also do the fast path). */
WEFT_API int weft__mutex_lock_slow(weft_mutex *m);
WEFT_API void weft__mutex_unlock_slow(weft_mutex *m);

/* Takes the mutex. Returns 0 at once when it is free; otherwise suspends until it gets
 * it (see the two modes above). -ECANCELED / -ETIMEDOUT when interrupted while waiting
 * (the mutex is not held then). Not recursive: locking it twice from one task waits
 * forever (or until cancelled). The uncontended case is one inline CAS. */
static inline int weft_mutex_lock(weft_mutex *m)
{
#if defined(__GNUC__)
    uint32_t s = __atomic_load_n(&m->weft__state, __ATOMIC_RELAXED);
    /* acquire: the critical section sees the previous holder's writes. Bit 0 clear
     * means free in both modes (sync/mutex.c step 1); adding 8 counts the acquisition
     * (sync/mutex_barging.c step 7). */
    if (__builtin_expect(!(s & 1u), 1) &&
        __atomic_compare_exchange_n(&m->weft__state, &s, (s + 8u) | 1u, 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
        return 0;
#endif
    return weft__mutex_lock_slow(m);
}

/* Releases the mutex, waking the first waiter if any (FIFO mode, or a waiter starved
 * for WEFT_MUTEX_STARVE_NS: handing the mutex to it). Never suspends. Any task
 * or thread may unlock (ownership is not tracked); unlocking a free mutex panics.
 * The uncontended case is one inline CAS. */
static inline void weft_mutex_unlock(weft_mutex *m)
{
#if defined(__GNUC__)
    uint32_t s = __atomic_load_n(&m->weft__state, __ATOMIC_RELAXED);
    /* Held (bit 0), and either nobody queued (bit 1) or a woken waiter already on its
     * way (bit 2, default mode): just clear bit 0. release: the critical section's
     * writes before the next holder's acquire. */
    if (__builtin_expect((s & 1u) && (!(s & 2u) || (s & 4u)), 1) &&
        __atomic_compare_exchange_n(&m->weft__state, &s, s & ~1u, 0, __ATOMIC_RELEASE,
                                    __ATOMIC_RELAXED))
        return;
#endif
    weft__mutex_unlock_slow(m);
}

/* True while held (a snapshot). */
WEFT_API bool weft_mutex_locked(const weft_mutex *m);

/* ---- Readers-writer lock (sync.RWMutex) ---------------------------------------------- */

typedef struct weft_rwlock {
    uint64_t weft__priv[4];
} weft_rwlock;
#define WEFT_RWLOCK_INIT {{0}}

WEFT_API void weft_rwlock_init(weft_rwlock *l);
WEFT_API void weft_rwlock_destroy(weft_rwlock *l);
/* Shared access. Returns at once when no writer holds the lock and nobody is queued;
 * otherwise suspends (a reader queues behind a waiting writer, so writers do not
 * starve). 0, -ECANCELED, -ETIMEDOUT. At most 2^30 simultaneous readers. */
WEFT_API int weft_rwlock_rdlock(weft_rwlock *l);
/* Exclusive access: suspends until all readers and writers before it are done.
 * 0, -ECANCELED, -ETIMEDOUT. */
WEFT_API int weft_rwlock_wrlock(weft_rwlock *l);
/* Never suspend: 0 or -EBUSY. */
WEFT_API int weft_rwlock_tryrdlock(weft_rwlock *l);
WEFT_API int weft_rwlock_trywrlock(weft_rwlock *l);
/* Release shared / exclusive access; queued waiters are granted in FIFO order (one
 * writer, or every reader up to the next queued writer). Never suspend. */
WEFT_API void weft_rwlock_rdunlock(weft_rwlock *l);
WEFT_API void weft_rwlock_wrunlock(weft_rwlock *l);

/* ---- Semaphore (asyncio.Semaphore / BoundedSemaphore) -------------------------------- */

typedef struct weft_sem {
    uint64_t weft__priv[5];
} weft_sem;
/* A semaphore holding `value` units; WEFT_BOUNDED_SEM_INIT's can never hold more than
 * its initial value (value >= 1). */
#define WEFT_SEM_INIT(value) {{(uint64_t)(value), 0}}
#define WEFT_BOUNDED_SEM_INIT(value) {{(uint64_t)(value), (uint64_t)(value)}}

/* 0, or -EINVAL when value < 0. */
WEFT_API int weft_sem_init(weft_sem *s, int64_t value);
/* A bounded semaphore: release beyond `value` fails. 0, or -EINVAL when value < 1. */
WEFT_API int weft_sem_init_bounded(weft_sem *s, int64_t value);
WEFT_API void weft_sem_destroy(weft_sem *s);
/* Takes one unit: at once when one is free and nobody is queued, else suspends until a
 * release hands one over (FIFO). 0, -ECANCELED, -ETIMEDOUT. */
WEFT_API int weft_sem_acquire(weft_sem *s);
/* 0 or -EAGAIN (no unit free, or waiters queued). Never suspends. */
WEFT_API int weft_sem_tryacquire(weft_sem *s);
/* Returns one unit (to the first waiter if any). 0; -EOVERFLOW when a bounded semaphore
 * would exceed its initial value, or any semaphore INT64_MAX (nothing changes then).
 * Never suspends. */
WEFT_API int weft_sem_release(weft_sem *s);
/* Units free now (a snapshot; 0 while tasks wait). */
WEFT_API int64_t weft_sem_value(const weft_sem *s);

/* ---- Event (asyncio.Event) ----------------------------------------------------------- */

typedef struct weft_event {
    uint64_t weft__priv[4];
} weft_event;
#define WEFT_EVENT_INIT {{0}}

WEFT_API void weft_event_init(weft_event *e);
WEFT_API void weft_event_destroy(weft_event *e);
/* Sets the flag and wakes every waiter. Never suspends. */
WEFT_API void weft_event_set(weft_event *e);
/* Clears the flag; waiters already woken stay woken. */
WEFT_API void weft_event_clear(weft_event *e);
WEFT_API bool weft_event_is_set(const weft_event *e);
/* Returns 0 at once when set, else suspends until weft_event_set. -ECANCELED,
 * -ETIMEDOUT. */
WEFT_API int weft_event_wait(weft_event *e);

/* ---- Condition variable (asyncio.Condition) ------------------------------------------ */

typedef struct weft_cond {
    uint64_t weft__priv[4];
} weft_cond;
#define WEFT_COND_INIT {{0}}

WEFT_API void weft_cond_init(weft_cond *c);
WEFT_API void weft_cond_destroy(weft_cond *c);
/* m must be held. Atomically releases m and waits for a signal, then re-takes m
 * (uninterruptibly) before returning, in every case. 0 when signalled; -ECANCELED /
 * -ETIMEDOUT when interrupted first (m is held again either way). No spurious wake-ups,
 * but the condition may have changed again by the time m is re-taken: loop. */
WEFT_API int weft_cond_wait(weft_cond *c, weft_mutex *m);
/* Wakes the longest waiting task / every waiting task. Never suspend. */
WEFT_API void weft_cond_signal(weft_cond *c);
WEFT_API void weft_cond_broadcast(weft_cond *c);

/* ---- Barrier (asyncio.Barrier, without abort) ---------------------------------------- */

typedef struct weft_barrier {
    uint64_t weft__priv[5];
} weft_barrier;
#define WEFT_BARRIER_INIT(parties) {{(uint64_t)(parties)}}

/* 0, or -EINVAL when parties is 0 or above 2^31. */
WEFT_API int weft_barrier_init(weft_barrier *b, unsigned parties);
WEFT_API void weft_barrier_destroy(weft_barrier *b);
/* Waits until `parties` tasks have arrived, then releases them all and starts the next
 * generation (the barrier is reusable). Returns the task's index in the generation,
 * 0 .. parties-1 (the last to arrive gets parties-1 and does not suspend).
 * -ECANCELED / -ETIMEDOUT when interrupted before the generation completed: the
 * arrival is withdrawn, so the generation then needs another party. */
WEFT_API int weft_barrier_wait(weft_barrier *b);

/* ---- WaitGroup (sync.WaitGroup) ------------------------------------------------------ */

typedef struct weft_waitgroup {
    uint64_t weft__priv[4];
} weft_waitgroup;
#define WEFT_WAITGROUP_INIT {{0}}

WEFT_API void weft_waitgroup_init(weft_waitgroup *g);
WEFT_API void weft_waitgroup_destroy(weft_waitgroup *g);
/* Adds delta (may be negative) to the counter; reaching 0 wakes every waiter.
 * 0, or -EINVAL when the counter would go below 0 or above INT64_MAX (nothing changes
 * then). As with Go, an add that raises the counter from 0 must happen before the waits
 * meant to wait for it; reuse the group only once its waiters have returned. */
WEFT_API int weft_waitgroup_add(weft_waitgroup *g, int64_t delta);
/* weft_waitgroup_add(g, -1). */
WEFT_API int weft_waitgroup_done(weft_waitgroup *g);
/* Returns 0 at once when the counter is 0, else suspends until it reaches 0.
 * -ECANCELED, -ETIMEDOUT. */
WEFT_API int weft_waitgroup_wait(weft_waitgroup *g);
WEFT_API int64_t weft_waitgroup_count(const weft_waitgroup *g);

/* ---- Once (sync.Once, pthread_once) -------------------------------------------------- */

typedef struct weft_once {
    uint64_t weft__priv[4];
} weft_once;
#define WEFT_ONCE_INIT {{0}}

/* Runs fn(arg) once per weft_once object: the first caller runs it; concurrent callers
 * suspend until it returned. Returns 0 once fn has completed (now or before). If fn
 * returns a negative value, its caller gets that value and the once is not done: one of
 * the waiting callers (or the next caller) runs fn again. -ECANCELED / -ETIMEDOUT when a
 * waiter is interrupted (fn keeps running in the task that called it). fn must not call
 * weft_once_call on the same object (it would wait for itself). */
WEFT_API int weft_once_call(weft_once *o, int (*fn)(void *arg), void *arg);
/* True once fn has completed. */
WEFT_API bool weft_once_done(const weft_once *o);

/* ---- async with: scoped lock guards -------------------------------------------------- */
#if defined(__GNUC__) && !defined(__cplusplus)
/*   int err;
 *   WEFT_WITH_MUTEX(&m, err) {
 *       ... m is held here ...
 *   }
 *   if (err) ... the lock could not be taken (-ECANCELED, -ETIMEDOUT): block skipped
 *
 * The block runs once with the lock held, which is released when the block is left by
 * any path (end, break, continue, return, goto). If acquisition fails, err holds the
 * error and the block does not run; on success err is 0. The same for WEFT_WITH_RDLOCK,
 * WEFT_WITH_WRLOCK (weft_rwlock) and WEFT_WITH_SEM (one unit). */
typedef struct weft__guard {
    void *obj;               /* NULL when nothing is held */
    void (*release)(void *); /* what releases obj */
    int once;                /* the for-loop's single iteration */
} weft__guard;
static inline void weft__guard_release(weft__guard *g)
{
    if (g->obj)
        g->release(g->obj);
}
WEFT_API weft__guard weft__guard_mutex(weft_mutex *m, int *err);
WEFT_API weft__guard weft__guard_rdlock(weft_rwlock *l, int *err);
WEFT_API weft__guard weft__guard_wrlock(weft_rwlock *l, int *err);
WEFT_API weft__guard weft__guard_sem(weft_sem *s, int *err);
#define WEFT__SCAT2(a, b) a##b
#define WEFT__SCAT(a, b) WEFT__SCAT2(a, b)
#define WEFT__WITH(make, o_, e_)                                                                 \
    for (weft__guard WEFT__SCAT(weft__g_, __LINE__)                                                \
             __attribute__((cleanup(weft__guard_release))) = make((o_), &(e_));                      \
         WEFT__SCAT(weft__g_, __LINE__).obj && !WEFT__SCAT(weft__g_, __LINE__).once;               \
         WEFT__SCAT(weft__g_, __LINE__).once = 1)
#define WEFT_WITH_MUTEX(m, err) WEFT__WITH(weft__guard_mutex, m, err)
#define WEFT_WITH_RDLOCK(l, err) WEFT__WITH(weft__guard_rdlock, l, err)
#define WEFT_WITH_WRLOCK(l, err) WEFT__WITH(weft__guard_wrlock, l, err)
#define WEFT_WITH_SEM(s, err) WEFT__WITH(weft__guard_sem, s, err)
#endif

WEFT_END_DECLS

#endif
