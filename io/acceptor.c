/* weft — weft_acceptor: one multishot accept feeding a queue of connections.
 *
 * The multishot lives on the ring of the worker the accepting task ran on when it armed
 * it (its home); its CQEs run on_accept there, on the scheduler's stack, while the task
 * that takes the fds may run on any worker, hence the spin lock around the queue.
 *
 * Flow control: once QUEUE_MAX fds wait, on_accept cancels the multishot (fds in CQEs
 * already posted still queue: the queue grows rather than lose one). The next
 * weft_acceptor_accept that finds the queue empty arms a new one, as it does after the
 * kernel ended one on its own (an error such as -EMFILE, reported once, or a CQ
 * overflow). Kernels without multishot accept get a plain weft_accept per call. */
#include "io/internal.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

enum { QUEUE_MAX = 64 };

struct weft_acceptor {
    int lfd;
    weft__io io; /* the multishot in flight while `armed` */
    weft__spin lock;
    /* under lock: */
    bool armed; /* multishot submitted, its final CQE not seen */
    int err;    /* how the last multishot ended, for the next accept; 0 if none */
    int *q;     /* ring buffer of accepted fds */
    unsigned cap, first, n;
    weft_task *waiter; /* task waiting for an fd or for the final CQE */
};

weft_acceptor *weft_acceptor_new(int listen_fd)
{
    if (listen_fd < 0)
        return NULL;
    weft_acceptor *a = weft__calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->cap = QUEUE_MAX;
    a->q = weft__alloc(a->cap * sizeof *a->q);
    if (!a->q) {
        weft__free(a, sizeof *a);
        return NULL;
    }
    a->lfd = listen_fd;
    return a;
}

/* Under lock. False when the queue cannot grow (out of memory). */
static bool push_fd(weft_acceptor *a, int fd)
{
    if (a->n == a->cap) {
        unsigned cap = a->cap * 2;
        int *q = weft__alloc(cap * sizeof *q);
        if (!q)
            return false;
        for (unsigned i = 0; i < a->n; i++)
            q[i] = a->q[(a->first + i) % a->cap];
        weft__free(a->q, a->cap * sizeof *a->q);
        a->q = q;
        a->cap = cap;
        a->first = 0;
    }
    a->q[(a->first + a->n) % a->cap] = fd;
    a->n++;
    return true;
}

static int pop_fd(weft_acceptor *a)
{
    int fd = a->q[a->first];
    a->first = (a->first + 1) % a->cap;
    a->n--;
    return fd;
}

/* Home worker, scheduler stack: must not suspend. */
static void on_accept(weft__io *io, const struct io_uring_cqe *cqe)
{
    weft_acceptor *a = (weft_acceptor *)((char *)io - offsetof(weft_acceptor, io));
    bool more = cqe->flags & IORING_CQE_F_MORE;
    int res = cqe->res;
    weft__spin_lock(&a->lock);
    if (res >= 0 && !push_fd(a, res)) {
        close(res); /* out of memory: the peer sees a reset rather than a leak */
        res = -ENOMEM;
    }
    bool full = more && a->n >= QUEUE_MAX;
    if (!more) {
        a->armed = false;
        /* Our own cancel (queue full, or weft_acceptor_free) is no error. */
        if (res < 0 && res != -ECANCELED)
            a->err = res;
    }
    weft_task *t = a->waiter;
    a->waiter = NULL;
    weft__spin_unlock(&a->lock);
    if (full)
        weft__io_cancel(io); /* we are its home worker: submitted at once */
    if (t)
        weft__unpark(t);
}

/* Submits a new multishot on the calling task's worker (its new home). Called with no
 * multishot in flight, so io is free to reuse. */
static int arm(weft_acceptor *a)
{
    struct io_uring_sqe *sqe;
    int rc = weft__io_begin(&a->io, &sqe);
    if (rc)
        return rc;
    io_uring_prep_multishot_accept(sqe, a->lfd, NULL, NULL, SOCK_CLOEXEC);
    a->io.on_cqe = on_accept;
    a->io.wt.task = NULL; /* nobody to wake when a cancel is handed over (see free) */
    io_uring_sqe_set_data(sqe, &a->io);
    a->io.home->io_inflight++; /* owner-only: we run on the home worker until we park */
    weft__spin_lock(&a->lock);
    a->armed = true;
    weft__spin_unlock(&a->lock);
    return 0;
}

/* Parks t until on_accept (or a cancel hand-over) unparks it; the caller registered
 * t as a->waiter under the lock. Returns the interruption, if any, having withdrawn. */
static int wait_turn(weft_acceptor *a, weft_task *t)
{
    int rc = weft__interrupted(t);
    bool armed_timer = false;
    if (!rc) {
        if (t->deadline != UINT64_MAX && !t->nointr) {
            weft__timer_arm(t->w, t, t->deadline);
            armed_timer = true;
        }
        weft__trace_reason(t, WEFT_TR_IO);
        t->tr_op = IORING_OP_ACCEPT;
        weft__park(t);
        if (armed_timer)
            weft__timer_disarm(t);
        rc = weft__interrupted(t);
    }
    if (rc) {
        weft__spin_lock(&a->lock);
        if (a->waiter == t)
            a->waiter = NULL;
        weft__spin_unlock(&a->lock);
    }
    return rc;
}

static void fill_addr(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    if (addr && addrlen && getpeername(fd, addr, addrlen) < 0)
        *addrlen = 0; /* already reset by the peer; accept4 would still return it */
}

int weft_acceptor_accept(weft_acceptor *a, struct sockaddr *addr, socklen_t *addrlen)
{
    weft_task *t = weft__task_self();
    if (!t)
        return -EPERM;
    if (!a)
        return -EINVAL;
    if (!weft__io_feat.multishot_accept)
        return weft_accept(a->lfd, addr, addrlen, 0);
    for (;;) {
        weft__spin_lock(&a->lock);
        if (a->n) {
            int fd = pop_fd(a);
            weft__spin_unlock(&a->lock);
            fill_addr(fd, addr, addrlen);
            return fd;
        }
        if (a->err) {
            int err = a->err;
            a->err = 0;
            weft__spin_unlock(&a->lock);
            return err;
        }
        bool armed = a->armed;
        if (armed)
            a->waiter = t;
        weft__spin_unlock(&a->lock);
        int rc = armed ? wait_turn(a, t) : arm(a);
        if (rc)
            return rc;
    }
}

void weft_acceptor_free(weft_acceptor *a)
{
    if (!a)
        return;
    weft_task *t = weft__task_self();
    weft__spin_lock(&a->lock);
    bool armed = a->armed;
    weft__spin_unlock(&a->lock);
    if (armed && t) {
        /* Uninterruptible: the kernel writes to a->io until the final CQE, and the
         * home worker's cancel list holds a->io until it takes the request. */
        bool nointr = t->nointr;
        t->nointr = true;
        a->io.wt.task = t; /* the cancel hand-over unparks us */
        weft__io_cancel(&a->io);
        for (;;) {
            weft__spin_lock(&a->lock);
            bool done =
                !a->armed && atomic_load_explicit(&a->io.cancel_st, memory_order_acquire) != 1;
            if (!done)
                a->waiter = t;
            weft__spin_unlock(&a->lock);
            if (done)
                break;
            weft__park(t); /* on_accept's final CQE or the cancel hand-over wakes us */
        }
        t->nointr = nointr;
    } else if (armed) {
        /* Not in a task (the contract asks for one): with the runtime still running,
         * poll until the home worker has seen the final CQE. */
        weft__io_cancel(&a->io);
        for (;;) {
            weft__spin_lock(&a->lock);
            bool done = !a->armed;
            weft__spin_unlock(&a->lock);
            if (done && atomic_load_explicit(&a->io.cancel_st, memory_order_acquire) != 1)
                break;
            if (!weft__rt_cur)
                break; /* the rings are gone: nothing can complete any more */
            nanosleep(&(struct timespec){0, 100000}, NULL);
        }
    }
    while (a->n)
        close(pop_fd(a));
    weft__free(a->q, a->cap * sizeof *a->q);
    weft__free(a, sizeof *a);
}
