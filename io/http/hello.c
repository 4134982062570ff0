/* weft — the bundled hello-world handler (see hello.h). */
#include "io/http/hello.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int text(weft_http_res *res, int status, const char *body)
{
    weft_http_res_status(res, status);
    int rc = weft_http_res_header(res, "Content-Type", "text/plain");
    return rc < 0 ? rc : weft_http_res_body(res, body, strlen(body));
}

/* Bodies up to this size are built in memory and go out with the head in one send;
 * larger ones are declared and streamed a block at a time, so a connection holds one
 * block, not N bytes (and HEAD builds nothing). */
#define HELLO_INLINE_BYTES (64u * 1024u)

static int bytes(weft_http_res *res, const char *n_str, bool head)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(n_str, &end, 10);
    /* Digits only: strtoull would also take a sign and leading spaces. */
    if (*n_str < '0' || *n_str > '9' || errno || *end || n > WEFT__HTTP_HELLO_MAX_BYTES)
        return text(res, 400, "bad byte count\n");
    weft_http_res_status(res, 200);
    int rc = weft_http_res_header(res, "Content-Type", "application/octet-stream");
    /* A fixed pattern, a block at a time (the response copies or sends it). */
    static const char block[HELLO_INLINE_BYTES] = {[0 ... HELLO_INLINE_BYTES - 1] = 'x'};
    if (rc >= 0 && n <= HELLO_INLINE_BYTES)
        return head ? weft_http_res_length(res, n) : weft_http_res_body(res, block, (size_t)n);
    if (rc >= 0)
        rc = weft_http_res_length(res, n);
    for (unsigned long long put = 0; rc >= 0 && !head && put < n;) {
        size_t k = n - put < sizeof block ? (size_t)(n - put) : sizeof block;
        rc = weft_http_res_write(res, block, k);
        put += k;
    }
    return rc < 0 ? rc : 0;
}

int weft__http_hello_handler(const weft_http_req *req, weft_http_res *res, void *ctx)
{
    (void)ctx;
    bool head = strcmp(req->method, "HEAD") == 0;
    if (strcmp(req->method, "GET") != 0 && !head)
        return text(res, 405, "method not allowed\n");
    if (strcmp(req->path, "/") == 0)
        return text(res, 200, "Hello, World!");
    if (strncmp(req->path, "/bytes/", 7) == 0)
        return bytes(res, req->path + 7, head);
    return text(res, 404, "not found\n");
}
