/* weft — the binary trace format written under WEFT_TRACE=FILE and read by weft-trace.
 *
 * Described in prose in docs/trace-format.md (this header is the normative definition).
 * Private to weft (the runtime writes it, tools/weft-trace reads it); no liburing or ck
 * types here so the tool can include it alone. All integers are little-endian (the
 * runtime is x86-64/aarch64 Linux only); structures are packed by construction (every
 * field naturally aligned, sizes asserted below).
 *
 * A file is:
 *  1. One weft_trace_file_header.
 *  2. Any number of records, each starting with a weft_trace_rec_header that gives its
 *     kind and total size, so a reader skips kinds it does not know:
 *       - WEFT_TRACE_REC_EVENTS2 (what the recorder writes) or WEFT_TRACE_REC_EVENTS (the
 *         fixed-size form of version 1): a batch of one worker's events, in the order that
 *         worker recorded them (timestamps non-decreasing within a batch and across that
 *         worker's batches, up to rounding: readers clamp). Batches of different workers
 *         interleave in any order.
 *       - WEFT_TRACE_REC_SYMBOL: the name of a function address that appears in SPAWN
 *         events (resolved by the writer with dladdr / the ELF symbol table), written
 *         before or after the events that use it; a reader collects them all first.
 *       - WEFT_TRACE_REC_END: written last by a clean shutdown, with the number of events
 *         dropped because a buffer was full. A file without it was cut short (crash, or a
 *         flight-recorder dump, which sets WEFT_TRACE_F_FLIGHT in the header instead).
 *  3. Timestamps are nanoseconds since the trace started (header.start_mono_ns is
 *     CLOCK_MONOTONIC at that moment): EVENTS2 batches carry raw clock (TSC) deltas and
 *     the factor that converts them; EVENTS hold converted nanoseconds.
 *
 * Task ids: 64-bit, unique for the whole trace (tasks are pooled and reused in memory,
 * so the pointer is not an identity); 0 means "no task" (the scheduler itself, a timer,
 * an I/O completion, a plain thread). Worker numbers are 0..nworkers-1; WEFT_TRACE_NO_WORKER
 * stands for a plain thread outside the runtime.
 */
#ifndef WEFT_TRACE_FORMAT_H
#define WEFT_TRACE_FORMAT_H

#include <stdint.h>

#define WEFT_TRACE_MAGIC "WEFTTRC1" /* 8 bytes, no terminating NUL in the file */
/* 2: events are recorded in EVENTS2 records (compact, runtime/trace_codec.h). A reader
 * of version 2 reads version 1 files too: they differ only in which record kinds occur. */
#define WEFT_TRACE_VERSION 2u
#define WEFT_TRACE_NO_WORKER 0xffffu

enum { WEFT_TRACE_F_FLIGHT = 1u << 0 }; /* a flight-recorder dump: only the last window */

typedef struct weft_trace_file_header {
    char magic[8];          /* WEFT_TRACE_MAGIC */
    uint32_t version;       /* WEFT_TRACE_VERSION */
    uint32_t header_size;   /* sizeof(weft_trace_file_header); readers skip extra bytes */
    uint32_t nworkers;      /* workers of the traced runtime */
    uint32_t flags;         /* WEFT_TRACE_F_* */
    uint32_t pid;           /* traced process */
    uint32_t event_size;    /* sizeof(weft_trace_event) */
    uint64_t start_mono_ns; /* CLOCK_MONOTONIC at timestamp 0 */
    uint64_t start_unix_ns; /* CLOCK_REALTIME at timestamp 0 */
    char exe[64];           /* program name (basename of /proc/self/exe), NUL-terminated */
} weft_trace_file_header;

enum weft_trace_rec_kind {
    WEFT_TRACE_REC_EVENTS = 1,
    WEFT_TRACE_REC_SYMBOL = 2,
    WEFT_TRACE_REC_END = 3,
    WEFT_TRACE_REC_EVENTS2 = 4,
};
/* END: events_written counts the events recorded (the counts of all EVENTS and EVENTS2
 * records add up to it; an END that an EVENTS2 RUN_STOP stands for is not counted);
 * events_dropped those lost because the writer fell behind (every buffer full). */

typedef struct weft_trace_rec_header {
    uint32_t kind;  /* weft_trace_rec_kind */
    uint32_t size;  /* bytes of this record, header included; a multiple of 8 */
    uint32_t count; /* EVENTS: number of events; SYMBOL: name length (no NUL); END: 0 */
    uint16_t worker; /* EVENTS: the recording worker; otherwise 0 */
    uint16_t reserved;
} weft_trace_rec_header;
/* EVENTS2: one worker's batch of events in the compact encoding that the recorder
 * writes into its buffers and the writer copies out untouched: a weft_trace_batch, then
 * nbytes of encoded events (count of them; encoding in runtime/trace_codec.h), zero-padded
 * to 8. Event i's time in ns since the trace started is
 *     base_ns + (uint64_t)(ticks_i * ns_per_tick)
 * where ticks_i is the sum of the time deltas of events 0..i of the batch. */
typedef struct weft_trace_batch {
    uint64_t base_ns;   /* ns since the trace started at the batch's time base */
    double ns_per_tick; /* converts the events' time deltas (raw clock ticks) to ns */
    uint32_t nbytes;    /* bytes of encoded events that follow */
    uint32_t reserved;
} weft_trace_batch;
/* EVENTS: followed by count weft_trace_event (the fixed-size form, 40 bytes each).
 * SYMBOL: followed by uint64_t addr, then count bytes of name, zero-padded to 8.
 * END:    followed by uint64_t events_written, uint64_t events_dropped. */

/* Event kinds. "task" is the event's task field; a, b, c as listed. */
enum weft_trace_ev {
    WEFT_EV_SPAWN = 1,      /* task = new task; b = parent task id (0: plain thread); c = fn address */
    WEFT_EV_RUN_START = 2,  /* task starts/resumes on this worker; a = local queue depth; b = worker it last ran on (WEFT_TRACE_NO_WORKER: first run) */
    WEFT_EV_RUN_STOP = 3,   /* task switched out; reason = weft_trace_reason; a = I/O op (io_uring opcode) for REASON_IO */
    WEFT_EV_WAKE = 4,       /* task made runnable; b = waker task id (0: none); a = waker's worker (WEFT_TRACE_NO_WORKER: plain thread); reason = weft_trace_wake_src */
    WEFT_EV_END = 5,        /* task finished; b = status (int64, 0 or -errno) */
    WEFT_EV_STEAL = 6,      /* this worker stole; a = victim worker; b = tasks taken */
    WEFT_EV_PARK = 7,       /* worker goes to sleep (nothing to run) */
    WEFT_EV_UNPARK = 8,     /* worker woke from sleep; reason = 0 */
    WEFT_EV_INJECT_PULL = 9, /* tasks taken from the global (injection) queue; b = count */
    WEFT_EV_IO_SUBMIT = 10, /* one io_uring_enter submitting b SQEs */
    WEFT_EV_IO_COMPLETE = 11, /* one reap pass; b = CQEs reaped */
    WEFT_EV_TIMER_FIRE = 12, /* timers fired in one pass; b = count */
    WEFT_EV_SEARCH = 13,    /* worker starts searching for work (spinning/stealing) */
    WEFT_EV_STALL = 14,     /* monitor: task has run b ns without suspending on this worker */
};
/* Notes on the kinds, as the recorder writes them (additions to the list above):
 *  - SPAWN also stands for the task's first wake-up: no WAKE(WEFT_TW_SPAWN) follows it, so
 *    a reader measures a new task's schedule latency from SPAWN to its first RUN_START
 *    (b = WEFT_TRACE_NO_WORKER). WEFT_TW_SPAWN is reserved.
 *  - RUN_STOP(WEFT_TR_DONE) is immediately followed, in the same worker's batch, by END.
 *  - WAKE is recorded only when the wake-up makes a parked (or parking) task runnable, by
 *    the waker's thread: in the batch of worker a, or of WEFT_TRACE_NO_WORKER for a plain
 *    thread. A wake-up that only leaves a permit (the task had not parked yet) is not an
 *    event. Wake-ups done while a worker fires timers or reaps completions carry
 *    WEFT_TW_TIMER / WEFT_TW_IO and b = 0.
 *  - STEAL: also b = 1 when a stuck worker's next-task slot was taken.
 *  - SEARCH has no end event: the search ends at the worker's next RUN_START or PARK.
 *  - PARK/UNPARK bracket the worker's sleep in its io_uring; an IO_SUBMIT right before
 *    PARK counts SQEs the sleeping io_uring_enter submits.
 *  - STALL is recorded by the monitor thread, in a WEFT_TRACE_NO_WORKER batch:
 *    a = the stuck worker, task = the task's id, b = ns it has run, c = its fn address
 *    (named by a SYMBOL record like SPAWN's).
 *  - task = 0 for the scheduler's own events (STEAL, PARK, UNPARK, INJECT_PULL,
 *    IO_SUBMIT, IO_COMPLETE, TIMER_FIRE, SEARCH).
 *  - Task ids: a task spawned on worker w has id ((w + 1) << 48) | n; one spawned by a
 *    plain thread has a small id n. */

/* Why a task switched out (RUN_STOP.reason). */
enum weft_trace_reason {
    WEFT_TR_YIELD = 1,   /* weft_yield: still runnable */
    WEFT_TR_SLEEP = 2,   /* weft_sleep / timer wait */
    WEFT_TR_JOIN = 3,    /* join, gather, set_next, wait_for */
    WEFT_TR_CHAN = 4,    /* channel send/recv, select */
    WEFT_TR_LOCK = 5,    /* mutex, rwlock, semaphore, condition, event, barrier, wait group */
    WEFT_TR_IO = 6,      /* an io_uring operation; a = opcode */
    WEFT_TR_DONE = 7,    /* the task returned (an END event follows) */
    WEFT_TR_OTHER = 8,   /* any other park (generators, blocking pool, signals) */
    WEFT_TR_MIGRATE = 9, /* still runnable, moved to worker a (weft_move_to, channels) */
};

/* Who made a task runnable (WAKE.reason). */
enum weft_trace_wake_src {
    WEFT_TW_TASK = 1,   /* another task (b, on worker a) */
    WEFT_TW_TIMER = 2,  /* a timer or deadline on worker a */
    WEFT_TW_IO = 3,     /* an io_uring completion reaped by worker a */
    WEFT_TW_THREAD = 4, /* a plain thread (blocking pool, bridge) */
    WEFT_TW_SPAWN = 5,  /* first schedule after spawn */
};

typedef struct weft_trace_event {
    uint64_t ts;     /* ns since trace start */
    uint8_t type;    /* weft_trace_ev */
    uint8_t reason;  /* per type, see above */
    uint16_t flags;  /* 0 for now */
    uint32_t a;
    uint64_t task;   /* task id, 0: none */
    uint64_t b;
    uint64_t c;
} weft_trace_event;

_Static_assert(sizeof(weft_trace_file_header) == 112, "trace header layout");
_Static_assert(sizeof(weft_trace_rec_header) == 16, "trace record header layout");
_Static_assert(sizeof(weft_trace_event) == 40, "trace event layout");
_Static_assert(sizeof(weft_trace_batch) == 24, "trace batch layout");

#endif
