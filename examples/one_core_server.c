/* one_core_server — the server of docs/guide-trace.md, "why is my server not using both
 * cores?": it has that problem, and --fixed is the fix.
 *
 *   one_core_server [--fixed] [-c CONNS] [-n REQUESTS] [-k WORK_US] [-w WORKERS]
 *
 * A TCP server on a free loopback port, and its load: CONNS client threads (plain
 * pthreads with blocking sockets, outside the runtime, started through weft_blocking)
 * each open a connection and send REQUESTS 8-byte requests on it, one at a time, waiting
 * for each 8-byte reply. Each request costs the server about WORK_US microseconds of CPU.
 *
 * The bug: the accept loop serves each connection itself, inline, until the client hangs
 * up, so the server works on one connection at a time and one worker at a time, however
 * many workers it has. --fixed spawns a task per connection, as examples/echo_server.c
 * does; idle workers steal those tasks and every core works.
 *
 * Prints "mode=inline|fixed workers=W requests=N seconds=S req_per_s=R". Defaults:
 * -c 8 -n 200 -k 200 -w 2. Record a trace with WEFT_TRACE=FILE, read it with weft-trace. */
#include <weft.h>

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static unsigned conns = 8, requests = 200, work_us = 200, workers = 2;
static bool fixed;
static uint16_t port;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The CPU cost of one request: hash for work_us microseconds. */
static uint64_t compute(uint64_t x)
{
    uint64_t end = now_ns() + work_us * 1000ull;
    do {
        for (int i = 0; i < 256; i++)
            x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ull + 1;
    } while (now_ns() < end);
    return x;
}

/* Serves one connection until the client hangs up. */
void *serve(void *arg); /* not static: the trace names task functions via dladdr */
void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (;;) {
        uint64_t req;
        size_t got = 0;
        while (got < sizeof req) {
            ssize_t n = weft_recv(fd, (char *)&req + got, sizeof req - got, 0);
            if (n <= 0)
                goto out;
            got += (size_t)n;
        }
        uint64_t reply = compute(req);
        if (weft_send_all(fd, &reply, sizeof reply, 0) < 0)
            break;
    }
out:
    weft_close(fd);
    return NULL;
}

void *accept_loop(void *arg);
void *accept_loop(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = weft_accept(lfd, NULL, NULL, 0);
        if (fd < 0)
            break; /* cancelled at the end of the run */
        if (!fixed) {
            serve((void *)(intptr_t)fd); /* the bug: one connection at a time, inline */
            continue;
        }
        weft_task *t = weft_spawn(serve, (void *)(intptr_t)fd); /* the fix */
        if (t)
            weft_detach(t);
        else
            weft_close(fd);
    }
    weft_close(lfd);
    return NULL;
}

/* One client thread: its own connection, requests one at a time. */
static void *client(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("one_core_server: client connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (unsigned i = 0; i < requests; i++) {
        uint64_t req = i, reply;
        size_t got = 0;
        if (send(fd, &req, sizeof req, MSG_NOSIGNAL) != sizeof req)
            exit(1);
        while (got < sizeof reply) {
            ssize_t n = recv(fd, (char *)&reply + got, sizeof reply - got, 0);
            if (n <= 0)
                exit(1);
            got += (size_t)n;
        }
    }
    close(fd);
    return NULL;
}

/* Runs on weft's blocking pool: starts the clients and waits for them. */
static void *load(void *arg)
{
    (void)arg;
    pthread_t th[256];
    for (unsigned i = 0; i < conns; i++)
        pthread_create(&th[i], NULL, client, NULL);
    for (unsigned i = 0; i < conns; i++)
        pthread_join(th[i], NULL);
    return NULL;
}

void *main_task(void *arg);
void *main_task(void *arg)
{
    (void)arg;
    int lfd = weft_tcp_listen("127.0.0.1", 0, 1024, 0);
    if (lfd < 0) {
        fprintf(stderr, "one_core_server: listen: %s\n", weft_strerror(lfd));
        return (void *)1;
    }
    port = (uint16_t)weft_local_port(lfd);
    weft_task *acc = weft_spawn(accept_loop, (void *)(intptr_t)lfd);
    if (!acc)
        return (void *)1;
    uint64_t t0 = now_ns();
    weft_blocking(load, NULL, NULL);
    double s = (double)(now_ns() - t0) / 1e9;
    weft_cancel(acc);
    weft_join(acc, NULL);
    unsigned n = conns * requests;
    printf("mode=%s workers=%u requests=%u seconds=%.3f req_per_s=%.0f\n",
           fixed ? "fixed" : "inline", weft_workers(), n, s, n / s);
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"fixed", no_argument, NULL, 'f'}, {0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:n:k:w:", longs, NULL)) != -1) {
        switch (c) {
        case 'f':
            fixed = true;
            break;
        case 'c':
            conns = (unsigned)atoi(optarg);
            break;
        case 'n':
            requests = (unsigned)atoi(optarg);
            break;
        case 'k':
            work_us = (unsigned)atoi(optarg);
            break;
        case 'w':
            workers = (unsigned)atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: one_core_server [--fixed] [-c CONNS] [-n REQUESTS] "
                            "[-k WORK_US] [-w WORKERS]\n");
            return 2;
        }
    }
    if (conns == 0 || conns > 256 || requests == 0) {
        fprintf(stderr, "one_core_server: -c must be 1..256, -n at least 1\n");
        return 2;
    }
    weft_config cfg = {.workers = workers};
    void *failed = NULL;
    int rc = weft_run(&cfg, main_task, NULL, &failed);
    if (rc < 0) {
        fprintf(stderr, "one_core_server: %s\n", weft_strerror(rc));
        return 1;
    }
    return failed != NULL;
}
