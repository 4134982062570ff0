/* weft — channel internals shared by sync/chan.c (the ring and the operations),
 * sync/chan_store.c (the locked stores: FIFO, LIFO, priority heap), sync/chan_queue.c
 * (task_done / join) and sync/select.c.
 *
 * Select records in the waiter queues (the protocol is at the top of sync/select.c):
 * whoever pops a waiter from a channel's queue does so with pop_live(), which skips
 * records whose select was already taken by another case and claims a select for the
 * popped record with one CAS before anything is handed over. Plain waiters cost one
 * load and a predictable branch there. */
#ifndef WEFT_SYNC_CHAN_INTERNAL_H
#define WEFT_SYNC_CHAN_INTERNAL_H

#include "runtime/internal.h"

#include <errno.h>
#include <string.h>

enum { WEFT__RETRY = 1 };
#define WEFT__CLOSED (UINT64_C(1) << 63)

/* Locked stores' orders. */
enum { WEFT__FIFO, WEFT__LIFO, WEFT__PRIO };

typedef struct weft__slot {
    _Atomic uint64_t seq;
    char data[];
} weft__slot;

struct weft_chan {
    _Atomic uint64_t tail WEFT_ALIGNED; /* producers' tickets; bit 63 = closed */
    /* The worker of the task that last took a ticket at this end, -1 for none: a hint
     * for the other end's gathering rule (chan.c step 11a), on the line the ticket CAS
     * owns anyway. */
    _Atomic int tail_w;
    _Atomic uint64_t head WEFT_ALIGNED; /* consumers' tickets */
    _Atomic int head_w;
    weft__spin lock WEFT_ALIGNED;
    _Atomic uint32_t nrecvw, nsendw; /* queued waiters (ring channels) */
    _Atomic uint32_t njoinw;         /* queued joiners */
    _Atomic int closed_err;          /* 0 open, -EPIPE closed, -ESHUTDOWN shut down */
    /* Elements accepted other than through the ring (hand-overs, locked stores);
     * written under the lock, read by task_done. */
    _Atomic uint64_t nlocked;
    weft__waitq recvq, sendq, joinq;
    bool ring; /* bounded FIFO: the lock-free ring; else a store under the lock */
    int kind;  /* WEFT__FIFO / LIFO / PRIO (locked stores) */
    size_t esize, cap, stride, mask; /* mask: cap - 1 when cap is a power of two
                                      * (1 included), else SIZE_MAX: divide */
    char *slots;
    /* locked store: FIFO ring from uhead, or array (LIFO stack, PRIO heap) from 0 */
    size_t uhead, ulen, uslots;
    char *ubuf;
    char *tmp; /* PRIO: scratch element for swaps */
    int (*cmp)(const void *a, const void *b);
    /* task_done calls plus elements dropped by an immediate shutdown */
    _Atomic uint64_t ndone WEFT_ALIGNED;
    /* Ring channels: the worker its contending tasks gather on, -1 until contention
     * picked one (chan.c step 11). */
    _Atomic int home WEFT_ALIGNED;
};

/* Element copies: the common sizes as fixed-size copies the compiler inlines. */
static inline void weft__copy_elem(void *dst, const void *src, size_t n)
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

/* Waiter counters change only under the lock. Increments are seq_cst RMWs (they are
 * the registrant's half of the handshake); decrements need no ordering. */
static inline void weft__count_down(_Atomic uint32_t *n)
{
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) - 1,
                          memory_order_relaxed);
}

/* Under the channel's lock, for a popped select record: claims its select for this
 * record's case (WAITING → idx). A select re-checking its own cases (SELF) is marked
 * POKED instead, so it looks again before sleeping; a select already taken or gone
 * is skipped. True when claimed. */
static inline bool weft__sel_claim(weft__waiter *w)
{
    weft__selgrp *g = w->sel;
    int s = atomic_load_explicit(&g->state, memory_order_relaxed);
    for (;;) {
        if (s == WEFT_SEL_WAITING) {
            /* seq_cst: orders against the select's own SELF / GONE CAS */
            if (atomic_compare_exchange_weak(&g->state, &s, (int)w->idx))
                return true;
        } else if (s == WEFT_SEL_SELF) {
            if (atomic_compare_exchange_weak(&g->state, &s, WEFT_SEL_POKED))
                return false;
        } else {
            return false;
        }
    }
}

/* Under the lock: pops the first waiter of q that may be fired, counting down n (may
 * be NULL) for every record popped. */
static inline weft__waiter *weft__pop_live(weft__waitq *q, _Atomic uint32_t *n)
{
    weft__waiter *w;
    while ((w = weft__waitq_pop(q))) {
        w->queued = false; /* claimed: an interrupted owner waits for our fire */
        if (n)
            weft__count_down(n);
        if (WEFT_LIKELY(!w->sel))
            return w;
        if (weft__sel_claim(w))
            return w;
    }
    return NULL;
}

/* Fires a waiter popped with weft__pop_live: a select record fires its select. */
static inline void weft__fire(weft__waiter *w, int res)
{
    if (WEFT_UNLIKELY(w->sel != NULL))
        w = &w->sel->w;
    weft__waiter_fire(w, res);
}

/* The error of a closed channel: -EPIPE after close, -ESHUTDOWN after shutdown. Called
 * after seeing the CLOSED bit (or `closed_err` under the lock). */
static inline int weft__closed_rc(weft_chan *c)
{
    /* acquire: pairs with the release of the CLOSED bit's fetch_or, which follows the
     * store of closed_err (the bit may have been read with a relaxed load) */
    atomic_thread_fence(memory_order_acquire);
    int e = atomic_load_explicit(&c->closed_err, memory_order_relaxed);
    return e ? e : -EPIPE;
}

/* Elements ever accepted by the channel. */
static inline uint64_t weft__chan_sends(weft_chan *c)
{
    uint64_t n = atomic_load(&c->nlocked);
    if (c->ring)
        n += atomic_load(&c->tail) & ~WEFT__CLOSED;
    return n;
}

static inline void weft__count_accepted(weft_chan *c)
{
    atomic_store_explicit(&c->nlocked, atomic_load_explicit(&c->nlocked, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* ---- locked stores (chan_store.c), all under the lock ---------------------------- */
int weft__store_init(weft_chan *c);
void weft__store_fini(weft_chan *c);
/* 0, -EAGAIN when a bounded store is full, -ENOMEM. */
int weft__store_put(weft_chan *c, const void *elem);
/* 0, -EAGAIN when empty. */
int weft__store_get(weft_chan *c, void *elem);
/* Drops every element; returns how many. */
size_t weft__store_drop(weft_chan *c);

/* ---- for select (chan.c) ----------------------------------------------------------- */
/* One attempt that never suspends: 0, -EAGAIN, or the closed error (-ENOMEM). */
int weft__chan_try_op(weft_chan *c, bool send, void *elem, weft_task *self);
/* Queues / unqueues a select record on the send or receive side. */
void weft__chan_enqueue(weft_chan *c, bool send, weft__waiter *rec);
void weft__chan_dequeue(weft_chan *c, bool send, weft__waiter *rec);
/* Passes a RETRY wake-up the caller did not use on to the next waiter of that side. */
void weft__chan_pass(weft_chan *c, bool send);

/* join's waiters (chan_queue.c): fire them when nothing is unfinished. */
void weft__chan_wake_joiners(weft_chan *c);

#endif
