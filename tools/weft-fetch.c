/* weft-fetch — the bundled HTTP fetch benchmark.
 *
 *   weft-fetch [-n REQUESTS] [-c CONCURRENCY] [-w WORKERS] [-d SECONDS] [--json]
 *              [--urls FILE] [URL...]
 *
 * C tasks share one weft_http_client and each loops: take the next request number
 * from a shared counter, GET the URL it maps to (round-robin over the URLs), read the
 * whole body, record the latency. Like the peer clients (Go, Tokio+hyper, libcurl), a
 * latency runs from issuing the request until its body is read, for successful
 * requests; `seconds` runs from the first request until the last response. Every task
 * records into its own histogram and counters (no lock, no shared write per request
 * but the counter); they are merged at the end. Without URLs the bundled HTTP server
 * runs in-process on a loopback port (GET / -> "Hello, World!").
 *
 * The last stdout line is always
 *   requests=N ok=N errors=N seconds=S req_per_s=R p50_us=A p99_us=B max_us=C
 * Exit status: 0 without errors, 1 with errors, 2 on bad usage. */
#include "hist.h"
#include "io/http/hello.h"
#include "io/http/url.h"

#include <weft.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum err_kind {
    E_REFUSED,
    E_RESET,
    E_TIMEOUT,
    E_PROTOCOL,
    E_TOO_LARGE,
    E_STATUS,
    E_RESOLVE,
    E_OTHER,
    E_KINDS
};
static const char *const err_names[E_KINDS] = {
    "connect_refused", "reset", "timeout", "protocol", "too_large", "status", "resolve", "other",
};

typedef struct opts {
    uint64_t n;
    unsigned c, w;
    double d; /* seconds; 0 = run n requests */
    bool json;
    char **urls;
    bool *owned; /* urls[i] was strdup'ed (from --urls) */
    size_t nurls;
    bool embedded;
} opts;

typedef struct fetcher {
    const opts *o;
    weft_http_client *client;
    atomic_uint_fast64_t *next;
    uint64_t end_ns; /* -d: stop issuing at this time */
    /* This task's results, merged at the end. */
    uint64_t ok, bytes, err[E_KINDS];
    atomic_uint_fast64_t done; /* read by the progress task */
    int first_err;             /* an example, for the summary */
    hist h;
} fetcher;

static enum err_kind classify(int rc)
{
    switch (rc) {
    case -ECONNREFUSED:
        return E_REFUSED;
    case -ECONNRESET:
    case -EPIPE:
    case -ECONNABORTED:
        return E_RESET;
    case -ETIMEDOUT:
        return E_TIMEOUT;
    case -EPROTO:
        return E_PROTOCOL;
    case -EMSGSIZE:
        return E_TOO_LARGE;
    default:
        /* getaddrinfo's EAI_* codes are small negatives that do not clash with the
         * errnos above. */
        if (rc == EAI_NONAME || rc == EAI_AGAIN || rc == EAI_FAIL || rc == EAI_NODATA ||
            rc == EAI_ADDRFAMILY)
            return E_RESOLVE;
        return E_OTHER;
    }
}

static void *fetch_task(void *arg)
{
    fetcher *f = arg;
    const opts *o = f->o;
    uint64_t done = 0;
    for (;;) {
        uint64_t i = atomic_fetch_add_explicit(f->next, 1, memory_order_relaxed);
        if (o->d > 0 ? weft_now() >= f->end_ns : i >= o->n)
            break;
        weft_http_response r;
        uint64_t t0 = weft_now();
        int rc = weft_http_get(f->client, o->urls[i % o->nurls], &r);
        uint64_t t1 = weft_now();
        if (rc == 0 && r.status >= 200 && r.status < 300) {
            f->ok++;
            f->bytes += r.body_len;
            hist_record(&f->h, t1 - t0);
        } else {
            if (rc == -ECANCELED)
                break; /* shutting down */
            f->err[rc == 0 ? E_STATUS : classify(rc)]++;
            if (!f->first_err)
                f->first_err = rc == 0 ? r.status : rc;
        }
        weft_http_response_free(&r);
        atomic_store_explicit(&f->done, ++done, memory_order_relaxed);
    }
    return NULL;
}

typedef struct progress {
    fetcher **fs;
    unsigned c;
    uint64_t t0;
} progress;

static void *progress_task(void *arg)
{
    progress *p = arg;
    uint64_t last = 0, last_t = p->t0;
    while (weft_sleep(WEFT_NS_PER_SEC) == 0) {
        uint64_t sum = 0, now = weft_now();
        for (unsigned i = 0; i < p->c; i++)
            sum += atomic_load_explicit(&p->fs[i]->done, memory_order_relaxed);
        double dt = (double)(now - last_t) / 1e9;
        fprintf(stderr, "\r[%5.1fs] %" PRIu64 " requests, %.0f req/s   ",
                (double)(now - p->t0) / 1e9, sum, dt > 0 ? (double)(sum - last) / dt : 0.0);
        last = sum;
        last_t = now;
    }
    fputc('\n', stderr);
    return NULL;
}

typedef struct result {
    int rc; /* setup failure, or 0 */
    uint64_t ok, errors, bytes, err[E_KINDS];
    int first_err;
    double seconds;
    hist h;
    int port;
    unsigned workers;
} result;

static void *main_task(void *arg)
{
    void **a = arg;
    opts *o = a[0];
    result *res = a[1];
    res->workers = weft_workers();
    weft_http_server *srv = NULL;
    char embedded_url[64];
    if (o->embedded) {
        weft_http_server_config scfg = {.host = "127.0.0.1"};
        int rc = weft_http_server_start(&scfg, weft__http_hello_handler, NULL, &srv);
        if (rc < 0) {
            fprintf(stderr, "weft-fetch: cannot start the embedded server: %s\n",
                    weft_strerror(rc));
            res->rc = rc;
            return NULL;
        }
        res->port = weft_http_server_port(srv);
        snprintf(embedded_url, sizeof embedded_url, "http://127.0.0.1:%d/", res->port);
        static char *one[1];
        one[0] = embedded_url;
        o->urls = one;
        o->nurls = 1;
    }
    weft_http_client_config ccfg = {
        .max_idle_per_host = o->c,
        .request_timeout_ns = 10 * WEFT_NS_PER_SEC, /* as the peer clients */
    };
    weft_http_client *client = weft_http_client_new(&ccfg);
    fetcher **fs = calloc(o->c, sizeof *fs);
    weft_task **ts = calloc(o->c, sizeof *ts);
    atomic_uint_fast64_t next = 0;
    if (!client || !fs || !ts) {
        res->rc = -ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < o->c; i++) {
        /* calloc: the histogram's pages stay untouched until a bucket is used. */
        fs[i] = calloc(1, sizeof *fs[i]);
        if (!fs[i]) {
            res->rc = -ENOMEM;
            goto out;
        }
        fs[i]->o = o;
        fs[i]->client = client;
        fs[i]->next = &next;
        fs[i]->h.min = UINT64_MAX;
    }
    uint64_t t0 = weft_now();
    for (unsigned i = 0; i < o->c; i++)
        fs[i]->end_ns = t0 + (uint64_t)(o->d * 1e9);
    progress prog = {fs, o->c, t0};
    weft_task *pt = isatty(2) ? weft_spawn(progress_task, &prog) : NULL;
    unsigned spawned = 0;
    for (; spawned < o->c; spawned++) {
        ts[spawned] = weft_spawn(fetch_task, fs[spawned]);
        if (!ts[spawned])
            break;
    }
    (void)weft_gather(ts, spawned, NULL);
    res->seconds = (double)(weft_now() - t0) / 1e9;
    if (pt) {
        weft_cancel(pt);
        weft_join(pt, NULL);
    }
    if (spawned < o->c)
        res->rc = -ENOMEM;
    hist_init(&res->h);
    for (unsigned i = 0; i < o->c; i++) {
        fetcher *f = fs[i];
        hist_merge(&res->h, &f->h);
        res->ok += f->ok;
        res->bytes += f->bytes;
        for (int k = 0; k < E_KINDS; k++) {
            res->err[k] += f->err[k];
            res->errors += f->err[k];
        }
        if (!res->first_err)
            res->first_err = f->first_err;
    }
out:
    if (fs)
        for (unsigned i = 0; i < o->c; i++)
            free(fs[i]);
    free(fs);
    free(ts);
    weft_http_client_free(client);
    if (srv)
        weft_http_server_stop(srv, WEFT_NS_PER_SEC);
    return NULL;
}

static _Noreturn void usage(const char *why)
{
    if (why)
        fprintf(stderr, "weft-fetch: %s\n", why);
    fprintf(stderr,
            "usage: weft-fetch [-n REQUESTS] [-c CONCURRENCY] [-w WORKERS] [-d SECONDS] [--json]\n"
            "                  [--urls FILE] [URL...]\n"
            "  -n  requests in total (default 100000)      -c  requests in flight (default 64)\n"
            "  -w  worker threads (default: all CPUs)       -d  run for SECONDS instead of -n\n"
            "  --json  the summary as one JSON object       --urls  URLs from FILE, one per line\n"
            "Without URLs, the bundled HTTP server runs in-process on a loopback port.\n");
    exit(2);
}

static uint64_t parse_count(const char *s, const char *what, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v == 0 || v > max) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s must be a whole number from 1 to %" PRIu64 ", not '%s'", what,
                 max, s);
        usage(msg);
    }
    return v;
}

static void add_url(opts *o, char *u, bool owned)
{
    weft__http_url parsed;
    if (weft__http_url_parse(u, &parsed) < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "not an http:// URL: '%.200s'", u);
        usage(msg);
    }
    char **nu = realloc(o->urls, (o->nurls + 1) * sizeof *nu);
    if (!nu)
        usage("out of memory");
    o->urls = nu;
    bool *no = realloc(o->owned, (o->nurls + 1) * sizeof *no);
    if (!no)
        usage("out of memory");
    o->owned = no;
    o->owned[o->nurls] = owned;
    o->urls[o->nurls++] = u;
}

static void read_url_file(opts *o, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "weft-fetch: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, fp)) >= 0) {
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t len = strlen(s);
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
                       s[len - 1] == '\t'))
            s[--len] = '\0';
        if (!len || *s == '#')
            continue;
        char *u = strdup(s);
        if (!u)
            usage("out of memory");
        add_url(o, u, true);
    }
    free(line);
    fclose(fp);
}

static double us(uint64_t ns)
{
    return (double)ns / 1e3;
}

static void print_summary(const opts *o, const result *r)
{
    uint64_t total = r->ok + r->errors;
    double rps = r->seconds > 0 ? (double)total / r->seconds : 0;
    const hist *h = &r->h;
    uint64_t p50 = hist_percentile(h, 50), p90 = hist_percentile(h, 90),
             p99 = hist_percentile(h, 99), p999 = hist_percentile(h, 99.9),
             mx = h->count ? h->max : 0, mn = h->count ? h->min : 0;
    double mean = h->count ? (double)h->sum / (double)h->count : 0;
    if (o->json) {
        printf("{\"requests\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"errors\":%" PRIu64
               ",\"seconds\":%.3f,\"req_per_s\":%.0f,\"concurrency\":%u,\"workers\":%u,"
               "\"latency_us\":{\"min\":%.1f,\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,"
               "\"p99\":%.1f,\"p99_9\":%.1f,\"max\":%.1f},\"errors_by_kind\":{",
               total, r->ok, r->errors, r->seconds, rps, o->c,
               weft_workers() ? weft_workers() : o->w, us(mn), us(mean), us(p50), us(p90), us(p99),
               us(p999), us(mx));
        for (int k = 0; k < E_KINDS; k++)
            printf("%s\"%s\":%" PRIu64, k ? "," : "", err_names[k], r->err[k]);
        printf("},\"body_bytes\":%" PRIu64 ",\"urls\":%zu,\"embedded_server\":%s}\n", r->bytes,
               o->nurls, o->embedded ? "true" : "false");
    } else {
        if (o->embedded)
            printf("weft-fetch: embedded server on http://127.0.0.1:%d/\n", r->port);
        else
            printf("weft-fetch: %s%s\n", o->urls[0],
                   o->nurls > 1 ? " (and more, round-robin)" : "");
        printf("  requests    %" PRIu64 " (%" PRIu64 " ok, %" PRIu64
               " errors), concurrency %u, workers %u\n",
               total, r->ok, r->errors, o->c, r->workers);
        printf("  throughput  %.0f req/s over %.3f s\n", rps, r->seconds);
        printf("  latency us  min %.1f  mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  "
               "max %.1f\n",
               us(mn), us(mean), us(p50), us(p90), us(p99), us(p999), us(mx));
        printf("  received    %" PRIu64 " body bytes\n", r->bytes);
        if (r->errors) {
            printf("  errors     ");
            for (int k = 0; k < E_KINDS; k++)
                if (r->err[k])
                    printf(" %s=%" PRIu64, err_names[k], r->err[k]);
            if (r->first_err < 0)
                printf("  (first: %s)", weft_strerror(r->first_err));
            else if (r->first_err > 0)
                printf("  (first: HTTP status %d)", r->first_err);
            printf("\n");
        }
    }
    printf("requests=%" PRIu64 " ok=%" PRIu64 " errors=%" PRIu64
           " seconds=%.3f req_per_s=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f\n",
           total, r->ok, r->errors, r->seconds, rps, us(p50), us(p99), us(mx));
}

int main(int argc, char **argv)
{
    opts o = {.n = 100000, .c = 64};
    bool have_n = false;
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"urls", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "n:c:w:d:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            o.n = parse_count(optarg, "-n", UINT64_MAX / 2);
            have_n = true;
            break;
        case 'c':
            o.c = (unsigned)parse_count(optarg, "-c", 100000);
            break;
        case 'w':
            o.w = (unsigned)parse_count(optarg, "-w", 1024);
            break;
        case 'd': {
            char *end;
            errno = 0;
            o.d = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o.d > 0) || o.d > 86400)
                usage("-d must be a number of seconds above 0 (at most 86400)");
            break;
        }
        case 'j':
            o.json = true;
            break;
        case 'u':
            read_url_file(&o, optarg);
            break;
        case 'h':
            usage(NULL);
        default:
            usage(NULL);
        }
    }
    if (have_n && o.d > 0)
        usage("give -n or -d, not both");
    for (int i = optind; i < argc; i++)
        add_url(&o, argv[i], false);
    o.embedded = o.nurls == 0;
    if (o.d == 0 && o.c > o.n)
        o.c = (unsigned)o.n; /* more tasks than requests would only idle */

    result *res = calloc(1, sizeof *res);
    if (!res)
        return 1;
    weft_config cfg = {.workers = o.w};
    void *a[2] = {&o, res};
    int rc = weft_run(&cfg, main_task, a, NULL);
    if (rc < 0 || res->rc < 0) {
        fprintf(stderr, "weft-fetch: %s\n", weft_strerror(rc < 0 ? rc : res->rc));
        return 1;
    }
    print_summary(&o, res);
    int status = res->errors ? 1 : 0;
    free(res);
    if (!o.embedded) { /* the embedded run's URL list is main_task's static one */
        for (size_t i = 0; i < o.nurls; i++)
            if (o.owned[i])
                free(o.urls[i]);
        free(o.urls);
        free(o.owned);
    }
    return status;
}
