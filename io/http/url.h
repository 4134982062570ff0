/* weft HTTP client — URL parsing (internal). */
#ifndef WEFT_IO_HTTP_URL_H
#define WEFT_IO_HTTP_URL_H

#include <stddef.h>
#include <stdint.h>

/* Longest host name (RFC 1035) plus room for an IPv6 literal's zone id. */
#define WEFT__HTTP_HOST_MAX 255

/* An http:// URL split into what a request needs. Pointers other than host point into
 * the URL string, which must outlive the struct. */
typedef struct weft__http_url {
    char host[WEFT__HTTP_HOST_MAX + 1]; /* for connecting: no brackets around IPv6 */
    size_t host_len;
    uint16_t port;         /* 80 when absent */
    const char *authority; /* "host[:port]" as written: the Host header */
    size_t authority_len;
    const char *target; /* "/path?query" (no fragment); see target_slash */
    size_t target_len;  /* 0 when the URL has no path and no query */
    int target_slash;   /* 1: a "/" must be sent before target (URL like http://h?q) */
} weft__http_url;

/* Parses url. 0, or -EINVAL for anything but a well-formed http:// URL (https, user
 * info, empty host, bad port, spaces or control bytes). */
int weft__http_url_parse(const char *url, weft__http_url *out);

#endif
