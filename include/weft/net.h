/* weft — sockets on the io_uring of the worker the task runs on.
 *
 * Same rules as io.h: one io_uring operation per call, results are counts or negative
 * errnos, every call is a suspension point that honours cancellation and deadlines
 * (the operation is cancelled in the kernel; buffers stay the caller's until the kernel
 * is done with them), -EPERM outside a task. TCP, UDP and Unix sockets; IPv4 and IPv6.
 * Every socket weft creates is SOCK_CLOEXEC.
 */
#ifndef WEFT_NET_H
#define WEFT_NET_H

#include "weft/common.h"

#include <sys/socket.h>
#include <sys/types.h>

struct addrinfo;

WEFT_BEGIN_DECLS

/* socket(2) (through the ring where the kernel has IORING_OP_SOCKET). Returns the fd. */
WEFT_API int weft_socket(int domain, int type, int protocol);
/* accept4(2): waits for a connection. Returns the new fd (SOCK_CLOEXEC added). */
WEFT_API int weft_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
WEFT_API int weft_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);
WEFT_API ssize_t weft_send(int fd, const void *buf, size_t len, int flags);
WEFT_API ssize_t weft_recv(int fd, void *buf, size_t len, int flags);
/* Sends all len bytes (looping over short sends); returns len or the error. */
WEFT_API ssize_t weft_send_all(int fd, const void *buf, size_t len, int flags);
WEFT_API ssize_t weft_sendmsg(int fd, const struct msghdr *msg, int flags);
WEFT_API ssize_t weft_recvmsg(int fd, struct msghdr *msg, int flags);
/* UDP helpers over sendmsg/recvmsg. */
WEFT_API ssize_t weft_sendto(int fd, const void *buf, size_t len, int flags,
                             const struct sockaddr *to, socklen_t tolen);
WEFT_API ssize_t weft_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                               socklen_t *fromlen);
WEFT_API int weft_shutdown(int fd, int how);
/* Closing goes through io.h's weft_close. */

/* ---- listeners with multishot accept ------------------------------------------------ */

/* A listening socket whose connections are accepted by one multishot accept on the
 * ring of the worker that first waits on it (plain accepts on kernels without it).
 * Accepted fds queue inside (up to 64) until taken. One task at a time may wait in
 * weft_acceptor_accept; use one acceptor per listening fd per task. */
typedef struct weft_acceptor weft_acceptor;
/* Wraps the listening fd (not closed by weft_acceptor_free). NULL on -ENOMEM. */
WEFT_API weft_acceptor *weft_acceptor_new(int listen_fd);
/* The next connection's fd (SOCK_CLOEXEC), or a negative errno. addr comes from
 * getpeername (*addrlen is set to 0 if the peer has already gone). An error that ended
 * the multishot (-EMFILE, ...) is returned once; the next call arms a new one. */
WEFT_API int weft_acceptor_accept(weft_acceptor *a, struct sockaddr *addr, socklen_t *addrlen);
/* Cancels the multishot accept, closes fds accepted but not taken, frees a. Call from
 * a task. */
WEFT_API void weft_acceptor_free(weft_acceptor *a);

/* ---- name resolution and helpers ---------------------------------------------------- */

/* getaddrinfo(3) on the blocking pool. Returns 0 or an EAI_* code, which glibc
 * defines as negative already: compare rc with EAI_NONAME etc. and print it with
 * gai_strerror(rc). -ECANCELED / -ETIMEDOUT like any suspension (the lookup still
 * finishes on its thread and its result is freed; a lookup that finished anyway is
 * returned). -EINVAL when res is NULL; -EPERM outside a task (numerically equal to
 * EAI_BADFLAGS). Free *res with freeaddrinfo. */
WEFT_API int weft_getaddrinfo(const char *host, const char *service, const struct addrinfo *hints,
                              struct addrinfo **res);

enum {
    WEFT_NET_REUSEPORT = 1 << 0, /* SO_REUSEPORT: several listeners share the port */
    WEFT_NET_NODELAY = 1 << 1,   /* TCP_NODELAY on connected sockets */
    WEFT_NET_V6ONLY = 1 << 2,    /* IPV6_V6ONLY on an IPv6 listener */
};

/* Resolves host (NULL or "" = any address; numeric addresses skip the resolver), binds
 * and listens (SO_REUSEADDR always; flags as above). port 0 picks a free port (see
 * weft_local_port). Returns the listening fd. The helpers below return errnos, not EAI
 * codes: a name that does not resolve gives -ENXIO, a temporary resolver failure
 * -EAGAIN. */
WEFT_API int weft_tcp_listen(const char *host, uint16_t port, int backlog, int flags);
/* Resolves host and connects to the first address that accepts (each tried in turn).
 * Returns the connected fd, or the last error (-ECONNREFUSED, ...). */
WEFT_API int weft_tcp_connect(const char *host, uint16_t port, int flags);
/* UDP socket bound to host:port (host NULL = any, port 0 = any). family AF_UNSPEC,
 * AF_INET or AF_INET6 (else -EAFNOSUPPORT); "any" is IPv4 unless family is AF_INET6. */
WEFT_API int weft_udp_bind(const char *host, uint16_t port, int family);
/* Unix stream sockets. weft_unix_listen takes over a stale socket file (one that no
 * socket listens on, per /proc/net/unix); a live listener's gives -EADDRINUSE. */
WEFT_API int weft_unix_listen(const char *path, int backlog);
WEFT_API int weft_unix_connect(const char *path);
/* The port a socket is bound to (host order), or a negative errno. */
WEFT_API int weft_local_port(int fd);

WEFT_END_DECLS

#endif
