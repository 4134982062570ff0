/* weft — file operations (io.h): each is one io_uring operation (io/internal.h). */
#include "io/internal.h"

#include <sys/stat.h>
#include <unistd.h>

/* io_uring takes (u64)-1 as "current position" for read/write (kernel 5.6+). */
static inline uint64_t ring_off(int64_t off)
{
    return off < 0 ? (uint64_t)-1 : (uint64_t)off;
}

int weft_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    return WEFT__IO_RUN(io_uring_prep_openat(sqe, dirfd, path, flags | O_CLOEXEC, mode));
}

int weft_open(const char *path, int flags, mode_t mode)
{
    return weft_openat(AT_FDCWD, path, flags, mode);
}

ssize_t weft_read(int fd, void *buf, size_t len, int64_t off)
{
    if (len > UINT32_MAX)
        len = UINT32_MAX & ~4095u; /* one SQE moves at most 4 GiB; short read */
    return weft__io_filled(
        buf, WEFT__IO_RUN(io_uring_prep_read(sqe, fd, buf, (unsigned)len, ring_off(off))));
}

ssize_t weft_write(int fd, const void *buf, size_t len, int64_t off)
{
    if (len > UINT32_MAX)
        len = UINT32_MAX & ~4095u;
    return WEFT__IO_RUN(io_uring_prep_write(sqe, fd, buf, (unsigned)len, ring_off(off)));
}

ssize_t weft_readv(int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
    if (iovcnt < 0)
        return -EINVAL;
    return weft__io_filled_iov(
        iov, (size_t)iovcnt,
        WEFT__IO_RUN(io_uring_prep_readv(sqe, fd, iov, (unsigned)iovcnt, ring_off(off))));
}

ssize_t weft_writev(int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
    if (iovcnt < 0)
        return -EINVAL;
    return WEFT__IO_RUN(io_uring_prep_writev(sqe, fd, iov, (unsigned)iovcnt, ring_off(off)));
}

ssize_t weft_read_full(int fd, void *buf, size_t len, int64_t off, size_t *done)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = weft_read(fd, (char *)buf + got, len - got, off < 0 ? off : off + (int64_t)got);
        if (n < 0) {
            if (done)
                *done = got;
            return n;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (done)
        *done = got;
    return (ssize_t)got;
}

ssize_t weft_write_all(int fd, const void *buf, size_t len, int64_t off, size_t *done)
{
    size_t put = 0;
    while (put < len) {
        ssize_t n =
            weft_write(fd, (const char *)buf + put, len - put, off < 0 ? off : off + (int64_t)put);
        if (n <= 0) {
            if (done)
                *done = put;
            return n < 0 ? n : -EIO; /* a zero-byte write would loop forever */
        }
        put += (size_t)n;
    }
    if (done)
        *done = put;
    return (ssize_t)put;
}

int weft_fsync(int fd, bool datasync)
{
    return WEFT__IO_RUN(io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0));
}

int weft_close(int fd)
{
    /* A close must happen even in a cancelled task, or the fd leaks. */
    weft_task *t = weft__task_self();
    if (t && weft__interrupted(t))
        return close(fd) < 0 ? -errno : 0;
    return WEFT__IO_RUN(io_uring_prep_close(sqe, fd));
}

int weft_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *st)
{
    int rc = WEFT__IO_RUN(io_uring_prep_statx(sqe, dirfd, path, flags, mask, st));
    if (rc == 0)
        weft__io_filled(st, sizeof *st);
    return rc;
}
