/* weft — channels: multi-producer multi-consumer queues safe across cores
 * (asyncio.Queue, Go channels). */
#ifndef WEFT_CHAN_H
#define WEFT_CHAN_H

#include "weft/common.h"

WEFT_BEGIN_DECLS

typedef struct weft_chan weft_chan;

/* A channel of elements of elem_size bytes (1..65536) holding up to capacity
 * elements; capacity 0 means unbounded (sends never wait). NULL when out of memory
 * or for a bad elem_size. */
WEFT_API weft_chan *weft_chan_new(size_t elem_size, size_t capacity);

/* Copies *elem in. Waits while the channel is full. 0; -EPIPE when the channel is
 * closed (-ESHUTDOWN when shut down: that applies to every -EPIPE in this file);
 * -ENOMEM when an unbounded channel cannot grow; -ECANCELED / -ETIMEDOUT like any
 * suspension (nothing was sent then). A send to a waiting receiver hands the element
 * to it directly. From a plain thread it blocks the thread. */
WEFT_API int weft_chan_send(weft_chan *c, const void *elem);

/* Copies the oldest element (LIFO: the newest; priority: the smallest) out into *elem.
 * Waits while the channel is empty. 0; -EPIPE once the channel is closed and drained;
 * -ECANCELED / -ETIMEDOUT (nothing was taken then). From a plain thread it blocks the
 * thread. */
WEFT_API int weft_chan_recv(weft_chan *c, void *elem);

/* Never suspend: -EAGAIN when full (empty), -EPIPE when closed (closed and drained). */
WEFT_API int weft_chan_try_send(weft_chan *c, const void *elem);
WEFT_API int weft_chan_try_recv(weft_chan *c, void *elem);

/* No more sends: waiting senders get -EPIPE, receivers drain what is left and then get
 * -EPIPE. Closing twice is harmless. */
WEFT_API void weft_chan_close(weft_chan *c);

/* asyncio.LifoQueue: like weft_chan_new, but receivers take the newest element first.
 * capacity 0 means unbounded. Elements live under the channel's lock (a stack), so it
 * is slower than a bounded FIFO channel under heavy contention. */
WEFT_API weft_chan *weft_chan_new_lifo(size_t elem_size, size_t capacity);

/* asyncio.PriorityQueue: receivers take the smallest element by cmp (qsort's contract:
 * negative when a comes first); equal elements come out in no particular order.
 * capacity 0 means unbounded. A binary heap under the channel's lock. NULL also when
 * cmp is NULL. cmp runs under a spinlock: keep it short, it must not suspend. */
WEFT_API weft_chan *weft_chan_new_priority(size_t elem_size, size_t capacity,
                                           int (*cmp)(const void *a, const void *b));

/* ---- asyncio.Queue semantics ----------------------------------------------------------
 * Every element a send accepts counts as unfinished until weft_chan_task_done is called
 * once for it. Sends and receives do not pay for this: the count is derived from
 * counters the channel keeps anyway. */

/* Queue.task_done: marks one received element as processed. 0, or -EINVAL when called
 * more times than elements were sent (Python's ValueError). Never suspends. */
WEFT_API int weft_chan_task_done(weft_chan *c);

/* Queue.join: waits until every element ever sent has been marked done (returns at
 * once when none is unfinished). 0, -ECANCELED / -ETIMEDOUT. From a plain thread it
 * blocks the thread. */
WEFT_API int weft_chan_join(weft_chan *c);

/* Elements sent and not yet marked done (Queue's unfinished_tasks). */
WEFT_API size_t weft_chan_unfinished(const weft_chan *c);

/* Queue.shutdown (Python 3.13): like weft_chan_close, but the error is -ESHUTDOWN
 * (Python's QueueShutDown) instead of -EPIPE, so a consumer can tell "the producers are
 * finished" (close) from "the queue was shut down". Sends fail with -ESHUTDOWN from now
 * on and waiting senders are released with it; receivers drain what is buffered and
 * then get -ESHUTDOWN. With `immediate`, what is buffered is dropped at once (and
 * counted as done, so weft_chan_join returns once the elements already taken are
 * done) and waiting receivers get -ESHUTDOWN at once; a receiver racing with the
 * shutdown may still get an element it had begun to take. Shutting down a closed
 * channel turns its -EPIPE into -ESHUTDOWN; closing a shut-down channel changes
 * nothing. */
WEFT_API void weft_chan_shutdown(weft_chan *c, bool immediate);

/* Elements currently buffered. */
WEFT_API size_t weft_chan_len(const weft_chan *c);

/* Frees the channel. Nobody may be using or waiting on it. */
WEFT_API void weft_chan_free(weft_chan *c);

WEFT_END_DECLS

#endif
