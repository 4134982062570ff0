/* weft-httpd — the bundled HTTP/1.1 server.
 *
 *   weft-httpd [-p PORT] [-w WORKERS] [-H HOST]
 *
 * GET /          200 "Hello, World!"
 * GET /bytes/N   N bytes (0 <= N <= 64 MiB, WEFT__HTTP_HELLO_MAX_BYTES), else 400
 * anything else  404 (405 for methods other than GET and HEAD)
 *
 * One SO_REUSEPORT listener and accept task per worker. SIGINT or SIGTERM stops it
 * gracefully: accepting stops, requests in flight finish (up to 5 s), then it prints
 * its counters and exits 0. */
#include "io/http/hello.h"

#include <weft.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GRACE_NS (5 * WEFT_NS_PER_SEC)

static const int stop_signals[] = {SIGINT, SIGTERM};

typedef struct opts {
    const char *host;
    unsigned port;
    unsigned workers;
} opts;

static void *main_task(void *arg)
{
    const opts *o = arg;
    weft_http_server_config cfg = {.host = o->host, .port = (uint16_t)o->port};
    weft_http_server *srv;
    int rc = weft_http_server_start(&cfg, weft__http_hello_handler, NULL, &srv);
    if (rc < 0) {
        fprintf(stderr, "weft-httpd: cannot listen on %s:%u: %s\n", o->host, o->port,
                weft_strerror(rc));
        return (void *)1;
    }
    printf("weft-httpd: listening on http://%s:%d/ with %u workers\n", o->host,
           weft_http_server_port(srv), weft_workers());
    fflush(stdout);
    int sig = weft_signal_wait(stop_signals, 2);
    if (sig < 0)
        fprintf(stderr, "weft-httpd: waiting for signals failed: %s\n", weft_strerror(sig));
    weft_http_server_stats st;
    weft_http_server_stats_get(srv, &st);
    weft_http_server_stop(srv, GRACE_NS);
    printf("weft-httpd: stopped (%s): connections=%llu requests=%llu errors_4xx=%llu "
           "errors_5xx=%llu\n",
           sig > 0 ? strsignal(sig) : "error", (unsigned long long)st.connections,
           (unsigned long long)st.requests, (unsigned long long)st.errors_4xx,
           (unsigned long long)st.errors_5xx);
    return sig < 0 ? (void *)1 : NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: weft-httpd [-p PORT] [-w WORKERS] [-H HOST]\n"
               "  -p PORT     TCP port (default 8080; 0 picks a free one)\n"
               "  -w WORKERS  worker threads (default: one per CPU)\n"
               "  -H HOST     numeric address to bind (default 127.0.0.1; 0.0.0.0 or ::)\n");
}

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

int main(int argc, char **argv)
{
    opts o = {.host = "127.0.0.1", .port = 8080, .workers = 0};
    int c;
    while ((c = getopt(argc, argv, "p:w:H:h")) != -1) {
        switch (c) {
        case 'p':
            if (!parse_uint(optarg, 65535, &o.port)) {
                fprintf(stderr, "weft-httpd: bad port '%s'\n", optarg);
                return 2;
            }
            break;
        case 'w':
            if (!parse_uint(optarg, 1024, &o.workers)) {
                fprintf(stderr, "weft-httpd: bad worker count '%s'\n", optarg);
                return 2;
            }
            break;
        case 'H':
            o.host = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    /* Blocked before the workers start so they inherit the mask: the signals are then
     * only read through weft_signal_wait. */
    int rc = weft_signals_block(stop_signals, 2);
    if (rc < 0) {
        fprintf(stderr, "weft-httpd: cannot block signals: %s\n", weft_strerror(rc));
        return 1;
    }
    weft_config cfg = {.workers = o.workers};
    void *res = NULL;
    rc = weft_run(&cfg, main_task, &o, &res);
    if (rc < 0) {
        fprintf(stderr, "weft-httpd: cannot start the runtime: %s\n", weft_strerror(rc));
        return 1;
    }
    return res ? 1 : 0;
}
