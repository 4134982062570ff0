/* test_net.c — net.h over loopback: TCP on IPv4 and IPv6, UDP, Unix sockets,
 * sendmsg/recvmsg, shutdown, refused connections, cancellation and deadlines of blocked
 * accepts and receives (the socket stays usable, no data lost), and weft_acceptor (many
 * connections from tasks on every worker, each accepted exactly once; flow control past
 * its 64-fd queue; freeing it with fds queued); completions that do not wake an idle
 * worker for a task their own worker runs at once. Run again with WEFT_RING_COMPAT=1
 * (test_net_compat) for the plain-accept fallback. */
#include "fixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/weft-net-XXXXXX";

/* Open sockets of this process (workers may still be creating their rings and eventfds
 * when a test body starts, so other fds are not counted). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    WT_NONNULL(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], link[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, link, sizeof link - 1);
        if (len > 0) {
            link[len] = 0;
            n += strncmp(link, "socket:", 7) == 0;
        }
    }
    closedir(d);
    return n;
}

/* Reads until end of stream; returns the byte count. */
static long long recv_to_eof(int fd, char *buf, size_t len)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = weft_recv(fd, buf + got, len - got, 0);
        WT_GE(n, 0);
        if (n == 0)
            return (long long)got;
        got += (size_t)n;
        WT_LT(got, len);
    }
}

/* ---- TCP ------------------------------------------------------------------------- */

typedef struct {
    const char *host;
    int port;
} target;

static void *tcp_client(void *arg)
{
    target *tg = arg;
    int fd = weft_tcp_connect(tg->host, (uint16_t)tg->port, WEFT_NET_NODELAY);
    WT_GE(fd, 0);
    WT_EQ(weft_send_all(fd, "hello", 5, 0), 5);
    char buf[16];
    WT_EQ(weft_recv(fd, buf, 5, MSG_WAITALL), 5);
    WT_EQ(memcmp(buf, "HELLO", 5), 0);
    WT_OK(weft_shutdown(fd, SHUT_WR));
    WT_EQ(weft_recv(fd, buf, sizeof buf, 0), 0); /* the server closed after our EOF */
    WT_OK(weft_close(fd));
    return NULL;
}

static void echo_upper_once(const char *host, int family)
{
    int lfd = weft_tcp_listen(host, 0, 16, 0);
    WT_GE(lfd, 0);
    int port = weft_local_port(lfd);
    WT_GT(port, 0);
    target tg = {host, port};
    weft_task *c = wt_spawn(tcp_client, &tg);
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int fd = weft_accept(lfd, (struct sockaddr *)&peer, &plen, 0);
    WT_GE(fd, 0);
    WT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    WT_EQ(peer.ss_family, family);
    char buf[16];
    WT_EQ(weft_recv(fd, buf, 5, MSG_WAITALL), 5);
    for (int i = 0; i < 5; i++)
        buf[i] = (char)(buf[i] - 'a' + 'A');
    WT_EQ(weft_send(fd, buf, 5, 0), 5);
    WT_EQ(weft_recv(fd, buf, sizeof buf, 0), 0); /* client's shutdown(SHUT_WR) */
    WT_OK(weft_close(fd));
    WT_OK(weft_join(c, NULL));
    WT_OK(weft_close(lfd));
}

static void *tcp_v4_main(void *arg)
{
    (void)arg;
    echo_upper_once("127.0.0.1", AF_INET);
    return NULL;
}
WT_TEST_1_2(tcp_v4)

static void *tcp_v6_main(void *arg)
{
    (void)arg;
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool have_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&a, sizeof a) == 0;
    if (probe >= 0)
        close(probe);
    if (!have_v6) {
        fprintf(stderr, "no IPv6 loopback here: tcp_v6 skipped\n");
        return NULL;
    }
    echo_upper_once("::1", AF_INET6);
    return NULL;
}
WT_TEST_1_2(tcp_v6)

static void *refused_main(void *arg)
{
    (void)arg;
    int lfd = weft_tcp_listen("127.0.0.1", 0, 1, 0);
    WT_GE(lfd, 0);
    int port = weft_local_port(lfd);
    WT_OK(weft_close(lfd)); /* nobody listens on port now */
    WT_EQ(weft_tcp_connect("127.0.0.1", (uint16_t)port, 0), -ECONNREFUSED);
    WT_EQ(weft_tcp_connect("", 80, 0), -EINVAL);
    WT_EQ(weft_tcp_connect(NULL, 80, 0), -EINVAL);
    return NULL;
}
WT_TEST_1_2(refused)

/* ---- UDP ------------------------------------------------------------------------- */

static void udp_pair(const char *host, int family)
{
    int a = weft_udp_bind(host, 0, family), b = weft_udp_bind(host, 0, family);
    WT_GE(a, 0);
    WT_GE(b, 0);
    struct sockaddr_storage to;
    socklen_t tolen = sizeof to;
    WT_OK(getsockname(b, (struct sockaddr *)&to, &tolen));
    WT_EQ(to.ss_family, family);
    WT_EQ(weft_sendto(a, "datagram", 8, 0, (struct sockaddr *)&to, tolen), 8);
    char buf[32];
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof from;
    WT_EQ(weft_recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen), 8);
    WT_EQ(memcmp(buf, "datagram", 8), 0);
    WT_EQ(from.ss_family, family);
    WT_EQ(fromlen, tolen);
    /* answer to where it came from */
    WT_EQ(weft_sendto(b, "re", 2, 0, (struct sockaddr *)&from, fromlen), 2);
    WT_EQ(weft_recvfrom(a, buf, sizeof buf, 0, NULL, NULL), 2);
    WT_EQ(memcmp(buf, "re", 2), 0);
    /* datagram boundaries hold */
    WT_EQ(weft_sendto(a, "one", 3, 0, (struct sockaddr *)&to, tolen), 3);
    WT_EQ(weft_sendto(a, "two!", 4, 0, (struct sockaddr *)&to, tolen), 4);
    WT_EQ(weft_recvfrom(b, buf, sizeof buf, 0, NULL, NULL), 3);
    WT_EQ(weft_recvfrom(b, buf, sizeof buf, 0, NULL, NULL), 4);
    WT_EQ(weft_recvfrom(b, buf, 1, 0, (struct sockaddr *)&from, NULL), -EINVAL);
    WT_OK(weft_close(a));
    WT_OK(weft_close(b));
}

static void *udp_main(void *arg)
{
    (void)arg;
    udp_pair("127.0.0.1", AF_INET);
    udp_pair("::1", AF_INET6);
    WT_EQ(weft_udp_bind(NULL, 0, AF_UNIX), -EAFNOSUPPORT);
    int any = weft_udp_bind(NULL, 0, AF_INET6);
    WT_GE(any, 0);
    WT_GT(weft_local_port(any), 0);
    WT_OK(weft_close(any));
    return NULL;
}
WT_TEST_1_2(udp)

/* ---- Unix sockets, sendmsg/recvmsg ------------------------------------------------ */

static char unix_path[128];

static void *unix_client(void *arg)
{
    (void)arg;
    int fd = weft_unix_connect(unix_path);
    WT_GE(fd, 0);
    WT_EQ(weft_send_all(fd, "over unix", 9, 0), 9);
    WT_OK(weft_close(fd));
    return NULL;
}

static void *unix_main(void *arg)
{
    (void)arg;
    snprintf(unix_path, sizeof unix_path, "%s/sock", tmpdir);
    WT_EQ(weft_unix_connect(unix_path), -ENOENT);
    int lfd = weft_unix_listen(unix_path, 8);
    WT_GE(lfd, 0);
    /* A live listener's file is not taken over. */
    WT_EQ(weft_unix_listen(unix_path, 8), -EADDRINUSE);
    weft_task *c = wt_spawn(unix_client, NULL);
    int fd = weft_accept(lfd, NULL, NULL, 0);
    WT_GE(fd, 0);
    char buf[32];
    WT_EQ(recv_to_eof(fd, buf, sizeof buf), 9);
    WT_EQ(memcmp(buf, "over unix", 9), 0);
    WT_OK(weft_close(fd));
    WT_OK(weft_join(c, NULL));
    WT_OK(weft_close(lfd));
    /* The file stays behind, stale: the next listen replaces it. */
    WT_OK(access(unix_path, F_OK));
    WT_EQ(weft_unix_connect(unix_path), -ECONNREFUSED);
    lfd = weft_unix_listen(unix_path, 8);
    WT_GE(lfd, 0);
    c = wt_spawn(unix_client, NULL);
    fd = weft_accept(lfd, NULL, NULL, 0);
    WT_GE(fd, 0);
    WT_EQ(recv_to_eof(fd, buf, sizeof buf), 9);
    WT_OK(weft_close(fd));
    WT_OK(weft_join(c, NULL));
    WT_OK(weft_close(lfd));
    unlink(unix_path);
    char longpath[200];
    memset(longpath, 'x', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    WT_EQ(weft_unix_listen(longpath, 1), -ENAMETOOLONG);
    WT_EQ(weft_unix_connect(""), -EINVAL);
    return NULL;
}
WT_TEST_1_2(unix)

static void *msg_main(void *arg)
{
    (void)arg;
    int sv[2];
    WT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    struct iovec out[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    struct msghdr m = {.msg_iov = out, .msg_iovlen = 3};
    WT_EQ(weft_sendmsg(sv[0], &m, 0), 8);
    char x[2], y[6];
    struct iovec in[2] = {{x, 2}, {y, 6}};
    struct msghdr r = {.msg_iov = in, .msg_iovlen = 2};
    WT_EQ(weft_recvmsg(sv[1], &r, MSG_WAITALL), 8);
    WT_EQ(memcmp(x, "ab", 2), 0);
    WT_EQ(memcmp(y, "cdefgh", 6), 0);
    /* shutdown: the peer sees end of stream, our sends fail with EPIPE */
    WT_OK(weft_shutdown(sv[0], SHUT_WR));
    WT_EQ(weft_recv(sv[1], x, 1, 0), 0);
    WT_EQ(weft_send(sv[0], "z", 1, 0), -EPIPE);
    WT_EQ(weft_shutdown(-1, SHUT_RDWR), -EBADF);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}
WT_TEST_1_2(msg)

/* ---- interruption ----------------------------------------------------------------- */

static int shared_fd;

static void *blocked_accept(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)weft_accept(shared_fd, NULL, NULL, 0);
}

static void *blocked_recv(void *arg)
{
    return (void *)(intptr_t)weft_recv(shared_fd, arg, 16, 0);
}

static void *cancel_accept_main(void *arg)
{
    (void)arg;
    int lfd = weft_tcp_listen("127.0.0.1", 0, 8, 0);
    WT_GE(lfd, 0);
    shared_fd = lfd;
    for (int i = 0; i < 10; i++) {
        weft_task *t = wt_spawn(blocked_accept, NULL);
        WT_OK(weft_sleep((uint64_t)(i % 3) * WT_MS));
        weft_cancel(t);
        void *r = NULL;
        WT_EQ(weft_join(t, &r), -ECANCELED);
        WT_EQ((intptr_t)r, -ECANCELED);
    }
    /* No cancelled accept took the next connection. */
    int c = weft_tcp_connect("127.0.0.1", (uint16_t)weft_local_port(lfd), 0);
    WT_GE(c, 0);
    int s = weft_accept(lfd, NULL, NULL, 0);
    WT_GE(s, 0);
    WT_EQ(weft_send(c, "k", 1, 0), 1);
    char b;
    WT_EQ(weft_recv(s, &b, 1, 0), 1);
    WT_OK(weft_close(s));
    WT_OK(weft_close(c));
    WT_OK(weft_close(lfd));
    return NULL;
}
WT_TEST_1_2(cancel_accept)

static void *cancel_recv_main(void *arg)
{
    (void)arg;
    int sv[2];
    WT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    shared_fd = sv[1];
    for (int i = 0; i < 10; i++) {
        char buf[16];
        weft_task *t = wt_spawn(blocked_recv, buf);
        WT_OK(weft_sleep((uint64_t)(i % 3) * WT_MS));
        weft_cancel(t);
        void *r = NULL;
        WT_EQ(weft_join(t, &r), -ECANCELED);
        WT_EQ((intptr_t)r, -ECANCELED);
    }
    WT_EQ(weft_send(sv[0], "data", 4, 0), 4);
    char buf[8];
    WT_EQ(weft_recv(sv[1], buf, sizeof buf, 0), 4);
    WT_EQ(memcmp(buf, "data", 4), 0);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}
WT_TEST_1_2(cancel_recv)

static void *deadline_recv_main(void *arg)
{
    (void)arg;
    int sv[2];
    WT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    char buf[8];
    uint64_t t0 = weft_now();
    ssize_t n;
    {
        WEFT_WITH_TIMEOUT(20 * WT_MS);
        n = weft_recv(sv[1], buf, sizeof buf, 0);
    }
    WT_EQ(n, -ETIMEDOUT);
    WT_GE(weft_now() - t0, 20 * WT_MS);
    WT_LT(weft_now() - t0, 2 * WT_SEC);
    WT_EQ(weft_send(sv[0], "ok", 2, 0), 2);
    {
        WEFT_WITH_TIMEOUT(WT_SEC);
        n = weft_recv(sv[1], buf, sizeof buf, 0);
    }
    WT_EQ(n, 2);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}
WT_TEST_1_2(deadline_recv)

/* ---- weft_acceptor ---------------------------------------------------------------- */

enum { MANY_MAX = 300 };
static int many_port;
static atomic_int seen[MANY_MAX];
static atomic_int client_workers[2];

static void *numbered_client(void *arg)
{
    int32_t i = (int32_t)(intptr_t)arg;
    /* Spread the connects over the workers (where a task runs is otherwise the
     * scheduler's choice, and packing keeps tasks together on a busy machine). */
    if (wt_cur_workers() == 2)
        WT_OK(weft_move_to((unsigned)(i % 2)));
    int w = weft_worker_id();
    if (w >= 0 && w < 2)
        atomic_fetch_add(&client_workers[w], 1);
    int fd = weft_tcp_connect("127.0.0.1", (uint16_t)many_port, 0);
    WT_GE(fd, 0);
    WT_EQ(weft_send_all(fd, &i, sizeof i, 0), (long long)sizeof i);
    char b;
    WT_EQ(weft_recv(fd, &b, 1, 0), 0); /* until the server has read and closed */
    WT_OK(weft_close(fd));
    return NULL;
}

static void *acceptor_many_main(void *arg)
{
    (void)arg;
    int n = WT_SCALE(300, 200, 100);
    int fds0 = count_fds();
    int lfd = weft_tcp_listen("127.0.0.1", 0, 512, 0);
    WT_GE(lfd, 0);
    many_port = weft_local_port(lfd);
    for (int i = 0; i < MANY_MAX; i++)
        atomic_store(&seen[i], 0);
    atomic_store(&client_workers[0], 0);
    atomic_store(&client_workers[1], 0);
    weft_acceptor *a = weft_acceptor_new(lfd);
    WT_NONNULL(a);
    weft_set *clients = weft_set_new();
    WT_NONNULL(clients);
    for (intptr_t i = 0; i < n; i++)
        WT_NONNULL(weft_set_spawn(clients, numbered_client, (void *)i));
    for (int k = 0; k < n; k++) {
        if (k == 1)
            WT_OK(weft_sleep(30 * WT_MS)); /* let the queue fill past its 64 */
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        int fd = weft_acceptor_accept(a, (struct sockaddr *)&peer, &plen);
        WT_GE(fd, 0);
        WT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        if (plen) /* 0 only if the peer is already gone, which ours are not */
            WT_EQ(peer.sin_family, AF_INET);
        int32_t i = -1;
        WT_EQ(weft_recv(fd, &i, sizeof i, MSG_WAITALL), (long long)sizeof i);
        WT_GE(i, 0);
        WT_LT(i, n);
        WT_EQ(atomic_fetch_add(&seen[i], 1), 0);
        WT_OK(weft_close(fd));
    }
    weft_task *t;
    int left = 0;
    while (weft_set_next(clients, &t) == 0) {
        WT_OK(weft_join(t, NULL));
        left++;
    }
    WT_EQ(left, n);
    WT_OK(weft_set_free(clients));
    for (int i = 0; i < n; i++)
        WT_EQ(atomic_load(&seen[i]), 1);
    if (wt_cur_workers() == 2)
        WT_GT(atomic_load(&client_workers[0]) * atomic_load(&client_workers[1]), 0);
    weft_acceptor_free(a);
    WT_OK(weft_close(lfd));
    WT_EQ(count_fds(), fds0);
    return NULL;
}
WT_TEST_1_2(acceptor_many)

/* Connections queued inside the acceptor are closed by weft_acceptor_free: the clients
 * see end of stream and no fd is left behind. (Without multishot accept nothing queues
 * inside: the connections wait in the listener's backlog instead.) */
static void *acceptor_free_queued_main(void *arg)
{
    (void)arg;
    enum { NC = 6 };
    const char *compat = getenv("WEFT_RING_COMPAT");
    bool multishot = !(compat && *compat && *compat != '0');
    int fds0 = count_fds();
    int lfd = weft_tcp_listen("127.0.0.1", 0, 16, 0);
    WT_GE(lfd, 0);
    int port = weft_local_port(lfd);
    weft_acceptor *a = weft_acceptor_new(lfd);
    WT_NONNULL(a);
    int c[NC];
    for (int i = 0; i < NC; i++) {
        c[i] = weft_tcp_connect("127.0.0.1", (uint16_t)port, 0);
        WT_GE(c[i], 0);
    }
    int s = weft_acceptor_accept(a, NULL, NULL); /* arms the multishot */
    WT_GE(s, 0);
    WT_OK(weft_sleep(20 * WT_MS)); /* the rest reach the queue */
    weft_acceptor_free(a);
    WT_OK(weft_close(s));
    if (!multishot) {
        for (int i = 1; i < NC; i++) {
            int fd = weft_accept(lfd, NULL, NULL, 0);
            WT_GE(fd, 0);
            WT_OK(weft_close(fd));
        }
    }
    for (int i = 0; i < NC; i++) {
        char b;
        WEFT_WITH_TIMEOUT(5 * WT_SEC);
        ssize_t r = weft_recv(c[i], &b, 1, 0);
        WT_TRUE(r == 0 || r == -ECONNRESET);
        WT_OK(weft_close(c[i]));
    }
    /* The listener is still usable after the acceptor is gone, and holds nothing
     * left over. */
    int c2 = weft_tcp_connect("127.0.0.1", (uint16_t)port, 0);
    WT_GE(c2, 0);
    int s2 = weft_accept(lfd, NULL, NULL, 0);
    WT_GE(s2, 0);
    WT_EQ(weft_send(c2, "!", 1, 0), 1);
    char b;
    WT_EQ(weft_recv(s2, &b, 1, 0), 1); /* s2 is c2's peer, not an older connection */
    WT_OK(weft_close(s2));
    WT_OK(weft_close(c2));
    WT_OK(weft_close(lfd));
    WT_EQ(count_fds(), fds0);
    return NULL;
}
WT_TEST_1_2(acceptor_free_queued)

/* Interrupted waits in weft_acceptor_accept, then a free while the multishot is armed
 * and idle (possibly from a worker other than its home), then a fresh acceptor. */
static weft_acceptor *shared_acc;

static void *acceptor_wait(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)weft_acceptor_accept(shared_acc, NULL, NULL);
}

static void *acceptor_interrupt_main(void *arg)
{
    (void)arg;
    int lfd = weft_tcp_listen("127.0.0.1", 0, 16, 0);
    WT_GE(lfd, 0);
    int port = weft_local_port(lfd);
    for (int round = 0; round < 5; round++) {
        shared_acc = weft_acceptor_new(lfd);
        WT_NONNULL(shared_acc);
        uint64_t t0 = weft_now();
        {
            WEFT_WITH_TIMEOUT(20 * WT_MS);
            WT_EQ(weft_acceptor_accept(shared_acc, NULL, NULL), -ETIMEDOUT);
        }
        WT_GE(weft_now() - t0, 20 * WT_MS);
        weft_task *t = wt_spawn(acceptor_wait, NULL);
        WT_OK(weft_sleep((uint64_t)(round % 3) * WT_MS));
        weft_cancel(t);
        void *r = NULL;
        WT_EQ(weft_join(t, &r), -ECANCELED);
        WT_EQ((intptr_t)r, -ECANCELED);
        /* a connection made now is still accepted, by the same acceptor */
        int c = weft_tcp_connect("127.0.0.1", (uint16_t)port, 0);
        WT_GE(c, 0);
        int s = weft_acceptor_accept(shared_acc, NULL, NULL);
        WT_GE(s, 0);
        WT_EQ(weft_send(c, "x", 1, 0), 1);
        char b;
        WT_EQ(weft_recv(s, &b, 1, 0), 1);
        WT_OK(weft_close(s));
        WT_OK(weft_close(c));
        weft_acceptor_free(shared_acc); /* armed, nothing queued */
    }
    WT_OK(weft_close(lfd));
    return NULL;
}
WT_TEST_1_2(acceptor_interrupt)

/* ---- completions do not wake idle workers for nothing ------------------------------ */

enum { QUIET_ROUNDS = 2000 };

/* A plain thread echoing bytes on its end of a socketpair until end of stream. */
static void *byte_echo_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char c;
    while (read(fd, &c, 1) == 1)
        if (write(fd, &c, 1) != 1)
            break;
    return NULL;
}

/* One task does request/response round trips with a thread: each completion makes it
 * runnable on its own worker, which runs it at once, so the other worker, idle, must
 * not be woken for it (runtime/idle.c step 5a). Before that rule, every completion woke
 * the idle worker, which found nothing it could take and parked again: about one park
 * per round trip. */
static void *quiet_idle_main(void *arg)
{
    (void)arg;
    int sv[2];
    WT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    pthread_t th;
    WT_OK(pthread_create(&th, NULL, byte_echo_thread, (void *)(intptr_t)sv[1]));
    char c = 'x', r;
    for (int i = 0; i < 50; i++) { /* warm up: the other worker settles into its park */
        WT_EQ(weft_send_all(sv[0], &c, 1, 0), 1);
        WT_EQ(weft_recv(sv[0], &r, 1, 0), 1);
    }
    WT_OK(weft_sleep(5 * WEFT_NS_PER_MS));
    /* After each round trip: how often the worker not running the task parked since the
     * last look (the task may move; then the other one is the idle one). */
    wt_idle_watch iw;
    wt_idle_watch_start(&iw);
    for (int i = 0; i < QUIET_ROUNDS; i++) {
        WT_EQ(weft_send_all(sv[0], &c, 1, 0), 1);
        WT_EQ(weft_recv(sv[0], &r, 1, 0), 1);
        WT_EQ(r, 'x');
        wt_idle_watch_step(&iw);
    }
    WT_OK(weft_close(sv[0]));
    WT_OK(pthread_join(th, NULL));
    close(sv[1]);
    fprintf(stderr, "quiet_idle: %d hops, %llu parks of the idle worker in %d round trips\n",
            iw.hops, (unsigned long long)iw.idle_parks, QUIET_ROUNDS);
    WT_LT(iw.idle_parks, (uint64_t)QUIET_ROUNDS / 20);
    return NULL;
}
WT_TEST_W(quiet_idle, 2)

static void test_outside_task(void **state)
{
    (void)state;
    char buf[4];
    WT_EQ(weft_recv(0, buf, 1, 0), -EPERM);
    WT_EQ(weft_send(1, buf, 1, 0), -EPERM);
    WT_EQ(weft_socket(AF_INET, SOCK_STREAM, 0), -EPERM);
    WT_EQ(weft_accept(0, NULL, NULL, 0), -EPERM);
    WT_EQ(weft_shutdown(0, SHUT_RDWR), -EPERM);
    WT_EQ(weft_tcp_listen("127.0.0.1", 0, 1, 0), -EPERM);
    WT_EQ(weft_tcp_connect("127.0.0.1", 1, 0), -EPERM);
    WT_EQ(weft_udp_bind(NULL, 0, AF_INET), -EPERM);
    WT_EQ(weft_unix_listen("/tmp/x", 1), -EPERM);
    WT_EQ(weft_unix_connect("/tmp/x"), -EPERM);
    weft_acceptor *a = weft_acceptor_new(0);
    WT_NONNULL(a);
    WT_EQ(weft_acceptor_accept(a, NULL, NULL), -EPERM);
    weft_acceptor_free(a);
    WT_TRUE(weft_acceptor_new(-1) == NULL);
    weft_acceptor_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_v4),
        cmocka_unit_test(test_tcp_v6),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_udp),
        cmocka_unit_test(test_unix),
        cmocka_unit_test(test_msg),
        cmocka_unit_test(test_cancel_accept),
        cmocka_unit_test(test_cancel_recv),
        cmocka_unit_test(test_deadline_recv),
        cmocka_unit_test(test_acceptor_many),
        cmocka_unit_test(test_acceptor_free_queued),
        cmocka_unit_test(test_acceptor_interrupt),
        cmocka_unit_test(test_quiet_idle),
        cmocka_unit_test(test_outside_task),
    };
    if (wt_tmpdir_make(tmpdir))
        return 1;
    int rc = WT_RUN_GROUP(tests);
    wt_tmpdir_remove(tmpdir);
    return rc;
}
