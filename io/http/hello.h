/* weft — the bundled server's handler, shared by weft-httpd and weft-fetch's embedded
 * server (internal; both link the static library). */
#ifndef WEFT_IO_HTTP_HELLO_H
#define WEFT_IO_HTTP_HELLO_H

#include <weft/http.h>

/* Largest body /bytes/N serves. */
#define WEFT__HTTP_HELLO_MAX_BYTES (64u * 1024u * 1024u)

/* GET or HEAD /          -> 200 "Hello, World!" (text/plain)
 * GET or HEAD /bytes/N   -> 200 with N bytes (0 <= N <= 64 MiB), else 400
 * other paths            -> 404; other methods -> 405. ctx is unused. */
WEFT_API int weft__http_hello_handler(const weft_http_req *req, weft_http_res *res, void *ctx);

#endif
