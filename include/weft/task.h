/* weft — tasks: spawn, join, cancel, gather, task sets and task groups. */
#ifndef WEFT_TASK_H
#define WEFT_TASK_H

#include "weft/runtime.h"

WEFT_BEGIN_DECLS

typedef struct weft_task weft_task;

/* asyncio.create_task: make fn(arg) a runnable task. It may run on any worker.
 * The returned handle must be given to exactly one of weft_join, weft_detach,
 * weft_gather, weft_wait_for or weft_set_add. Works from a task or from a plain
 * thread while a runtime runs. NULL when out of memory or no runtime runs. */
WEFT_API weft_task *weft_spawn(weft_fn fn, void *arg);

/* await task: waits until t finishes, stores its result in *result (if non-NULL)
 * and frees t. Returns the task's status: 0, -ECANCELED when it was cancelled, or
 * the error it reported with weft_fail. Joining a finished task does not suspend.
 * If the caller itself is cancelled (or its deadline passes) while waiting, t is
 * cancelled too, joined, and -ECANCELED (-ETIMEDOUT) is returned: the handle is
 * always consumed. From a plain thread it blocks the thread. */
WEFT_API int weft_join(weft_task *t, void **result);

/* Nobody will join t; it is freed when it finishes. */
WEFT_API void weft_detach(weft_task *t);

/* Task.cancel(): the task's current or next suspension returns -ECANCELED, and so
 * does every suspension after it. Cancelling a finished task does nothing. */
WEFT_API void weft_cancel(weft_task *t);

/* True once t's function has returned. */
WEFT_API bool weft_done(const weft_task *t);

/* await asyncio.sleep(0): let other runnable tasks run first; the caller goes
 * behind them. 0, or -ECANCELED when the caller has been cancelled. */
WEFT_API int weft_yield(void);

/* Moves the calling task to worker `worker` (0..weft_workers()-1): it runs there the next
 * time that worker picks a task (moved tasks come before its local queue), woken if it
 * sleeps; on that worker already it returns at once. For shard-per-core designs and for tasks
 * that share data with tasks on that worker. Not pinning: the task stays stealable
 * (a worker stuck in another task gives it up to an idle one) and may move later.
 * Channels do this by themselves for tasks that fight over them from several cores
 * (README, Channels). 0; -EINVAL for a worker that does not exist; -EPERM outside a
 * task; -ECANCELED / -ETIMEDOUT as weft_yield. */
WEFT_API int weft_move_to(unsigned worker);

/* The calling task, NULL outside a task. */
WEFT_API weft_task *weft_self(void);

/* True when the calling task has been cancelled. */
WEFT_API bool weft_cancelled(void);

/* How a C task reports failure: call weft_fail(-EXXX) before returning. The task's
 * status (what weft_join returns) becomes err; in a task group the first failing
 * member cancels the others. err must be negative; 0 clears a failure. */
WEFT_API void weft_fail(int err);

/* await all: waits for tasks[0..n), results[i] receives tasks[i]'s result (results
 * may be NULL), every task is joined. Returns 0 or the first nonzero join status in
 * index order. If the caller is cancelled while waiting, the remaining tasks are
 * cancelled and joined too. */
WEFT_API int weft_gather(weft_task *const *tasks, size_t n, void **results);

/* Task sets: Tokio JoinSet / asyncio.as_completed, and task groups. */
typedef struct weft_set weft_set;

/* An empty set. NULL when out of memory. */
WEFT_API weft_set *weft_set_new(void);

/* An empty task group (asyncio.TaskGroup, trio nursery): when a member finishes
 * with a failure status (weft_fail), every other member is cancelled. A member that
 * was cancelled does not count as a failure. */
WEFT_API weft_set *weft_set_new_group(void);

/* Spawn fn(arg) as a member. NULL when out of memory (or, for a group that already
 * failed, -ECANCELED semantics: the task is created cancelled). */
WEFT_API weft_task *weft_set_spawn(weft_set *s, weft_fn fn, void *arg);

/* Adopt a task from weft_spawn. 0, or -EINVAL when t is NULL. */
WEFT_API int weft_set_add(weft_set *s, weft_task *t);

/* as_completed: waits for the next member to finish, in completion order, removes it
 * from the set and stores it in *t (weft_join on it then returns at once). 0, or
 * -ENOENT when the set is empty, or -ECANCELED / -ETIMEDOUT like any suspension. */
WEFT_API int weft_set_next(weft_set *s, weft_task **t);

/* Members not yet taken by weft_set_next. */
WEFT_API size_t weft_set_len(const weft_set *s);

/* Waits for every member and joins it. For a plain set, returns 0 or the status of the
 * first member (in completion order) that finished with a nonzero status; for a group,
 * 0 or the group's first failure (cancelled members are not failures). If the caller is
 * cancelled while waiting, the members are cancelled and still joined, and -ECANCELED
 * (or -ETIMEDOUT) is returned. */
WEFT_API int weft_set_join_all(weft_set *s);

/* Cancel every member. */
WEFT_API void weft_set_cancel(weft_set *s);

/* Cancels and joins members still inside, then frees the set. Returns 0 or the
 * status weft_set_join_all would have returned. */
WEFT_API int weft_set_free(weft_set *s);

WEFT_END_DECLS

#endif
