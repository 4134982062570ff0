/* weft — channels: bounded or unbounded MPMC queues safe across cores.
 *
 * 1. One spinlock guards the ring buffer and the two waiter queues; it is never held
 *    across a suspension, and waking happens after it is released.
 * 2. A receiver waits only while the buffer is empty, a sender only while it is full,
 *    so at most one of the two waiter queues is non-empty.
 * 3. A send with a receiver waiting copies the element straight into the receiver's
 *    buffer (no trip through the ring); a receive that frees a slot of a full channel
 *    moves the oldest waiting sender's element into the ring. Both then fire the waiter,
 *    which is unlinked under the lock, so exactly one side completes each hand-over.
 * 4. An interrupted waiter (cancel, deadline) retakes the lock: if it was fired in the
 *    meantime the operation happened and its result stands; otherwise it unlinks
 *    itself and nothing was sent or taken.
 * 5. Waiters without a task are plain threads; weft__waiter_wait blocks them on a futex
 *    (the bridge into the runtime).
 */
#include "runtime/internal.h"

#include <errno.h>
#include <string.h>

enum { MAX_ELEM = 65536 };

struct weft_chan {
    weft__spin lock;
    bool closed;
    size_t esize;
    size_t cap; /* 0: unbounded */
    size_t head, len, slots;
    char *buf;
    weft__waitq recvq, sendq;
};

weft_chan *weft_chan_new(size_t elem_size, size_t capacity)
{
    if (elem_size == 0 || elem_size > MAX_ELEM)
        return NULL;
    if (capacity && capacity > SIZE_MAX / elem_size)
        return NULL;
    weft_chan *c = weft__calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->esize = elem_size;
    c->cap = capacity;
    c->slots = capacity ? capacity : 16;
    c->buf = weft__alloc(c->slots * elem_size);
    if (!c->buf) {
        weft__free(c, sizeof *c);
        return NULL;
    }
    return c;
}

void weft_chan_free(weft_chan *c)
{
    if (!c)
        return;
    weft__free(c->buf, c->slots * c->esize);
    weft__free(c, sizeof *c);
}

static inline char *slot(weft_chan *c, size_t i) { return c->buf + ((c->head + i) % c->slots) * c->esize; }

/* Doubles an unbounded channel's ring; with the lock held. */
static bool grow(weft_chan *c)
{
    size_t n = c->slots * 2;
    if (n > SIZE_MAX / c->esize)
        return false;
    char *b = weft__alloc(n * c->esize);
    if (!b)
        return false;
    for (size_t i = 0; i < c->len; i++)
        memcpy(b + i * c->esize, slot(c, i), c->esize);
    weft__free(c->buf, c->slots * c->esize);
    c->buf = b;
    c->slots = n;
    c->head = 0;
    return true;
}

static inline void push_elem(weft_chan *c, const void *elem)
{
    memcpy(slot(c, c->len), elem, c->esize);
    c->len++;
}

static inline void pop_elem(weft_chan *c, void *elem)
{
    memcpy(elem, slot(c, 0), c->esize);
    c->head = (c->head + 1) % c->slots;
    c->len--;
}

/* Tries the send with the lock held. 0 done (*wake may name a receiver to fire after
 * unlocking), -EAGAIN full, -EPIPE closed, -ENOMEM. */
static int send_locked(weft_chan *c, const void *elem, weft__waiter **wake)
{
    if (c->closed)
        return -EPIPE;
    weft__waiter *r = weft__waitq_pop(&c->recvq);
    if (r) {
        memcpy(r->elem, elem, c->esize);
        *wake = r;
        return 0;
    }
    if (c->cap ? c->len == c->cap : c->len == c->slots && !grow(c))
        return c->cap ? -EAGAIN : -ENOMEM;
    push_elem(c, elem);
    return 0;
}

/* Tries the receive with the lock held: 0 (with *wake a sender whose element moved
 * into the ring), -EAGAIN empty, -EPIPE closed and drained. */
static int recv_locked(weft_chan *c, void *elem, weft__waiter **wake)
{
    if (c->len) {
        pop_elem(c, elem);
        weft__waiter *s = weft__waitq_pop(&c->sendq);
        if (s) {
            push_elem(c, s->elem);
            *wake = s;
        }
        return 0;
    }
    return c->closed ? -EPIPE : -EAGAIN;
}

/* Waits for a queued waiter; see step 4. */
static int wait_queued(weft_chan *c, weft__waitq *q, weft__waiter *w)
{
    int rc = weft__waiter_wait(w);
    if (rc == 0)
        return w->res;
    weft__spin_lock(&c->lock);
    bool fired = atomic_load(&w->fired);
    if (!fired)
        weft__waitq_remove(q, w);
    weft__spin_unlock(&c->lock);
    return fired ? w->res : rc;
}

int weft_chan_send(weft_chan *c, const void *elem)
{
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    weft__waiter *wake = NULL;
    weft__spin_lock(&c->lock);
    int rc = send_locked(c, elem, &wake);
    if (rc != -EAGAIN) {
        weft__spin_unlock(&c->lock);
        if (wake)
            weft__waiter_fire(wake, 0);
        return rc;
    }
    weft__waiter w = {.task = self, .elem = (void *)elem};
    weft__waitq_push(&c->sendq, &w);
    weft__spin_unlock(&c->lock);
    return wait_queued(c, &c->sendq, &w);
}

int weft_chan_recv(weft_chan *c, void *elem)
{
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    weft__waiter *wake = NULL;
    weft__spin_lock(&c->lock);
    int rc = recv_locked(c, elem, &wake);
    if (rc != -EAGAIN) {
        weft__spin_unlock(&c->lock);
        if (wake)
            weft__waiter_fire(wake, 0);
        return rc;
    }
    weft__waiter w = {.task = self, .elem = elem};
    weft__waitq_push(&c->recvq, &w);
    weft__spin_unlock(&c->lock);
    return wait_queued(c, &c->recvq, &w);
}

int weft_chan_try_send(weft_chan *c, const void *elem)
{
    weft__waiter *wake = NULL;
    weft__spin_lock(&c->lock);
    int rc = send_locked(c, elem, &wake);
    weft__spin_unlock(&c->lock);
    if (wake)
        weft__waiter_fire(wake, 0);
    return rc;
}

int weft_chan_try_recv(weft_chan *c, void *elem)
{
    weft__waiter *wake = NULL;
    weft__spin_lock(&c->lock);
    int rc = recv_locked(c, elem, &wake);
    weft__spin_unlock(&c->lock);
    if (wake)
        weft__waiter_fire(wake, 0);
    return rc;
}

void weft_chan_close(weft_chan *c)
{
    weft__waitq all = {0};
    weft__spin_lock(&c->lock);
    c->closed = true;
    /* Move every waiter out under the lock; fire them after it. */
    weft__waiter *w;
    while ((w = weft__waitq_pop(&c->sendq)))
        weft__waitq_push(&all, w);
    while ((w = weft__waitq_pop(&c->recvq)))
        weft__waitq_push(&all, w);
    weft__spin_unlock(&c->lock);
    while ((w = weft__waitq_pop(&all)))
        weft__waiter_fire(w, -EPIPE);
}

size_t weft_chan_len(const weft_chan *c)
{
    weft_chan *m = (weft_chan *)c;
    weft__spin_lock(&m->lock);
    size_t n = m->len;
    weft__spin_unlock(&m->lock);
    return n;
}
