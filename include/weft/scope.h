/* weft — `async with` for C: scopes left on any path (return, break, goto, end of
 * block), built on the compilers' cleanup attribute (gcc and clang, C only).
 *
 *   {
 *       WEFT_DEADLINE_SCOPE(2 * WEFT_NS_PER_SEC);   // async with asyncio.timeout(2):
 *       rc = weft_recv(fd, buf, len, 0);            //     -ETIMEDOUT after 2 s
 *   }                                               // the outer deadline is back
 *
 *   int rc;
 *   {
 *       WEFT_TASKSET_SCOPE(tg, &rc);                // async with TaskGroup() as tg:
 *       if (!tg) return -ENOMEM;
 *       weft_set_spawn(tg, work, a);                //     tg.create_task(work(a))
 *       weft_set_spawn(tg, work, b);
 *   }                                               // waits for both; rc = status
 *
 * Lock guards (a mutex held for a block) are in weft/sync.h. */
#ifndef WEFT_SCOPE_H
#define WEFT_SCOPE_H

#include "weft/task.h"
#include "weft/time.h"

WEFT_BEGIN_DECLS

/* A task-set scope's state; lives in the scope's block (the macros declare it). */
typedef struct weft_taskset_scope {
    weft_set *set; /* NULL when it could not be allocated */
    int *status;   /* where the join status goes, or NULL */
    bool cancel;   /* cancel the members on exit instead of waiting for them */
} weft_taskset_scope;

/* Enter: a new task group (weft_set_new_group: the first member that fails cancels the
 * others). Exit: with cancel, every member still running is cancelled first; then all
 * members are joined (weft_set_join_all) and the set is freed; *status (if non-NULL)
 * receives the group's status: 0, the first failure, or -ECANCELED / -ETIMEDOUT when
 * the task leaving the scope was interrupted while waiting (the members are then
 * cancelled and still joined). Leaving never skips the wait: no member outlives the
 * scope. Usable without the macros: call exit exactly once. */
WEFT_API weft_taskset_scope weft_taskset_scope_enter(int *status, bool cancel);
WEFT_API void weft_taskset_scope_exit(weft_taskset_scope *s);

#if defined(__GNUC__) && !defined(__cplusplus)
#define WEFT__SCOPE_CAT2(a, b) a##b
#define WEFT__SCOPE_CAT(a, b) WEFT__SCOPE_CAT2(a, b)
#define WEFT__SCOPE_VAR(p) WEFT__SCOPE_CAT(p, __LINE__)

static inline void weft__deadline_scope_exit(weft_timeout *s)
{
    (void)weft_timeout_exit(s);
}

/* async with asyncio.timeout(ns): until the enclosing block is left, every suspending
 * call of this task fails with -ETIMEDOUT once ns have passed (weft_timeout_enter).
 * Scopes nest, the earliest deadline wins, and leaving restores the outer deadline. At
 * most one per line. */
#define WEFT_DEADLINE_SCOPE(ns)                                                                    \
    weft_timeout WEFT__SCOPE_VAR(weft__dl_)                                                        \
        __attribute__((cleanup(weft__deadline_scope_exit), unused));                               \
    weft_timeout_enter(&WEFT__SCOPE_VAR(weft__dl_), (ns))

/* asyncio.timeout_at(when): the same with an absolute weft_now() time. */
#define WEFT_DEADLINE_SCOPE_AT(when_ns)                                                            \
    weft_timeout WEFT__SCOPE_VAR(weft__dl_)                                                        \
        __attribute__((cleanup(weft__deadline_scope_exit), unused));                               \
    weft_timeout_enter_at(&WEFT__SCOPE_VAR(weft__dl_), (when_ns))

/* async with TaskGroup() as name: declares `weft_set *const name` (NULL when out of
 * memory), a task group whose members are all joined when the block is left. status:
 * an int * receiving the join status at exit (see weft_taskset_scope_exit), or NULL.
 * The int must outlive the block. */
#define WEFT_TASKSET_SCOPE(name, status)                                                           \
    weft_taskset_scope WEFT__SCOPE_VAR(weft__ts_)                                                  \
        __attribute__((cleanup(weft_taskset_scope_exit))) =                                        \
            weft_taskset_scope_enter((status), false);                                             \
    weft_set *const name = WEFT__SCOPE_VAR(weft__ts_).set

/* The same, but leaving the block cancels the members still running before joining
 * them (Tokio's JoinSet dropped, trio's cancelled nursery): for workers that run until
 * told to stop. */
#define WEFT_TASKSET_SCOPE_CANCEL(name, status)                                                    \
    weft_taskset_scope WEFT__SCOPE_VAR(weft__ts_)                                                  \
        __attribute__((cleanup(weft_taskset_scope_exit))) =                                        \
            weft_taskset_scope_enter((status), true);                                              \
    weft_set *const name = WEFT__SCOPE_VAR(weft__ts_).set
#endif

WEFT_END_DECLS

#endif
