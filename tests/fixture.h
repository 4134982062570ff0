/* fixture.h — what every weft test program shares: running a test body as the main
 * task of a runtime, the leak check after it, assertions that print both sides, and
 * knobs that shrink stress sizes under sanitizers.
 *
 * Assertions inside tasks run on worker threads, where cmocka's usual longjmp back to
 * the test runner would cross threads and stacks. wt_main() therefore sets
 * CMOCKA_TEST_ABORT=1: a failed assertion prints its message and aborts the program,
 * and ctest reports the test (named by the last "[ RUN ]" line) as failed. */
#ifndef WEFT_TEST_FIXTURE_H
#define WEFT_TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft.h>

/* Internal, exported by the library for tests: tasks allocated and not yet freed. */
extern size_t weft__tasks_live(void);

/* Sanitizer detection, for gcc (__SANITIZE_*__) and clang (__has_feature). */
#if defined(__SANITIZE_ADDRESS__)
#define WT_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define WT_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(WT_ASAN)
#define WT_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(WT_TSAN)
#define WT_TSAN 1
#endif
#endif
#ifndef WT_ASAN
#define WT_ASAN 0
#endif
#ifndef WT_TSAN
#define WT_TSAN 0
#endif

/* A size for stress loops: plain builds, ASan builds, TSan builds. */
#define WT_SCALE(plain, asan, tsan) (WT_TSAN ? (tsan) : WT_ASAN ? (asan) : (plain))

#define WT_MS WEFT_NS_PER_MS
#define WT_US WEFT_NS_PER_US
#define WT_SEC WEFT_NS_PER_SEC

/* Keeps a function out of inlining and interprocedural analysis (so reads of errno or
 * of the frame address really happen where they are written). */
#if defined(__has_attribute)
#if __has_attribute(noipa)
#define WT_NOINLINE __attribute__((noinline, noipa))
#endif
#endif
#ifndef WT_NOINLINE
#define WT_NOINLINE __attribute__((noinline))
#endif

/* ---- running a body inside a runtime ------------------------------------------ */

/* Runs fn(arg) as the main task of weft_run with `workers` workers (0: the default)
 * and returns main's result. Fails the test when weft_run does not return 0, when
 * weft_workers()/weft_worker_id() are not 0/-1 outside the runtime, or when tasks
 * are still allocated after weft_run returned (weft__tasks_live() != 0). */
void *wt_run(unsigned workers, weft_fn fn, void *arg);

/* Same with a full config (cfg may be NULL). */
void *wt_run_cfg(const weft_config *cfg, weft_fn fn, void *arg);

/* Runs fn(arg) with 1 worker, then with 2 workers (each a fresh runtime). */
void wt_run_1_2(weft_fn fn, void *arg);

/* Worker count of the runtime wt_run* started (valid inside the body). */
unsigned wt_cur_workers(void);

/* WT_TEST_1_2(x) defines the cmocka test test_x, which runs x_main (a weft_fn) with
 * 1 and with 2 workers. */
#define WT_TEST_1_2(name)                                                                          \
    static void test_##name(void **state)                                                          \
    {                                                                                              \
        (void)state;                                                                               \
        wt_run_1_2(name##_main, NULL);                                                             \
    }

/* WT_TEST_W(x, w) defines test_x, which runs x_main with w workers. */
#define WT_TEST_W(name, w)                                                                         \
    static void test_##name(void **state)                                                          \
    {                                                                                              \
        (void)state;                                                                               \
        (void)wt_run((w), name##_main, NULL);                                                      \
    }

/* Runs the group with CMOCKA_TEST_ABORT=1 (see the top of this file). The environment
 * variables WT_FILTER and WT_SKIP (cmocka glob patterns) select tests. */
int wt_run_group(const char *name, const struct CMUnitTest *tests, size_t n);
#define WT_RUN_GROUP(tests) wt_run_group(__FILE__, (tests), sizeof(tests) / sizeof((tests)[0]))

/* ---- assertions that print both sides ------------------------------------------ */

void wt__cmp_fail(const char *a_src, const char *op, const char *b_src, long long a, long long b,
                  const char *file, int line);

/* WT_CMP(x, <, y): both sides are converted to long long and printed on failure;
 * small negative values are also shown as errno names via weft_strerror. */
#define WT__CMP(a, op, b, a_src, b_src)                                                            \
    do {                                                                                           \
        long long wt_a_ = (long long)(a), wt_b_ = (long long)(b);                                  \
        if (!(wt_a_ op wt_b_))                                                                     \
            wt__cmp_fail(a_src, #op, b_src, wt_a_, wt_b_, __FILE__, __LINE__);                     \
    } while (0)
#define WT_CMP(a, op, b) WT__CMP(a, op, b, #a, #b)
#define WT_EQ(a, b) WT__CMP(a, ==, b, #a, #b)
#define WT_NE(a, b) WT__CMP(a, !=, b, #a, #b)
#define WT_LT(a, b) WT__CMP(a, <, b, #a, #b)
#define WT_LE(a, b) WT__CMP(a, <=, b, #a, #b)
#define WT_GT(a, b) WT__CMP(a, >, b, #a, #b)
#define WT_GE(a, b) WT__CMP(a, >=, b, #a, #b)
#define WT_OK(expr) WT__CMP(expr, ==, 0, #expr, "0")
#define WT_TRUE(x) assert_true(x)
#define WT_FALSE(x) assert_false(x)
#define WT_NONNULL(p) assert_non_null(p)

/* ---- helpers for task bodies ---------------------------------------------------- */

/* A private directory for a test program: tmpl ends in XXXXXX (mkdtemp) and is filled
 * in; wt_tmpdir_remove deletes it with everything in it. 0 on success, -1 otherwise. */
int wt_tmpdir_make(char *tmpl);
int wt_tmpdir_remove(const char *dir);

/* Sleeps in 1 ms steps until *v >= n; fails the test after 10 s. */
void wt_wait_ge(atomic_int *v, int n);

/* Runs this test program again as a child: argv[1] = arg, with the environment changes
 * in env ("NAME=value" sets, "NAME" unsets; NULL-terminated, may be NULL). Returns what
 * the child wrote to stdout and stderr (malloc'ed; free it) and its wait status. The
 * child is killed after 30 s. */
char *wt_run_child(const char *arg, const char *const *env, int *status);

/* Busy-waits (no suspension) for ns, reading weft_now(). */
void wt_spin_ns(uint64_t ns);

/* Milliseconds since t0 (a weft_now() value), as a double for messages. */
double wt_ms_since(uint64_t t0);

/* Spawn that fails the test on NULL. */
weft_task *wt_spawn(weft_fn fn, void *arg);

/* How often the worker that is not running the calling task parked, on a 2-worker
 * runtime (the task may move; then the other one counts as the idle one): start, then
 * step after each operation of interest. */
typedef struct wt_idle_watch {
    weft_worker_stats prev[2];
    uint64_t idle_parks; /* parks of the idle worker so far */
    int hops;            /* times the task was found on another worker than before */
    int on;
} wt_idle_watch;
void wt_idle_watch_start(wt_idle_watch *iw);
void wt_idle_watch_step(wt_idle_watch *iw);

#endif
