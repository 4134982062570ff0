/* weft HTTP — responses: the weft_http_res_* API, serialising a response into the
 * connection's output buffer, chunked streaming, and the server's own error pages.
 *
 * A buffered response is appended whole (status line, headers, body) to the output
 * buffer the connection shares between the pipelined requests of one batch; the server
 * sends the buffer once per batch. Bodies above TAIL_BYTES are not copied: they go out
 * right behind the buffer in the same sendmsg. */
#include "io/http/internal.h"

#include <strings.h>
#include <sys/socket.h>

/* Bodies up to this size are copied next to their headers (one contiguous send). */
#define TAIL_BYTES (16u * 1024u)

const char *weft__http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "";
    }
}

static bool status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
#define PUT_LIT(p, lit) put((p), (lit), sizeof(lit) - 1)

/* Decimal digits of v at p; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_status_line(char *p, int status)
{
    p = PUT_LIT(p, "HTTP/1.1 ");
    p = put_u64(p, (uint64_t)status);
    *p++ = ' ';
    const char *r = weft__http_reason(status);
    return put(put(p, r, strlen(r)), "\r\n", 2);
}

/* Status line (≤ 64) + Server + Date + Content-Length or Transfer-Encoding +
 * Connection + the blank line; the handler's headers come on top. */
#define HEAD_FIXED 256

/* Writes the head of res into out. body_len < 0: chunked (or close-delimited). */
static int put_head(weft_http_res *res, int64_t body_len)
{
    weft__buf *out = res->out;
    if (weft__buf_reserve(out, HEAD_FIXED + res->hdrs.len) < 0)
        return -ENOMEM;
    char *p = out->p + out->len;
    p = put_status_line(p, res->status);
    p = PUT_LIT(p, "Server: weft\r\nDate: ");
    weft__http_date(p);
    p = put(p + WEFT__HTTP_DATE_LEN, "\r\n", 2);
    if (body_len >= 0) {
        if (status_has_body(res->status)) {
            p = PUT_LIT(p, "Content-Length: ");
            p = put(put_u64(p, (uint64_t)body_len), "\r\n", 2);
        }
    } else if (!res->http10) {
        p = PUT_LIT(p, "Transfer-Encoding: chunked\r\n");
    }
    if (res->close)
        p = PUT_LIT(p, "Connection: close\r\n");
    else if (res->http10)
        p = PUT_LIT(p, "Connection: keep-alive\r\n");
    if (res->hdrs.len)
        p = put(p, res->hdrs.p, res->hdrs.len);
    p = put(p, "\r\n", 2);
    out->len = (size_t)(p - out->p);
    return 0;
}

void weft__http_res_reset(weft_http_res *res)
{
    res->status = 200;
    res->head_only = false;
    res->streaming = false;
    res->close = false;
    res->http10 = 0;
    res->send_err = 0;
    res->has_length = false;
    res->length = res->streamed = 0;
    weft__buf_trim(&res->hdrs, 4096);
    weft__buf_trim(&res->body, 64u * 1024u);
}

void weft_http_res_status(weft_http_res *res, int status)
{
    if (res && !res->streaming)
        res->status = status >= 100 && status <= 999 ? status : 500;
}

/* RFC 9110 token characters (header names). */
static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 32 || c >= 127 || strchr("\"(),/:;<=>?@[\\]{}", c))
            return false;
    }
    return true;
}

int weft_http_res_header(weft_http_res *res, const char *name, const char *value)
{
    if (!res || !name || !value || res->streaming || !is_token(name))
        return -EINVAL;
    for (const char *v = value; *v; v++)
        if (*v == '\r' || *v == '\n')
            return -EINVAL; /* header injection */
    if (strcasecmp(name, "content-length") == 0 || strcasecmp(name, "transfer-encoding") == 0)
        return -EINVAL; /* framing is the server's */
    if (strcasecmp(name, "connection") == 0) {
        /* The server writes Connection itself; a handler may only ask to close. */
        if (strcasecmp(value, "close") != 0)
            return -EINVAL;
        res->close = true;
        return 0;
    }
    size_t nl = strlen(name), vl = strlen(value);
    if (weft__buf_reserve(&res->hdrs, nl + vl + 4) < 0)
        return -ENOMEM;
    char *p = res->hdrs.p + res->hdrs.len;
    p = put(p, name, nl);
    p = put(p, ": ", 2);
    p = put(p, value, vl);
    p = put(p, "\r\n", 2);
    res->hdrs.len = (size_t)(p - res->hdrs.p);
    return 0;
}

int weft_http_res_body(weft_http_res *res, const void *data, size_t len)
{
    if (!res || (!data && len))
        return -EINVAL;
    if (res->streaming)
        return weft_http_res_write(res, data, len);
    return weft__buf_put(&res->body, data, len);
}

int weft_http_res_length(weft_http_res *res, uint64_t len)
{
    if (!res || res->streaming || !status_has_body(res->status))
        return -EINVAL;
    res->has_length = true;
    res->length = len;
    return 0;
}

/* Appends one chunk of streamed data to out (a chunk header and trailer around it;
 * close-delimited HTTP/1.0 streams and declared-length ones carry the bytes bare). */
static int put_chunk(weft_http_res *res, const void *data, size_t len)
{
    weft__buf *out = res->out;
    if (weft__buf_reserve(out, len + 24) < 0)
        return -ENOMEM;
    char *p = out->p + out->len;
    bool bare = res->http10 || res->has_length;
    res->streamed += len;
    if (!bare) {
        static const char hex[] = "0123456789abcdef";
        char tmp[16];
        int n = 0;
        size_t v = len;
        do {
            tmp[n++] = hex[v & 15];
            v >>= 4;
        } while (v);
        while (n)
            *p++ = tmp[--n];
        p = put(p, "\r\n", 2);
    }
    p = put(p, data, len);
    if (!bare)
        p = put(p, "\r\n", 2);
    out->len = (size_t)(p - out->p);
    return 0;
}

int weft_http_res_write(weft_http_res *res, const void *data, size_t len)
{
    if (!res || (!data && len))
        return -EINVAL;
    if (res->send_err)
        return res->send_err;
    int rc = 0;
    /* body.len: what was buffered before streaming began (0 once it has) */
    if (res->has_length && !res->head_only &&
        (len > res->length || res->streamed + res->body.len > res->length - len))
        return -EINVAL; /* past the declared length */
    if (!res->streaming) {
        if (!status_has_body(res->status))
            return -EINVAL; /* 1xx/204/304 carry no body */
        /* HTTP/1.0 has no chunked encoding: without a declared length the body ends
         * when the connection does. */
        if (res->http10 && !res->has_length)
            res->close = true;
        if ((rc = put_head(res, res->has_length ? (int64_t)res->length : -1)) < 0)
            return rc;
        res->streaming = true;
        if (res->body.len && !res->head_only && (rc = put_chunk(res, res->body.p, res->body.len)))
            return rc;
        res->body.len = 0;
    }
    /* A zero-length chunk would end the stream: len 0 only flushes the head. */
    if (len && !res->head_only && (rc = put_chunk(res, data, len)) < 0)
        return rc;
    rc = weft__http_send(res->fd, res->out, NULL, 0, res->send_timeout_ns);
    if (rc < 0) {
        res->send_err = rc;
        res->close = true;
        return rc;
    }
    return 0;
}

int weft__http_res_finish(weft_http_res *res, const void **tail, size_t *tail_len)
{
    *tail = NULL;
    *tail_len = 0;
    if (res->streaming) {
        if (res->has_length) {
            /* Short of the declared length: the client cannot tell where this
             * response ends, so the connection must. */
            if (!res->head_only && res->streamed != res->length)
                res->close = true;
            return 0;
        }
        /* The last chunk; a close-delimited (HTTP/1.0) or HEAD stream has none. */
        if (res->http10 || res->head_only)
            return 0;
        return weft__buf_put(res->out, "0\r\n\r\n", 5);
    }
    if (res->has_length && !res->head_only && res->body.len != res->length)
        return -EPROTO;
    int rc = put_head(res, res->has_length ? (int64_t)res->length : (int64_t)res->body.len);
    if (rc < 0 || res->head_only || !status_has_body(res->status) || !res->body.len)
        return rc;
    if (res->body.len > TAIL_BYTES) {
        *tail = res->body.p;
        *tail_len = res->body.len;
        return 0;
    }
    return weft__buf_put(res->out, res->body.p, res->body.len);
}

int weft__http_res_simple(weft__buf *out, int status, const char *text, bool close)
{
    char body[160];
    int n = snprintf(body, sizeof body, "%d %s: %s\n", status, weft__http_reason(status),
                     text ? text : "");
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= sizeof body)
        n = sizeof body - 1;
    weft_http_res res = {.status = status, .close = close, .out = out};
    int rc = weft__buf_put(&res.hdrs, "Content-Type: text/plain\r\n", 26);
    if (rc == 0)
        rc = put_head(&res, n);
    if (rc == 0)
        rc = weft__buf_put(out, body, (size_t)n);
    weft__buf_free(&res.hdrs);
    return rc;
}

static int send_all(int fd, weft__buf *out, const void *tail, size_t tail_len)
{
    size_t off = 0, total = out->len + tail_len;
    /* First a non-blocking send straight from the task: a response batch nearly always
     * fits the socket buffer, and then the task need not suspend on a ring operation
     * and be woken again (one syscall, as an epoll server pays). What did not fit goes
     * through the ring, which waits for room. */
    if (!tail_len && out->len) {
        ssize_t n = send(fd, out->p, out->len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            off = (size_t)n;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -errno;
    }
    while (off < total) {
        ssize_t n;
        if (off < out->len && tail_len) {
            struct iovec iov[2] = {{out->p + off, out->len - off}, {(void *)tail, tail_len}};
            struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
            n = weft_sendmsg(fd, &msg, 0);
        } else if (off < out->len) {
            n = weft_send(fd, out->p + off, out->len - off, 0);
        } else {
            size_t t = off - out->len;
            n = weft_send(fd, (const char *)tail + t, tail_len - t, 0);
        }
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -EPIPE;
        off += (size_t)n;
    }
    return 0;
}

int weft__http_send(int fd, weft__buf *out, const void *tail, size_t tail_len, uint64_t timeout_ns)
{
    int rc;
    if (timeout_ns) {
        weft_timeout scope;
        weft_timeout_enter(&scope, timeout_ns);
        rc = send_all(fd, out, tail, tail_len);
        weft_timeout_exit(&scope);
    } else {
        rc = send_all(fd, out, tail, tail_len);
    }
    out->len = 0;
    if (out->cap > 256u * 1024u) /* a big batch or stream must not pin its buffer */
        weft__buf_free(out);
    return rc;
}
