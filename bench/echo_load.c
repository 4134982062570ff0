/* echo_load — a neutral load generator for TCP echo servers (plain C, epoll, no weft).
 *
 *   echo_load [-a ADDR] [-p PORT] [-c CONNS] [-t THREADS] [-d SECONDS] [-s SIZE] [-w W]
 *
 * Opens CONNS connections (default 64) to ADDR:PORT (default 127.0.0.1:7007), split over
 * THREADS client threads (default 1), each thread driving its connections with one epoll
 * instance. Every connection sends a SIZE-byte message (default 64), waits until the whole
 * message has come back (and checks it), then sends the next: a closed loop, one message in
 * flight per connection. Connections are opened before the clock starts; the run lasts
 * SECONDS (default 5). W is only a label for the output (the server's worker count).
 *
 * Output (stdout):
 *   bench=echo_rtt workers=W value=V unit=msg/s
 *   bench=echo_latency workers=W conns=C p50_us=A p99_us=B max_us=M msgs=N errors=E
 * Latency is per round trip, from the send to the last byte of the echo; percentiles are
 * nearest-rank. Exits 1 on any error (refused connection, early close, wrong bytes).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 65536

struct conn {
    int fd;
    size_t sent;     /* bytes of the current message written */
    size_t got;      /* bytes of its echo read */
    uint64_t t_send; /* when the message's first byte was written */
    unsigned char *rbuf;
};

struct worker {
    pthread_t thread;
    struct conn *conns;
    size_t nconns;
    uint64_t msgs;
    uint64_t errors;
    uint32_t *lat_ns; /* one sample per completed round trip */
    size_t nlat, cap;
};

static struct sockaddr_in target;
static size_t msg_size = 64;
static unsigned char msg[MAX_SIZE];
static uint64_t deadline_ns;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void record(struct worker *w, uint64_t ns)
{
    if (w->nlat == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 65536;
        uint32_t *p = realloc(w->lat_ns, cap * sizeof *p);
        if (p == NULL)
            return; /* keep counting messages, drop the sample */
        w->lat_ns = p;
        w->cap = cap;
    }
    w->lat_ns[w->nlat++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static void drop(struct worker *w, int ep, struct conn *c, const char *why)
{
    if (w->errors++ == 0)
        fprintf(stderr, "echo_load: connection closed: %s\n", why);
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

/* Writes the rest of the current message; waits for EPOLLOUT if the socket is full.
 * Returns -1 after dropping the connection. */
static int push(struct worker *w, int ep, struct conn *c)
{
    while (c->sent < msg_size) {
        ssize_t n = send(c->fd, msg + c->sent, msg_size - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                return 0;
            }
            drop(w, ep, c, strerror(errno));
            return -1;
        }
        c->sent += (size_t)n;
    }
    return 0;
}

static void start_msg(struct worker *w, int ep, struct conn *c)
{
    c->sent = c->got = 0;
    c->t_send = now_ns();
    push(w, ep, c);
}

static void *drive(void *arg)
{
    struct worker *w = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("echo_load: epoll_create1");
        w->errors++;
        return NULL;
    }
    size_t live = 0;
    for (size_t i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
            drop(w, ep, c, strerror(errno));
            continue;
        }
        live++;
        start_msg(w, ep, c);
    }
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline_ns || live == 0)
            break;
        uint64_t left_ms = (deadline_ns - now) / 1000000u + 1;
        int n = epoll_wait(ep, evs, 256, left_ms > 100 ? 100 : (int)left_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("echo_load: epoll_wait");
            w->errors++;
            break;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->fd < 0)
                continue;
            if (evs[i].events & EPOLLOUT) {
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                if (push(w, ep, c) < 0) {
                    live--;
                    continue;
                }
            }
            if (!(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            ssize_t r = recv(c->fd, c->rbuf + c->got, msg_size - c->got, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0 || c->got + (size_t)r > c->sent) {
                drop(w, ep, c,
                     r == 0  ? "closed by the server"
                     : r < 0 ? strerror(errno)
                             : "echo before send");
                live--;
                continue;
            }
            c->got += (size_t)r;
            if (c->got < msg_size)
                continue;
            uint64_t t = now_ns();
            if (memcmp(c->rbuf, msg, msg_size) != 0) {
                drop(w, ep, c, "echo differs from the message");
                live--;
                continue;
            }
            if (t <= deadline_ns) {
                w->msgs++;
                record(w, t - c->t_send);
            }
            start_msg(w, ep, c);
        }
    }
    close(ep);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double pct_us(const uint32_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999999); /* ceil */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1] / 1000.0;
}

static unsigned long arg_ul(const char *s, unsigned long lo, unsigned long hi, const char *what)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
        fprintf(stderr, "echo_load: bad %s '%s' (%lu..%lu)\n", what, s, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1";
    unsigned long port = 7007, conns = 64, threads = 1, seconds = 5, workers = 0;
    int opt;
    while ((opt = getopt(argc, argv, "a:p:c:t:d:s:w:h")) != -1) {
        switch (opt) {
        case 'a':
            addr = optarg;
            break;
        case 'p':
            port = arg_ul(optarg, 1, 65535, "port");
            break;
        case 'c':
            conns = arg_ul(optarg, 1, 100000, "connection count");
            break;
        case 't':
            threads = arg_ul(optarg, 1, 256, "thread count");
            break;
        case 'd':
            seconds = arg_ul(optarg, 1, 3600, "duration");
            break;
        case 's':
            msg_size = arg_ul(optarg, 1, MAX_SIZE, "message size");
            break;
        case 'w':
            workers = arg_ul(optarg, 0, 1 << 20, "worker label");
            break;
        default:
            fprintf(stderr,
                    "usage: %s [-a ADDR] [-p PORT] [-c CONNS] [-t THREADS] "
                    "[-d SECONDS] [-s SIZE] [-w WORKERS_LABEL]\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads > conns)
        threads = conns;
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &target.sin_addr) != 1) {
        fprintf(stderr, "echo_load: '%s' is not a numeric IPv4 address\n", addr);
        return 2;
    }
    for (size_t i = 0; i < msg_size; i++)
        msg[i] = (unsigned char)('a' + i % 26);

    /* Connect everything first (blocking), then switch to non-blocking. */
    struct conn *all = calloc(conns, sizeof *all);
    unsigned char *rbufs = malloc(conns * msg_size);
    struct worker *ws = calloc(threads, sizeof *ws);
    if (all == NULL || rbufs == NULL || ws == NULL) {
        fprintf(stderr, "echo_load: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < conns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&target, sizeof target) < 0) {
            fprintf(stderr, "echo_load: connect %s:%lu (connection %zu): %s\n", addr, port, i,
                    strerror(errno));
            return 1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            perror("echo_load: fcntl");
            return 1;
        }
        all[i].fd = fd;
        all[i].rbuf = rbufs + i * msg_size;
    }

    /* Each thread drives a contiguous slice of the connections. */
    size_t base = 0;
    for (size_t t = 0; t < threads; t++) {
        size_t n = conns / threads + (t < conns % threads);
        ws[t].conns = all + base;
        ws[t].nconns = n;
        base += n;
    }
    uint64_t start = now_ns();
    deadline_ns = start + (uint64_t)seconds * 1000000000u;
    for (size_t t = 0; t < threads; t++) {
        int rc = pthread_create(&ws[t].thread, NULL, drive, &ws[t]);
        if (rc != 0) {
            fprintf(stderr, "echo_load: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    uint64_t msgs = 0, errors = 0;
    size_t nlat = 0;
    for (size_t t = 0; t < threads; t++) {
        pthread_join(ws[t].thread, NULL);
        msgs += ws[t].msgs;
        errors += ws[t].errors;
        nlat += ws[t].nlat;
    }
    double secs = (double)(deadline_ns - start) / 1e9;

    uint32_t *lat = malloc((nlat ? nlat : 1) * sizeof *lat);
    if (lat == NULL) {
        fprintf(stderr, "echo_load: out of memory\n");
        return 1;
    }
    size_t k = 0;
    for (size_t t = 0; t < threads; t++) {
        if (ws[t].nlat)
            memcpy(lat + k, ws[t].lat_ns, ws[t].nlat * sizeof *lat);
        k += ws[t].nlat;
        free(ws[t].lat_ns);
    }
    qsort(lat, nlat, sizeof *lat, cmp_u32);

    printf("bench=echo_rtt workers=%lu value=%.0f unit=msg/s\n", workers, (double)msgs / secs);
    printf("bench=echo_latency workers=%lu conns=%lu p50_us=%.1f p99_us=%.1f max_us=%.1f "
           "msgs=%llu errors=%llu\n",
           workers, conns, pct_us(lat, nlat, 50), pct_us(lat, nlat, 99),
           nlat ? lat[nlat - 1] / 1000.0 : 0.0, (unsigned long long)msgs,
           (unsigned long long)errors);
    for (size_t i = 0; i < conns; i++)
        if (all[i].fd >= 0)
            close(all[i].fd);
    free(lat);
    free(all);
    free(rbufs);
    free(ws);
    return errors || msgs == 0 ? 1 : 0;
}
