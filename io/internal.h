/* weft I/O — internal declarations shared by io/ (and the worker loop).
 *
 * How an operation runs (uring.c):
 *  1. weft__io_begin: the calling task must not be interrupted already; it takes an SQE
 *     from the ring of the worker it runs on (its "home" for this operation).
 *  2. The caller preps the SQE (liburing's io_uring_prep_*), then weft__io_wait sets the
 *     user_data to the weft__io record on the task's stack and parks the task. The SQE
 *     is not submitted yet: the worker submits everything queued in one io_uring_enter
 *     the next time it looks at its ring (weft__io_poll).
 *  3. The home worker reaps the CQE, stores res/flags and unparks the task (FIFO, so a
 *     batch of completions runs in order and can be stolen).
 *  4. Cancelled or past its deadline while waiting, the task asks the home worker to
 *     submit IORING_OP_ASYNC_CANCEL (directly when it runs there, else through the home
 *     worker's cancel list plus a wake-up) and waits, uninterruptibly, for the CQE: the
 *     kernel is done with the buffers only then.
 */
#ifndef WEFT_IO_INTERNAL_H
#define WEFT_IO_INTERNAL_H

#include "runtime/internal.h"

typedef struct weft__io weft__io;
struct weft__io {
    weft__waiter wt; /* task, fired, res */
    uint32_t cqe_flags;
    weft__worker *home;
    /* Multishot operations set on_cqe: called by the home worker on its own stack for
     * every CQE (it must not suspend); the default stores the result and fires wt. */
    void (*on_cqe)(weft__io *io, const struct io_uring_cqe *cqe);
    weft__io *cnext;       /* home worker's cancel list */
    _Atomic int cancel_st; /* 0, 1 queued for the home worker, 2 submitted */
};

/* user_data values that are not weft__io pointers (pointers are >= 4096). */
#define WEFT_IO_TAG_WAKE 1ull   /* the worker's eventfd read (idle.c) */
#define WEFT_IO_TAG_IGNORE 2ull /* cancel requests and other fire-and-forget SQEs */

/* Step 1. Returns 0 with *sqe set, or -EPERM (not in a task), -ECANCELED, -ETIMEDOUT,
 * -EBUSY (the ring is full even after a submit). */
int weft__io_begin(weft__io *io, struct io_uring_sqe **sqe);
/* Steps 2-4 for a prepped SQE. Returns the CQE's res, or the interruption when the
 * operation was cancelled before it completed. */
int weft__io_wait(weft__io *io, struct io_uring_sqe *sqe);
/* Runs a one-shot operation: begin, prep(sqe, a), wait. */
#define WEFT__IO_RUN(prep_call)                                                                    \
    ({                                                                                             \
        weft__io io_;                                                                              \
        struct io_uring_sqe *sqe;                                                                  \
        int rc_ = weft__io_begin(&io_, &sqe);                                                      \
        if (rc_ == 0) {                                                                            \
            prep_call;                                                                             \
            rc_ = weft__io_wait(&io_, sqe);                                                        \
        }                                                                                          \
        rc_;                                                                                       \
    })

/* memcheck cannot see what the kernel writes through io_uring, so data a task reads
 * would look uninitialised under valgrind: the read calls tell it what a completion
 * filled. With valgrind's headers at build time this is its client request (a few
 * instructions that do nothing outside valgrind); without them, nothing. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define WEFT__MEM_DEFINED(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#endif
#endif
#ifndef WEFT__MEM_DEFINED
#define WEFT__MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

/* The kernel wrote n bytes at p (n <= 0: nothing). Returns n. */
static inline ssize_t weft__io_filled(const void *p, ssize_t n)
{
    if (n > 0)
        WEFT__MEM_DEFINED(p, (size_t)n);
    return n;
}

/* The kernel wrote n bytes into iov[0..cnt), in order. Returns n. */
static inline ssize_t weft__io_filled_iov(const struct iovec *iov, size_t cnt, ssize_t n)
{
    size_t left = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < cnt && left; i++) {
        size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
        WEFT__MEM_DEFINED(iov[i].iov_base, k);
        left -= k;
    }
    return n;
}

/* Asks io's home worker to cancel it in the kernel (any thread/worker; idempotent while
 * the operation is in flight). The caller keeps io alive until its final CQE. */
void weft__io_cancel(weft__io *io);
/* An SQE on the current worker's ring whose completion is ignored, or NULL. */
struct io_uring_sqe *weft__io_sqe_noreply(weft__worker *w);

/* Kernel features, probed once at start (weft__io_probe). */
typedef struct weft__io_features {
    bool op_socket;        /* IORING_OP_SOCKET (5.19) */
    bool multishot_accept; /* 5.19 */
    bool op_shutdown;      /* 5.11 */
    bool op_statx;         /* 5.6 */
    bool op_sendmsg;
    bool cancel_any; /* IORING_ASYNC_CANCEL_ALL etc. (5.19) */
} weft__io_features;
extern weft__io_features weft__io_feat;
void weft__io_probe(void); /* weft_run, before the workers start */

/* A recv for a reply to what was just sent (net.c): the peer cannot have answered yet,
 * so io_uring waits for readiness first instead of trying a recv that fails with
 * EAGAIN and then waiting (IORING_RECVSEND_POLL_FIRST, Linux 5.19). Kernels without it
 * reject the flag with -EINVAL once; plain recvs are used from then on. */
ssize_t weft__recv_reply(int fd, void *buf, size_t len);

/* True when a call is made from a task (I/O needs one). */
static inline bool weft__io_in_task(void)
{
    return weft__task_self() != NULL;
}

/* ---- blocking pool (blocking.c) ------------------------------------------------------ */
/* A job for a blocking thread: run(j) is called there once; it owns j from then on
 * (it must wake or free whoever waits for it). */
struct addrinfo;
typedef struct weft__job weft__job;
struct weft__job {
    weft__job *next;
    void (*run)(weft__job *j);
};
/* Queues j, starting a thread when none is idle and fewer than the maximum run.
 * Returns 0, or -EAGAIN when no thread runs and none could be started. */
int weft__blocking_submit(weft__job *j);
/* weft_run, after the workers stopped: lets the threads finish what is queued and joins
 * them; the next weft_run starts afresh (and reads WEFT_BLOCKING_THREADS again). */
void weft__blocking_shutdown(void);

/* getaddrinfo on the pool (resolve.c). Returns 0, a (negative, glibc) EAI_* code, or
 * -ECANCELED/-ETIMEDOUT/-EPERM/-EINVAL; *sys_err receives errno for EAI_SYSTEM. */
int weft__getaddrinfo(const char *host, const char *service, const struct addrinfo *hints,
                      struct addrinfo **res, int *sys_err);

#endif
