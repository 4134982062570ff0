/* weft HTTP client — response reading (internal). */
#ifndef WEFT_IO_HTTP_CLIENT_READ_H
#define WEFT_IO_HTTP_CLIENT_READ_H

#include "io/http/client_conn.h"

/* Reads one response from conn->fd into the connection's buffers. head: the request
 * was HEAD. *got: bytes received (0 means the server sent nothing: a retry on a fresh
 * connection is safe). *keep: the connection may carry another request. 0, or
 * -EPROTO / -EMSGSIZE / -ECONNRESET (closed early) / the socket's error. */
int weft__http_read_response(weft__http_conn *conn, bool head, size_t *got, bool *keep);
/* Copies the parsed response into one allocation described by *out. 0 or -ENOMEM. */
int weft__http_response_build(weft__http_conn *conn, weft_http_response *out);

#endif
