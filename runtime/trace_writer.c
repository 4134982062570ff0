/* weft — the trace writer thread: drains the recording buffers (protocol in
 * trace_priv.h), names functions, and writes the chunks into the file as they are, each
 * with the factor that converts its clock ticks to ns — or, as a flight recorder, keeps
 * the newest chunks and writes them on a dump. */
#include "runtime/trace_priv.h"

#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Writer-private state (only the writer thread touches it). */
static struct {
    double npt;                 /* ns per raw tick, refreshed every pass */
    tr_chunk *free;             /* chunks to hand out */
    tr_chunk *kept, *kept_tail; /* flight mode: FIFO of full chunks, oldest first */
    size_t nkept;
    uint64_t *syms; /* open-addressing set of function addresses seen */
    size_t nsyms, cap;
    int err;           /* first write error (normal mode) */
    uint64_t nwritten; /* events written to the file */
} wr;

void weft__trace_writer_kick(void)
{
    /* Async-signal-safe: the dump signal calls this. */
    if (atomic_exchange_explicit(&weft__tr.wake, 1, memory_order_release) == 0)
        syscall(SYS_futex, &weft__tr.wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void writer_sleep(void)
{
    struct timespec ts = {0, 10 * 1000000};
    if (atomic_load_explicit(&weft__tr.wake, memory_order_acquire) == 0)
        syscall(SYS_futex, &weft__tr.wake, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
    atomic_store_explicit(&weft__tr.wake, 0, memory_order_relaxed);
}

/* ---- symbols ----------------------------------------------------------------------- */

/* Adds addr to the set; true when it is new. */
static bool sym_add(uint64_t addr)
{
    if (!addr)
        return false;
    if (2 * (wr.nsyms + 1) > wr.cap) {
        size_t ncap = wr.cap ? 2 * wr.cap : 256;
        uint64_t *n = weft__calloc(ncap, sizeof *n);
        if (!n)
            return false;
        for (size_t i = 0; i < wr.cap; i++) {
            if (!wr.syms[i])
                continue;
            size_t h = (wr.syms[i] * 0x9e3779b97f4a7c15ull) >> 20;
            while (n[h & (ncap - 1)])
                h++;
            n[h & (ncap - 1)] = wr.syms[i];
        }
        weft__free(wr.syms, wr.cap * sizeof *wr.syms);
        wr.syms = n;
        wr.cap = ncap;
    }
    size_t h = (addr * 0x9e3779b97f4a7c15ull) >> 20;
    for (;; h++) {
        uint64_t *slot = &wr.syms[h & (wr.cap - 1)];
        if (*slot == addr)
            return false;
        if (!*slot) {
            *slot = addr;
            wr.nsyms++;
            return true;
        }
    }
}

static void put(FILE *f, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, f) != n && !wr.err)
        wr.err = -EIO;
}

static void write_symbol(FILE *f, uint64_t addr)
{
    char name[256];
    weft__trace_symname(addr, name, sizeof name);
    uint32_t len = (uint32_t)strlen(name);
    uint32_t padded = (len + 7) & ~7u;
    weft_trace_rec_header h = {WEFT_TRACE_REC_SYMBOL, (uint32_t)(sizeof h + 8 + padded), len, 0, 0};
    static const char zeros[8];
    put(f, &h, sizeof h);
    put(f, &addr, sizeof addr);
    put(f, name, len);
    put(f, zeros, padded - len);
}

static void write_header(FILE *f, uint32_t flags)
{
    weft_trace_file_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, WEFT_TRACE_MAGIC, 8);
    h.version = WEFT_TRACE_VERSION;
    h.header_size = sizeof h;
    h.nworkers = weft__tr.nworkers;
    h.flags = flags;
    h.pid = (uint32_t)getpid();
    h.event_size = sizeof(weft_trace_event);
    h.start_mono_ns = weft__tr.start_mono_ns;
    h.start_unix_ns = weft__tr.start_unix_ns;
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        const char *base = strrchr(exe, '/');
        base = base ? base + 1 : exe;
        size_t len = strnlen(base, sizeof h.exe - 1);
        memcpy(h.exe, base, len); /* truncated, NUL-terminated by the memset */
    }
    put(f, &h, sizeof h);
}

/* One EVENTS2 record: a chunk's encoded events (or a prefix of them), untouched.
 * Returns the number of events. */
static uint32_t write_events(FILE *f, uint16_t worker, uint64_t base_raw, const uint8_t *data,
                             uint64_t pub)
{
    uint32_t nbytes = tr_pub_bytes(pub), nev = tr_pub_events(pub);
    if (!nev)
        return 0;
    uint32_t padded = (nbytes + 7) & ~7u;
    weft_trace_rec_header h = {WEFT_TRACE_REC_EVENTS2,
                               (uint32_t)(sizeof h + sizeof(weft_trace_batch) + padded), nev,
                               worker, 0};
    uint64_t raw0 = weft__tr.raw0;
    weft_trace_batch bh = {
        .base_ns = base_raw > raw0 ? (uint64_t)((double)(base_raw - raw0) * wr.npt) : 0,
        .ns_per_tick = wr.npt,
        .nbytes = nbytes,
    };
    static const char zeros[8];
    put(f, &h, sizeof h);
    put(f, &bh, sizeof bh);
    put(f, data, nbytes);
    put(f, zeros, padded - nbytes);
    return nev;
}

static uint32_t write_chunk(FILE *f, tr_chunk *c)
{
    return write_events(f, c->worker, c->base_raw, c->data,
                        atomic_load_explicit(&c->pub, memory_order_acquire));
}

/* ---- draining ---------------------------------------------------------------------- */

/* Gives every buffer up to TR_FREE_FILL free chunks; in flight mode the oldest kept
 * chunk is reused when the free list is empty. */
static void top_up(void)
{
    tr_state *s = &weft__tr;
    for (unsigned i = 0; i < s->nbufs; i++) {
        tr_buf *b = &s->bufs[i];
        while (tr_ring_len(&b->free) < TR_FREE_FILL) {
            tr_chunk *c = wr.free;
            if (c) {
                wr.free = c->next;
            } else if (s->flight && wr.kept) {
                c = wr.kept;
                wr.kept = c->next;
                if (!wr.kept)
                    wr.kept_tail = NULL;
                wr.nkept--;
            } else if (!(c = weft__trace_chunk_new(s))) {
                break;
            }
            /* The push's release: the owner may reuse the chunk at once. */
            tr_ring_push(&b->free, c);
        }
    }
}

/* Takes the function addresses the buffers announced; new ones are named in the file at
 * once (normal mode) or at the next dump (flight mode). */
static void drain_symbols(void)
{
    tr_state *s = &weft__tr;
    for (unsigned i = 0; i < s->nbufs; i++) {
        void *fn;
        while ((fn = tr_ring_pop(&s->bufs[i].syms)))
            if (sym_add((uint64_t)(uintptr_t)fn) && s->f)
                write_symbol(s->f, (uint64_t)(uintptr_t)fn);
    }
}

static void chunk_push(tr_chunk **list, tr_chunk *c)
{
    c->next = *list;
    *list = c;
}

static void drain(void)
{
    tr_state *s = &weft__tr;
    drain_symbols();
    for (unsigned i = 0; i < s->nbufs; i++) {
        tr_buf *b = &s->bufs[i];
        tr_chunk *c;
        /* The pop's acquire pairs with the owner's push: the events are visible. */
        while ((c = tr_ring_pop(&b->full))) {
            if (!s->flight) {
                wr.nwritten += write_chunk(s->f, c);
                chunk_push(&wr.free, c);
                /* Writing is the slow part: keep the workers supplied meanwhile, or a
                 * long drain leaves them without free chunks and they drop events. */
                if (tr_ring_len(&b->free) < TR_FREE_FILL / 2)
                    top_up();
                continue;
            }
            c->next = NULL;
            if (wr.kept_tail)
                wr.kept_tail->next = c;
            else
                wr.kept = c;
            wr.kept_tail = c;
            wr.nkept++;
        }
    }
    /* Flight mode: the window is bounded; the oldest chunks go back to be reused. */
    while (s->flight && wr.nkept > s->flight_chunks) {
        tr_chunk *c = wr.kept;
        wr.kept = c->next;
        if (!wr.kept)
            wr.kept_tail = NULL;
        wr.nkept--;
        chunk_push(&wr.free, c);
    }
}

/* ---- flight dumps ------------------------------------------------------------------- */

static int dump_to(const char *path)
{
    tr_state *s = &weft__tr;
    /* Snapshot what each buffer is filling now, before draining: a chunk handed over in
     * between is then written from the kept list, and never twice. */
    tr_chunk *cur[s->nbufs];
    uint64_t ncur[s->nbufs], base[s->nbufs];
    for (unsigned i = 0; i < s->nbufs; i++) {
        /* acquire: pairs with the owner's release when it took the chunk */
        cur[i] = atomic_load_explicit(&s->bufs[i].cur, memory_order_acquire);
        ncur[i] = cur[i] ? atomic_load_explicit(&cur[i]->pub, memory_order_acquire) : 0;
        base[i] = cur[i] ? cur[i]->base_raw : 0;
    }
    drain();
    uint8_t *tmp[s->nbufs];
    for (unsigned i = 0; i < s->nbufs; i++) {
        tmp[i] = NULL;
        bool kept = false;
        for (tr_chunk *c = wr.kept; c && !kept; c = c->next)
            kept = c == cur[i];
        if (!cur[i] || kept || !tr_pub_events(ncur[i]))
            continue;
        tmp[i] = malloc(tr_pub_bytes(ncur[i]));
        if (tmp[i])
            memcpy(tmp[i], cur[i]->data, tr_pub_bytes(ncur[i]));
    }
    int rc = 0;
    FILE *f = fopen(path, "wb");
    if (!f) {
        rc = -errno;
    } else {
        int saved = wr.err;
        wr.err = 0;
        write_header(f, WEFT_TRACE_F_FLIGHT);
        for (size_t i = 0; i < wr.cap; i++)
            if (wr.syms[i])
                write_symbol(f, wr.syms[i]);
        for (tr_chunk *c = wr.kept; c; c = c->next)
            write_chunk(f, c);
        for (unsigned i = 0; i < s->nbufs; i++)
            if (tmp[i])
                write_events(f, s->bufs[i].worker, base[i], tmp[i], ncur[i]);
        if (fclose(f) != 0 && !wr.err)
            wr.err = -EIO;
        rc = wr.err;
        wr.err = saved;
    }
    for (unsigned i = 0; i < s->nbufs; i++)
        free(tmp[i]);
    return rc;
}

static void auto_dump(void)
{
    tr_state *s = &weft__tr;
    size_t len = strlen(s->path) + 16;
    char path[len];
    if (s->dump_seq == 0)
        snprintf(path, len, "%s", s->path);
    else
        snprintf(path, len, "%s.%u", s->path, s->dump_seq);
    s->dump_seq++;
    int rc = dump_to(path);
    if (rc < 0)
        fprintf(stderr, "weft: flight recorder dump to %s failed: %s\n", path, weft_strerror(rc));
    else
        fprintf(stderr, "weft: flight recorder dumped to %s\n", path);
}

static void handle_dumps(uint32_t *sig_seen)
{
    tr_state *s = &weft__tr;
    uint32_t sig = atomic_load_explicit(&s->dump_sig, memory_order_relaxed);
    if (sig != *sig_seen) {
        *sig_seen = sig;
        auto_dump();
    }
    pthread_mutex_lock(&s->dump_lock);
    if (s->dump_pending) {
        if (s->dump_path) {
            s->dump_rc = dump_to(s->dump_path);
        } else {
            pthread_mutex_unlock(&s->dump_lock);
            auto_dump();
            pthread_mutex_lock(&s->dump_lock);
            s->dump_rc = 0;
        }
        s->dump_pending = false;
        pthread_cond_broadcast(&s->dump_cond);
    }
    pthread_mutex_unlock(&s->dump_lock);
}

void weft__trace_request_dump(void)
{
    if (weft__trace_on && weft__tr.flight) {
        atomic_fetch_add_explicit(&weft__tr.dump_sig, 1, memory_order_relaxed);
        weft__trace_writer_kick();
    }
}

int weft_trace_dump(const char *path)
{
    tr_state *s = &weft__tr;
    if (!weft__trace_on || !s->flight)
        return -ENOTSUP;
    if (path && !*path)
        return -EINVAL;
    pthread_mutex_lock(&s->dump_lock);
    while (s->dump_pending)
        pthread_cond_wait(&s->dump_cond, &s->dump_lock);
    s->dump_path = path;
    s->dump_pending = true;
    weft__trace_writer_kick();
    while (s->dump_pending)
        pthread_cond_wait(&s->dump_cond, &s->dump_lock);
    int rc = s->dump_rc;
    pthread_mutex_unlock(&s->dump_lock);
    return rc;
}

/* ---- the thread ---------------------------------------------------------------------- */

void *weft__trace_writer_main(void *arg)
{
    tr_state *s = arg;
    pthread_setname_np(pthread_self(), "weft-trace");
    memset(&wr, 0, sizeof wr);
    if (s->flight) /* the window is allocated up front: a dump never waits for memory */
        for (tr_chunk *c; (c = weft__trace_chunk_new(s));)
            chunk_push(&wr.free, c);
    if (s->f)
        write_header(s->f, 0);
    uint32_t sig_seen = 0;
    for (;;) {
        writer_sleep();
        /* Read stop before draining: every chunk handed over before it was set is in a
         * ring now and drained below. */
        bool stopping = atomic_load(&s->stop);
        wr.npt = weft__clock_ns_per_tick();
        top_up(); /* first: draining may take a while */
        drain();
        if (s->flight)
            handle_dumps(&sig_seen);
        top_up();
        if (stopping)
            break;
    }
    if (s->f) {
        uint64_t dropped = 0;
        for (unsigned i = 0; i < s->nbufs; i++)
            dropped += s->bufs[i].drops;
        uint64_t written = wr.nwritten;
        weft_trace_rec_header h = {WEFT_TRACE_REC_END, sizeof h + 16, 0, 0, 0};
        put(s->f, &h, sizeof h);
        put(s->f, &written, sizeof written);
        put(s->f, &dropped, sizeof dropped);
        if (fflush(s->f) != 0 || wr.err)
            fprintf(stderr, "weft: writing the trace %s failed\n", s->path);
    }
    weft__free(wr.syms, wr.cap * sizeof *wr.syms);
    memset(&wr, 0, sizeof wr);
    return NULL;
}
