/* weft runtime — private to the trace recorder (trace.c) and its writer thread
 * (trace_writer.c). The protocol between them:
 *  1. Events go into fixed-size chunks. Each recording thread owns one buffer (a worker
 *     its own; plain threads share one under a spinlock): the chunk being filled, and
 *     two single-producer single-consumer rings, `full` (buffer → writer) and `free`
 *     (writer → buffer).
 *  2. The owner appends an event, then publishes the chunk's count with a release
 *     store, so the writer may read a prefix of the chunk being filled (flight dumps).
 *  3. A full chunk goes into `full`; the owner takes the next one from `free`. If `free`
 *     is empty the event is dropped and counted: a worker never waits for the writer.
 *  4. The writer drains every `full` ring, writes the chunks (or, in flight mode, keeps
 *     them in a FIFO of bounded size, reusing the oldest), and tops `free` up again.
 *  5. Stop: the workers hand over their last chunk when they exit; weft__trace_stop
 *     flushes the plain threads' buffer, then the writer drains, writes END and exits.
 */
#ifndef WEFT_RUNTIME_TRACE_PRIV_H
#define WEFT_RUNTIME_TRACE_PRIV_H

#include "runtime/internal.h"

enum {
    TR_CHUNK_BYTES = 64 * 1024,
    TR_RING = 4096,    /* slots of each SPSC ring: 256 MiB of chunks may wait for the writer */
    TR_FREE_FILL = 64, /* chunks the writer keeps in each buffer's free ring */
    TR_MAX_MIB = 256,  /* default cap on chunk memory (WEFT_TRACE_BUFFER_MB) */
};

typedef struct tr_chunk {
    struct tr_chunk *next;     /* writer's lists */
    struct tr_chunk *all_next; /* every chunk, for teardown */
    _Atomic uint32_t n;        /* events published (owner: release; readers: acquire) */
    uint16_t worker;           /* recording worker, WEFT_TRACE_NO_WORKER for plain threads */
    uint16_t pad;
    uint64_t pad2;
    weft_trace_event ev[];
} tr_chunk;
#define TR_CHUNK_EVENTS ((TR_CHUNK_BYTES - sizeof(tr_chunk)) / sizeof(weft_trace_event))

/* A single-producer single-consumer ring of chunk pointers. C11 atomics rather than
 * ck_ring, whose fences ThreadSanitizer cannot see. */
typedef struct tr_ring {
    _Atomic uint32_t head WEFT_ALIGNED; /* next slot to take; consumer-written */
    _Atomic uint32_t tail WEFT_ALIGNED; /* next slot to fill; producer-written */
    tr_chunk *slot[TR_RING];
} tr_ring;

static inline bool tr_ring_push(tr_ring *r, tr_chunk *c)
{
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* acquire: the consumer has read the slot it frees before we overwrite it */
    if (t - atomic_load_explicit(&r->head, memory_order_acquire) == TR_RING)
        return false;
    r->slot[t % TR_RING] = c;
    /* release: the slot, and the chunk's contents, before the consumer sees it */
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return true;
}

static inline tr_chunk *tr_ring_pop(tr_ring *r)
{
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    /* acquire: pairs with the producer's release of tail */
    if (h == atomic_load_explicit(&r->tail, memory_order_acquire))
        return NULL;
    tr_chunk *c = r->slot[h % TR_RING];
    /* release: our read of the slot before the producer may reuse it */
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return c;
}

static inline uint32_t tr_ring_len(tr_ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_acquire) -
           atomic_load_explicit(&r->head, memory_order_acquire);
}

typedef struct tr_buf {
    /* Owner side. */
    tr_chunk *cur_own;
    uint32_t n;     /* events in cur_own */
    uint64_t drops; /* events dropped; read by the writer after the owner stopped */
    _Atomic(tr_chunk *) cur WEFT_ALIGNED; /* cur_own, for the flight dump (release) */
    uint16_t worker;
    tr_ring full; /* owner → writer */
    tr_ring free; /* writer → owner */
} tr_buf;

typedef struct tr_state {
    FILE *f;
    char *path;
    bool flight;
    size_t flight_chunks; /* chunks kept in flight mode */
    unsigned nbufs;       /* nworkers + 1: the last one is the plain threads' */
    tr_buf *bufs;
    weft__spin outside_lock; /* the plain threads' buffer */
    uint32_t nworkers;
    uint64_t raw0; /* weft__clock_raw() at timestamp 0 */
    uint64_t start_mono_ns, start_unix_ns;
    /* Every chunk allocated (all_next), for teardown; pushed with a CAS, since a
     * worker whose free ring ran dry allocates one itself (trace.c refill). */
    _Atomic(tr_chunk *) all;
    _Atomic size_t nall;     /* allocated */
    size_t max_chunks;       /* the cap (WEFT_TRACE_BUFFER_MB) */
    pthread_t writer;
    _Atomic uint32_t wake; /* futex: the writer sleeps on 0 */
    _Atomic bool stop;
    _Atomic uint32_t dump_sig; /* dumps requested by the signal or the monitor */
    /* weft_trace_dump: one request at a time, under dump_lock. */
    pthread_mutex_t dump_lock;
    pthread_cond_t dump_cond;
    const char *dump_path; /* request */
    bool dump_pending;
    int dump_rc;
    unsigned dump_seq; /* automatic dumps written so far (file numbering) */
    int sig;
    struct sigaction old_sa;
    bool sig_installed;
} tr_state;

extern tr_state weft__tr;

void weft__trace_writer_kick(void);
void *weft__trace_writer_main(void *arg);
/* Writes the name of fn address addr into buf (dladdr, then the ELF symbol table of
 * /proc/self/exe, then "0x..."). */
void weft__trace_symname(uint64_t addr, char *buf, size_t len);
void weft__trace_sym_fini(void);
/* Allocates a chunk and links it into s->all; NULL at the cap or out of memory. */
tr_chunk *weft__trace_chunk_new(tr_state *s);

#endif
