/* weft — the trace recorder: per-thread event buffers and the scheduler's hooks.
 * The buffer protocol is in runtime/trace_priv.h; the file format in trace_format.h. */
#include "runtime/trace_hooks.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool weft__trace_on;
tr_state weft__tr;

static uint64_t clock_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* ---- recording ------------------------------------------------------------------ */

/* Owner (or whoever stands in for it at stop): the current chunk goes to the writer.
 * False when the full ring had no room for it. */
static bool hand_over(tr_buf *b)
{
    bool pushed = tr_ring_push(&b->full, b->cur_own);
    b->cur_own = NULL;
    atomic_store_explicit(&b->cur, NULL, memory_order_relaxed);
    return pushed;
}

/* Owner: hands the current chunk to the writer and takes a free one; false when none
 * is free (the caller drops its event). The writer looks every 10 ms anyway; it is
 * woken (a futex syscall and, when it sleeps, a wake-up of its core) only once this
 * buffer's free chunks run below half, not for every chunk: at skynet's 13 M events a
 * second, a wake per 64 KiB chunk cost the worker ~5 % of its time. */
static bool refill(tr_buf *b)
{
    if (b->cur_own) {
        /* The ring holds TR_RING chunks (256 MiB, the default memory cap); should it
         * ever be full, the chunk's events count as dropped (it is freed at stop). */
        if (!hand_over(b))
            b->drops += b->nev;
        if (tr_ring_len(&b->free) <= TR_FREE_FILL / 2)
            weft__trace_writer_kick();
    }
    tr_chunk *c = tr_ring_pop(&b->free);
    /* The writer fell behind (it competes with the workers for CPUs): rather than drop
     * events, take a new chunk while under the memory cap. The flight recorder's chunks
     * are all allocated up front: there the events count as dropped until the writer
     * hands back the oldest kept chunks. */
    if (!c && (weft__tr.flight || !(c = weft__trace_chunk_new(&weft__tr))))
        return false;
    atomic_store_explicit(&c->pub, 0, memory_order_relaxed);
    c->worker = b->worker;
    c->base_raw = b->st.ticks; /* the next event's delta counts from the last reading */
    weft_trace_codec_batch(&b->st, b->st.ticks, b->worker);
    b->cur_own = c;
    b->p = c->data;
    b->lim = c->data + TR_CHUNK_DATA - WEFT_TRACE_MAX_ENCODED;
    b->nev = 0;
    /* release: the count reset before a dump can find the chunk */
    atomic_store_explicit(&b->cur, c, memory_order_release);
    return true;
}

/* A SPAWN's or STALL's function address goes to the writer to be named, once per
 * buffer as far as fn_seen remembers. When the ring is full it is tried again next time. */
static void announce(tr_buf *b, uint64_t fn)
{
    uint64_t *seen = &b->fn_seen[(fn >> 4) % TR_FN_SEEN];
    if (*seen != fn && tr_ring_push(&b->syms, (void *)(uintptr_t)fn))
        *seen = fn;
}

/* The fast path's way out (trace_hooks.h): no room, no chunk, or a function address
 * to announce first. */
void weft__trace_record_slow(tr_buf *b, uint64_t ts, unsigned type, unsigned reason, uint32_t a,
                             uint64_t task, uint64_t bb, uint64_t c)
{
    if (weft__trace_no_room(b) && !refill(b)) {
        b->drops++;
        return;
    }
    /* A function address the writer has not been told yet; should the ring be full, it
     * is announced at a later event. */
    if (type == WEFT_EV_SPAWN || type == WEFT_EV_STALL)
        announce(b, c);
    weft__trace_put(b, ts, type, reason, a, task, bb, c);
}

/* Any event, from any thread: a worker's own buffer, or the plain threads' shared one
 * under its lock (the clock is read under the lock, so its timestamps never go back). */
void weft__trace_ev(unsigned type, unsigned reason, uint32_t a, uint64_t task, uint64_t b,
                    uint64_t c)
{
    weft__worker *w = weft__worker_self();
    if (WEFT_LIKELY(w && w->tr_buf)) {
        weft__trace_record(w->tr_buf, 0, type, reason, a, task, b, c);
        return;
    }
    if (!weft__tr.bufs)
        return;
    tr_buf *buf = &weft__tr.bufs[weft__tr.nbufs - 1];
    weft__spin_lock(&weft__tr.outside_lock);
    weft__trace_record(buf, 0, type, reason, a, task, b, c);
    weft__spin_unlock(&weft__tr.outside_lock);
}

/* ---- hooks ----------------------------------------------------------------------- */

static _Atomic uint64_t outside_ids; /* ids of tasks spawned by plain threads */

void weft__trace_spawn_outside(weft_task *t)
{
    /* Relaxed atomic store: the monitor may read a reused task's id (STALL). */
    __atomic_store_n(&t->tid, atomic_fetch_add_explicit(&outside_ids, 1, memory_order_relaxed) + 1,
                     __ATOMIC_RELAXED);
    weft__trace_ev(WEFT_EV_SPAWN, 0, 0, t->tid, 0, (uint64_t)(uintptr_t)t->fn);
}

void weft__trace_stall(unsigned worker, weft_task *t, uint64_t ns)
{
    weft__trace_ev(WEFT_EV_STALL, 0, worker, __atomic_load_n(&t->tid, __ATOMIC_RELAXED), ns,
                   (uint64_t)(uintptr_t)__atomic_load_n(&t->fn, __ATOMIC_RELAXED));
}

/* ---- lifecycle ------------------------------------------------------------------- */

static void dump_signal(int sig)
{
    (void)sig;
    /* Async-signal-safe: an atomic add and a futex wake through the writer's kick. */
    atomic_fetch_add_explicit(&weft__tr.dump_sig, 1, memory_order_relaxed);
    weft__trace_writer_kick();
}

tr_chunk *weft__trace_chunk_new(tr_state *s)
{
    /* Claim a place under the cap first, so racing allocators never pass it. */
    if (atomic_fetch_add_explicit(&s->nall, 1, memory_order_relaxed) >= s->max_chunks) {
        atomic_fetch_sub_explicit(&s->nall, 1, memory_order_relaxed);
        return NULL;
    }
    tr_chunk *c = weft__alloc(TR_CHUNK_BYTES);
    if (!c) {
        atomic_fetch_sub_explicit(&s->nall, 1, memory_order_relaxed);
        return NULL;
    }
    tr_chunk *head = atomic_load_explicit(&s->all, memory_order_relaxed);
    do
        c->all_next = head;
    while (!atomic_compare_exchange_weak(&s->all, &head, c));
    return c;
}

static void free_all(void)
{
    tr_state *s = &weft__tr;
    tr_chunk *c = atomic_load(&s->all);
    while (c) {
        tr_chunk *next = c->all_next;
        weft__free(c, TR_CHUNK_BYTES);
        c = next;
    }
    if (s->bufs)
        free(s->bufs);
    if (s->f)
        fclose(s->f);
    weft__free(s->path, strlen(s->path) + 1);
    pthread_mutex_destroy(&s->dump_lock);
    pthread_cond_destroy(&s->dump_cond);
    memset(s, 0, sizeof *s);
}

static bool env_num(const char *name, long *out)
{
    const char *e = getenv(name);
    if (!e || !*e)
        return false;
    char *end;
    long v = strtol(e, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}

int weft__trace_start(const char *path, unsigned nworkers)
{
    if (!path)
        path = getenv("WEFT_TRACE");
    if (!path || !*path)
        return 0;
#if defined(WEFT_NO_TRACE_HOOKS)
    fprintf(stderr, "weft: built with -DWEFT_TRACE_HOOKS=OFF: %s gets no trace\n", path);
    return 0;
#endif
    if (nworkers >= WEFT_TRACE_NO_WORKER)
        return -EINVAL;
    tr_state *s = &weft__tr;
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->dump_lock, NULL);
    pthread_cond_init(&s->dump_cond, NULL);
    size_t plen = strlen(path) + 1;
    s->path = weft__alloc(plen);
    if (!s->path) {
        free_all();
        return -ENOMEM;
    }
    memcpy(s->path, path, plen);
    long precise = 0;
    s->precise = env_num("WEFT_TRACE_PRECISE", &precise) && precise > 0;
    long mib = 0;
    if (env_num("WEFT_TRACE_FLIGHT", &mib) && mib > 0) {
        s->flight = true;
        s->flight_chunks = (size_t)mib * (1024 * 1024 / TR_CHUNK_BYTES);
    }
    s->nworkers = nworkers;
    s->nbufs = nworkers + 1;
    if (posix_memalign((void **)&s->bufs, WEFT_CACHELINE, s->nbufs * sizeof *s->bufs)) {
        s->bufs = NULL;
        free_all();
        return -ENOMEM;
    }
    memset(s->bufs, 0, s->nbufs * sizeof *s->bufs);
    /* Each buffer starts with a full free ring. A file trace lets the writer allocate
     * more, up to the cap, to ride out bursts faster than the disk (a busy worker
     * records ~300 MB/s); the flight recorder has its window plus the rings. */
    long cap = TR_MAX_MIB;
    env_num("WEFT_TRACE_BUFFER_MB", &cap);
    size_t ring_chunks = (size_t)s->nbufs * TR_FREE_FILL;
    s->max_chunks = s->flight ? ring_chunks + s->flight_chunks
                              : (size_t)(cap > 0 ? cap : 1) * (1024 * 1024 / TR_CHUNK_BYTES);
    if (s->max_chunks < 2 * ring_chunks)
        s->max_chunks = 2 * ring_chunks;
    for (unsigned i = 0; i < s->nbufs; i++) {
        tr_buf *b = &s->bufs[i];
        b->worker = i < nworkers ? (uint16_t)i : WEFT_TRACE_NO_WORKER;
        for (unsigned j = 0; j < TR_FREE_FILL; j++) {
            tr_chunk *c = weft__trace_chunk_new(s);
            if (!c) {
                free_all();
                return -ENOMEM;
            }
            tr_ring_push(&b->free, c);
        }
    }
    if (!s->flight) {
        s->f = fopen(path, "wb");
        if (!s->f) {
            int rc = -errno;
            free_all();
            return rc;
        }
        setvbuf(s->f, NULL, _IOFBF, 1 << 20);
    }
    weft__clock_init();
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    s->raw0 = weft__clock_raw();
    for (unsigned i = 0; i < s->nbufs; i++)
        s->bufs[i].st.ticks = s->raw0; /* the first chunk's time base */
    s->start_mono_ns = clock_ns(&mono);
    s->start_unix_ns = clock_ns(&real);
    if (s->flight) {
        long sig = SIGUSR2;
        env_num("WEFT_TRACE_SIGNAL", &sig);
        if (sig > 0 && sig < NSIG) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = dump_signal;
            sa.sa_flags = SA_RESTART;
            sigemptyset(&sa.sa_mask);
            if (sigaction((int)sig, &sa, &s->old_sa) == 0) {
                s->sig = (int)sig;
                s->sig_installed = true;
            }
        }
    }
    int rc = -pthread_create(&s->writer, NULL, weft__trace_writer_main, s);
    if (rc) {
        if (s->sig_installed)
            sigaction(s->sig, &s->old_sa, NULL);
        free_all();
        return rc;
    }
    __atomic_store_n(&weft__trace_on, true, __ATOMIC_RELAXED);
    return 0;
}

void weft__trace_worker_begin(weft__worker *w)
{
    w->tr_fresh = false;
    if (weft__trace_on)
        w->tr_buf = &weft__tr.bufs[w->index];
}

void weft__trace_worker_end(weft__worker *w)
{
    tr_buf *b = w->tr_buf;
    w->tr_buf = NULL;
    if (b && b->cur_own) {
        hand_over(b);
        weft__trace_writer_kick();
    }
}

void weft__trace_stop(void)
{
    tr_state *s = &weft__tr;
    if (!weft__trace_on)
        return;
    /* Every thread that records has been joined; the plain threads' buffer is last. */
    tr_buf *b = &s->bufs[s->nbufs - 1];
    weft__spin_lock(&s->outside_lock);
    if (b->cur_own)
        hand_over(b);
    weft__spin_unlock(&s->outside_lock);
    atomic_store(&s->stop, true);
    weft__trace_writer_kick();
    pthread_join(s->writer, NULL);
    if (s->sig_installed)
        sigaction(s->sig, &s->old_sa, NULL);
    __atomic_store_n(&weft__trace_on, false, __ATOMIC_RELAXED);
    weft__trace_sym_fini();
    free_all();
}

bool weft_trace_enabled(void)
{
    return __atomic_load_n(&weft__trace_on, __ATOMIC_RELAXED);
}

void weft__trace_spawn_cold(weft__worker *w, weft_task *t)
{
    weft__trace_spawn(w, t);
}

void weft__trace_wake_cold(weft_task *t)
{
    weft__trace_wake(t);
}
