/* weft — waiting for signals in a task: a signalfd read through the worker's ring.
 *
 * The signals must be blocked in every thread (weft_signals_block before weft_run; the
 * workers inherit the mask, and blocking-pool threads block everything), otherwise the
 * kernel delivers them the ordinary way and the signalfd never sees them. */
#include "io/internal.h"

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
    ssize_t got = weft_read(fd, &si, sizeof si, WEFT_CUR);
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
