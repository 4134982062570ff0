/* weft — running io_uring operations for tasks: submission, completion, cancellation.
 * The protocol is described in io/internal.h. */
#include "io/internal.h"

#include <string.h>

weft__io_features weft__io_feat;

/* io_uring_enter calls made to submit or collect I/O (not parks): tests check batching.
 * Every worker adds to it, so it has a line of its own. */
static struct WEFT_ALIGNED {
    _Atomic uint64_t n;
} enters;
WEFT_API uint64_t weft__io_enters(void);
uint64_t weft__io_enters(void)
{
    return atomic_load_explicit(&enters.n, memory_order_relaxed);
}

void weft__io_probe(void)
{
    struct io_uring_probe *p = io_uring_get_probe();
    weft__io_features f = {0};
    if (p) {
        f.op_socket = io_uring_opcode_supported(p, IORING_OP_SOCKET);
        f.op_shutdown = io_uring_opcode_supported(p, IORING_OP_SHUTDOWN);
        f.op_statx = io_uring_opcode_supported(p, IORING_OP_STATX);
        f.op_sendmsg = io_uring_opcode_supported(p, IORING_OP_SENDMSG);
        /* Multishot accept and the cancel flags came with IORING_OP_SOCKET (5.19):
         * the probe has no bit for them, so the opcode stands in. */
        f.multishot_accept = f.op_socket;
        f.cancel_any = f.op_socket;
        io_uring_free_probe(p);
    }
    /* WEFT_RING_COMPAT=1 also takes the fallbacks of pre-5.19 kernels. */
    const char *compat = getenv("WEFT_RING_COMPAT");
    if (compat && *compat && *compat != '0') {
        f.op_socket = false;
        f.multishot_accept = false;
    }
    weft__io_feat = f; /* every worker computes the same value */
}

/* Metrics: owner-written counters (runtime/stats.c). */
static inline void io_count(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static struct io_uring_sqe *get_sqe(weft__worker *w)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (WEFT_UNLIKELY(!sqe)) {
        /* The SQ ring is full of this tick's submissions: hand them over now. */
        int n = io_uring_submit(&w->ring);
        if (n > 0)
            WEFT_TRACE(WEFT_EV_IO_SUBMIT, 0, 0, 0, (uint64_t)n, 0);
        atomic_fetch_add_explicit(&enters.n, 1, memory_order_relaxed);
        sqe = io_uring_get_sqe(&w->ring);
    }
    return sqe;
}

struct io_uring_sqe *weft__io_sqe_noreply(weft__worker *w)
{
    struct io_uring_sqe *sqe = get_sqe(w);
    if (sqe) {
        /* Counted in flight like any operation, so the worker polls for its CQE. */
        w->io_inflight++;
        io_count(&w->n_io_sub);
    }
    return sqe;
}

int weft__io_begin(weft__io *io, struct io_uring_sqe **sqe)
{
    weft_task *t = weft__task_self();
    if (WEFT_UNLIKELY(!t))
        return -EPERM;
    int rc = weft__interrupted(t);
    if (rc)
        return rc;
    weft__worker *w = weft__worker_self();
    *sqe = get_sqe(w);
    if (WEFT_UNLIKELY(!*sqe))
        return -EBUSY;
    io->wt.task = t;
    atomic_store_explicit(&io->wt.fired, 0, memory_order_relaxed);
    io->wt.res = 0;
    io->cqe_flags = 0;
    io->home = w;
    io->on_cqe = NULL;
    io->cnext = NULL;
    atomic_store_explicit(&io->cancel_st, 0, memory_order_relaxed);
    return 0;
}

static void submit_cancel(weft__worker *w, weft__io *io)
{
    struct io_uring_sqe *sqe = weft__io_sqe_noreply(w);
    if (WEFT_UNLIKELY(!sqe)) {
        /* Cannot happen after get_sqe's submit unless the kernel refuses SQEs; the
         * operation then completes on its own. */
        w->io_inflight--;
        return;
    }
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)io, 0);
    io_uring_sqe_set_data64(sqe, WEFT_IO_TAG_IGNORE);
}

void weft__io_cancel(weft__io *io)
{
    weft__worker *home = io->home;
    int st = 0;
    if (!atomic_compare_exchange_strong(&io->cancel_st, &st, 1))
        return; /* already requested */
    if (weft__worker_self() == home) {
        submit_cancel(home, io);
        atomic_store_explicit(&io->cancel_st, 2, memory_order_release);
        return;
    }
    weft__spin_lock(&home->cancel_lock);
    io->cnext = home->cancel_head;
    home->cancel_head = io;
    atomic_store_explicit(&home->cancel_pending, true, memory_order_relaxed);
    weft__spin_unlock(&home->cancel_lock);
    /* The home worker sees the list at its next look at the ring; wake it if parked. */
    weft__worker_wake(home);
}

/* Home worker: submit the cancels other workers asked for. */
static void take_cancels(weft__worker *w)
{
    weft__spin_lock(&w->cancel_lock);
    weft__io *io = w->cancel_head;
    w->cancel_head = NULL;
    atomic_store_explicit(&w->cancel_pending, false, memory_order_relaxed);
    weft__spin_unlock(&w->cancel_lock);
    while (io) {
        weft__io *next = io->cnext;
        weft_task *t = io->wt.task; /* read before the release below frees io */
        submit_cancel(w, io);
        atomic_store_explicit(&io->cancel_st, 2, memory_order_release);
        if (t)
            weft__unpark(t); /* it may be waiting for this hand-over */
        io = next;
    }
}

int weft__io_wait(weft__io *io, struct io_uring_sqe *sqe)
{
    weft_task *t = io->wt.task;
    io_uring_sqe_set_data(sqe, io);
    io->home->io_inflight++;
    io_count(&io->home->n_io_sub);
    t->tr_op = sqe->opcode;
    bool armed = false;
    int intr = 0;
    for (;;) {
        if (atomic_load_explicit(&io->wt.fired, memory_order_acquire)) {
            /* A cancel queued for the home worker must be taken before io (on this
             * stack) goes away. */
            if (atomic_load_explicit(&io->cancel_st, memory_order_acquire) != 1)
                break;
        } else if (!intr && (intr = weft__interrupted(t)) != 0) {
            if (armed) {
                weft__timer_disarm(t);
                armed = false;
            }
            weft__io_cancel(io);
            continue;
        } else if (!intr && !armed && t->deadline != UINT64_MAX && !t->nointr) {
            weft__timer_arm(weft__worker_self(), t, t->deadline);
            armed = true;
        }
        weft__trace_reason(t, WEFT_TR_IO);
        weft__park(t);
    }
    if (armed)
        weft__timer_disarm(t);
    int res = io->wt.res;
    if (intr && (res == -ECANCELED || res == -EINTR))
        res = intr;
    return res;
}

static void complete(weft__worker *w, const struct io_uring_cqe *cqe)
{
    uint64_t data = io_uring_cqe_get_data64(cqe);
    if (data == WEFT_IO_TAG_WAKE) {
        w->wake_armed = false;
        return;
    }
    bool more = cqe->flags & IORING_CQE_F_MORE;
    if (!more) {
        w->io_inflight--;
        io_count(&w->n_io_done);
    }
    if (data == WEFT_IO_TAG_IGNORE)
        return;
    weft__io *io = (weft__io *)(uintptr_t)data;
    if (io->on_cqe) {
        io->on_cqe(io, cqe);
        return;
    }
    weft_task *t = io->wt.task;
    io->wt.res = cqe->res;
    io->cqe_flags = cqe->flags;
    /* release: res and flags before fired; after it io may be gone */
    atomic_store_explicit(&io->wt.fired, 1, memory_order_release);
    weft__unpark_fifo(t);
}

/* Completions queue their tasks on w without a wake-up each; at the end one look
 * decides (runtime/idle.c step 5a): w runs the first itself, so only a second is work
 * that a parked worker could take. */
void weft__io_reap(weft__worker *w)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    bool tr = WEFT_TRACE_ON();
    if (tr)
        w->tr_wake_src = WEFT_TW_IO;
    w->batching = true;
    io_uring_for_each_cqe(&w->ring, head, cqe)
    {
        complete(w, cqe);
        n++;
    }
    w->batching = false;
    if (n) {
        io_uring_cq_advance(&w->ring, n);
        (void)weft__notify_beyond(w, 1);
    }
    if (tr) {
        w->tr_wake_src = 0;
        if (n)
            weft__trace_ev(WEFT_EV_IO_COMPLETE, 0, 0, 0, n, 0);
    }
}

void weft__io_poll(weft__worker *w)
{
    if (atomic_load_explicit(&w->cancel_pending, memory_order_relaxed))
        take_cancels(w);
    unsigned kflags = IO_URING_READ_ONCE(*w->ring.sq.kflags);
    if (io_uring_sq_ready(&w->ring) || (kflags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))) {
        int n = io_uring_submit_and_get_events(&w->ring);
        atomic_fetch_add_explicit(&enters.n, 1, memory_order_relaxed);
        if (n > 0)
            WEFT_TRACE(WEFT_EV_IO_SUBMIT, 0, 0, 0, (uint64_t)n, 0);
    }
    weft__io_reap(w);
}
