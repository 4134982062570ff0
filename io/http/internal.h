/* weft HTTP — internal declarations shared by io/http/ (server and client).
 *
 * Server layout:
 *   request.c   llhttp glue: bytes in, one assembled weft_http_req at a time out (no
 *               sockets, so the fuzzer drives it directly)
 *   response.c  weft_http_res_*: building a response into the connection's output
 *               buffer, chunked streaming, the server's own error responses
 *   date.c      the Date header, formatted at most once a second per thread
 *   server.c    listeners, accept tasks, connection tasks, limits, graceful stop
 * Everything here is internal (weft__ prefix, hidden visibility).
 */
#ifndef WEFT_IO_HTTP_INTERNAL_H
#define WEFT_IO_HTTP_INTERNAL_H

#include "io/internal.h"
#include "weft/http.h"
#include "weft/net.h"
#include "weft/task.h"
#include "weft/time.h"

#include "llhttp.h"

#include <stdlib.h>
#include <string.h>

/* ---- growable byte buffer, reused across requests ------------------------------------ */

typedef struct weft__buf {
    char *p;
    size_t len, cap;
} weft__buf;

/* Makes room for n more bytes. 0 or -ENOMEM. */
int weft__buf_grow(weft__buf *b, size_t n);
static inline int weft__buf_reserve(weft__buf *b, size_t n)
{
    return WEFT_LIKELY(b->cap - b->len >= n) ? 0 : weft__buf_grow(b, n);
}
static inline int weft__buf_put(weft__buf *b, const void *d, size_t n)
{
    if (weft__buf_reserve(b, n) < 0)
        return -ENOMEM;
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}
static inline void weft__buf_free(weft__buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
/* Shrinks a buffer that grew past keep bytes back to nothing (a one-off large body
 * must not pin memory for the rest of a keep-alive connection). */
static inline void weft__buf_trim(weft__buf *b, size_t keep)
{
    b->len = 0;
    if (b->cap > keep)
        weft__buf_free(b);
}

/* ---- request assembly (request.c) ----------------------------------------------------- */

typedef struct weft__http_limits {
    size_t max_header_bytes; /* request line + headers → 431 */
    size_t max_target_bytes; /* → 414 */
    size_t max_body_bytes;   /* → 413 */
    unsigned max_headers;    /* → 431 */
} weft__http_limits;

typedef struct weft__http_hoff {
    uint32_t name, value; /* offsets into the arena */
} weft__http_hoff;

typedef struct weft__http_rp {
    llhttp_t parser;
    weft__http_limits lim;
    /* Current request, copied as it arrives (it may span many recvs): method comes from
     * llhttp's table; target, path and header strings live NUL-terminated in arena. */
    weft__buf arena;
    weft__buf body;
    weft__http_hoff *hoff;
    weft_http_header *hdrs; /* pointer view, built by weft__http_rp_request */
    unsigned nhdrs, hcap;   /* header fields, then trailer fields */
    uint32_t target_off, path_off, query_off;
    size_t target_len;
    /* Head size, exact: head_fed bytes before hmark, where hmark is where counting
     * resumes in the data of the llhttp_execute in progress (its start, or the first
     * byte of the method when the request began inside it). */
    size_t head_fed;
    const char *hmark;
    size_t trailer_bytes;   /* trailer fields of a chunked body (same limit as the head) */
    int hstate;             /* 0 none, 1 in a header name, 2 in a header value */
    int err_status;         /* status for an error a callback raised (HPE_USER) */
    const char *err_reason; /* text for the 4xx body */
    bool started;           /* a byte of the current request arrived */
    bool head_done;         /* headers complete, body (if any) follows */
    bool head_paused;       /* llhttp paused at on_headers_complete */
    bool complete;          /* on_message_complete ran; paused there */
    bool expect_continue;   /* "Expect: 100-continue" */
} weft__http_rp;

enum { WEFT__RP_MORE = 0, WEFT__RP_REQUEST = 1 };

void weft__http_rp_init(weft__http_rp *rp, const weft__http_limits *lim);
void weft__http_rp_fini(weft__http_rp *rp);
/* Feeds bytes. Returns WEFT__RP_MORE when all were consumed and the request is not
 * complete yet, WEFT__RP_REQUEST when a whole request is assembled (*used says how many
 * bytes it took; the rest belongs to the next request: feed it after weft__http_rp_next),
 * or -STATUS (-400, -413, -414, -431, -505, -500 when out of memory) for a request the
 * server must refuse and then close the connection. After an error the parser stays
 * failed. */
int weft__http_rp_push(weft__http_rp *rp, const char *data, size_t len, size_t *used);
/* After WEFT__RP_REQUEST: the request view (pointers into rp, valid until _next). */
void weft__http_rp_request(weft__http_rp *rp, weft_http_req *req);
/* Forgets the current request and resumes parsing after it. */
void weft__http_rp_next(weft__http_rp *rp);
/* The reason of the last error, for the 4xx body. */
static inline const char *weft__http_rp_reason(const weft__http_rp *rp)
{
    return rp->err_reason ? rp->err_reason : "bad request";
}

/* ---- responses (response.c) ------------------------------------------------------------ */

struct weft_http_res {
    int status;
    int fd;
    bool head_only; /* HEAD request: no body bytes */
    bool streaming; /* chunked headers already went out */
    bool close;     /* the connection closes after this response */
    int http10;     /* request was HTTP/1.0 (keep-alive must be announced) */
    int send_err;   /* first error while streaming */
    bool has_length;   /* weft_http_res_length: stream raw bytes under Content-Length */
    uint64_t length;   /* the declared length */
    uint64_t streamed; /* body bytes put out so far while streaming */
    weft__buf hdrs; /* extra "Name: value\r\n" lines */
    weft__buf body; /* buffered body */
    weft__buf *out; /* the connection's output buffer (responses of a pipelined batch) */
    uint64_t send_timeout_ns;
};

/* Resets res for the next request (buffers kept). */
void weft__http_res_reset(weft_http_res *res);
/* Appends the complete response (head and buffered body, or the end of a chunked
 * stream) to res->out. Large bodies stay in res->body: *tail and *tail_len then name bytes
 * that must be sent right after res->out. 0, -ENOMEM, or -EPROTO when a buffered body
 * differs from the declared length (nothing appended). A stream that ended short of its
 * declared length sets res->close. */
int weft__http_res_finish(weft_http_res *res, const void **tail, size_t *tail_len);
/* Appends a whole server-generated response (error pages: 400, 408, 413, ...) with a
 * short text body, "Connection: close" when close. */
int weft__http_res_simple(weft__buf *out, int status, const char *text, bool close);
/* Sends out (then tail, when given) in as few sends as possible and empties out.
 * timeout_ns bounds the whole send (a peer that stops reading). len or negative errno. */
int weft__http_send(int fd, weft__buf *out, const void *tail, size_t tail_len, uint64_t timeout_ns);
/* Reason phrase for a status ("OK"), "" for unknown ones. */
const char *weft__http_reason(int status);

/* ---- Date header (date.c) ---------------------------------------------------------------- */

#define WEFT__HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */
/* Writes the current IMF-fixdate (29 bytes, no NUL). */
void weft__http_date(char out[WEFT__HTTP_DATE_LEN]);

#endif
