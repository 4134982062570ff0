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
 * closed; -ECANCELED / -ETIMEDOUT like any suspension (nothing was sent then).
 * A send to a waiting receiver hands the element to it directly. From a plain thread
 * it blocks the thread. */
WEFT_API int weft_chan_send(weft_chan *c, const void *elem);

/* Copies the oldest element out into *elem. Waits while the channel is empty.
 * 0; -EPIPE once the channel is closed and drained; -ECANCELED / -ETIMEDOUT (nothing
 * was taken then). From a plain thread it blocks the thread. */
WEFT_API int weft_chan_recv(weft_chan *c, void *elem);

/* Never suspend: -EAGAIN when full (empty), -EPIPE when closed (closed and drained). */
WEFT_API int weft_chan_try_send(weft_chan *c, const void *elem);
WEFT_API int weft_chan_try_recv(weft_chan *c, void *elem);

/* No more sends: waiting senders get -EPIPE, receivers drain what is left and then get
 * -EPIPE. Closing twice is harmless. */
WEFT_API void weft_chan_close(weft_chan *c);

/* Elements currently buffered. */
WEFT_API size_t weft_chan_len(const weft_chan *c);

/* Frees the channel. Nobody may be using or waiting on it. */
WEFT_API void weft_chan_free(weft_chan *c);

WEFT_END_DECLS

#endif
