/* weft — channels: bounded or unbounded MPMC queues safe across cores.
 *
 * Bounded channels keep their elements in a lock-free ticket ring (Vyukov's bounded
 * MPMC queue): producers claim a ticket with a CAS on `tail`, consumers on `head`, on
 * separate cache lines, and each slot's sequence number says whose turn it is: 2p when
 * free for ticket p, 2p+1 once filled by it. (Vyukov's original p / p+1 cannot tell the
 * two apart when the capacity is 1.) The
 * spinlock guards only the waiter queues. Unbounded channels use a growable ring under
 * the same lock.
 *
 * Protocol for waiting (bounded):
 *  1. A receiver that finds the ring empty takes the lock, queues its waiter, counts it
 *     in nrecvw (seq_cst), re-tries the ring, and only then sleeps. Senders likewise
 *     with nsendw when the ring is full.
 *  2. After a successful push a sender reads nrecvw (seq_cst; its ticket CAS is seq_cst
 *     too): either it sees the waiter, or the waiter's re-try sees the new tail. It then
 *     fires one waiter with RETRY; the woken receiver takes from the ring itself.
 *     Receivers do the same for waiting senders.
 *  3. Direct hand-over: a sender that sees a waiting receiver while the ring is empty
 *     copies the element straight into the receiver's buffer under the lock (res 0), no
 *     trip through the ring. Requiring an empty ring keeps each producer's order. The
 *     ring stays empty, so a sender that was woken to use free space and handed over
 *     instead wakes the next waiting sender: otherwise that space would go unnoticed.
 *  4. An interrupted waiter (cancel, deadline) retakes the lock: if it was not fired it
 *     leaves the queue and nothing happened; if it was handed an element the operation
 *     stands; if it was only told RETRY it passes that on to the next waiter.
 *  5. close() sets the CLOSED bit in tail with one atomic OR: every later ticket claim
 *     fails, so no element can be pushed after a receiver has seen the channel closed
 *     and drained. Waiters are all fired with RETRY and find out for themselves.
 *  6. A slot whose ticket was claimed but not yet filled (the other side is between
 *     its CAS and its store) is waited out with pause, a few instructions at most.
 *  7. Waiters without a task are plain threads blocked on a futex (the bridge).
 */
#include "runtime/internal.h"

#include <errno.h>
#include <string.h>

enum { MAX_ELEM = 65536, RETRY = 1 };
#define CLOSED (UINT64_C(1) << 63)

typedef struct slot {
    _Atomic uint64_t seq;
    char data[];
} slot;

struct weft_chan {
    _Atomic uint64_t tail WEFT_ALIGNED; /* producers' tickets; bit 63 = closed */
    _Atomic uint64_t head WEFT_ALIGNED; /* consumers' tickets */
    weft__spin lock WEFT_ALIGNED;
    _Atomic uint32_t nrecvw, nsendw; /* queued waiters (bounded channels) */
    bool closed;                     /* unbounded channels, under the lock */
    weft__waitq recvq, sendq;
    size_t esize, cap, stride, mask; /* mask: cap - 1 when cap is a power of two, else 0 */
    char *slots;
    /* unbounded: a growable ring under the lock */
    size_t uhead, ulen, uslots;
    char *ubuf;
};

/* Element copies: the common sizes as fixed-size copies the compiler inlines. */
static inline void copy_elem(void *dst, const void *src, size_t n)
{
    switch (n) {
    case 4:
        __builtin_memcpy(dst, src, 4);
        break;
    case 8:
        __builtin_memcpy(dst, src, 8);
        break;
    case 16:
        __builtin_memcpy(dst, src, 16);
        break;
    default:
        memcpy(dst, src, n);
    }
}

/* ---- the lock-free ring (bounded) --------------------------------------------------- */

static inline slot *slot_at(weft_chan *c, uint64_t pos)
{
    size_t i = c->mask ? (size_t)(pos & c->mask) : (size_t)(pos % c->cap);
    return (slot *)(c->slots + i * c->stride);
}

/* 0, -EAGAIN when full, -EPIPE when closed. */
static int ring_push(weft_chan *c, const void *elem)
{
    uint64_t pos = atomic_load_explicit(&c->tail, memory_order_relaxed);
    slot *s;
    for (;;) {
        if (pos & CLOSED)
            return -EPIPE;
        s = slot_at(c, pos);
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t d = (int64_t)(seq - 2 * pos);
        if (d == 0) {
            if (atomic_compare_exchange_weak(&c->tail, &pos, pos + 1))
                break;
        } else if (d < 0) {
            /* The slot still holds last lap's element: full, or a consumer is between
             * its CAS and its store (step 6). */
            /* Signed: pos may be stale, and head may have passed it meanwhile. */
            if ((int64_t)(pos - atomic_load(&c->head)) >= (int64_t)c->cap)
                return -EAGAIN;
            __builtin_ia32_pause();
            pos = atomic_load_explicit(&c->tail, memory_order_relaxed);
        } else {
            pos = atomic_load_explicit(&c->tail, memory_order_relaxed);
        }
    }
    copy_elem(s->data, elem, c->esize);
    /* release: the element before the turn passes to consumers */
    atomic_store_explicit(&s->seq, 2 * pos + 1, memory_order_release);
    return 0;
}

/* 0, -EAGAIN when empty, -EPIPE when closed and drained. */
static int ring_pop(weft_chan *c, void *elem)
{
    uint64_t pos = atomic_load_explicit(&c->head, memory_order_relaxed);
    slot *s;
    for (;;) {
        s = slot_at(c, pos);
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t d = (int64_t)(seq - (2 * pos + 1));
        if (d == 0) {
            if (atomic_compare_exchange_weak(&c->head, &pos, pos + 1))
                break;
        } else if (d < 0) {
            uint64_t t = atomic_load(&c->tail);
            if ((t & ~CLOSED) == pos)
                return t & CLOSED ? -EPIPE : -EAGAIN;
            __builtin_ia32_pause(); /* a producer is filling this slot (step 6) */
            pos = atomic_load_explicit(&c->head, memory_order_relaxed);
        } else {
            pos = atomic_load_explicit(&c->head, memory_order_relaxed);
        }
    }
    copy_elem(elem, s->data, c->esize);
    /* release: we are done reading before producers may refill the slot */
    atomic_store_explicit(&s->seq, 2 * (pos + c->cap), memory_order_release);
    return 0;
}

/* Waiter counters change only under the lock. Increments are seq_cst RMWs (they are
 * the registrant's half of step 1's handshake); decrements need no ordering. */
static inline void count_down(_Atomic uint32_t *n)
{
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) - 1,
                          memory_order_relaxed);
}

/* Fires one waiter of q with RETRY when its counter says someone waits (step 2). */
static void wake_one(weft_chan *c, weft__waitq *q, _Atomic uint32_t *n)
{
    if (!atomic_load(n))
        return;
    weft__spin_lock(&c->lock);
    weft__waiter *w = weft__waitq_pop(q);
    if (w)
        count_down(n);
    weft__spin_unlock(&c->lock);
    if (w)
        weft__waiter_fire(w, RETRY);
}

/* ---- the locked ring (unbounded) ---------------------------------------------------- */

static inline char *uslot(weft_chan *c, size_t i)
{
    return c->ubuf + ((c->uhead + i) % c->uslots) * c->esize;
}

static bool ugrow(weft_chan *c)
{
    size_t n = c->uslots * 2;
    if (n > SIZE_MAX / c->esize)
        return false;
    char *b = weft__alloc(n * c->esize);
    if (!b)
        return false;
    for (size_t i = 0; i < c->ulen; i++)
        memcpy(b + i * c->esize, uslot(c, i), c->esize);
    weft__free(c->ubuf, c->uslots * c->esize);
    c->ubuf = b;
    c->uslots = n;
    c->uhead = 0;
    return true;
}

/* With the lock held. 0 (*wake: a receiver given the element), -EPIPE, -ENOMEM. */
static int usend_locked(weft_chan *c, const void *elem, weft__waiter **wake)
{
    if (c->closed)
        return -EPIPE;
    weft__waiter *r = weft__waitq_pop(&c->recvq);
    if (r) {
        copy_elem(r->elem, elem, c->esize);
        *wake = r;
        return 0;
    }
    if (c->ulen == c->uslots && !ugrow(c))
        return -ENOMEM;
    memcpy(uslot(c, c->ulen), elem, c->esize);
    c->ulen++;
    return 0;
}

/* With the lock held. 0, -EAGAIN when empty, -EPIPE when closed and drained. */
static int urecv_locked(weft_chan *c, void *elem)
{
    if (c->ulen) {
        memcpy(elem, uslot(c, 0), c->esize);
        c->uhead = (c->uhead + 1) % c->uslots;
        c->ulen--;
        return 0;
    }
    return c->closed ? -EPIPE : -EAGAIN;
}

/* ---- construction ------------------------------------------------------------------- */

weft_chan *weft_chan_new(size_t elem_size, size_t capacity)
{
    if (elem_size == 0 || elem_size > MAX_ELEM || capacity > (SIZE_MAX >> 2) / (elem_size + 8))
        return NULL;
    weft_chan *c;
    if (posix_memalign((void **)&c, WEFT_CACHELINE, sizeof *c) != 0)
        return NULL;
    memset(c, 0, sizeof *c);
    c->esize = elem_size;
    c->cap = capacity;
    if (capacity) {
        c->stride = (sizeof(slot) + elem_size + 7) & ~(size_t)7;
        c->mask = (capacity & (capacity - 1)) == 0 ? capacity - 1 : 0;
        c->slots = weft__alloc(capacity * c->stride);
        if (!c->slots) {
            free(c);
            return NULL;
        }
        for (size_t i = 0; i < capacity; i++)
            atomic_init(&((slot *)(c->slots + i * c->stride))->seq, 2 * i);
    } else {
        c->uslots = 16;
        c->ubuf = weft__alloc(c->uslots * elem_size);
        if (!c->ubuf) {
            free(c);
            return NULL;
        }
    }
    return c;
}

void weft_chan_free(weft_chan *c)
{
    if (!c)
        return;
    if (c->cap)
        weft__free(c->slots, c->cap * c->stride);
    else
        weft__free(c->ubuf, c->uslots * c->esize);
    free(c);
}

/* ---- waiting ------------------------------------------------------------------------ */

/* Leaves the queue after an interruption (step 4). Returns the operation's result if it
 * completed anyway, else rc. */
static int leave(weft_chan *c, weft__waitq *q, _Atomic uint32_t *n, weft__waiter *w, int rc)
{
    weft__waiter *pass = NULL;
    weft__spin_lock(&c->lock);
    if (!atomic_load(&w->fired)) {
        weft__waitq_remove(q, w);
        if (n)
            count_down(n);
    } else if (w->res == RETRY && n && (pass = weft__waitq_pop(q))) {
        count_down(n);
    }
    weft__spin_unlock(&c->lock);
    if (pass)
        weft__waiter_fire(pass, RETRY);
    if (atomic_load(&w->fired) && w->res != RETRY)
        return w->res;
    return rc;
}

/* One side of a bounded channel: its ring operation and waiters, and the other side's. */
typedef struct side {
    int (*op)(weft_chan *c, void *elem);
    weft__waitq *q, *oq;
    _Atomic uint32_t *n, *on;
} side;

static int push_op(weft_chan *c, void *elem)
{
    return ring_push(c, elem);
}

/* Steps 1 and 4 for either side: queue, count, re-try, sleep. Returns the operation's
 * result, or RETRY when the caller should go round again. */
static int wait_side(weft_chan *c, const side *sd, weft_task *self, void *elem)
{
    weft__waiter w = {.task = self, .elem = elem};
    weft__spin_lock(&c->lock);
    weft__waitq_push(sd->q, &w);
    atomic_fetch_add(sd->n, 1);
    int rc = sd->op(c, elem);
    if (rc != -EAGAIN) {
        weft__waitq_remove(sd->q, &w);
        count_down(sd->n);
        weft__spin_unlock(&c->lock);
        if (rc == 0)
            wake_one(c, sd->oq, sd->on);
        return rc;
    }
    weft__spin_unlock(&c->lock);
    rc = weft__waiter_wait(&w);
    return rc ? leave(c, sd->q, sd->n, &w, rc) : w.res;
}

int weft_chan_send(weft_chan *c, const void *elem)
{
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    if (!c->cap) {
        weft__waiter *wake = NULL;
        weft__spin_lock(&c->lock);
        int rc = usend_locked(c, elem, &wake);
        weft__spin_unlock(&c->lock);
        if (wake)
            weft__waiter_fire(wake, 0);
        return rc;
    }
    for (;;) {
        /* Step 3: hand over directly to a waiting receiver when the ring is empty. */
        if (atomic_load_explicit(&c->nrecvw, memory_order_relaxed)) {
            weft__waiter *r = NULL;
            weft__spin_lock(&c->lock);
            uint64_t t = atomic_load(&c->tail);
            if (!(t & CLOSED) && t == atomic_load(&c->head) && (r = weft__waitq_pop(&c->recvq))) {
                count_down(&c->nrecvw);
                copy_elem(r->elem, elem, c->esize);
            }
            weft__spin_unlock(&c->lock);
            if (r) {
                weft__waiter_fire(r, 0);
                /* The ring is empty, yet senders may wait: one of them was told RETRY
                 * ("there is space") and we may be that one, having used the hand-over
                 * instead. Pass the news on so the space is not forgotten. */
                wake_one(c, &c->sendq, &c->nsendw);
                return 0;
            }
        }
        int rc = ring_push(c, elem);
        if (rc == 0) {
            wake_one(c, &c->recvq, &c->nrecvw);
            return 0;
        }
        if (rc != -EAGAIN)
            return rc;
        /* Full: queue, count, re-try, sleep (step 1). */
        const side sd = {push_op, &c->sendq, &c->recvq, &c->nsendw, &c->nrecvw};
        rc = wait_side(c, &sd, self, (void *)elem);
        if (rc != RETRY)
            return rc;
    }
}

int weft_chan_recv(weft_chan *c, void *elem)
{
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    if (!c->cap) {
        weft__spin_lock(&c->lock);
        int rc = urecv_locked(c, elem);
        if (rc != -EAGAIN) {
            weft__spin_unlock(&c->lock);
            return rc;
        }
        weft__waiter w = {.task = self, .elem = elem};
        weft__waitq_push(&c->recvq, &w);
        weft__spin_unlock(&c->lock);
        rc = weft__waiter_wait(&w);
        return rc ? leave(c, &c->recvq, NULL, &w, rc) : w.res;
    }
    for (;;) {
        int rc = ring_pop(c, elem);
        if (rc == 0) {
            wake_one(c, &c->sendq, &c->nsendw);
            return 0;
        }
        if (rc != -EAGAIN)
            return rc;
        const side sd = {ring_pop, &c->recvq, &c->sendq, &c->nrecvw, &c->nsendw};
        rc = wait_side(c, &sd, self, elem);
        if (rc != RETRY)
            return rc; /* 0 also when handed over directly */
    }
}

int weft_chan_try_send(weft_chan *c, const void *elem)
{
    if (!c->cap) {
        weft__waiter *wake = NULL;
        weft__spin_lock(&c->lock);
        int rc = usend_locked(c, elem, &wake);
        weft__spin_unlock(&c->lock);
        if (wake)
            weft__waiter_fire(wake, 0);
        return rc;
    }
    int rc = ring_push(c, elem);
    if (rc == 0)
        wake_one(c, &c->recvq, &c->nrecvw);
    return rc;
}

int weft_chan_try_recv(weft_chan *c, void *elem)
{
    if (!c->cap) {
        weft__spin_lock(&c->lock);
        int rc = urecv_locked(c, elem);
        weft__spin_unlock(&c->lock);
        return rc;
    }
    int rc = ring_pop(c, elem);
    if (rc == 0)
        wake_one(c, &c->sendq, &c->nsendw);
    return rc;
}

void weft_chan_close(weft_chan *c)
{
    weft__waitq all = {0};
    weft__waiter *w;
    if (c->cap)
        atomic_fetch_or(&c->tail, CLOSED); /* step 5 */
    weft__spin_lock(&c->lock);
    c->closed = true;
    while ((w = weft__waitq_pop(&c->sendq)))
        weft__waitq_push(&all, w);
    while ((w = weft__waitq_pop(&c->recvq)))
        weft__waitq_push(&all, w);
    atomic_store(&c->nsendw, 0);
    atomic_store(&c->nrecvw, 0);
    weft__spin_unlock(&c->lock);
    /* Bounded waiters retry and see CLOSED; unbounded ones get -EPIPE directly. */
    while ((w = weft__waitq_pop(&all)))
        weft__waiter_fire(w, c->cap ? RETRY : -EPIPE);
}

size_t weft_chan_len(const weft_chan *c)
{
    weft_chan *m = (weft_chan *)c;
    if (m->cap) {
        uint64_t h = atomic_load(&m->head);
        uint64_t t = atomic_load(&m->tail) & ~CLOSED;
        return t > h ? (size_t)(t - h) : 0;
    }
    weft__spin_lock(&m->lock);
    size_t n = m->ulen;
    weft__spin_unlock(&m->lock);
    return n;
}
