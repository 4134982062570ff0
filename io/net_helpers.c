/* weft — listen/connect helpers over net.h's calls: TCP by address or name, UDP, Unix.
 *
 * Names go through weft_getaddrinfo (the blocking pool); numeric addresses skip it.
 * Every address a name gives is tried in turn. */
#include "io/internal.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Numeric host (or NULL/"" for any) to an address; false when not numeric. family
 * AF_UNSPEC takes either; for "any" it picks IPv4 unless family is AF_INET6. */
static bool numeric_addr(const char *host, uint16_t port, int family, struct sockaddr_storage *ss,
                         socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    bool any = !host || !*host;
    if (family != AF_INET6 && (any || inet_pton(AF_INET, host, &a4->sin_addr) == 1)) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        if (any)
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof *a4;
        return true;
    }
    if (family != AF_INET && (any || inet_pton(AF_INET6, host, &a6->sin6_addr) == 1)) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        if (any)
            a6->sin6_addr = in6addr_any;
        *len = sizeof *a6;
        return true;
    }
    return false;
}

/* A failed lookup as an errno (the helpers' contract is errnos, not EAI codes). */
static int gai_errno(int rc, int sys_err)
{
    switch (rc) {
    case -ECANCELED:
    case -ETIMEDOUT:
    case -EINVAL:
        return rc; /* (-EPERM, "not in a task", is EAI_BADFLAGS: callers checked) */
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return sys_err ? -sys_err : -EIO;
    case EAI_FAMILY:
    case EAI_SOCKTYPE:
    case EAI_SERVICE:
    case EAI_BADFLAGS:
        return -EINVAL;
    default: /* EAI_NONAME, EAI_NODATA, EAI_FAIL, EAI_ADDRFAMILY: no such host */
        return -ENXIO;
    }
}

/* Calls one(addr) for the numeric address or for each address host resolves to, until
 * one returns an fd. Returns that fd or the last error. */
static int each_addr(const char *host, uint16_t port, int family, int socktype, bool passive,
                     int (*one)(const struct sockaddr *sa, socklen_t len, void *ctx), void *ctx)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (numeric_addr(host, port, family, &ss, &len))
        return one((struct sockaddr *)&ss, len, ctx);
    struct addrinfo hints = {.ai_family = family,
                             .ai_socktype = socktype,
                             .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo *res;
    int sys_err;
    int rc = weft__getaddrinfo(host, service, &hints, &res, &sys_err);
    if (rc)
        return gai_errno(rc, sys_err);
    rc = -ENXIO;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        rc = one(ai->ai_addr, ai->ai_addrlen, ctx);
        if (rc >= 0 || rc == -ECANCELED || rc == -ETIMEDOUT)
            break;
    }
    freeaddrinfo(res);
    return rc;
}

static int fail_close(int fd)
{
    int err = -errno;
    close(fd);
    return err;
}

static int listen_on(const struct sockaddr *sa, socklen_t len, void *ctx)
{
    const int *args = ctx; /* backlog, flags */
    int fd = weft_socket(sa->sa_family, SOCK_STREAM, 0);
    if (fd < 0)
        return fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if ((args[1] & WEFT_NET_REUSEPORT) &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        return fail_close(fd);
    if (sa->sa_family == AF_INET6) {
        int v6only = (args[1] & WEFT_NET_V6ONLY) ? 1 : 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    if (bind(fd, sa, len) < 0 || listen(fd, args[0] > 0 ? args[0] : 128) < 0)
        return fail_close(fd);
    return fd;
}

int weft_tcp_listen(const char *host, uint16_t port, int backlog, int flags)
{
    if (!weft__io_in_task())
        return -EPERM;
    int args[2] = {backlog, flags};
    return each_addr(host, port, AF_UNSPEC, SOCK_STREAM, true, listen_on, args);
}

static int connect_to(const struct sockaddr *sa, socklen_t len, void *ctx)
{
    int flags = *(const int *)ctx;
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
    if (!weft__io_in_task())
        return -EPERM;
    if (!host || !*host)
        return -EINVAL;
    return each_addr(host, port, AF_UNSPEC, SOCK_STREAM, false, connect_to, &flags);
}

static int udp_on(const struct sockaddr *sa, socklen_t len, void *ctx)
{
    (void)ctx;
    int fd = weft_socket(sa->sa_family, SOCK_DGRAM, 0);
    if (fd < 0)
        return fd;
    if (bind(fd, sa, len) < 0)
        return fail_close(fd);
    return fd;
}

int weft_udp_bind(const char *host, uint16_t port, int family)
{
    if (!weft__io_in_task())
        return -EPERM;
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        return -EAFNOSUPPORT;
    return each_addr(host, port, family, SOCK_DGRAM, true, udp_on, NULL);
}

/* ---- Unix sockets ------------------------------------------------------------------ */

static int unix_addr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
    if (!path || !*path)
        return -EINVAL;
    size_t n = strlen(path);
    if (n >= sizeof sun->sun_path)
        return -ENAMETOOLONG;
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, path, n + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

/* Whether a socket in this network namespace listens on path: /proc/net/unix lists
 * every bound Unix socket with its path, listeners with __SO_ACCEPTCON (0x10000) in
 * Flags. (Connecting to find out would hand a live server an empty connection.) */
static bool unix_listened(const char *path)
{
    FILE *f = fopen("/proc/net/unix", "re");
    if (!f)
        return true; /* cannot tell: leave the file alone */
    char cwd[PATH_MAX], abs[PATH_MAX + sizeof((struct sockaddr_un *)0)->sun_path + 2] = "";
    if (path[0] != '/' && getcwd(cwd, sizeof cwd))
        snprintf(abs, sizeof abs, "%s/%s", cwd, path);
    bool found = false;
    char line[4096 + 128];
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long flags;
        int off = 0;
        if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %n", &flags, &off) != 1 || !off)
            continue;
        char *p = line + off;
        p[strcspn(p, "\n")] = 0;
        found = (flags & 0x10000) && (strcmp(p, path) == 0 || strcmp(p, abs) == 0);
    }
    fclose(f);
    return found;
}

int weft_unix_listen(const char *path, int backlog)
{
    if (!weft__io_in_task())
        return -EPERM;
    struct sockaddr_un sun;
    socklen_t len;
    int rc = unix_addr(path, &sun, &len);
    if (rc)
        return rc;
    int fd = weft_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return fd;
    rc = bind(fd, (struct sockaddr *)&sun, len);
    struct stat st;
    if (rc < 0 && errno == EADDRINUSE && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
        !unix_listened(path)) {
        /* A stale file (its server is gone): take the address over. */
        unlink(path);
        rc = bind(fd, (struct sockaddr *)&sun, len);
    }
    if (rc < 0 || listen(fd, backlog > 0 ? backlog : 128) < 0)
        return fail_close(fd);
    return fd;
}

int weft_unix_connect(const char *path)
{
    if (!weft__io_in_task())
        return -EPERM;
    struct sockaddr_un sun;
    socklen_t len;
    int rc = unix_addr(path, &sun, &len);
    if (rc)
        return rc;
    int fd = weft_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return fd;
    rc = weft_connect(fd, (struct sockaddr *)&sun, len);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}
