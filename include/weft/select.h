/* weft — select: wait on several channel operations at once and complete exactly one
 * (Go's select, asyncio.wait(return_when=FIRST_COMPLETED) over queue gets and puts). */
#ifndef WEFT_SELECT_H
#define WEFT_SELECT_H

#include "weft/chan.h"
#include "weft/common.h"

WEFT_BEGIN_DECLS

enum { WEFT_SELECT_SEND = 1, WEFT_SELECT_RECV = 2 };

/* No timeout: wait until a case completes (or the task is cancelled, or an enclosing
 * deadline passes). */
#define WEFT_SELECT_FOREVER UINT64_MAX
/* Most cases in one weft_select. */
#define WEFT_SELECT_MAX 64

/* One case: a send of *elem to chan, or a receive from chan into *elem. A case whose
 * chan is NULL is never ready (Go's nil channel), handy for switching cases off. */
typedef struct weft_select_case {
    weft_chan *chan;
    int op;     /* WEFT_SELECT_SEND or WEFT_SELECT_RECV */
    void *elem; /* the element to send, or where a received one goes */
    int result; /* out: the completed case's result (0, -EPIPE, -ESHUTDOWN, -ENOMEM) */
} weft_select_case;

/* Initializers: weft_select_case cs[] = {WEFT_RECV(a, &x), WEFT_SEND(b, &y)}; */
#define WEFT_RECV(ch, p) {(ch), WEFT_SELECT_RECV, (p), 0}
#define WEFT_SEND(ch, p) {(ch), WEFT_SELECT_SEND, (void *)(p), 0}

/* Completes exactly one of the n cases and returns its index; its outcome is in
 * cases[i].result: 0, or the channel's closed error (-EPIPE / -ESHUTDOWN: a closed
 * channel is always ready, so a receive case on a closed and drained channel completes
 * with -EPIPE, and so does a send case on a closed channel). Nothing happened on the
 * other cases. When several cases are ready, one is chosen at random (each call starts
 * looking at a random case), so no ready case starves.
 *
 * timeout_ns: WEFT_SELECT_FOREVER waits as long as needed; 0 is Go's default case:
 * never suspend, -EAGAIN when no case is ready; otherwise give up after timeout_ns with
 * -ETIMEDOUT. Also -ECANCELED / -ETIMEDOUT (an enclosing deadline) like any suspension:
 * then no case happened. -EINVAL for n > WEFT_SELECT_MAX, a bad op or a NULL elem.
 * n may be 0 (with no case: a sleep of timeout_ns ending in -ETIMEDOUT).
 *
 * Works on every kind of channel (bounded, unbounded, LIFO, priority) and from plain
 * threads (they block, with the timeout honoured). */
WEFT_API int weft_select(weft_select_case *cases, size_t n, uint64_t timeout_ns);

WEFT_END_DECLS

#endif
