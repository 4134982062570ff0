/* weft runtime — private to the trace recorder (trace.c) and its writer thread
 * (trace_writer.c). The protocol between them:
 *  1. Events go into fixed-size chunks. Each recording thread owns one buffer (a worker
 *     its own; plain threads share one under a spinlock): the chunk being filled, and
 *     two single-producer single-consumer rings, `full` (buffer → writer) and `free`
 *     (writer → buffer).
 *  2. The owner appends an event in the compact encoding (trace_codec.h), then publishes
 *     the chunk's byte and event counts with one release store, so the writer may read a
 *     prefix of the chunk being filled (flight dumps). The writer copies chunks into the
 *     file as they are: it neither decodes nor converts events.
 *  2a. A SPAWN or STALL whose function address the buffer has not announced yet (a small
 *     direct-mapped memory of them) also pushes the address into `syms`; the writer names
 *     each address once.
 *  3. A full chunk goes into `full`; the owner takes the next one from `free`. If `free`
 *     is empty it allocates a new chunk while under the memory cap (trace.c, refill);
 *     past the cap, and in flight mode (every chunk allocated up front), the event is
 *     dropped and counted: a worker never waits for the writer.
 *  4. The writer drains every `full` ring, writes the chunks (or, in flight mode, keeps
 *     them in a FIFO of bounded size, reusing the oldest), and tops `free` up again.
 *  5. Stop: the workers hand over their last chunk when they exit; weft__trace_stop
 *     flushes the plain threads' buffer, then the writer drains, writes END and exits.
 */
#ifndef WEFT_RUNTIME_TRACE_PRIV_H
#define WEFT_RUNTIME_TRACE_PRIV_H

#include "runtime/internal.h"
#include "runtime/trace_codec.h"

enum {
    TR_CHUNK_BYTES = 64 * 1024,
    TR_RING = 4096,    /* slots of each SPSC ring: 256 MiB of chunks may wait for the writer */
    TR_FREE_FILL = 64, /* chunks the writer keeps in each buffer's free ring */
    TR_MAX_MIB = 256,  /* default cap on chunk memory (WEFT_TRACE_BUFFER_MB) */
};

typedef struct tr_chunk {
    struct tr_chunk *next;     /* writer's lists */
    struct tr_chunk *all_next; /* every chunk, for teardown */
    /* What the owner has published (release; readers acquire): bytes of encoded events
     * in the low 32 bits, events in the high 32. */
    _Atomic uint64_t pub;
    uint64_t base_raw; /* raw clock the first event's delta counts from */
    uint16_t worker;   /* recording worker, WEFT_TRACE_NO_WORKER for plain threads */
    uint8_t data[];    /* events in the compact encoding (trace_codec.h) */
} tr_chunk;
#define TR_CHUNK_DATA (TR_CHUNK_BYTES - sizeof(tr_chunk))
static inline uint32_t tr_pub_bytes(uint64_t pub)
{
    return (uint32_t)pub;
}
static inline uint32_t tr_pub_events(uint64_t pub)
{
    return (uint32_t)(pub >> 32);
}

/* A single-producer single-consumer ring of pointers (chunks; function addresses to name).
 * C11 atomics rather than ck_ring, whose fences ThreadSanitizer cannot see. */
typedef struct tr_ring {
    _Atomic uint32_t head WEFT_ALIGNED; /* next slot to take; consumer-written */
    _Atomic uint32_t tail WEFT_ALIGNED; /* next slot to fill; producer-written */
    void *slot[TR_RING];
} tr_ring;

static inline bool tr_ring_push(tr_ring *r, void *c)
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

static inline void *tr_ring_pop(tr_ring *r)
{
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    /* acquire: pairs with the producer's release of tail */
    if (h == atomic_load_explicit(&r->tail, memory_order_acquire))
        return NULL;
    void *c = r->slot[h % TR_RING];
    /* release: our read of the slot before the producer may reuse it */
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return c;
}

static inline uint32_t tr_ring_len(tr_ring *r)
{
    return atomic_load_explicit(&r->tail, memory_order_acquire) -
           atomic_load_explicit(&r->head, memory_order_acquire);
}

enum { TR_FN_SEEN = 64 }; /* function addresses each buffer remembers having announced */

typedef struct tr_buf {
    /* Owner side. */
    tr_chunk *cur_own;
    uint8_t *p;          /* where the next event goes in cur_own */
    uint8_t *lim;        /* past it, an event may not fit: take the next chunk */
    uint32_t nev;        /* events in cur_own */
    weft_trace_codec st; /* the encoder's state in cur_own (st.ticks: the last clock read) */
    uint64_t drops;      /* events dropped; read by the writer after the owner stopped */
    uint64_t fn_seen[TR_FN_SEEN]; /* direct-mapped: addresses already in `syms` */
    _Atomic(tr_chunk *) cur WEFT_ALIGNED; /* cur_own, for the flight dump (release) */
    uint16_t worker;
    tr_ring full; /* owner → writer */
    tr_ring free; /* writer → owner */
    tr_ring syms; /* owner → writer: function addresses of SPAWN and STALL to name */
} tr_buf;

typedef struct tr_state {
    FILE *f;
    char *path;
    bool flight;
    bool precise; /* WEFT_TRACE_PRECISE=1: every event reads the clock (no tr_fresh) */
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
