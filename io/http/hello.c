/* weft — the bundled hello-world handler (see hello.h). */
#include "io/http/hello.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int text(weft_http_res *res, int status, const char *body)
{
    weft_http_res_status(res, status);
    int rc = weft_http_res_header(res, "Content-Type", "text/plain");
    return rc < 0 ? rc : weft_http_res_body(res, body, strlen(body));
}

static int bytes(weft_http_res *res, const char *n_str)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(n_str, &end, 10);
    /* Digits only: strtoull would also take a sign and leading spaces. */
    if (*n_str < '0' || *n_str > '9' || errno || *end || n > WEFT__HTTP_HELLO_MAX_BYTES)
        return text(res, 400, "bad byte count\n");
    weft_http_res_status(res, 200);
    int rc = weft_http_res_header(res, "Content-Type", "application/octet-stream");
    /* A fixed pattern, appended a block at a time (the response copies it). */
    static const char block[4096] = {[0 ... 4095] = 'x'};
    for (unsigned long long put = 0; rc >= 0 && put < n;) {
        size_t k = n - put < sizeof block ? (size_t)(n - put) : sizeof block;
        rc = weft_http_res_body(res, block, k);
        put += k;
    }
    return rc < 0 ? rc : 0;
}

int weft__http_hello_handler(const weft_http_req *req, weft_http_res *res, void *ctx)
{
    (void)ctx;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return text(res, 405, "method not allowed\n");
    if (strcmp(req->path, "/") == 0)
        return text(res, 200, "Hello, World!");
    if (strncmp(req->path, "/bytes/", 7) == 0)
        return bytes(res, req->path + 7);
    return text(res, 404, "not found\n");
}
