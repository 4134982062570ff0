/* weft HTTP client — connections and the keep-alive pool (internal).
 *
 * A connection carries everything a request on it needs, reused from request to
 * request so the hot path allocates only the response it hands back: a read buffer,
 * the request buffer, the llhttp parser, and scratch space for headers and body. */
#ifndef WEFT_IO_HTTP_CLIENT_CONN_H
#define WEFT_IO_HTTP_CLIENT_CONN_H

#include "io/internal.h"

#include "llhttp.h"

#include <string.h>

#define WEFT__HTTP_RBUF 16384

typedef struct weft__http_host weft__http_host;
typedef struct weft__http_conn weft__http_conn;

/* A growable byte buffer. */
typedef struct weft__http_buf {
    char *p;
    size_t len, cap;
} weft__http_buf;

int weft__http_buf_reserve(weft__http_buf *b, size_t extra);
static inline int weft__http_buf_put(weft__http_buf *b, const void *d, size_t n)
{
    if (WEFT_UNLIKELY(b->cap - b->len < n) && weft__http_buf_reserve(b, n) < 0)
        return -ENOMEM;
    memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}
void weft__http_buf_free(weft__http_buf *b);

struct weft__http_conn {
    int fd;
    unsigned requests;     /* answered on this connection; > 0 means "reused" */
    weft__http_conn *next; /* idle list / spare list */
    llhttp_t parser;
    /* Per-response parse state (client_read.c). */
    weft__http_buf wbuf; /* the serialised request */
    weft__http_buf hbuf; /* "name\0value\0" pairs */
    weft__http_buf body;
    uint32_t *hoff; /* name and value end offsets into hbuf, two per header */
    unsigned nh, hoff_cap;
    size_t max_header, max_body;
    int err;       /* set by a callback that fails the parse */
    bool head;     /* the request was HEAD: no body whatever the headers say */
    bool done;     /* a final (non-1xx) response is complete */
    bool in_value; /* a header name is complete, its value not yet */
    char rbuf[WEFT__HTTP_RBUF];
};

struct weft_http_client {
    weft_http_client_config cfg;
    pthread_mutex_t mu; /* hosts and idle lists; never held across a suspension */
    weft__http_host *buckets[64];
    weft__http_conn *spare; /* closed connections' objects, kept for their buffers */
    unsigned nspare;
};

/* Takes an idle connection to host:port, or NULL (then *hp is still set, for put). */
weft__http_conn *weft__http_pool_get(weft_http_client *c, const char *host, size_t host_len,
                                     uint16_t port, weft__http_host **hp);
/* A connection object with no socket (fd -1), from the spare list or new. */
weft__http_conn *weft__http_conn_new(weft_http_client *c);
/* Back to the pool: kept idle when keep is true and there is room, else its socket is
 * closed and the object kept as a spare (or freed). */
void weft__http_pool_put(weft_http_client *c, weft__http_host *h, weft__http_conn *conn, bool keep);

#endif
