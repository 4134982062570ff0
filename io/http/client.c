/* weft HTTP client — weft_http_do: a pooled connection (or a new one), the request in
 * one buffer and one send, the response read by client_read.c, and one retry when a
 * reused connection turns out to have been closed by the server while it sat idle. */
#include "io/http/client_read.h"
#include "io/http/url.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool token_char(unsigned char ch)
{
    /* RFC 9110 tchar. */
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool is_token(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!token_char((unsigned char)*s))
            return false;
    return true;
}

static bool field_value_ok(const char *s)
{
    if (!s)
        return false;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false; /* CR/LF would let a value inject headers */
    }
    return true;
}

/* Methods a client may repeat without changing the outcome (RFC 9110 §9.2.2). */
static bool idempotent(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
           !strcmp(m, "OPTIONS") || !strcmp(m, "TRACE");
}

typedef struct req_flags {
    bool host, ua;
} req_flags;

/* Checks the caller's request once, before anything is sent. */
static int check_request(const weft_http_request *req, req_flags *f)
{
    f->host = f->ua = false;
    if (!is_token(req->method) || (req->nheaders && !req->headers) || (req->body_len && !req->body))
        return -EINVAL;
    for (size_t i = 0; i < req->nheaders; i++) {
        const weft_http_header *h = &req->headers[i];
        if (!is_token(h->name) || !field_value_ok(h->value))
            return -EINVAL;
        /* The client frames the body itself; a second framing header would desync. */
        if (!strcasecmp(h->name, "Content-Length") || !strcasecmp(h->name, "Transfer-Encoding"))
            return -EINVAL;
        if (!strcasecmp(h->name, "Host"))
            f->host = true;
        else if (!strcasecmp(h->name, "User-Agent"))
            f->ua = true;
    }
    return 0;
}

#define PUT_LIT(b, s) weft__http_buf_put((b), (s), sizeof(s) - 1)
#define PUT_STR(b, s) weft__http_buf_put((b), (s), strlen(s))

static int serialise(weft__http_buf *b, const weft_http_request *req, const weft__http_url *u,
                     const req_flags *f)
{
    b->len = 0;
    int rc = 0;
    rc |= PUT_STR(b, req->method);
    rc |= PUT_LIT(b, " ");
    if (u->target_len == 0 || u->target_slash)
        rc |= PUT_LIT(b, "/");
    rc |= weft__http_buf_put(b, u->target, u->target_len);
    rc |= PUT_LIT(b, " HTTP/1.1\r\n");
    if (!f->host) {
        rc |= PUT_LIT(b, "Host: ");
        rc |= weft__http_buf_put(b, u->authority, u->authority_len);
        rc |= PUT_LIT(b, "\r\n");
    }
    if (!f->ua)
        rc |= PUT_LIT(b, "User-Agent: weft\r\n");
    bool body_method = !strcmp(req->method, "POST") || !strcmp(req->method, "PUT") ||
                       !strcmp(req->method, "PATCH");
    if (req->body_len || body_method) {
        char cl[48];
        int n = snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", req->body_len);
        rc |= weft__http_buf_put(b, cl, (size_t)n);
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        rc |= PUT_STR(b, req->headers[i].name);
        rc |= PUT_LIT(b, ": ");
        rc |= PUT_STR(b, req->headers[i].value);
        rc |= PUT_LIT(b, "\r\n");
    }
    rc |= PUT_LIT(b, "\r\n");
    if (req->body_len)
        rc |= weft__http_buf_put(b, req->body, req->body_len);
    return rc ? -ENOMEM : 0;
}

static int connect_new(weft_http_client *c, const weft__http_url *u, weft__http_conn *conn)
{
    weft_timeout scope;
    weft_timeout_enter(&scope, c->cfg.connect_timeout_ns);
    int fd = weft_tcp_connect(u->host, u->port, WEFT_NET_NODELAY);
    (void)weft_timeout_exit(&scope);
    if (fd < 0)
        return fd;
    conn->fd = fd;
    return 0;
}

/* One request/response on conn. *got tells whether any response byte arrived. */
static int exchange(weft_http_client *c, weft__http_conn *conn, const weft_http_request *req,
                    const weft__http_url *u, const req_flags *f, bool head, size_t *got, bool *keep)
{
    *got = 0;
    *keep = false;
    int rc = serialise(&conn->wbuf, req, u, f);
    if (rc < 0)
        return rc;
    ssize_t n = weft_send_all(conn->fd, conn->wbuf.p, conn->wbuf.len, 0);
    /* A request body made the buffer big: do not keep that much per idle connection. */
    if (conn->wbuf.cap > 64 * 1024)
        weft__http_buf_free(&conn->wbuf);
    if (n < 0)
        return (int)n;
    conn->max_header = c->cfg.max_header_bytes;
    conn->max_body = c->cfg.max_body_bytes;
    return weft__http_read_response(conn, head, got, keep);
}

/* Failures that mean "the server closed this connection while it was idle". */
static bool stale_error(int rc)
{
    return rc == -ECONNRESET || rc == -EPIPE || rc == -ENOTCONN || rc == -ECONNABORTED;
}

int weft_http_do(weft_http_client *c, const weft_http_request *req, weft_http_response *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!c || !req || !out)
        return -EINVAL;
    weft__http_url u;
    req_flags f;
    int rc = weft__http_url_parse(req->url, &u);
    if (rc == 0)
        rc = check_request(req, &f);
    if (rc < 0)
        return rc;
    if (!weft__io_in_task())
        return -EPERM;
    bool head = !strcmp(req->method, "HEAD");

    weft_timeout scope;
    weft_timeout_enter(&scope, c->cfg.request_timeout_ns);
    weft__http_host *h;
    weft__http_conn *conn = weft__http_pool_get(c, u.host, u.host_len, u.port, &h);
    if (!h) {
        rc = -ENOMEM;
        goto out;
    }
    bool reused = conn != NULL;
    if (!conn) {
        conn = weft__http_conn_new(c);
        if (!conn) {
            rc = -ENOMEM;
            goto out;
        }
        rc = connect_new(c, &u, conn);
        if (rc < 0)
            goto put;
    }
    size_t got;
    bool keep;
    rc = exchange(c, conn, req, &u, &f, head, &got, &keep);
    if (rc < 0 && reused && got == 0 && stale_error(rc) && idempotent(req->method)) {
        /* The idle connection was dead: nothing of this request was processed. Once,
         * on a new connection (other idle ones may be just as stale). */
        weft__http_pool_put(c, h, conn, false);
        conn = weft__http_conn_new(c);
        if (!conn) {
            rc = -ENOMEM;
            goto out;
        }
        rc = connect_new(c, &u, conn);
        if (rc == 0)
            rc = exchange(c, conn, req, &u, &f, head, &got, &keep);
    }
    if (rc == 0) {
        rc = weft__http_response_build(conn, out);
        conn->requests++;
    }
put:
    weft__http_pool_put(c, h, conn, rc == 0 && keep);
out:
    if (weft_timeout_exit(&scope) && rc < 0 && rc != -ECANCELED)
        rc = -ETIMEDOUT;
    return rc;
}

int weft_http_get(weft_http_client *c, const char *url, weft_http_response *out)
{
    weft_http_request req = {.method = "GET", .url = url};
    return weft_http_do(c, &req, out);
}

int weft_http_post(weft_http_client *c, const char *url, const char *content_type, const void *body,
                   size_t len, weft_http_response *out)
{
    weft_http_header ct = {"Content-Type", content_type};
    weft_http_request req = {.method = "POST",
                             .url = url,
                             .headers = content_type ? &ct : NULL,
                             .nheaders = content_type ? 1 : 0,
                             .body = body,
                             .body_len = len};
    return weft_http_do(c, &req, out);
}
