/* weft — file I/O and the blocking pool, on the io_uring of the worker the task runs on.
 *
 * Every call here is one io_uring operation submitted on the calling task's worker; the
 * task suspends until its completion arrives there (it may be stolen afterwards). The
 * submissions of all the tasks a worker runs between two looks at its ring go to the
 * kernel in one io_uring_enter.
 *
 * Results follow liburing: a count or 0 on success, a negative errno on failure.
 * Every call is a suspension point: it returns -ECANCELED when the task is cancelled and
 * -ETIMEDOUT when its scoped deadline (weft_timeout_enter) passes. The operation in flight
 * is then cancelled in the kernel and the call returns only once the kernel is done with
 * the caller's buffers. If the operation completed anyway (the data was read or
 * written), its real result is returned and the interruption shows at the next
 * suspension point: no data is lost.
 *
 * Called outside a task (a plain thread), these calls return -EPERM.
 */
#ifndef WEFT_IO_H
#define WEFT_IO_H

#include "weft/common.h"
#include "weft/runtime.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

struct statx;

WEFT_BEGIN_DECLS

/* Offset meaning "the file's current position" (pipes, sockets, O_APPEND). */
#define WEFT_CUR ((int64_t)-1)

/* open(2)/openat(2). O_CLOEXEC is always added. Returns the fd. */
WEFT_API int weft_open(const char *path, int flags, mode_t mode);
WEFT_API int weft_openat(int dirfd, const char *path, int flags, mode_t mode);
/* pread/pwrite at off (WEFT_CUR: current position). Returns the byte count, which may
 * be short, like read(2)/write(2). */
WEFT_API ssize_t weft_read(int fd, void *buf, size_t len, int64_t off);
WEFT_API ssize_t weft_write(int fd, const void *buf, size_t len, int64_t off);
WEFT_API ssize_t weft_readv(int fd, const struct iovec *iov, int iovcnt, int64_t off);
WEFT_API ssize_t weft_writev(int fd, const struct iovec *iov, int iovcnt, int64_t off);
/* Loops over short transfers: reads until len bytes or end of file (returns the count,
 * less than len only at end of file); writes all len bytes (returns len). On an error
 * after a partial transfer the error is returned and *done (if non-NULL) holds how
 * much was transferred. off advances with the transfer unless it is WEFT_CUR. */
WEFT_API ssize_t weft_read_full(int fd, void *buf, size_t len, int64_t off, size_t *done);
WEFT_API ssize_t weft_write_all(int fd, const void *buf, size_t len, int64_t off, size_t *done);
/* fsync(2), or fdatasync(2) when datasync. */
WEFT_API int weft_fsync(int fd, bool datasync);
WEFT_API int weft_close(int fd);
/* statx(2): dirfd AT_FDCWD for a path relative to the working directory. */
WEFT_API int weft_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *st);

/* ---- blocking pool (asyncio.to_thread, Tokio's spawn_blocking) ---------------------- */

/* Runs fn(arg) on one of the runtime's blocking threads (at most
 * WEFT_BLOCKING_THREADS, default 64; started on demand, stopped after 10 s idle) and
 * suspends the task until it returns; *result (if non-NULL) receives fn's return value.
 * fn cannot be interrupted: a cancelled task still waits for fn to finish (arg may live
 * on its stack) and the call returns 0 with the result; the cancellation shows at the
 * next suspension point. A task already cancelled (or past its deadline) when it calls
 * gets -ECANCELED (-ETIMEDOUT) and fn does not run. Returns 0, -EINVAL (fn NULL),
 * -EAGAIN (no blocking thread runs and none could be started), or -EPERM outside a
 * task. Blocking threads block every asynchronous signal. */
WEFT_API int weft_blocking(weft_fn fn, void *arg, void **result);

/* ---- signals ------------------------------------------------------------------------ */

/* Waits until one of the n signals in signals[] (SIGINT, SIGTERM, ...) arrives and
 * returns its number. The signals are read through a signalfd on the worker's ring, so
 * they must be blocked in every thread of the process: call weft_signals_block() with
 * the same list before weft_run (the workers inherit the mask). Returns the signal
 * number, -ECANCELED/-ETIMEDOUT, or -errno (-EINVAL for a bad signal number). */
WEFT_API int weft_signal_wait(const int *signals, size_t n);
/* Blocks the n signals for the calling thread (pthread_sigmask). Returns 0 or -errno. */
WEFT_API int weft_signals_block(const int *signals, size_t n);

WEFT_END_DECLS

#endif
