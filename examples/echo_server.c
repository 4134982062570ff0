/* echo_server — a TCP echo server written with weft.
 *
 *   echo_server [-a ADDR] [-p PORT] [-w WORKERS]
 *
 * One listening socket per worker, all bound to the same port with SO_REUSEPORT so the
 * kernel spreads incoming connections over them; one accept task per listening socket;
 * one task per connection that loops weft_recv -> weft_send_all until the peer closes.
 * Each of those calls reads like blocking code but suspends only its task.
 *
 * ADDR defaults to 127.0.0.1, PORT to 7007 (0 picks a free port). Once every listener
 * is up it prints "listening on ADDR:PORT" on stdout. With weft's signal support it stops
 * on SIGINT/SIGTERM, cancelling every task (connections are closed); without it the
 * default action of those signals ends the process.
 *
 * The build defines ECHO_HAVE_ACCEPTOR / ECHO_HAVE_SIGNALS when the library implements
 * weft_acceptor_* (multishot accept) and weft_signal_wait (examples/CMakeLists.txt).
 */
#include <weft.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024) /* per connection, on the heap: task stacks are 64 KiB */
#define MAX_LISTENERS 1024

static const char *addr = "127.0.0.1";
static uint16_t port = 7007;
static unsigned workers; /* 0: one per CPU */

/* One connection: echo until the peer closes, an error, or cancellation. */
static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(BUF_SIZE);
    if (buf != NULL) {
        for (;;) {
            ssize_t n = weft_recv(fd, buf, BUF_SIZE, 0);
            if (n <= 0)
                break; /* 0: peer closed; < 0: reset, cancelled, ... */
            if (weft_send_all(fd, buf, (size_t)n, 0) < 0)
                break;
        }
        free(buf);
    }
    weft_close(fd); /* closes even when the task was cancelled */
    return NULL;
}

/* Hands a new connection to its own task; the task owns the fd from here on. */
static void start_connection(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    weft_task *t = weft_spawn(serve, (void *)(intptr_t)fd);
    if (t == NULL) {
        weft_close(fd); /* out of memory: drop this connection, keep accepting */
        return;
    }
    weft_detach(t);
}

/* Accept loop on one listening socket. Returns when cancelled or on a hard error. */
static void *accept_loop(void *arg)
{
    int lfd = (int)(intptr_t)arg;
#ifdef ECHO_HAVE_ACCEPTOR
    weft_acceptor *acc = weft_acceptor_new(lfd);
    if (acc == NULL) {
        weft_close(lfd);
        return NULL;
    }
#endif
    for (;;) {
#ifdef ECHO_HAVE_ACCEPTOR
        int fd = weft_acceptor_accept(acc, NULL, NULL);
#else
        int fd = weft_accept(lfd, NULL, NULL, 0);
#endif
        if (fd >= 0) {
            start_connection(fd);
            continue;
        }
        if (fd == -ECONNABORTED || fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS ||
            fd == -ENOMEM) {
            if (fd != -ECONNABORTED && weft_sleep(10 * WEFT_NS_PER_MS) < 0)
                break; /* out of fds or memory: back off a little, then retry */
            continue;
        }
        if (fd != -ECANCELED)
            fprintf(stderr, "echo_server: accept: %s\n", weft_strerror(fd));
        break;
    }
#ifdef ECHO_HAVE_ACCEPTOR
    weft_acceptor_free(acc);
#endif
    weft_close(lfd);
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    unsigned n = weft_workers();
    if (n > MAX_LISTENERS)
        n = MAX_LISTENERS;
    weft_set *accepters = weft_set_new();
    if (accepters == NULL) {
        fprintf(stderr, "echo_server: out of memory\n");
        return (void *)1;
    }

    /* The first listener fixes the port (port 0 = a free one); the others join it. */
    uint16_t bound = port;
    int err = 0;
    for (unsigned i = 0; i < n; i++) {
        int lfd = weft_tcp_listen(addr, bound, 1024, WEFT_NET_REUSEPORT);
        if (lfd < 0) {
            err = lfd;
            fprintf(stderr, "echo_server: listen on %s:%u: %s\n", addr, (unsigned)bound,
                    weft_strerror(lfd));
            break;
        }
        if (i == 0)
            bound = (uint16_t)weft_local_port(lfd);
        if (weft_set_spawn(accepters, accept_loop, (void *)(intptr_t)lfd) == NULL) {
            weft_close(lfd);
            err = -ENOMEM;
            break;
        }
    }
    if (err == 0) {
        printf("listening on %s:%u (%u workers, %u listeners)\n", addr, (unsigned)bound,
               weft_workers(), n);
        fflush(stdout);
#ifdef ECHO_HAVE_SIGNALS
        static const int stop[] = {SIGINT, SIGTERM};
        int sig = weft_signal_wait(stop, 2);
        if (sig > 0)
            fprintf(stderr, "echo_server: signal %d, stopping\n", sig);
            /* weft_set_free below cancels the accept loops; weft_run then cancels and
             * joins the connection tasks, which close their sockets. */
#else
        weft_set_join_all(accepters); /* the accept loops run until the process is killed */
#endif
    }
    weft_set_free(accepters);
    return err < 0 ? (void *)1 : NULL; /* main's result: failed or not */
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-a ADDR] [-p PORT] [-w WORKERS]\n", prog);
    exit(2);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "a:p:w:h")) != -1) {
        char *end;
        unsigned long v;
        switch (opt) {
        case 'a':
            addr = optarg;
            break;
        case 'p':
            v = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || v > 65535)
                usage(argv[0]);
            port = (uint16_t)v;
            break;
        case 'w':
            v = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || v > MAX_LISTENERS)
                usage(argv[0]);
            workers = (unsigned)v;
            break;
        default:
            usage(argv[0]);
        }
    }
    if (optind != argc)
        usage(argv[0]);

#ifdef ECHO_HAVE_SIGNALS
    /* Block them before the workers start, so every thread inherits the mask and the
     * signals are only ever read by weft_signal_wait. */
    static const int stop[] = {SIGINT, SIGTERM};
    int rc = weft_signals_block(stop, 2);
    if (rc < 0) {
        fprintf(stderr, "echo_server: blocking signals: %s\n", weft_strerror(rc));
        return 1;
    }
#endif
    weft_config cfg = {.workers = workers};
    void *failed = NULL;
    int status = weft_run(&cfg, main_task, NULL, &failed);
    if (status < 0) {
        fprintf(stderr, "echo_server: %s\n", weft_strerror(status));
        return 1;
    }
    return failed != NULL;
}
