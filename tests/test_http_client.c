/* test_http_client.c — the HTTP client (http.h) against scripted servers written here
 * as weft tasks on raw sockets: each connection reads one request head (and a
 * Content-Length body) and answers with canned bytes chosen by the test, so every
 * framing and failure case is exact: Content-Length, chunked (split across sends),
 * read-until-close, HEAD/204/304, 1xx, keep-alive reuse (accepted connections counted),
 * a pooled connection the server closed (retry), refused, reset, garbage, limits,
 * timeouts, bad URLs, and many tasks on 2 workers sharing one client. */
#include "fixture.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- a scripted server -------------------------------------------------------------- */

enum mode {
    M_HELLO,       /* 200, Content-Length, keep-alive */
    M_ECHO,        /* 200, body = the request as received */
    M_CHUNKED,     /* chunked body in three separate sends */
    M_UNTIL_CLOSE, /* no length: body ends when the server closes */
    M_CLOSE_AFTER, /* answers one request per connection, then closes it */
    M_RESET,       /* reads the request, then resets the connection */
    M_GARBAGE,     /* answers with bytes that are not HTTP */
    M_BIG_CL,      /* Content-Length beyond the client's limit */
    M_BIG_CHUNKED, /* chunked body beyond the client's limit */
    M_BIG_HEADERS, /* headers beyond the client's limit */
    M_SILENT,      /* never answers */
    M_NOBODY,      /* /204 -> 204, /304 -> 304, else 200 with Content-Length (for HEAD) */
    M_CONTINUE,    /* 100 Continue, then 200 */
    M_TRUNCATED,   /* Content-Length 100, 5 bytes, close */
};

typedef struct server {
    enum mode mode;
    int lfd, port;
    atomic_int conns, reqs;
    weft_task *acceptor;
} server;

typedef struct conn_arg {
    server *s;
    int fd;
} conn_arg;

/* Reads one request (head, plus a Content-Length body). Returns its length in buf, 0 at
 * end of stream, or a negative errno. Test-only framing: enough for our own client. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            size_t head = (size_t)(end + 4 - buf), body = 0;
            char *cl = strcasestr(buf, "\r\ncontent-length:");
            if (cl && cl < end)
                body = strtoul(cl + 17, NULL, 10);
            while (len < head + body && len < cap - 1) {
                ssize_t n = weft_recv(fd, buf + len, cap - 1 - len, 0);
                if (n <= 0)
                    return n < 0 ? n : -EPIPE;
                len += (size_t)n;
            }
            buf[len] = '\0';
            return (ssize_t)len;
        }
        if (len == cap - 1)
            return -EMSGSIZE;
        ssize_t n = weft_recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return n;
        len += (size_t)n;
    }
}

static int send_str(int fd, const char *s)
{
    ssize_t n = weft_send_all(fd, s, strlen(s), 0);
    return n < 0 ? (int)n : 0;
}

static const char hello[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";

static void *conn_task(void *p)
{
    conn_arg *a = p;
    server *s = a->s;
    int fd = a->fd;
    free(a);
    char *buf = malloc(1 << 20);
    for (;;) {
        ssize_t n = read_request(fd, buf, 1 << 20);
        if (n <= 0)
            break;
        atomic_fetch_add(&s->reqs, 1);
        int rc = 0;
        switch (s->mode) {
        case M_HELLO:
        case M_CLOSE_AFTER:
            rc = send_str(fd, hello);
            break;
        case M_ECHO: {
            char head[80];
            snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zd\r\n\r\n", n);
            rc = send_str(fd, head);
            if (rc == 0)
                rc = (int)weft_send_all(fd, buf, (size_t)n, 0);
            rc = rc < 0 ? rc : 0;
            break;
        }
        case M_CHUNKED:
            rc = send_str(
                fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5\r\nHel");
            weft_sleep(2 * WT_MS);
            if (rc == 0)
                rc = send_str(fd, "lo\r\n8\r\n, World!\r");
            weft_sleep(2 * WT_MS);
            if (rc == 0)
                rc = send_str(fd, "\n0\r\n\r\n");
            break;
        case M_UNTIL_CLOSE:
            send_str(fd, "HTTP/1.1 200 OK\r\nX-Mode: close\r\n\r\nuntil ");
            weft_sleep(2 * WT_MS);
            send_str(fd, "the end");
            rc = -1;
            break;
        case M_RESET: {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            rc = -1;
            break;
        }
        case M_GARBAGE:
            send_str(fd, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
            rc = -1;
            break;
        case M_BIG_CL:
            send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\nxxxx");
            rc = -1;
            break;
        case M_BIG_CHUNKED: {
            rc = send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            char chunk[1031]; /* "400\r\n" + 1024 bytes + "\r\n" */
            memcpy(chunk, "400\r\n", 5);
            memset(chunk + 5, 'y', 1024);
            memcpy(chunk + 1029, "\r\n", 2);
            for (int i = 0; i < 200 && rc == 0; i++)
                rc = weft_send_all(fd, chunk, sizeof chunk, 0) < 0 ? -1 : 0;
            rc = -1;
            break;
        }
        case M_BIG_HEADERS: {
            rc = send_str(fd, "HTTP/1.1 200 OK\r\n");
            char line[1100];
            memset(line, 'v', sizeof line);
            memcpy(line, "X-Big: ", 7);
            memcpy(line + 1024, "\r\n", 3);
            for (int i = 0; i < 100 && rc == 0; i++)
                rc = send_str(fd, line);
            rc = -1;
            break;
        }
        case M_SILENT:
            weft_sleep(30 * WT_SEC); /* until the test cancels it */
            rc = -1;
            break;
        case M_NOBODY:
            if (strncmp(buf, "GET /204 ", 9) == 0)
                rc = send_str(fd, "HTTP/1.1 204 No Content\r\nX-N: 1\r\n\r\n");
            else if (strncmp(buf, "GET /304 ", 9) == 0)
                rc = send_str(fd, "HTTP/1.1 304 Not Modified\r\nContent-Length: 13\r\n\r\n");
            else
                rc = send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nEmpty:\r\n\r\n");
            break;
        case M_CONTINUE:
            rc = send_str(fd, "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n");
            if (rc == 0)
                rc = send_str(fd, hello);
            break;
        case M_TRUNCATED:
            send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
            rc = -1;
            break;
        }
        if (rc < 0 || s->mode == M_CLOSE_AFTER)
            break;
    }
    free(buf);
    close(fd);
    return NULL;
}

static void *accept_task(void *p)
{
    server *s = p;
    weft_set *set = weft_set_new();
    for (;;) {
        int fd = weft_accept(s->lfd, NULL, NULL, 0);
        if (fd < 0)
            break; /* cancelled: the test is over */
        atomic_fetch_add(&s->conns, 1);
        conn_arg *a = malloc(sizeof *a);
        a->s = s;
        a->fd = fd;
        /* Finished connections stay in the set until the end: a test makes few. */
        WT_NONNULL(weft_set_spawn(set, conn_task, a));
    }
    weft_set_free(set);
    return NULL;
}

static void server_start(server *s, enum mode mode, const char *host)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->lfd = weft_tcp_listen(host, 0, 128, 0);
    WT_GE(s->lfd, 0);
    s->port = weft_local_port(s->lfd);
    WT_GT(s->port, 0);
    s->acceptor = wt_spawn(accept_task, s);
}

static void server_stop(server *s)
{
    weft_cancel(s->acceptor);
    weft_join(s->acceptor, NULL);
    close(s->lfd);
}

static void url_of(char *buf, size_t n, const server *s, const char *path)
{
    snprintf(buf, n, "http://127.0.0.1:%d%s", s->port, path);
}

/* ---- tests --------------------------------------------------------------------------- */

static void *get_keepalive_main(void *arg)
{
    (void)arg;
    server s;
    server_start(&s, M_HELLO, "127.0.0.1");
    weft_http_client *c = weft_http_client_new(NULL);
    WT_NONNULL(c);
    char url[128];
    url_of(url, sizeof url, &s, "/");
    for (int i = 0; i < 20; i++) {
        weft_http_response r;
        WT_OK(weft_http_get(c, url, &r));
        WT_EQ(r.status, 200);
        WT_EQ(r.version_minor, 1);
        WT_EQ(r.body_len, 13);
        WT_EQ(strcmp(r.body, "Hello, World!"), 0);
        WT_EQ(r.nheaders, 1);
        WT_EQ(strcmp(r.headers[0].name, "Content-Length"), 0);
        WT_EQ(strcmp(weft_http_response_header(&r, "content-length"), "13"), 0);
        WT_TRUE(weft_http_response_header(&r, "X-None") == NULL);
        weft_http_response_free(&r);
        WT_TRUE(r.priv_ == NULL);
    }
    /* One connection carried all 20 requests. */
    WT_EQ(atomic_load(&s.conns), 1);
    WT_EQ(atomic_load(&s.reqs), 20);
    weft_http_client_free(c);
    server_stop(&s);
    return NULL;
}
WT_TEST_1_2(get_keepalive)

static void *post_echo_main(void *arg)
{
    (void)arg;
    server s;
    server_start(&s, M_ECHO, "127.0.0.1");
    weft_http_client *c = weft_http_client_new(NULL);
    char url[128];
    url_of(url, sizeof url, &s, "/submit?x=1&y=2#frag");
    weft_http_response r;
    WT_OK(weft_http_post(c, url, "text/plain", "abc\0def", 7, &r));
    WT_EQ(r.status, 200);
    char want[128];
    snprintf(want, sizeof want, "POST /submit?x=1&y=2 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", s.port);
    WT_EQ(strncmp(r.body, want, strlen(want)), 0);
    WT_TRUE(strstr(r.body, "\r\nUser-Agent: weft\r\n") != NULL);
    WT_TRUE(strstr(r.body, "\r\nContent-Length: 7\r\n") != NULL);
    WT_TRUE(strstr(r.body, "\r\nContent-Type: text/plain\r\n") != NULL);
    WT_EQ(memcmp(r.body + r.body_len - 7, "abc\0def", 7), 0);
    weft_http_response_free(&r);

    /* weft_http_do with extra headers, a user Host, and a query without a path. */
    weft_http_header hs[2] = {{"Host", "example.test"}, {"X-Trace", "t1"}};
    url_of(url, sizeof url, &s, "?q=1");
    weft_http_request req = {.method = "DELETE", .url = url, .headers = hs, .nheaders = 2};
    WT_OK(weft_http_do(c, &req, &r));
    WT_EQ(strncmp(r.body, "DELETE /?q=1 HTTP/1.1\r\n", 23), 0);
    WT_TRUE(strstr(r.body, "\r\nHost: example.test\r\n") != NULL);
    WT_TRUE(strstr(r.body, "\r\nHost: 127") == NULL);
    WT_TRUE(strstr(r.body, "\r\nX-Trace: t1\r\n") != NULL);
    WT_TRUE(strstr(r.body, "Content-Length") == NULL);
    weft_http_response_free(&r);

    /* A request body bigger than any buffer default. */
    size_t big = 300 * 1024;
    char *body = malloc(big);
    for (size_t i = 0; i < big; i++)
        body[i] = (char)('a' + i % 26);
    url_of(url, sizeof url, &s, "/big");
    WT_OK(weft_http_post(c, url, NULL, body, big, &r));
    WT_GT(r.body_len, big);
    WT_EQ(memcmp(r.body + r.body_len - big, body, big), 0);
    WT_EQ(r.body[r.body_len], '\0');
    weft_http_response_free(&r);
    free(body);
    WT_EQ(atomic_load(&s.conns), 1);
    weft_http_client_free(c);
    server_stop(&s);
    return NULL;
}
WT_TEST_1_2(post_echo)

static void *framing_main(void *arg)
{
    (void)arg;
    weft_http_client *c = weft_http_client_new(NULL);
    char url[128];
    weft_http_response r;
    server s;

    server_start(&s, M_CHUNKED, "127.0.0.1");
    url_of(url, sizeof url, &s, "/");
    for (int i = 0; i < 3; i++) {
        WT_OK(weft_http_get(c, url, &r));
        WT_EQ(r.status, 200);
        WT_EQ(r.body_len, 13);
        WT_EQ(strcmp(r.body, "Hello, World!"), 0);
        WT_EQ(strcmp(weft_http_response_header(&r, "x-a"), "1"), 0);
        weft_http_response_free(&r);
    }
    WT_EQ(atomic_load(&s.conns), 1); /* chunked responses keep the connection */
    server_stop(&s);

    server_start(&s, M_UNTIL_CLOSE, "127.0.0.1");
    url_of(url, sizeof url, &s, "/");
    for (int i = 0; i < 2; i++) {
        WT_OK(weft_http_get(c, url, &r));
        WT_EQ(strcmp(r.body, "until the end"), 0);
        WT_EQ(strcmp(weft_http_response_header(&r, "X-Mode"), "close"), 0);
        weft_http_response_free(&r);
    }
    WT_EQ(atomic_load(&s.conns), 2); /* such a connection cannot be reused */
    server_stop(&s);

    server_start(&s, M_NOBODY, "127.0.0.1");
    url_of(url, sizeof url, &s, "/");
    weft_http_request head = {.method = "HEAD", .url = url};
    WT_OK(weft_http_do(c, &head, &r));
    WT_EQ(r.status, 200);
    WT_EQ(r.body_len, 0);
    WT_EQ(r.nheaders, 2);
    WT_EQ(strcmp(weft_http_response_header(&r, "Empty"), ""), 0);
    weft_http_response_free(&r);
    url_of(url, sizeof url, &s, "/204");
    WT_OK(weft_http_get(c, url, &r));
    WT_EQ(r.status, 204);
    WT_EQ(r.body_len, 0);
    weft_http_response_free(&r);
    url_of(url, sizeof url, &s, "/304");
    WT_OK(weft_http_get(c, url, &r));
    WT_EQ(r.status, 304);
    WT_EQ(r.body_len, 0);
    weft_http_response_free(&r);
    WT_EQ(atomic_load(&s.conns), 1); /* none of them left a body on the wire */
    server_stop(&s);

    server_start(&s, M_CONTINUE, "127.0.0.1");
    url_of(url, sizeof url, &s, "/");
    WT_OK(weft_http_get(c, url, &r));
    WT_EQ(r.status, 200);
    WT_EQ(strcmp(r.body, "Hello, World!"), 0);
    WT_TRUE(weft_http_response_header(&r, "X-Interim") == NULL);
    weft_http_response_free(&r);
    server_stop(&s);

    weft_http_client_free(c);
    return NULL;
}
WT_TEST_1_2(framing)

static void *retry_main(void *arg)
{
    (void)arg;
    server s;
    server_start(&s, M_CLOSE_AFTER, "127.0.0.1");
    weft_http_client *c = weft_http_client_new(NULL);
    char url[128];
    url_of(url, sizeof url, &s, "/");
    weft_http_response r;
    for (int i = 0; i < 5; i++) {
        /* The server closes each connection after one answer (without saying so); the
         * pooled connection is dead by the next request, which is retried. */
        WT_OK(weft_http_get(c, url, &r));
        WT_EQ(strcmp(r.body, "Hello, World!"), 0);
        weft_http_response_free(&r);
        weft_sleep(5 * WT_MS);
    }
    /* Each request after the first met a dead pooled connection and was answered on a
     * new one: 5 connections, 5 requests, no error. */
    WT_EQ(atomic_load(&s.conns), 5);
    WT_EQ(atomic_load(&s.reqs), 5);
    /* POST is not retried: the stale connection's failure is the answer. */
    WT_OK(weft_http_get(c, url, &r));
    weft_http_response_free(&r);
    weft_sleep(5 * WT_MS);
    int rc = weft_http_post(c, url, NULL, "x", 1, &r);
    WT_TRUE(rc == -ECONNRESET || rc == -EPIPE);
    WT_TRUE(r.priv_ == NULL && r.body == NULL);
    weft_http_client_free(c);
    server_stop(&s);
    return NULL;
}
WT_TEST_1_2(retry)

static void *errors_main(void *arg)
{
    (void)arg;
    weft_http_client_config cfg = {.max_body_bytes = 100 * 1024,
                                   .max_header_bytes = 16 * 1024,
                                   .request_timeout_ns = 200 * WT_MS};
    weft_http_client *c = weft_http_client_new(&cfg);
    char url[128];
    weft_http_response r;
    server s;
    struct {
        enum mode mode;
        int err;
    } cases[] = {
        {M_RESET, -ECONNRESET},     {M_GARBAGE, -EPROTO},       {M_BIG_CL, -EMSGSIZE},
        {M_BIG_CHUNKED, -EMSGSIZE}, {M_BIG_HEADERS, -EMSGSIZE}, {M_TRUNCATED, -ECONNRESET},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        server_start(&s, cases[i].mode, "127.0.0.1");
        url_of(url, sizeof url, &s, "/");
        int rc = weft_http_get(c, url, &r);
        if (rc != cases[i].err)
            fail_msg("mode %d: got %d (%s), want %d", cases[i].mode, rc, weft_strerror(rc),
                     cases[i].err);
        WT_TRUE(r.priv_ == NULL);
        weft_http_response_free(&r); /* safe on a failed call */
        server_stop(&s);
    }

    /* A server that never answers: -ETIMEDOUT after the request timeout, not before. */
    server_start(&s, M_SILENT, "127.0.0.1");
    url_of(url, sizeof url, &s, "/");
    uint64_t t0 = weft_now();
    WT_EQ(weft_http_get(c, url, &r), -ETIMEDOUT);
    uint64_t took = weft_now() - t0;
    WT_GE(took, 190 * WT_MS);
    WT_LT(took, 2 * WT_SEC);
    /* The caller's own scoped deadline applies too, when it is the earlier one. */
    {
        WEFT_WITH_TIMEOUT(50 * WT_MS);
        t0 = weft_now();
        WT_EQ(weft_http_get(c, url, &r), -ETIMEDOUT);
        WT_LT(weft_now() - t0, 180 * WT_MS);
    }
    server_stop(&s);

    /* Nobody listening: the port of a closed listener. */
    server_start(&s, M_HELLO, "127.0.0.1");
    url_of(url, sizeof url, &s, "/");
    server_stop(&s);
    WT_EQ(weft_http_get(c, url, &r), -ECONNREFUSED);

    /* Bad URLs and arguments. */
    const char *bad[] = {"ftp://127.0.0.1/",  "https://127.0.0.1/", "http://",
                         "http:///x",         "http://h:99999/",    "http://h:0/",
                         "http://u@h/",       "http://h/a b",       "http://[::1/",
                         "http://h:8x/",      "127.0.0.1:80/",      "http://h/\r\nX: y",
                         "http://[zz::1]:80/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (weft_http_get(c, bad[i], &r) != -EINVAL)
            fail_msg("URL '%s' was not refused", bad[i]);
    WT_EQ(weft_http_get(c, NULL, &r), -EINVAL);
    WT_EQ(weft_http_get(NULL, url, &r), -EINVAL);
    weft_http_request req = {.method = "G T", .url = "http://127.0.0.1:1/"};
    WT_EQ(weft_http_do(c, &req, &r), -EINVAL);
    weft_http_header inj = {"X-A", "1\r\nX-B: 2"};
    req = (weft_http_request){
        .method = "GET", .url = "http://127.0.0.1:1/", .headers = &inj, .nheaders = 1};
    WT_EQ(weft_http_do(c, &req, &r), -EINVAL);
    weft_http_header cl = {"content-length", "3"};
    req.headers = &cl;
    WT_EQ(weft_http_do(c, &req, &r), -EINVAL);
    weft_http_client_free(c);
    return NULL;
}
WT_TEST_1_2(errors)

static void *ipv6_main(void *arg)
{
    (void)arg;
    int probe = weft_tcp_listen("::1", 0, 1, 0);
    if (probe < 0) {
        printf("no IPv6 loopback here (%s): skipping the IPv6 case\n", weft_strerror(probe));
        return NULL;
    }
    close(probe);
    server s;
    server_start(&s, M_ECHO, "::1");
    weft_http_client *c = weft_http_client_new(NULL);
    char url[128];
    snprintf(url, sizeof url, "http://[::1]:%d/v6", s.port);
    weft_http_response r;
    WT_OK(weft_http_get(c, url, &r));
    char want[64];
    snprintf(want, sizeof want, "\r\nHost: [::1]:%d\r\n", s.port);
    WT_TRUE(strstr(r.body, want) != NULL);
    weft_http_response_free(&r);
    weft_http_client_free(c);
    server_stop(&s);
    return NULL;
}
WT_TEST_W(ipv6, 1)

/* ---- many tasks, one client, 2 workers -------------------------------------------- */

typedef struct shared {
    weft_http_client *c;
    char url[128];
    atomic_int ok;
} shared;

static void *fetcher(void *p)
{
    shared *sh = p;
    for (int i = 0; i < WT_SCALE(200, 50, 20); i++) {
        weft_http_response r;
        int rc = weft_http_get(sh->c, sh->url, &r);
        if (rc == 0 && r.status == 200 && r.body_len == 13)
            atomic_fetch_add(&sh->ok, 1);
        weft_http_response_free(&r);
    }
    return NULL;
}

static void *many_main(void *arg)
{
    (void)arg;
    server s;
    server_start(&s, M_HELLO, "127.0.0.1");
    enum { TASKS = 64 };
    weft_http_client_config cfg = {.max_idle_per_host = TASKS};
    shared sh = {.c = weft_http_client_new(&cfg)};
    url_of(sh.url, sizeof sh.url, &s, "/");
    weft_task *ts[TASKS];
    for (int i = 0; i < TASKS; i++)
        ts[i] = wt_spawn(fetcher, &sh);
    WT_OK(weft_gather(ts, TASKS, NULL));
    WT_EQ(atomic_load(&sh.ok), TASKS * WT_SCALE(200, 50, 20));
    /* At most one connection per task was ever needed, and they were reused. */
    WT_LE(atomic_load(&s.conns), TASKS);
    WT_EQ(atomic_load(&s.reqs), TASKS * WT_SCALE(200, 50, 20));
    weft_http_client_free(sh.c);
    server_stop(&s);
    return NULL;
}
WT_TEST_W(many, 2)

static void *outside_main(void *arg)
{
    (void)arg;
    return NULL;
}

static void test_outside_task(void **state)
{
    (void)state;
    weft_http_client *c = weft_http_client_new(NULL);
    weft_http_response r;
    WT_EQ(weft_http_get(c, "http://127.0.0.1:1/", &r), -EPERM);
    weft_http_client_free(c);
    (void)wt_run(1, outside_main, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_keepalive), cmocka_unit_test(test_post_echo),
        cmocka_unit_test(test_framing),       cmocka_unit_test(test_retry),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_many),          cmocka_unit_test(test_outside_task),
    };
    return WT_RUN_GROUP(tests);
}
