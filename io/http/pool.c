/* weft HTTP client — the client object and its per-host:port keep-alive pool.
 *
 * One mutex guards the host table and every idle list. It is held only for a few
 * pointer moves (never across a suspension or a syscall), so tasks on all workers share
 * one pool without a lock per connection. Idle lists are LIFO: the connection used last
 * is the one most likely still open and warm in the caches. */
#include "io/http/client_conn.h"

#include <string.h>
#include <unistd.h>

#define NBUCKETS 64
#define MAX_SPARE 64

struct weft__http_host {
    weft__http_host *next;
    weft__http_conn *idle;
    unsigned nidle;
    uint16_t port;
    size_t len;
    char name[];
};

int weft__http_buf_reserve(weft__http_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    size_t want = b->len + extra, cap = b->cap ? b->cap : 1024;
    while (cap < want) {
        if (cap > SIZE_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    char *p = weft__alloc(cap);
    if (!p)
        return -ENOMEM;
    if (b->len)
        memcpy(p, b->p, b->len);
    weft__free(b->p, b->cap);
    b->p = p;
    b->cap = cap;
    return 0;
}

void weft__http_buf_free(weft__http_buf *b)
{
    weft__free(b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void conn_destroy(weft__http_conn *conn)
{
    weft__http_buf_free(&conn->wbuf);
    weft__http_buf_free(&conn->hbuf);
    weft__http_buf_free(&conn->body);
    weft__free(conn->hoff, conn->hoff_cap * sizeof *conn->hoff);
    weft__free(conn, sizeof *conn);
}

static const weft_http_client_config defaults = {
    .max_idle_per_host = 256,
    .connect_timeout_ns = 10 * WEFT_NS_PER_SEC,
    .request_timeout_ns = 30 * WEFT_NS_PER_SEC,
    .max_header_bytes = 64 * 1024,
    .max_body_bytes = 64 * 1024 * 1024,
};

weft_http_client *weft_http_client_new(const weft_http_client_config *cfg)
{
    weft_http_client *c = weft__calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cfg = defaults;
    if (cfg) {
        /* max_idle_per_host 0 takes the default too: the header says zero fields do. */
        if (cfg->max_idle_per_host)
            c->cfg.max_idle_per_host = cfg->max_idle_per_host;
        if (cfg->connect_timeout_ns)
            c->cfg.connect_timeout_ns = cfg->connect_timeout_ns;
        if (cfg->request_timeout_ns)
            c->cfg.request_timeout_ns = cfg->request_timeout_ns;
        if (cfg->max_header_bytes)
            c->cfg.max_header_bytes = cfg->max_header_bytes;
        if (cfg->max_body_bytes)
            c->cfg.max_body_bytes = cfg->max_body_bytes;
    }
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        weft__free(c, sizeof *c);
        return NULL;
    }
    return c;
}

void weft_http_client_free(weft_http_client *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < NBUCKETS; i++) {
        weft__http_host *h = c->buckets[i];
        while (h) {
            weft__http_host *hn = h->next;
            for (weft__http_conn *conn = h->idle, *cn; conn; conn = cn) {
                cn = conn->next;
                close(conn->fd);
                conn_destroy(conn);
            }
            weft__free(h, sizeof *h + h->len + 1);
            h = hn;
        }
    }
    for (weft__http_conn *conn = c->spare, *cn; conn; conn = cn) {
        cn = conn->next;
        conn_destroy(conn);
    }
    pthread_mutex_destroy(&c->mu);
    weft__free(c, sizeof *c);
}

static unsigned host_hash(const char *s, size_t n, uint16_t port)
{
    uint32_t h = 2166136261u ^ port; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return (h ^ (h >> 15)) % NBUCKETS;
}

weft__http_conn *weft__http_pool_get(weft_http_client *c, const char *host, size_t host_len,
                                     uint16_t port, weft__http_host **hp)
{
    unsigned b = host_hash(host, host_len, port);
    weft__http_conn *conn = NULL;
    pthread_mutex_lock(&c->mu);
    weft__http_host *h = c->buckets[b];
    while (h && !(h->port == port && h->len == host_len && memcmp(h->name, host, host_len) == 0))
        h = h->next;
    if (!h) {
        /* First request to this host:port: one small allocation under the lock, once. */
        h = weft__calloc(1, sizeof *h + host_len + 1);
        if (h) {
            h->port = port;
            h->len = host_len;
            memcpy(h->name, host, host_len);
            h->next = c->buckets[b];
            c->buckets[b] = h;
        }
    } else if (h->idle) {
        conn = h->idle;
        h->idle = conn->next;
        h->nidle--;
    }
    pthread_mutex_unlock(&c->mu);
    *hp = h;
    return conn;
}

weft__http_conn *weft__http_conn_new(weft_http_client *c)
{
    weft__http_conn *conn = NULL;
    pthread_mutex_lock(&c->mu);
    conn = c->spare;
    if (conn) {
        c->spare = conn->next;
        c->nspare--;
    }
    pthread_mutex_unlock(&c->mu);
    if (!conn) {
        /* Not calloc: the 16 KiB read buffer need not be zeroed. */
        conn = weft__alloc(sizeof *conn);
        if (!conn)
            return NULL;
        memset(conn, 0, offsetof(weft__http_conn, rbuf));
    }
    conn->fd = -1;
    conn->requests = 0;
    conn->next = NULL;
    return conn;
}

void weft__http_pool_put(weft_http_client *c, weft__http_host *h, weft__http_conn *conn, bool keep)
{
    if (!keep || !h) {
        if (conn->fd >= 0)
            close(conn->fd); /* plain close(2): no suspension, nothing in flight on it */
        conn->fd = -1;
    }
    pthread_mutex_lock(&c->mu);
    if (conn->fd >= 0 && h->nidle < c->cfg.max_idle_per_host) {
        conn->next = h->idle;
        h->idle = conn;
        h->nidle++;
        conn = NULL;
    } else if (conn->fd < 0 && c->nspare < MAX_SPARE) {
        conn->next = c->spare;
        c->spare = conn;
        c->nspare++;
        conn = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (conn) {
        if (conn->fd >= 0)
            close(conn->fd);
        conn_destroy(conn);
    }
}
