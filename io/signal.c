/* weft — waiting for signals in a task: a signalfd polled through the worker's ring,
 * then read by the task itself.
 *
 * The signals must be blocked in every thread (weft_signals_block before weft_run; the
 * workers inherit the mask, and blocking-pool threads block everything), otherwise the
 * kernel delivers them the ordinary way and the signalfd never sees them.
 *
 * Not an io_uring READ of the signalfd: a signalfd read dequeues the signal in the
 * context of whoever performs it, and io_uring may perform a read from its own worker
 * threads or task work. weft-httpd once consumed a SIGINT that way without the read
 * completing (the signal gone from the pending set, the READ still armed, the server
 * never stopping; 1 in ~40 runs, not reproduced since). Only readiness goes through
 * the ring (POLL_ADD); the read() is a plain non-blocking syscall on the task's own
 * worker thread, so a signal is consumed exactly when it is returned. */
#include "io/internal.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

static int make_set(const int *signals, size_t n, sigset_t *set)
{
    if (!signals || n == 0)
        return -EINVAL;
    sigemptyset(set);
    for (size_t i = 0; i < n; i++) {
        /* SIGKILL and SIGSTOP can be neither blocked nor read. */
        if (signals[i] <= 0 || signals[i] >= NSIG || signals[i] == SIGKILL ||
            signals[i] == SIGSTOP || sigaddset(set, signals[i]) < 0)
            return -EINVAL;
    }
    return 0;
}

int weft_signal_wait(const int *signals, size_t n)
{
    if (!weft__io_in_task())
        return -EPERM;
    sigset_t set;
    int rc = make_set(signals, n, &set);
    if (rc)
        return rc;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct signalfd_siginfo si;
    ssize_t got;
    for (;;) {
        got = read(fd, &si, sizeof si); /* non-blocking */
        if (got >= 0 || errno != EAGAIN) {
            if (got < 0)
                got = -errno;
            break;
        }
        int ready = WEFT__IO_RUN(io_uring_prep_poll_add(sqe, fd, POLLIN));
        if (ready < 0) {
            got = ready; /* cancelled, deadline passed */
            break;
        }
    }
    close(fd); /* a plain close: it must happen even when the task was cancelled */
    if (got < 0)
        return (int)got;
    if ((size_t)got != sizeof si)
        return -EIO;
    return (int)si.ssi_signo;
}

int weft_signals_block(const int *signals, size_t n)
{
    sigset_t set;
    int rc = make_set(signals, n, &set);
    if (rc)
        return rc;
    return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}
