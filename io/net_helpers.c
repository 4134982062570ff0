/* weft — listen/connect helpers over net.h's calls. */
#include "io/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Numeric host (or NULL/"" for any) to an address; false when not numeric. */
static bool numeric_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                         socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (!host || !*host) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof *a4;
        return true;
    }
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return true;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return true;
    }
    return false;
}

static int listen_on(const struct sockaddr *sa, socklen_t len, int backlog, int flags)
{
    int fd = weft_socket(sa->sa_family, SOCK_STREAM, 0);
    if (fd < 0)
        return fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if ((flags & WEFT_NET_REUSEPORT) &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        goto fail;
    if (sa->sa_family == AF_INET6) {
        int v6only = (flags & WEFT_NET_V6ONLY) ? 1 : 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    if (bind(fd, sa, len) < 0 || listen(fd, backlog > 0 ? backlog : 128) < 0)
        goto fail;
    return fd;
fail:;
    int err = -errno;
    close(fd);
    return err;
}

int weft_tcp_listen(const char *host, uint16_t port, int backlog, int flags)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (!weft__io_in_task())
        return -EPERM;
    if (!numeric_addr(host, port, &ss, &len))
        return -EINVAL; /* name resolution: see weft_getaddrinfo */
    return listen_on((struct sockaddr *)&ss, len, backlog, flags);
}

static int connect_to(const struct sockaddr *sa, socklen_t len, int flags)
{
    int fd = weft_socket(sa->sa_family, SOCK_STREAM, 0);
    if (fd < 0)
        return fd;
    int rc = weft_connect(fd, sa, len);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    if (flags & WEFT_NET_NODELAY) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

int weft_tcp_connect(const char *host, uint16_t port, int flags)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (!weft__io_in_task())
        return -EPERM;
    if (!host || !*host)
        return -EINVAL;
    if (!numeric_addr(host, port, &ss, &len))
        return -EINVAL; /* name resolution: see weft_getaddrinfo */
    return connect_to((struct sockaddr *)&ss, len, flags);
}
