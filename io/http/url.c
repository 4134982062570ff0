/* weft HTTP client — URL parsing: http://host[:port][/path][?query][#fragment].
 *
 * Only what a client needs to connect and to write a request line: the scheme must be
 * http (there is no TLS), the host is a name, an IPv4 address or a bracketed IPv6
 * literal, and the target goes on the wire as written, so bytes that would break the
 * request line (spaces, controls) are refused rather than escaped. */
#include "io/http/url.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool host_char(unsigned char ch)
{
    /* RFC 3986 reg-name: unreserved / pct-encoded / sub-delims. */
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("-._~%!$&'()*+,;=", ch) != NULL;
}

static bool v6_char(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') ||
           ch == ':' || ch == '.' || ch == '%';
}

int weft__http_url_parse(const char *url, weft__http_url *out)
{
    if (!url || !out)
        return -EINVAL;
    if (strncasecmp(url, "http://", 7) != 0)
        return -EINVAL;
    const char *p = url + 7;
    const char *auth = p;
    const char *host, *host_end;
    if (*p == '[') {
        host = ++p;
        while (*p && *p != ']') {
            if (!v6_char((unsigned char)*p))
                return -EINVAL;
            p++;
        }
        if (*p != ']')
            return -EINVAL;
        host_end = p++;
    } else {
        host = p;
        while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#') {
            if (!host_char((unsigned char)*p))
                return -EINVAL; /* '@' (user info) lands here too */
            p++;
        }
        host_end = p;
    }
    size_t hl = (size_t)(host_end - host);
    if (hl == 0 || hl > WEFT__HTTP_HOST_MAX)
        return -EINVAL;
    unsigned port = 80;
    if (*p == ':') {
        p++;
        if (*p >= '0' && *p <= '9') {
            port = 0;
            while (*p >= '0' && *p <= '9') {
                port = port * 10 + (unsigned)(*p - '0');
                if (port > 65535)
                    return -EINVAL;
                p++;
            }
            if (port == 0)
                return -EINVAL;
        } /* "host:" with an empty port means the default (RFC 3986 §3.2.3) */
    }
    if (*p && *p != '/' && *p != '?' && *p != '#')
        return -EINVAL;
    const char *auth_end = p;
    const char *target = p;
    while (*p && *p != '#') {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch == 0x7f)
            return -EINVAL;
        p++;
    }
    memcpy(out->host, host, hl);
    out->host[hl] = '\0';
    out->host_len = hl;
    out->port = (uint16_t)port;
    out->authority = auth;
    out->authority_len = (size_t)(auth_end - auth);
    /* "http://h:" as Host would be odd: drop a trailing empty port. */
    if (out->authority_len > 0 && auth[out->authority_len - 1] == ':')
        out->authority_len--;
    out->target = target;
    out->target_len = (size_t)(p - target);
    out->target_slash = out->target_len > 0 && *target == '?';
    return 0;
}
