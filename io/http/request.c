/* weft HTTP — request assembly over llhttp (no sockets: the server and the fuzzer push
 * bytes in, whole requests come out).
 *
 * llhttp reports the request line and headers as spans that may be cut anywhere by a
 * recv boundary, so every string is copied into a per-connection arena as it arrives
 * and NUL-terminated when llhttp says the token is complete. The arena, the header
 * arrays and the body buffer are reused from one request to the next: a keep-alive
 * connection allocates only while its requests grow.
 *
 * on_message_complete pauses the parser, so pipelined requests come out one at a time:
 * the caller answers one, calls weft__http_rp_next and pushes the remaining bytes.
 *
 * Limits are checked while bytes arrive, never after buffering them: a request line
 * longer than max_target_bytes fails with 414 as soon as the span passes the limit,
 * a head past max_header_bytes (or more than max_headers headers) with 431, a body
 * announced (Content-Length, a chunk's size) or accumulated past max_body_bytes with
 * 413. */
#include "io/http/internal.h"

#include <ctype.h>
#include <strings.h>

static weft__http_rp *rp_of(llhttp_t *p)
{
    return p->data;
}

/* Raises an error from a callback: llhttp stops and returns HPE_USER. */
static int fail(weft__http_rp *rp, int status, const char *reason)
{
    rp->err_status = status;
    rp->err_reason = reason;
    return HPE_USER;
}

/* Head bytes of the current request up to p, a position in the data being parsed. */
static size_t head_len_at(const weft__http_rp *rp, const char *p)
{
    return rp->head_fed + (size_t)(p - rp->hmark);
}

/* Head bytes so far, up to the end of the span [at, at+len): fails early, while the
 * head is still arriving (the exact check is at the end of the head, in push). */
static int check_head(weft__http_rp *rp, const char *at, size_t len)
{
    if (rp->head_done) {
        /* Trailer fields of a chunked body: counted by their own bytes. */
        rp->trailer_bytes += len;
        if (rp->trailer_bytes > rp->lim.max_header_bytes)
            return fail(rp, 431, "trailer fields too large");
        return 0;
    }
    if (head_len_at(rp, at + len) > rp->lim.max_header_bytes)
        return fail(rp, 431, "request header fields too large");
    return 0;
}

static int append(weft__http_rp *rp, const char *at, size_t len)
{
    if (weft__buf_put(&rp->arena, at, len) < 0)
        return fail(rp, 500, "out of memory");
    return 0;
}

static int append_nul(weft__http_rp *rp)
{
    return append(rp, "", 1);
}

static int on_message_begin(llhttp_t *p)
{
    weft__http_rp *rp = rp_of(p);
    rp->started = true;
    return 0;
}

/* The method is the first span of a request (llhttp skips empty lines before it):
 * head bytes are counted from its first byte. */
static int on_method(llhttp_t *p, const char *at, size_t len)
{
    weft__http_rp *rp = rp_of(p);
    if (rp->hmark == NULL) {
        rp->hmark = at;
        rp->head_fed = 0;
    }
    return check_head(rp, at, len);
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    weft__http_rp *rp = rp_of(p);
    rp->target_len += len;
    if (rp->target_len > rp->lim.max_target_bytes)
        return fail(rp, 414, "request target too long");
    int rc = check_head(rp, at, len);
    return rc ? rc : append(rp, at, len);
}

/* In a target's path part [t, t+len): 0 unless it is in absolute form, "scheme://
 * authority[/path]"; then the offset of the path (len when there is none). */
static size_t absolute_path_start(const char *t, size_t len)
{
    size_t i = 0;
    while (i < len && (isalnum((unsigned char)t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.'))
        i++;
    if (i == 0 || !isalpha((unsigned char)t[0]) || len - i < 3 || memcmp(t + i, "://", 3) != 0)
        return 0;
    const char *slash = memchr(t + i + 3, '/', len - i - 3);
    return slash ? (size_t)(slash - t) : len;
}

static int on_url_complete(llhttp_t *p)
{
    weft__http_rp *rp = rp_of(p);
    /* target "…", then a copy of its path part; the query points into the target. */
    int rc = append_nul(rp);
    if (rc)
        return rc;
    const char *t = rp->arena.p + rp->target_off;
    const char *q = memchr(t, '?', rp->target_len);
    size_t plen = q ? (size_t)(q - t) : rp->target_len;
    /* Absolute form ("http://host:port/path?q", RFC 9112 3.2.2, which a server must
     * accept): the path starts at the first '/' after the authority, "/" when none. */
    size_t pstart = absolute_path_start(t, plen);
    bool root = pstart == plen && plen > 0 && t[0] != '/' && t[0] != '*';
    plen -= pstart;
    rp->path_off = (uint32_t)rp->arena.len;
    /* Reserve first: the copy's source is the arena itself, which may move. */
    if (weft__buf_reserve(&rp->arena, plen + 2) < 0)
        return fail(rp, 500, "out of memory");
    if (root)
        rp->arena.p[rp->arena.len++] = '/';
    memcpy(rp->arena.p + rp->arena.len, rp->arena.p + rp->target_off + pstart, plen);
    rp->arena.len += plen;
    rp->arena.p[rp->arena.len++] = '\0';
    rp->query_off = q ? rp->target_off + (uint32_t)(q - t) + 1 : UINT32_MAX;
    return 0;
}

/* Ends the value of the last header (also when llhttp reported none: an empty value).
 * llhttp skips the whitespace before a value but keeps the whitespace after it, which
 * RFC 9110 says is not part of the value: trim it here. */
static int close_value(weft__http_rp *rp)
{
    if (rp->hstate != 2)
        return 0;
    rp->hstate = 0;
    size_t start = rp->hoff[rp->nhdrs - 1].value;
    while (rp->arena.len > start &&
           (rp->arena.p[rp->arena.len - 1] == ' ' || rp->arena.p[rp->arena.len - 1] == '\t'))
        rp->arena.len--;
    return append_nul(rp);
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    weft__http_rp *rp = rp_of(p);
    int rc = check_head(rp, at, len);
    if (rc)
        return rc;
    if (rp->hstate != 1) {
        if ((rc = close_value(rp)))
            return rc;
        if (rp->nhdrs >= rp->lim.max_headers)
            return fail(rp, 431, "too many header fields");
        if (rp->nhdrs == rp->hcap) {
            unsigned cap = rp->hcap ? rp->hcap * 2 : 16;
            if (cap > rp->lim.max_headers)
                cap = rp->lim.max_headers;
            weft__http_hoff *ho = realloc(rp->hoff, cap * sizeof *ho);
            if (!ho)
                return fail(rp, 500, "out of memory");
            rp->hoff = ho;
            weft_http_header *h = realloc(rp->hdrs, cap * sizeof *h);
            if (!h)
                return fail(rp, 500, "out of memory");
            rp->hdrs = h;
            rp->hcap = cap;
        }
        rp->hoff[rp->nhdrs++].name = (uint32_t)rp->arena.len;
        rp->hstate = 1;
    }
    return append(rp, at, len);
}

static bool is_tchar(unsigned char c)
{
    return c > 32 && c < 127 && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static int on_header_field_complete(llhttp_t *p)
{
    weft__http_rp *rp = rp_of(p);
    /* llhttp (not in strict mode) lets an empty name through, reporting no span or,
     * when a recv boundary falls just before the colon, an empty one. */
    if (rp->hstate != 1 || rp->arena.len == rp->hoff[rp->nhdrs - 1].name)
        return fail(rp, 400, "empty header name");
    /* llhttp, built without strict mode, lets spaces and some separators into names;
     * RFC 9110 allows only token characters (a space before the colon is a known
     * request-smuggling vector). */
    const char *name = rp->arena.p + rp->hoff[rp->nhdrs - 1].name;
    const char *end = rp->arena.p + rp->arena.len;
    for (const char *c = name; c < end; c++)
        if (!is_tchar((unsigned char)*c))
            return fail(rp, 400, "invalid character in header name");
    int rc = append_nul(rp);
    if (rc)
        return rc;
    rp->hoff[rp->nhdrs - 1].value = (uint32_t)rp->arena.len;
    rp->hstate = 2;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    weft__http_rp *rp = rp_of(p);
    if (rp->hstate != 2)
        return fail(rp, 400, "header value without a name");
    int rc = check_head(rp, at, len);
    return rc ? rc : append(rp, at, len);
}

static int on_header_value_complete(llhttp_t *p)
{
    return close_value(rp_of(p));
}

static int on_headers_complete(llhttp_t *p)
{
    weft__http_rp *rp = rp_of(p);
    int rc = close_value(rp);
    if (rc)
        return rc;
    rp->head_done = true;
    rp->head_paused = true; /* push measures the head exactly where llhttp stops */
    if (p->http_major != 1)
        return fail(rp, 505, "HTTP version not supported");
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > rp->lim.max_body_bytes)
        return fail(rp, 413, "content too large");
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0 &&
        weft__buf_reserve(&rp->body, (size_t)p->content_length + 1) < 0)
        return fail(rp, 500, "out of memory");
    /* Expect: 100-continue (offsets: trailers may still move the arena); an HTTP/1.0
     * client gets no 1xx, so its 100-continue is ignored (RFC 9110 10.1.1). Host: an
     * HTTP/1.1 request has exactly one, any request at most one (RFC 9112 3.2). */
    unsigned hosts = 0;
    for (unsigned i = 0; i < rp->nhdrs; i++) {
        const char *name = rp->arena.p + rp->hoff[i].name;
        if ((name[0] == 'e' || name[0] == 'E') && strcasecmp(name, "expect") == 0) {
            if (strcasecmp(rp->arena.p + rp->hoff[i].value, "100-continue") != 0)
                return fail(rp, 417, "unsupported expectation");
            rp->expect_continue = p->http_minor >= 1;
        } else if ((name[0] == 'h' || name[0] == 'H') && strcasecmp(name, "host") == 0) {
            hosts++;
        }
    }
    if (hosts > 1)
        return fail(rp, 400, "more than one Host header");
    if (hosts == 0 && p->http_minor >= 1)
        return fail(rp, 400, "missing Host header");
    return HPE_PAUSED;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    weft__http_rp *rp = rp_of(p);
    if (len > rp->lim.max_body_bytes - rp->body.len)
        return fail(rp, 413, "content too large");
    /* +1: the body is handed out NUL-terminated. */
    if (weft__buf_reserve(&rp->body, len + 1) < 0)
        return fail(rp, 500, "out of memory");
    memcpy(rp->body.p + rp->body.len, at, len);
    rp->body.len += len;
    return 0;
}

/* A chunk's size is known before its data: refuse at once when it would take the
 * body past the limit, rather than after receiving that much. */
static int on_chunk_header(llhttp_t *p)
{
    weft__http_rp *rp = rp_of(p);
    if (p->content_length > rp->lim.max_body_bytes - rp->body.len)
        return fail(rp, 413, "content too large");
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    weft__http_rp *rp = rp_of(p);
    rp->complete = true;
    return HPE_PAUSED; /* one request at a time: llhttp_execute returns here */
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_method = on_method,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_message_complete = on_message_complete,
};

/* Buffers that grew past this for one big request are released after it. */
#define KEEP_BYTES (64u * 1024u)

static void clear_request(weft__http_rp *rp)
{
    weft__buf_trim(&rp->arena, KEEP_BYTES);
    weft__buf_trim(&rp->body, KEEP_BYTES);
    rp->nhdrs = 0;
    rp->target_off = 0;
    rp->path_off = 0;
    rp->query_off = UINT32_MAX;
    rp->target_len = 0;
    rp->head_fed = 0;
    rp->trailer_bytes = 0;
    rp->hmark = NULL;
    rp->hstate = 0;
    rp->started = false;
    rp->head_done = false;
    rp->head_paused = false;
    rp->complete = false;
    rp->expect_continue = false;
}

void weft__http_rp_init(weft__http_rp *rp, const weft__http_limits *lim)
{
    memset(rp, 0, sizeof *rp);
    rp->lim = *lim;
    if (rp->lim.max_headers == 0)
        rp->lim.max_headers = 1;
    llhttp_init(&rp->parser, HTTP_REQUEST, &settings);
    rp->parser.data = rp;
    clear_request(rp);
}

void weft__http_rp_fini(weft__http_rp *rp)
{
    weft__buf_free(&rp->arena);
    weft__buf_free(&rp->body);
    free(rp->hoff);
    free(rp->hdrs);
    rp->hoff = NULL;
    rp->hdrs = NULL;
    rp->hcap = rp->nhdrs = 0;
}

int weft__http_rp_push(weft__http_rp *rp, const char *data, size_t len, size_t *used)
{
    *used = 0;
    if (rp->err_status)
        return -rp->err_status;
    const char *p = data, *end = data + len;
    /* Counting continues at the start of this data when the head began earlier; else
     * on_method sets the mark. */
    if (rp->hmark)
        rp->hmark = data;
    for (;;) {
        llhttp_errno_t e = llhttp_execute(&rp->parser, p, (size_t)(end - p));
        if (e == HPE_OK) {
            *used = len;
            if (rp->hmark && !rp->head_done) {
                /* All of it is head: the head goes on in the next data. */
                rp->head_fed = head_len_at(rp, end);
                rp->hmark = data; /* any non-NULL: "the head began" */
                if (rp->head_fed > rp->lim.max_header_bytes) {
                    fail(rp, 431, "request header fields too large");
                    return -431;
                }
            }
            return WEFT__RP_MORE;
        }
        const char *at = llhttp_get_error_pos(&rp->parser);
        if (e == HPE_PAUSED && rp->complete) {
            *used = (size_t)(at - data);
            return WEFT__RP_REQUEST;
        }
        if (e == HPE_PAUSED && rp->head_paused) {
            /* End of the head: its exact size is known here. */
            rp->head_paused = false;
            if (head_len_at(rp, at) > rp->lim.max_header_bytes) {
                fail(rp, 431, "request header fields too large");
                return -431;
            }
            llhttp_resume(&rp->parser);
            p = at;
            continue;
        }
        break;
    }
    if (!rp->err_status) {
        /* llhttp's own verdict; its reason names the offending part. */
        llhttp_errno_t e = llhttp_get_errno(&rp->parser);
        rp->err_status = e == HPE_PAUSED_UPGRADE ? 501 : 400;
        rp->err_reason = e == HPE_PAUSED_UPGRADE ? "protocol upgrade not supported"
                                                 : llhttp_get_error_reason(&rp->parser);
    }
    return -rp->err_status;
}

void weft__http_rp_request(weft__http_rp *rp, weft_http_req *req)
{
    llhttp_t *p = &rp->parser;
    req->method = llhttp_method_name((llhttp_method_t)p->method);
    /* A request without a target cannot complete in llhttp; "" keeps the view total. */
    req->target = rp->arena.len ? rp->arena.p + rp->target_off : "";
    req->path = rp->arena.len ? rp->arena.p + rp->path_off : "";
    req->query = rp->query_off != UINT32_MAX ? rp->arena.p + rp->query_off : "";
    req->version_minor = p->http_minor;
    /* Pointers only now: trailer fields may have moved the arena after the head. */
    for (unsigned i = 0; i < rp->nhdrs; i++) {
        rp->hdrs[i].name = rp->arena.p + rp->hoff[i].name;
        rp->hdrs[i].value = rp->arena.p + rp->hoff[i].value;
    }
    static const weft_http_header none[1] = {{"", ""}};
    req->headers = rp->hdrs ? rp->hdrs : none; /* never NULL, even with no headers */
    req->nheaders = rp->nhdrs;
    if (rp->body.len) {
        rp->body.p[rp->body.len] = '\0'; /* on_body reserved the byte */
        req->body = rp->body.p;
    } else {
        req->body = "";
    }
    req->body_len = rp->body.len;
    /* A protocol upgrade (or CONNECT) leaves the stream to another protocol, which the
     * server does not speak: answer, then close. */
    req->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
    /* Transfer-Encoding in an HTTP/1.0 request: its framing cannot be trusted, close
     * after the response (RFC 9112 6.1). */
    if (p->http_minor == 0 && (p->flags & F_TRANSFER_ENCODING))
        req->keep_alive = false;
    req->fd = -1;
}

void weft__http_rp_next(weft__http_rp *rp)
{
    clear_request(rp);
    llhttp_resume(&rp->parser);
}

const char *weft_http_req_header(const weft_http_req *req, const char *name)
{
    if (!req || !name)
        return NULL;
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}
