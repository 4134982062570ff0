/* weft HTTP — the server: listeners, accept tasks, one task per connection, limits,
 * statistics and graceful stop.
 *
 * Listeners: one SO_REUSEPORT socket per worker (by default), each with its own accept
 * task and multishot acceptor, so the kernel spreads connections and no accept queue
 * is shared. At max_connections the accept task stops taking connections: new ones
 * wait in the kernel's backlog (and up to the acceptor's 64 already accepted).
 *
 * A connection task loops: recv into its buffer, push the bytes through the request
 * parser (request.c), answer every complete request found (pipelining: all of them
 * append to one output buffer), then send that buffer once and recv again. Buffers
 * live in the connection and are reused; a request costs no allocation once the
 * connection's buffers have grown to its size.
 *
 * Timeouts are scoped deadlines around each recv: idle (no byte of a next request:
 * close quietly), header (the head started arriving but is incomplete: 408 and close)
 * and body (408 and close). Sends run under the idle timeout, so a peer that stops
 * reading cannot pin a task forever.
 *
 * Graceful stop: the accept tasks are cancelled; connections waiting idle are
 * cancelled; the others finish their request (answered with Connection: close) until
 * grace_ns passes, and are cancelled then. Connection tasks are detached; the server
 * counts them and waits for the count to reach zero.
 */
#include "io/http/internal.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#define RBUF_BYTES (16u * 1024u)
#define FLUSH_BYTES (64u * 1024u) /* send a pipelined batch early past this */

typedef struct conn conn;
struct conn {
    weft_http_server *srv;
    weft_task *task;
    conn *prev, *next; /* srv->conns, under srv->lock */
    int fd;
    _Atomic bool idle; /* waiting for the first byte of a request: stop may cancel */
    bool sent_continue;
    uint64_t head_deadline, body_deadline; /* 0 until the wait starts */
    weft__http_rp rp;
    weft_http_res res;
    weft__buf out;
    char rbuf[RBUF_BYTES];
};

/* Counters, one cache line per worker: requests are counted without a shared line. */
typedef struct stat_slot {
    _Atomic uint64_t requests, e4, e5;
} WEFT_ALIGNED stat_slot;

typedef struct listener {
    weft_http_server *srv;
    int fd;
    weft_task *task;
} listener;

struct weft_http_server {
    weft_http_server_config cfg; /* defaults filled in */
    weft__http_limits lim;
    weft_http_handler handler;
    void *ctx;
    int port;
    unsigned nlisteners;
    listener *listeners;
    _Atomic bool stopping;
    _Atomic unsigned used;   /* open connections plus slots reserved by accept tasks */
    _Atomic unsigned nconns; /* open connections (their tasks still touch srv) */
    _Atomic uint64_t connections;
    weft__spin lock;
    conn *conns;
    unsigned nslots;
    stat_slot *slots;
};

static stat_slot *slot(weft_http_server *srv)
{
    int w = weft_worker_id();
    return &srv->slots[w >= 0 && (unsigned)w < srv->nslots ? (unsigned)w : 0];
}

static void count_status(weft_http_server *srv, int status)
{
    stat_slot *s = slot(srv);
    atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
    if (status >= 500)
        atomic_fetch_add_explicit(&s->e5, 1, memory_order_relaxed);
    else if (status >= 400)
        atomic_fetch_add_explicit(&s->e4, 1, memory_order_relaxed);
}

static bool stopping(const weft_http_server *srv)
{
    return atomic_load_explicit(&srv->stopping, memory_order_acquire);
}

/* ---- one connection ------------------------------------------------------------------ */

static int flush(conn *c, const void *tail, size_t tail_len)
{
    return weft__http_send(c->fd, &c->out, tail, tail_len, c->srv->cfg.idle_timeout_ns);
}

#define LINGER_NS (500 * WEFT_NS_PER_MS)
#define LINGER_BYTES (1u << 20)

/* Every close the server decides on, after its last response went out. Closing a
 * socket with unread input makes the kernel send a reset, which can destroy the
 * response before the client reads it: the rest of an oversized body, or requests
 * pipelined behind one answered with Connection: close (traced: 0.5 of a 4 MB
 * response arrived). So the write side is shut and input drained until the client
 * closes too, for a moment at most (RFC 9112 9.6; nginx's lingering close), bounded in
 * time and bytes. */
static void linger(conn *c)
{
    if (weft_shutdown(c->fd, SHUT_WR) < 0)
        return;
    weft_timeout scope;
    weft_timeout_enter(&scope, LINGER_NS);
    for (size_t drained = 0; drained < LINGER_BYTES;) {
        ssize_t n = weft_recv(c->fd, c->rbuf, sizeof c->rbuf, 0);
        if (n <= 0)
            break;
        drained += (size_t)n;
    }
    weft_timeout_exit(&scope);
}

/* A refusal the server writes itself (4xx/5xx), after which the connection closes. */
static void refuse(conn *c, int status, const char *why)
{
    count_status(c->srv, status);
    if (weft__http_res_simple(&c->out, status, why, true) < 0 || flush(c, NULL, 0) < 0)
        return;
    linger(c);
}

/* Runs the handler on the request the parser holds and appends the response to
 * c->out. Returns true when the connection stays open. */
static bool answer(conn *c, unsigned *batch)
{
    weft_http_server *srv = c->srv;
    weft_http_req req;
    weft__http_rp_request(&c->rp, &req);
    req.fd = c->fd;
    weft_http_res *res = &c->res;
    weft__http_res_reset(res);
    res->head_only = c->rp.parser.method == HTTP_HEAD;
    res->http10 = req.version_minor == 0;
    res->close = !req.keep_alive;

    int rc = srv->handler(&req, res, srv->ctx);
    if (rc < 0) {
        if (!res->streaming) /* nothing went out yet: a proper 500 */
            refuse(c, 500, "handler failed");
        else
            count_status(srv, 500);
        return false;
    }
    if (res->send_err) {
        count_status(srv, res->status);
        return false;
    }
    if (stopping(srv))
        res->close = true; /* no-op once streaming: the head went out already */
    const void *tail;
    size_t tail_len;
    int frc = weft__http_res_finish(res, &tail, &tail_len);
    if (frc < 0) {
        /* Out of memory writing the head, or a body unlike its declared length. */
        refuse(c, 500, frc == -EPROTO ? "body length differs from the declared length"
                                      : "out of memory");
        return false;
    }
    count_status(srv, res->status);
    c->head_deadline = c->body_deadline = 0;
    c->sent_continue = false;
    bool keep = !res->close;
    if (tail || c->out.len >= FLUSH_BYTES || ++*batch >= srv->cfg.max_pipeline || !keep) {
        *batch = 0;
        if (flush(c, tail, tail_len) < 0)
            return false;
    }
    if (!keep)
        linger(c); /* answered, and the response says the connection closes */
    return keep;
}

/* The deadline of the next recv. Returns 0 when the connection should close (idle
 * and the server stops). */
static uint64_t next_deadline(conn *c, bool *idle)
{
    weft_http_server *srv = c->srv;
    const weft_http_server_config *cfg = &srv->cfg;
    uint64_t now = weft_now();
    *idle = !c->rp.started;
    if (*idle) {
        /* Publish idle before re-reading stopping; stop sets stopping before it scans
         * for idle connections (both seq_cst), so one of the two sees the other. */
        atomic_store(&c->idle, true);
        if (atomic_load(&srv->stopping))
            return 0;
        return now + cfg->idle_timeout_ns;
    }
    if (!c->rp.head_done) {
        if (!c->head_deadline)
            c->head_deadline = now + cfg->header_timeout_ns;
        return c->head_deadline;
    }
    if (!c->body_deadline)
        c->body_deadline = now + cfg->body_timeout_ns;
    return c->body_deadline;
}

static void serve(conn *c)
{
    size_t rpos = 0, rlen = 0;
    unsigned batch = 0;
    for (;;) {
        while (rpos < rlen) {
            size_t used;
            int rc = weft__http_rp_push(&c->rp, c->rbuf + rpos, rlen - rpos, &used);
            rpos += used;
            if (rc == WEFT__RP_REQUEST) {
                if (!answer(c, &batch))
                    return;
                weft__http_rp_next(&c->rp);
            } else if (rc < 0) {
                refuse(c, -rc, weft__http_rp_reason(&c->rp));
                return;
            }
        }
        bool filled = rlen == sizeof c->rbuf; /* more may wait in the socket */
        rpos = rlen = 0;
        if (c->rp.head_done && c->rp.expect_continue && !c->sent_continue) {
            /* The client waits for this before sending the body. */
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            if (weft__buf_put(&c->out, cont, sizeof cont - 1) < 0)
                return;
            c->sent_continue = true;
        }
        batch = 0;
        /* Answered and everything read: the next request cannot be there yet unless
         * the client pipelines past a full buffer. */
        bool reply = c->out.len && !filled && !c->rp.started;
        if (c->out.len && flush(c, NULL, 0) < 0)
            return;

        bool idle;
        uint64_t deadline = next_deadline(c, &idle);
        if (!deadline)
            return;
        weft_timeout scope;
        weft_timeout_enter_at(&scope, deadline);
        ssize_t n = reply ? weft__recv_reply(c->fd, c->rbuf, sizeof c->rbuf)
                          : weft_recv(c->fd, c->rbuf, sizeof c->rbuf, 0);
        weft_timeout_exit(&scope);
        if (idle)
            atomic_store_explicit(&c->idle, false, memory_order_relaxed);
        if (n == -ETIMEDOUT && !idle) {
            refuse(c, 408, c->rp.head_done ? "body timeout" : "header timeout");
            return;
        }
        if (n <= 0)
            return; /* peer closed, reset, idle timeout, cancelled */
        rlen = (size_t)n;
    }
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    weft_http_server *srv = c->srv;
    c->task = weft_self();
    weft__spin_lock(&srv->lock);
    c->next = srv->conns;
    if (c->next)
        c->next->prev = c;
    srv->conns = c;
    weft__spin_unlock(&srv->lock);

    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    serve(c);
    close(c->fd); /* plain close: weft_close would refuse in a cancelled task */
    weft__http_rp_fini(&c->rp);
    weft__buf_free(&c->res.hdrs);
    weft__buf_free(&c->res.body);
    weft__buf_free(&c->out);

    weft__spin_lock(&srv->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub(&srv->used, 1);
    weft__spin_unlock(&srv->lock);
    /* The last touch of srv: once nconns reaches 0, stop may free it. Decrementing
     * before the unlock let stop free srv between the two, and the unlock then wrote
     * to freed memory (TSan, fetch_tool). */
    atomic_fetch_sub(&srv->nconns, 1);
    free(c);
    return NULL;
}

static conn *conn_new(weft_http_server *srv, int fd)
{
    conn *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    c->srv = srv;
    c->task = NULL;
    c->prev = c->next = NULL;
    c->fd = fd;
    atomic_init(&c->idle, false);
    c->sent_continue = false;
    c->head_deadline = c->body_deadline = 0;
    weft__http_rp_init(&c->rp, &srv->lim);
    memset(&c->res, 0, sizeof c->res);
    c->res.fd = fd;
    c->res.out = &c->out;
    c->res.send_timeout_ns = srv->cfg.idle_timeout_ns;
    c->out = (weft__buf){0};
    return c;
}

/* ---- accepting ------------------------------------------------------------------------ */

static void *accept_main(void *arg)
{
    listener *l = arg;
    weft_http_server *srv = l->srv;
    /* One multishot accept per listener (net.h): connections arriving together cost
     * one armed operation, not one submission each. */
    weft_acceptor *acc = weft_acceptor_new(l->fd);
    if (!acc)
        return NULL;
    while (!stopping(srv)) {
        /* Reserve a connection slot first: at the limit, accepting pauses and the
         * kernel's backlog holds new connections. */
        if (atomic_fetch_add(&srv->used, 1) >= srv->cfg.max_connections) {
            atomic_fetch_sub(&srv->used, 1);
            if (weft_sleep(WEFT_NS_PER_MS) < 0)
                break;
            continue;
        }
        int fd = weft_acceptor_accept(acc, NULL, NULL);
        if (fd < 0) {
            atomic_fetch_sub(&srv->used, 1);
            if (fd == -ECANCELED || weft_cancelled())
                break;
            if (fd == -EBADF || fd == -EINVAL || fd == -ENOTSOCK)
                break; /* the listener is gone */
            /* Out of descriptors or memory: back off instead of spinning; the
             * connection stays in the backlog (the acceptor re-arms on the next call).
             * Others (ECONNABORTED...) retry. */
            if ((fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) &&
                weft_sleep(10 * WEFT_NS_PER_MS) < 0)
                break;
            continue;
        }
        atomic_fetch_add_explicit(&srv->connections, 1, memory_order_relaxed);
        conn *c = conn_new(srv, fd);
        atomic_fetch_add(&srv->nconns, 1); /* before the task can run and end */
        weft_task *t = c ? weft_spawn(conn_main, c) : NULL;
        if (!t) {
            atomic_fetch_sub(&srv->nconns, 1);
            if (c) {
                weft__http_rp_fini(&c->rp);
                free(c);
            }
            close(fd);
            atomic_fetch_sub(&srv->used, 1);
            if (weft_sleep(10 * WEFT_NS_PER_MS) < 0)
                break;
            continue;
        }
        weft_detach(t);
    }
    weft_acceptor_free(acc); /* closes connections it accepted that nobody took */
    return NULL;
}

/* ---- start / stop ----------------------------------------------------------------------- */

static void fill_defaults(weft_http_server_config *c)
{
    if (!c->backlog)
        c->backlog = 1024;
    if (!c->max_header_bytes)
        c->max_header_bytes = 16u * 1024u;
    if (!c->max_target_bytes)
        c->max_target_bytes = 8u * 1024u;
    if (!c->max_body_bytes)
        c->max_body_bytes = 1u << 20;
    if (!c->max_headers)
        c->max_headers = 100;
    if (!c->header_timeout_ns)
        c->header_timeout_ns = 10 * WEFT_NS_PER_SEC;
    if (!c->body_timeout_ns)
        c->body_timeout_ns = 30 * WEFT_NS_PER_SEC;
    if (!c->idle_timeout_ns)
        c->idle_timeout_ns = 60 * WEFT_NS_PER_SEC;
    if (!c->max_connections)
        c->max_connections = 10000;
    if (!c->max_pipeline)
        c->max_pipeline = 64;
    if (!c->listeners)
        c->listeners = weft_workers() ? weft_workers() : 1;
}

static void free_server(weft_http_server *srv)
{
    for (unsigned i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].fd >= 0)
            close(srv->listeners[i].fd);
    free(srv->listeners);
    free(srv->slots);
    free(srv);
}

int weft_http_server_start(const weft_http_server_config *cfg, weft_http_handler handler, void *ctx,
                           weft_http_server **out)
{
    if (!handler || !out)
        return -EINVAL;
    *out = NULL;
    if (!weft_self())
        return -EPERM;
    weft_http_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return -ENOMEM;
    if (cfg)
        srv->cfg = *cfg;
    fill_defaults(&srv->cfg);
    srv->lim = (weft__http_limits){
        .max_header_bytes = srv->cfg.max_header_bytes,
        .max_target_bytes = srv->cfg.max_target_bytes,
        .max_body_bytes = srv->cfg.max_body_bytes,
        .max_headers = srv->cfg.max_headers,
    };
    srv->handler = handler;
    srv->ctx = ctx;
    srv->nslots = weft_workers() ? weft_workers() : 1;
    srv->slots = aligned_alloc(WEFT_CACHELINE, srv->nslots * sizeof(stat_slot));
    srv->listeners = calloc(srv->cfg.listeners, sizeof(listener));
    if (!srv->slots || !srv->listeners) {
        free_server(srv);
        return -ENOMEM;
    }
    memset(srv->slots, 0, srv->nslots * sizeof(stat_slot));
    const char *host = srv->cfg.host ? srv->cfg.host : "127.0.0.1";
    int port = srv->cfg.port;
    for (unsigned i = 0; i < srv->cfg.listeners; i++) {
        /* The first listener picks the port (0: a free one); the others share it. */
        int fd = weft_tcp_listen(host, (uint16_t)port, srv->cfg.backlog, WEFT_NET_REUSEPORT);
        if (fd < 0) {
            free_server(srv);
            return fd;
        }
        srv->listeners[srv->nlisteners++] = (listener){.srv = srv, .fd = fd};
        if (i == 0 && (port = weft_local_port(fd)) < 0) {
            free_server(srv);
            return port;
        }
    }
    srv->port = port;
    for (unsigned i = 0; i < srv->nlisteners; i++) {
        listener *l = &srv->listeners[i];
        if (!(l->task = weft_spawn(accept_main, l))) {
            atomic_store(&srv->stopping, true);
            for (unsigned j = 0; j < i; j++) {
                weft_cancel(srv->listeners[j].task);
                weft_join(srv->listeners[j].task, NULL);
            }
            free_server(srv);
            return -ENOMEM;
        }
    }
    *out = srv;
    return 0;
}

int weft_http_server_port(const weft_http_server *srv)
{
    return srv ? srv->port : -EINVAL;
}

/* Cancels the connection tasks (only the idle ones when idle_only). */
static void cancel_conns(weft_http_server *srv, bool idle_only)
{
    weft__spin_lock(&srv->lock);
    for (conn *c = srv->conns; c; c = c->next)
        if (!idle_only || atomic_load(&c->idle))
            weft_cancel(c->task);
    weft__spin_unlock(&srv->lock);
}

void weft_http_server_stop(weft_http_server *srv, uint64_t grace_ns)
{
    if (!srv)
        return;
    atomic_store(&srv->stopping, true);
    weft_task *self = weft_self();
    for (unsigned i = 0; i < srv->nlisteners; i++) {
        weft_cancel(srv->listeners[i].task);
        weft_join(srv->listeners[i].task, NULL);
    }
    for (unsigned i = 0; i < srv->nlisteners; i++) {
        close(srv->listeners[i].fd);
        srv->listeners[i].fd = -1;
    }
    cancel_conns(srv, true);
    uint64_t end = weft_now() + grace_ns;
    while (atomic_load(&srv->nconns) && weft_now() < end)
        if (weft_sleep(WEFT_NS_PER_MS) < 0)
            break; /* we are cancelled ourselves: go straight to cancelling all */
    /* Past the grace period: cancel the rest and wait for them, uninterruptibly (srv
     * cannot be freed under a running connection task). */
    bool outer = self ? self->nointr : false;
    if (self)
        self->nointr = true;
    while (atomic_load(&srv->nconns)) {
        cancel_conns(srv, false);
        weft_sleep(WEFT_NS_PER_MS);
    }
    if (self)
        self->nointr = outer;
    free_server(srv);
}

void weft_http_server_stats_get(const weft_http_server *srv, weft_http_server_stats *st)
{
    memset(st, 0, sizeof *st);
    if (!srv)
        return;
    for (unsigned i = 0; i < srv->nslots; i++) {
        st->requests += atomic_load_explicit(&srv->slots[i].requests, memory_order_relaxed);
        st->errors_4xx += atomic_load_explicit(&srv->slots[i].e4, memory_order_relaxed);
        st->errors_5xx += atomic_load_explicit(&srv->slots[i].e5, memory_order_relaxed);
    }
    st->connections = atomic_load_explicit(&srv->connections, memory_order_relaxed);
    st->active = atomic_load(&srv->nconns);
}
