/* weft — clocks, sleeping, timeouts and deadline scopes. */
#ifndef WEFT_TIME_H
#define WEFT_TIME_H

#include "weft/task.h"

WEFT_BEGIN_DECLS

#define WEFT_NS_PER_US 1000ull
#define WEFT_NS_PER_MS 1000000ull
#define WEFT_NS_PER_SEC 1000000000ull

/* CLOCK_MONOTONIC in nanoseconds. */
WEFT_API uint64_t weft_now(void);

/* asyncio.sleep: suspends the task for at least ns. 0, -ECANCELED, or -ETIMEDOUT
 * when an enclosing deadline passes first. weft_sleep(0) is weft_yield(). From a
 * plain thread it sleeps the thread. */
WEFT_API int weft_sleep(uint64_t ns);

/* Sleep until weft_now() >= deadline_ns. Same returns as weft_sleep. */
WEFT_API int weft_sleep_until(uint64_t deadline_ns);

/* asyncio.wait_for: joins t, but gives up after timeout_ns: then t is cancelled and
 * joined and -ETIMEDOUT is returned. Otherwise returns what weft_join returns. The
 * handle is always consumed. */
WEFT_API int weft_wait_for(weft_task *t, uint64_t timeout_ns, void **result);

/* asyncio.timeout(): a scoped deadline. Between enter and exit, every suspending call
 * of this task returns -ETIMEDOUT once the deadline has passed. Scopes nest; the
 * earliest deadline wins. Enter and exit must pair up on the same task, innermost
 * first. */
typedef struct weft_timeout {
    uint64_t deadline; /* absolute weft_now() time of this scope */
    uint64_t outer;    /* the deadline in force before enter */
} weft_timeout;

WEFT_API void weft_timeout_enter(weft_timeout *scope, uint64_t timeout_ns);
WEFT_API void weft_timeout_enter_at(weft_timeout *scope, uint64_t deadline_ns);
/* Leaves the scope. True when this scope's deadline has passed (asyncio's expired()). */
WEFT_API bool weft_timeout_exit(weft_timeout *scope);

/* The deadline in force for the calling task, UINT64_MAX when none. */
WEFT_API uint64_t weft_deadline(void);

#if defined(__GNUC__) && !defined(__cplusplus)
/* async with asyncio.timeout(ns): { WEFT_WITH_TIMEOUT(ns); ... } — the scope is left
 * when the enclosing block is left, by any path. */
static inline void weft__timeout_cleanup(weft_timeout *s)
{
    (void)weft_timeout_exit(s);
}
#define WEFT__CAT2(a, b) a##b
#define WEFT__CAT(a, b) WEFT__CAT2(a, b)
#define WEFT_WITH_TIMEOUT(ns)                                                                      \
    weft_timeout WEFT__CAT(weft__to_, __LINE__) __attribute__((cleanup(weft__timeout_cleanup)));   \
    weft_timeout_enter(&WEFT__CAT(weft__to_, __LINE__), (ns))
#endif

WEFT_END_DECLS

#endif
