/* weft HTTP client — reading a response with llhttp (HTTP_RESPONSE mode) and handing
 * it to the caller.
 *
 * The callbacks copy header names and values into the connection's scratch buffer as
 * "name\0value\0" pairs and the body into its body buffer; both keep their capacity
 * from response to response. When the final response is complete, one allocation holds
 * what the caller gets (header array, strings and, for ordinary sizes, the body). */
#include "io/http/client_read.h"

#include <string.h>

/* A body at least this big is handed over as it is instead of copied. */
#define BODY_HANDOVER (256u * 1024u)

static inline weft__http_conn *conn_of(llhttp_t *p)
{
    return p->data;
}

static int fail(weft__http_conn *conn, int err)
{
    conn->err = err;
    return -1; /* llhttp stops with HPE_USER/HPE_CB_* */
}

static int hdr_bytes(weft__http_conn *conn, const char *at, size_t len)
{
    if (conn->hbuf.len + len > conn->max_header)
        return fail(conn, -EMSGSIZE);
    if (weft__http_buf_put(&conn->hbuf, at, len) < 0)
        return fail(conn, -ENOMEM);
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    /* Also after a 1xx interim response: its headers are dropped. */
    weft__http_conn *conn = conn_of(p);
    conn->hbuf.len = 0;
    conn->body.len = 0;
    conn->nh = 0;
    conn->in_value = false;
    return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t len)
{
    /* The status line counts against the header limit but is not kept. */
    weft__http_conn *conn = conn_of(p);
    (void)at;
    if (len > conn->max_header)
        return fail(conn, -EMSGSIZE);
    return 0;
}

/* hoff[2i] is where header i's name ends (its NUL), hoff[2i+1] where its value ends. A
 * name's value may never be reported complete when it is empty, so a pending name is
 * closed with an empty value by whatever comes next. */
static int end_value(weft__http_conn *conn)
{
    if (hdr_bytes(conn, "", 1) < 0)
        return -1;
    conn->hoff[2 * conn->nh + 1] = (uint32_t)(conn->hbuf.len - 1);
    conn->nh++;
    conn->in_value = false;
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    weft__http_conn *conn = conn_of(p);
    if (conn->in_value && end_value(conn) < 0)
        return -1;
    return hdr_bytes(conn, at, len);
}

static int on_header_field_complete(llhttp_t *p)
{
    weft__http_conn *conn = conn_of(p);
    if (hdr_bytes(conn, "", 1) < 0)
        return -1;
    if (2 * conn->nh + 2 > conn->hoff_cap) {
        unsigned cap = conn->hoff_cap ? conn->hoff_cap * 2 : 64;
        uint32_t *h = weft__alloc(cap * sizeof *h);
        if (!h)
            return fail(conn, -ENOMEM);
        if (conn->hoff_cap)
            memcpy(h, conn->hoff, conn->hoff_cap * sizeof *h);
        weft__free(conn->hoff, conn->hoff_cap * sizeof *h);
        conn->hoff = h;
        conn->hoff_cap = cap;
    }
    conn->hoff[2 * conn->nh] = (uint32_t)(conn->hbuf.len - 1);
    conn->in_value = true;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    return hdr_bytes(conn_of(p), at, len);
}

static int on_header_value_complete(llhttp_t *p)
{
    weft__http_conn *conn = conn_of(p);
    return conn->in_value ? end_value(conn) : 0;
}

static int on_headers_complete(llhttp_t *p)
{
    weft__http_conn *conn = conn_of(p);
    if (conn->in_value && end_value(conn) < 0)
        return -1;
    if (p->status_code == 101)
        return fail(conn, -EPROTO); /* nobody asked to switch protocols */
    /* No body whatever the headers say (RFC 9110 §6.4.1): interim responses, 204, 304,
     * and any answer to HEAD. llhttp alone would read a 304's Content-Length bytes. */
    if (p->status_code < 200 || p->status_code == 204 || p->status_code == 304 || conn->head)
        return 1;
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > conn->max_body)
        return fail(conn, -EMSGSIZE); /* refuse before reading any of it */
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    weft__http_conn *conn = conn_of(p);
    if (conn->body.len + len > conn->max_body)
        return fail(conn, -EMSGSIZE);
    if (weft__http_buf_put(&conn->body, at, len) < 0)
        return fail(conn, -ENOMEM);
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    weft__http_conn *conn = conn_of(p);
    if (p->status_code < 200)
        return 0; /* 100 Continue and friends: the real response follows */
    conn->done = true;
    /* Stop right after this message: bytes behind it are not ours to parse. */
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_status = on_status,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static int parse_error(weft__http_conn *conn)
{
    return conn->err ? conn->err : -EPROTO;
}

int weft__http_read_response(weft__http_conn *conn, bool head, size_t *got, bool *keep)
{
    llhttp_init(&conn->parser, HTTP_RESPONSE, &settings);
    conn->parser.data = conn;
    conn->err = 0;
    conn->done = false;
    conn->head = head;
    conn->nh = 0;
    conn->in_value = false;
    conn->hbuf.len = 0;
    conn->body.len = 0;
    *got = 0;
    *keep = false;
    for (;;) {
        ssize_t n = *got == 0 ? weft__recv_reply(conn->fd, conn->rbuf, sizeof conn->rbuf)
                              : weft_recv(conn->fd, conn->rbuf, sizeof conn->rbuf, 0);
        if (n < 0)
            return (int)n;
        if (n == 0) {
            if (*got == 0)
                return -ECONNRESET; /* closed before answering */
            /* End of a read-until-close body, or a response cut short. */
            llhttp_errno_t e = llhttp_finish(&conn->parser);
            if (conn->done)
                return 0; /* *keep stays false: the server closed */
            if (e != HPE_OK && e != HPE_PAUSED)
                return conn->err ? conn->err : -ECONNRESET;
            return -ECONNRESET;
        }
        *got += (size_t)n;
        llhttp_errno_t e = llhttp_execute(&conn->parser, conn->rbuf, (size_t)n);
        if (e == HPE_OK)
            continue;
        if (e == HPE_PAUSED && conn->done) {
            /* Reusable when the server allows it and sent nothing behind the response. */
            const char *end = llhttp_get_error_pos(&conn->parser);
            *keep = llhttp_should_keep_alive(&conn->parser) && end == conn->rbuf + n;
            return 0;
        }
        return parse_error(conn);
    }
}

/* What weft_http_response.priv_ points to: the single allocation. */
typedef struct resp_store {
    size_t size;
    char *body; /* handed-over body buffer, or NULL */
    size_t body_cap;
} resp_store;

int weft__http_response_build(weft__http_conn *conn, weft_http_response *out)
{
    size_t nh = conn->nh, hlen = conn->hbuf.len, blen = conn->body.len;
    bool handover = blen >= BODY_HANDOVER && conn->body.cap > blen;
    size_t size =
        sizeof(resp_store) + nh * sizeof(weft_http_header) + hlen + 1 + (handover ? 0 : blen + 1);
    resp_store *st = weft__alloc(size);
    if (!st)
        return -ENOMEM;
    st->size = size;
    st->body = NULL;
    st->body_cap = 0;
    weft_http_header *hs = (weft_http_header *)(st + 1);
    char *strs = (char *)(hs + nh);
    if (hlen)
        memcpy(strs, conn->hbuf.p, hlen);
    strs[hlen] = '\0';
    uint32_t start = 0;
    for (size_t i = 0; i < nh; i++) {
        hs[i].name = strs + start;
        hs[i].value = strs + conn->hoff[2 * i] + 1;
        start = conn->hoff[2 * i + 1] + 1;
    }
    char *body;
    if (handover) {
        body = conn->body.p;
        body[blen] = '\0'; /* cap > blen checked above */
        st->body = body;
        st->body_cap = conn->body.cap;
        conn->body.p = NULL;
        conn->body.len = conn->body.cap = 0;
    } else {
        body = strs + hlen + 1;
        if (blen)
            memcpy(body, conn->body.p, blen);
        body[blen] = '\0';
    }
    out->status = conn->parser.status_code;
    out->version_minor = conn->parser.http_minor;
    out->headers = hs;
    out->nheaders = nh;
    out->body = body;
    out->body_len = blen;
    out->priv_ = st;
    return 0;
}

void weft_http_response_free(weft_http_response *r)
{
    if (!r)
        return;
    resp_store *st = r->priv_;
    if (st) {
        if (st->body)
            weft__free(st->body, st->body_cap);
        weft__free(st, st->size);
    }
    memset(r, 0, sizeof *r);
}

const char *weft_http_response_header(const weft_http_response *r, const char *name)
{
    if (!r || !name)
        return NULL;
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}
