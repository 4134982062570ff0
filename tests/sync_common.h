/* sync_common.h — what test_sync.c and test_sync_wait.c share: running a body on 1, 2
 * and 4 workers, joining a task for its int result, and waiting until a number of
 * waiters queued on an object (counted by internal functions the library exports for
 * tests), so tests know the order of queueing without sleeping for it. */
#ifndef WEFT_TEST_SYNC_COMMON_H
#define WEFT_TEST_SYNC_COMMON_H

#include "fixture.h"

/* Runs x_main with 1, 2 and 4 workers. */
#define WT_TEST_124(name)                                                                          \
    static void test_##name(void **state)                                                          \
    {                                                                                              \
        (void)state;                                                                               \
        wt_run_1_2(name##_main, NULL);                                                             \
        (void)wt_run(4, name##_main, NULL);                                                        \
    }

static inline void *join_res(weft_task *t)
{
    void *r = NULL;
    int rc = weft_join(t, &r); /* -ECANCELED for a task we cancelled */
    WT_TRUE(rc == 0 || rc == -ECANCELED);
    return r;
}
#define RC(p) ((int)(intptr_t)(p))
#define PTR(rc) ((void *)(intptr_t)(rc))

/* Internal, exported by the library for tests: waiters queued on an object now. */
extern size_t weft__mutex_waiters(weft_mutex *m);
extern uint64_t weft__mutex_gather_windows(void); /* sync/mutex_barging.c step 7 */
extern size_t weft__sem_waiters(weft_sem *s);
extern size_t weft__rwlock_waiters(weft_rwlock *l);
extern size_t weft__cond_waiters(weft_cond *c);
extern size_t weft__event_waiters(weft_event *e);

/* Waits (1 ms steps, at most 10 s) until `count` reaches n: the tasks spawned so far
 * are queued, so the order of queueing is known. */
#define SETTLE(count, n)                                                                           \
    do {                                                                                           \
        for (int settle_i_ = 0; (count) < (size_t)(n); settle_i_++) {                              \
            WT_LT(settle_i_, 10000);                                                               \
            WT_OK(weft_sleep(WT_MS));                                                              \
        }                                                                                          \
    } while (0)

/* Tasks per contention test, iterations per task. */
enum { NT = 32, K = 200 };

/* The fifo_* tests run the same bodies on weft_mutex_init_fifo mutexes (the strict
 * hand-off mode); the plain ones use the default mode. */
static bool g_fifo;
static inline void mx_mode(weft_mutex *m)
{
    if (g_fifo)
        weft_mutex_init_fifo(m);
}
#define WT_FIFO(name, body)                                                                        \
    static void test_fifo_##name(void **state)                                                     \
    {                                                                                              \
        g_fifo = true;                                                                             \
        test_##body(state);                                                                        \
        g_fifo = false;                                                                            \
    }

#endif
