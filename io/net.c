/* weft — socket operations (net.h): each is one io_uring operation (io/internal.h). */
#include "io/internal.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

int weft_socket(int domain, int type, int protocol)
{
    type |= SOCK_CLOEXEC;
    if (!weft__io_feat.op_socket || !weft__io_in_task()) {
        if (!weft__io_in_task())
            return -EPERM;
        int fd = socket(domain, type, protocol);
        return fd < 0 ? -errno : fd;
    }
    return WEFT__IO_RUN(io_uring_prep_socket(sqe, domain, type, protocol, 0));
}

int weft_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    socklen_t room = addr && addrlen ? *addrlen : 0;
    int rc = WEFT__IO_RUN(io_uring_prep_accept(sqe, fd, addr, addrlen, flags | SOCK_CLOEXEC));
    if (rc >= 0 && addr && addrlen) {
        weft__io_filled(addrlen, sizeof *addrlen);
        weft__io_filled(addr, *addrlen < room ? *addrlen : room);
    }
    return rc;
}

int weft_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    return WEFT__IO_RUN(io_uring_prep_connect(sqe, fd, addr, addrlen));
}

ssize_t weft_send(int fd, const void *buf, size_t len, int flags)
{
    return WEFT__IO_RUN(io_uring_prep_send(sqe, fd, buf, len, flags | MSG_NOSIGNAL));
}

ssize_t weft_recv(int fd, void *buf, size_t len, int flags)
{
    return weft__io_filled(buf, WEFT__IO_RUN(io_uring_prep_recv(sqe, fd, buf, len, flags)));
}

static _Atomic bool no_poll_first;

ssize_t weft__recv_reply(int fd, void *buf, size_t len)
{
    if (atomic_load_explicit(&no_poll_first, memory_order_relaxed))
        return weft_recv(fd, buf, len, 0);
    ssize_t n = WEFT__IO_RUN({
        io_uring_prep_recv(sqe, fd, buf, len, 0);
        sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    });
    weft__io_filled(buf, n);
    if (n == -EINVAL) {
        atomic_store_explicit(&no_poll_first, true, memory_order_relaxed);
        n = weft_recv(fd, buf, len, 0);
    }
    return n;
}

ssize_t weft_send_all(int fd, const void *buf, size_t len, int flags)
{
    size_t put = 0;
    while (put < len) {
        ssize_t n = weft_send(fd, (const char *)buf + put, len - put, flags);
        if (n < 0)
            return n;
        if (n == 0)
            return -EPIPE;
        put += (size_t)n;
    }
    return (ssize_t)put;
}

ssize_t weft_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    return WEFT__IO_RUN(io_uring_prep_sendmsg(sqe, fd, msg, (unsigned)(flags | MSG_NOSIGNAL)));
}

ssize_t weft_recvmsg(int fd, struct msghdr *msg, int flags)
{
    socklen_t name_room = msg->msg_name ? msg->msg_namelen : 0;
    size_t ctl_room = msg->msg_control ? msg->msg_controllen : 0;
    ssize_t n = WEFT__IO_RUN(io_uring_prep_recvmsg(sqe, fd, msg, (unsigned)flags));
    if (n >= 0) {
        weft__io_filled_iov(msg->msg_iov, msg->msg_iovlen, n);
        /* The kernel also wrote the lengths, flags, address and control data back. */
        weft__io_filled(msg, sizeof *msg);
        weft__io_filled(msg->msg_name, msg->msg_namelen < name_room ? msg->msg_namelen : name_room);
        weft__io_filled(msg->msg_control,
                        (ssize_t)(msg->msg_controllen < ctl_room ? msg->msg_controllen : ctl_room));
    }
    return n;
}

int weft_shutdown(int fd, int how)
{
    if (!weft__io_in_task())
        return -EPERM;
    if (!weft__io_feat.op_shutdown)
        return shutdown(fd, how) < 0 ? -errno : 0;
    return WEFT__IO_RUN(io_uring_prep_shutdown(sqe, fd, how));
}

int weft_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -EAFNOSUPPORT;
}

ssize_t weft_sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                    socklen_t tolen)
{
    struct iovec iov = {(void *)buf, len};
    struct msghdr msg = {
        .msg_name = (void *)to, .msg_namelen = to ? tolen : 0, .msg_iov = &iov, .msg_iovlen = 1};
    return weft_sendmsg(fd, &msg, flags);
}

ssize_t weft_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                      socklen_t *fromlen)
{
    if (from && !fromlen)
        return -EINVAL;
    struct iovec iov = {buf, len};
    struct msghdr msg = {
        .msg_name = from, .msg_namelen = from ? *fromlen : 0, .msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n = weft_recvmsg(fd, &msg, flags);
    if (n >= 0 && from)
        *fromlen = msg.msg_namelen;
    return n;
}
