/* weft — HTTP/1.1 server and client (parsing by llhttp).
 *
 * Errors are negative errnos like everywhere in weft. Client errors:
 *   -EINVAL        bad URL or arguments
 *   -ECONNREFUSED, -ECONNRESET, -EPIPE, -EHOSTUNREACH, ...  from the socket
 *   -EPROTO        the server sent something that is not valid HTTP/1.x
 *   -EMSGSIZE      the response's headers or body exceed the client's limits
 *   -ETIMEDOUT     the request's timeout (or the task's scoped deadline) passed
 *   -ECANCELED     the task was cancelled
 *   a negative EAI_* code when the host name does not resolve (gai_strerror(-rc))
 */
#ifndef WEFT_HTTP_H
#define WEFT_HTTP_H

#include "weft/common.h"

#include <sys/types.h>

WEFT_BEGIN_DECLS

typedef struct weft_http_header {
    const char *name; /* NUL-terminated, as received */
    const char *value;
} weft_http_header;

/* ---- server ------------------------------------------------------------------------- */

typedef struct weft_http_req {
    const char *method; /* "GET" */
    const char *target; /* request target as sent: "/path?query" */
    const char *path;   /* target without the query: "/path" */
    const char *query;  /* after '?', or "" */
    int version_minor;  /* HTTP/1.<version_minor> */
    const weft_http_header *headers;
    size_t nheaders;
    const char *body; /* whole body (Content-Length or chunked, de-chunked); NUL-terminated */
    size_t body_len;
    bool keep_alive;
    int fd; /* the connection's socket (for the peer's address); do not read or close it */
} weft_http_req;

/* Case-insensitive header lookup; NULL when absent. */
WEFT_API const char *weft_http_req_header(const weft_http_req *req, const char *name);

/* A response being built. Without any call the server answers 200 with an empty body.
 * Headers and a body set with weft_http_res_body go out in one send when the handler
 * returns (Content-Length added). weft_http_res_write switches to chunked transfer
 * encoding and sends as it goes (headers first). */
typedef struct weft_http_res weft_http_res;
WEFT_API void weft_http_res_status(weft_http_res *res, int status);
/* Adds a header (copied). Content-Length and Transfer-Encoding are the server's. */
WEFT_API int weft_http_res_header(weft_http_res *res, const char *name, const char *value);
/* Appends to the buffered body (copied). */
WEFT_API int weft_http_res_body(weft_http_res *res, const void *data, size_t len);
/* Streams a chunk now (chunked encoding); returns 0 or the send error. After
 * weft_http_res_length the bytes go out as they are instead, under a Content-Length. */
WEFT_API int weft_http_res_write(weft_http_res *res, const void *data, size_t len);
/* Declares the body's length before it is written (a file, a large generated body):
 * the head carries Content-Length: len, weft_http_res_write then streams the bytes
 * without chunking, so memory stays bounded, HTTP/1.0 keep-alive still works, and a
 * HEAD handler need not produce the body at all. Writing past len fails with -EINVAL
 * (nothing of that call is sent); a handler that ends short of len leaves the
 * response truncated, so the server closes the connection after it (a buffered body
 * that differs from len gets a 500 instead). -EINVAL once streaming has begun or for
 * a status without a body (1xx, 204, 304). */
WEFT_API int weft_http_res_length(weft_http_res *res, uint64_t len);

/* A handler runs in the connection's task and may suspend (I/O, sleeps, channels).
 * Return 0; a negative return makes the server answer 500 if nothing was sent yet, and
 * close the connection. */
typedef int (*weft_http_handler)(const weft_http_req *req, weft_http_res *res, void *ctx);

/* Limits and settings. Zero fields take the defaults in brackets. */
typedef struct weft_http_server_config {
    const char *host;           /* [NULL: 127.0.0.1]; "::" or "0.0.0.0" for all */
    uint16_t port;              /* [0: a free port, see weft_http_server_port] */
    int backlog;                /* [1024] */
    unsigned listeners;         /* SO_REUSEPORT listeners, each with its accept task
                                   [0: one per worker] */
    size_t max_header_bytes;    /* request line + headers [16 KiB] → 431 */
    size_t max_target_bytes;    /* request target [8 KiB] → 414 */
    size_t max_body_bytes;      /* [1 MiB] → 413 */
    unsigned max_headers;       /* [100] → 431 */
    uint64_t header_timeout_ns; /* whole request head must arrive within [10 s] → 408 */
    uint64_t body_timeout_ns;   /* body must arrive within [30 s] → 408 */
    uint64_t idle_timeout_ns;   /* keep-alive connection idle [60 s] → closed */
    unsigned max_connections;   /* open connections [10000]; accepting pauses beyond */
    unsigned max_pipeline;      /* requests parsed ahead on one connection [64] */
} weft_http_server_config;

typedef struct weft_http_server weft_http_server;

/* Binds, listens and starts the accept tasks; returns at once. Call from a task. */
WEFT_API int weft_http_server_start(const weft_http_server_config *cfg, weft_http_handler handler,
                                    void *ctx, weft_http_server **out);
WEFT_API int weft_http_server_port(const weft_http_server *srv);
/* Graceful shutdown: stops accepting, lets requests in flight finish (up to grace_ns,
 * then cancels them), closes idle connections, joins every task and frees srv. */
WEFT_API void weft_http_server_stop(weft_http_server *srv, uint64_t grace_ns);
/* Counters since start. */
typedef struct weft_http_server_stats {
    uint64_t connections, requests, errors_4xx, errors_5xx, active;
} weft_http_server_stats;
WEFT_API void weft_http_server_stats_get(const weft_http_server *srv, weft_http_server_stats *st);

/* ---- client ------------------------------------------------------------------------- */

typedef struct weft_http_client_config {
    unsigned max_idle_per_host;  /* idle keep-alive connections kept per host:port [256] */
    uint64_t connect_timeout_ns; /* [10 s] */
    uint64_t request_timeout_ns; /* whole request, connect included [30 s]; 0 = default */
    size_t max_header_bytes;     /* [64 KiB] */
    size_t max_body_bytes;       /* [64 MiB] */
} weft_http_client_config;

typedef struct weft_http_client weft_http_client;

/* Safe to share between tasks on all workers. NULL on -ENOMEM. */
WEFT_API weft_http_client *weft_http_client_new(const weft_http_client_config *cfg);
/* Closes the idle connections. No request may be in flight. */
WEFT_API void weft_http_client_free(weft_http_client *c);

typedef struct weft_http_response {
    int status;
    int version_minor;
    weft_http_header *headers;
    size_t nheaders;
    char *body; /* NUL-terminated */
    size_t body_len;
    void *priv_; /* storage; weft_http_response_free releases it */
} weft_http_response;

WEFT_API const char *weft_http_response_header(const weft_http_response *r, const char *name);
WEFT_API void weft_http_response_free(weft_http_response *r);

typedef struct weft_http_request {
    const char *method;              /* "GET", "POST", ... */
    const char *url;                 /* http://host[:port]/path?query (no https) */
    const weft_http_header *headers; /* extra headers */
    size_t nheaders;
    const void *body;
    size_t body_len;
} weft_http_request;

/* Sends the request on a pooled keep-alive connection (or a new one), reads the whole
 * response into *out. A request that fails on a reused connection before any byte of
 * the response arrived is retried once on a new connection (idempotent methods only).
 * Returns 0 (any HTTP status) or a negative error as listed at the top. */
WEFT_API int weft_http_do(weft_http_client *c, const weft_http_request *req,
                          weft_http_response *out);
WEFT_API int weft_http_get(weft_http_client *c, const char *url, weft_http_response *out);
WEFT_API int weft_http_post(weft_http_client *c, const char *url, const char *content_type,
                            const void *body, size_t len, weft_http_response *out);

WEFT_END_DECLS

#endif
