/* weft — async generators: a task that hands values to its consumer one at a time.
 *
 *   static int count(weft_gen *g, void *arg)        // async def count(n):
 *   {                                               //     for i in range(n):
 *       for (intptr_t i = 0; i < (intptr_t)arg; i++) {  //     await asyncio.sleep(0.1)
 *           weft_sleep(100 * WEFT_NS_PER_MS);       //         yield i
 *           if (weft_gen_yield(g, (void *)i) < 0)
 *               return -ECANCELED;                  // closed early: clean up, return
 *       }
 *       return 0;                                   // exhausted
 *   }
 *   ...
 *   weft_gen *g = weft_gen_new(count, (void *)5);
 *   WEFT_GEN_FOREACH(g, v)                          // async for v in count(5):
 *       printf("%ld\n", (long)(intptr_t)v);
 *   weft_gen_close(g);                              // always: it frees g
 *
 * Semantics are Python's: the generator runs only while its consumer waits in
 * weft_gen_next, from one yield to the next, and may suspend in between (sleep, I/O,
 * channels). When the generator is parked at a yield, weft_gen_next switches straight
 * to its stack and weft_gen_yield straight back: no trip through the run queues. (At
 * most 64 such switches in a row per worker; then one hand-off goes through the queue so
 * other tasks run.) The generator is a task of its own and may run on any worker.
 *
 * One consumer at a time: weft_gen_next and weft_gen_close on one generator must not be
 * called concurrently. Values are void pointers; one may point into the generator's
 * stack, since the generator stays suspended at its yield until the next call of
 * weft_gen_next or weft_gen_close. */
#ifndef WEFT_GEN_H
#define WEFT_GEN_H

#include "weft/task.h"

WEFT_BEGIN_DECLS

typedef struct weft_gen weft_gen;

/* The generator's body. Yields values with weft_gen_yield(g, ...) and returns 0 when it
 * is exhausted, or a negative errno to fail (weft_fail(err) before returning 0 works
 * too). When weft_gen_yield fails (the consumer closed the generator, or the
 * generator's task was cancelled) it must return, after any clean-up. */
typedef int (*weft_gen_fn)(weft_gen *g, void *arg);

/* Creates a generator running fn(g, arg) as a task. fn does not start before the first
 * weft_gen_next. Must be called from a task. NULL when out of memory, or when fn is
 * NULL or no runtime runs. Every generator must be given to weft_gen_close. */
WEFT_API weft_gen *weft_gen_new(weft_gen_fn fn, void *arg);

/* await anext(g): runs the generator until its next yield and stores that value in
 * *value. Returns 0 with a value, or:
 *   -ENODATA      the generator returned 0 (exhausted); again on every later call;
 *   its failure   the negative errno fn returned (or set with weft_fail);
 *   -ECANCELED    the caller was cancelled, or the generator's task was cancelled;
 *   -ETIMEDOUT    the caller's deadline passed;
 *   -EPERM        called from outside a task; -EDEADLK from the generator itself;
 *   -EINVAL       g or value is NULL.
 * When the caller is interrupted while the generator is busy producing (suspended in a
 * sleep, say), the generator is not disturbed: it finishes that value, which the next
 * weft_gen_next returns (weft_gen_close discards it). */
WEFT_API int weft_gen_next(weft_gen *g, void **value);

/* Inside the generator: hands value to the consumer and suspends until the consumer
 * asks for the next one. 0 then, or -ECANCELED when the consumer closed the generator
 * or its task was cancelled (the value was not handed over; fn must return), or -EPERM
 * when the caller is not g's own task. */
WEFT_API int weft_gen_yield(weft_gen *g, void *value);

/* aclose(): stops the generator, waits for it to finish and frees g. A generator
 * suspended at a yield (or never started) sees weft_gen_yield return -ECANCELED (fn is
 * not started at all), and its clean-up may still suspend, like a Python `finally`
 * after GeneratorExit. A generator busy producing a value is cancelled (weft_cancel):
 * its current suspension returns -ECANCELED. Returns 0, or the generator's failure
 * status (other than -ECANCELED), or -ECANCELED / -ETIMEDOUT when the caller was
 * interrupted while waiting (the generator is then cancelled and still joined, and g is
 * freed all the same). NULL is -EINVAL; -EDEADLK (nothing done) when called by the
 * generator itself. */
WEFT_API int weft_gen_close(weft_gen *g);

/* Async comprehension, [v async for v in g]: takes every value of g into a malloc'ed
 * array. *out (free with free()) and *n receive the values taken, also on failure.
 * Returns 0 when g was exhausted, otherwise what weft_gen_next returned (-ENOMEM when
 * the array could not grow). Does not close g. */
WEFT_API int weft_gen_collect(weft_gen *g, void ***out, size_t *n);

/* async for: WEFT_GEN_FOREACH(g, v) { ... } runs the body with `void *v` bound to each
 * value until weft_gen_next fails. break is safe (the generator stays suspended at its
 * yield). The loop does not close g. WEFT_GEN_FOREACH_RC(rc, g, v) also stores the
 * status that ended the loop in the int lvalue rc: -ENODATA when g was exhausted,
 * 0 after a break. */
#define WEFT_GEN_FOREACH(g, v) for (void *v = NULL; weft_gen_next((g), &v) == 0;)
#define WEFT_GEN_FOREACH_RC(rc, g, v) for (void *v = NULL; ((rc) = weft_gen_next((g), &v)) == 0;)

WEFT_END_DECLS

#endif
