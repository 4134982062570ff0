/* weft-trace's internal interface: loading a trace file (read.c), the model built from it
 * in one time-ordered pass (model.c), and the three outputs (summary.c, perfetto.c,
 * svg.c). The file format is runtime/trace_format.h; nothing here links the runtime.
 *
 * Error policy: a file that is not a weft trace at all (bad magic, unknown version,
 * impossible header) is an error; damage after a valid header (a truncated last record,
 * a corrupt record size) keeps everything read before it and says so in `warn`, because
 * the most interesting traces are the ones a crash cut short. */
#ifndef WEFT_TOOLS_TRACE_H
#define WEFT_TOOLS_TRACE_H

#include "runtime/trace_format.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WT_MAX_WORKERS 4096u /* more is taken as a corrupt header */

/* One worker's events, in timestamp order (sorted at load if a writer broke that). */
typedef struct wt_lane {
    weft_trace_event *ev;
    size_t n, cap;
} wt_lane;

typedef struct wt_sym {
    uint64_t addr;
    char *name;
} wt_sym;

typedef struct wt_trace {
    weft_trace_file_header hdr;
    unsigned nworkers;
    unsigned nlanes; /* nworkers + 1: lane nworkers holds plain-thread (NO_WORKER) events */
    wt_lane *lanes;
    wt_sym *syms; /* sorted by addr, unique */
    size_t nsyms;
    size_t nevents;
    uint64_t t0, t1; /* first and last timestamp (0, 0 without events) */
    bool has_end;
    uint64_t end_written, end_dropped;
    size_t skipped_records; /* records of kinds this reader does not know */
    char warn[256];         /* first damage found after the header, "" if none */
} wt_trace;

/* Loads a whole trace; 0 or -errno with a message in err. Never crashes on bad input. */
int wt_trace_load_mem(wt_trace *t, const void *buf, size_t len, char *err, size_t errlen);
int wt_trace_load_file(wt_trace *t, const char *path, char *err, size_t errlen);
void wt_trace_free(wt_trace *t);
const char *wt_trace_sym(const wt_trace *t, uint64_t addr); /* NULL if not named */

/* ---- model.c: the trace replayed in global time order ---- */

typedef struct wt_fn {
    uint64_t addr;
    char *name; /* symbol, or "0x..." for an unnamed address, "?" for unknown */
    uint64_t busy_ns;
    uint64_t runs;
    uint32_t hash; /* of the name: a colour that is stable across runs and builds */
} wt_fn;

typedef struct wt_slice { /* one run of a task on a worker */
    uint64_t t0, t1;
    uint64_t task;
    uint32_t fn;     /* index into model.fns */
    uint32_t qdepth; /* local queue depth at the start (RUN_START.a) */
    uint8_t reason;  /* weft_trace_reason of the stop, 0 if the trace ended first */
} wt_slice;

typedef struct wt_span {
    uint64_t t0, t1;
} wt_span;

typedef struct wt_steal {
    uint64_t ts;
    uint32_t victim;
    uint32_t count;
} wt_steal;

typedef struct wt_mark { /* an instant on a worker: I/O, timers, injection pulls, stalls */
    uint64_t ts;
    uint64_t task; /* STALL: the stuck task */
    uint64_t n;    /* SQEs, CQEs, timers, tasks pulled, ns stuck */
    uint32_t fn;   /* STALL: the stuck task's function */
    uint8_t type;  /* weft_trace_ev */
} wt_mark;

typedef struct wt_flow { /* a wake, drawn from the waker's worker to the run it caused */
    uint64_t from_ts, to_ts;
    uint64_t task;
    uint32_t from_lane, to_lane;
    uint8_t src; /* weft_trace_wake_src */
} wt_flow;

typedef struct wt_worker {
    uint64_t busy_ns, park_ns, search_ns;
    uint64_t runs, steals, stolen_tasks, robbed, parks, inject_pulls, inject_tasks;
    uint64_t io_submits, io_sqes, io_reaps, io_cqes, timer_fires, timers, stalls;
    uint32_t max_q;
    wt_slice *sl;
    size_t nsl, capsl;
    wt_span *pk; /* parked */
    size_t npk, cappk;
    wt_span *se; /* searching for work (spinning, stealing) */
    size_t nse, capse;
    wt_steal *st;
    size_t nst, capst;
    wt_mark *mk;
    size_t nmk, capmk;
} wt_worker;

typedef struct wt_task {
    uint64_t id, parent;
    uint32_t fn;
    uint64_t spawn_ts, end_ts;
    uint64_t runs, busy_ns, wait_ns, max_slice, max_slice_ts;
    uint32_t max_slice_lane;
    uint32_t hops;
    uint32_t long_runs; /* runs of WT_LONG_SLICE_NS or more */
    uint64_t yields, self_wakes;
    uint32_t streak, max_streak; /* consecutive short yield/self-wake runs */
    /* replay state */
    uint64_t ready_ts, run_ts, wake_ts;
    uint32_t last_lane, wake_lane;
    uint8_t running, ready, woke_while_running, self_woke, has_wake, wake_src;
} wt_task;

typedef struct wt_model {
    const wt_trace *trace;
    uint64_t t0, t1;
    unsigned nlanes;
    wt_worker *w;
    wt_fn *fns;
    size_t nfns, capfns;
    wt_task *tasks;
    size_t ntasks, captasks;
    uint64_t *lat; /* schedule latencies (ready -> run start), sorted ascending */
    size_t nlat, caplat;
    wt_flow *flows;
    size_t nflows, capflows;
    /* private: open-addressing maps from task id / fn address to index */
    uint32_t *tmap;
    size_t tmap_cap;
    uint32_t *fmap;
    size_t fmap_cap;
} wt_model;

/* A slice at least this long is a task that "never suspends". */
#define WT_LONG_SLICE_NS (100ull * 1000 * 1000)
/* A run this short that ends in a yield or a self-wake continues a busy-poll streak... */
#define WT_SHORT_RUN_NS (50ull * 1000)
/* ...and a streak this long is a self-wake loop. */
#define WT_SELF_LOOP_MIN 1000u
/* Queue depth at which a parked worker elsewhere counts as a missed steal. */
#define WT_LONG_QUEUE 8u

int wt_model_build(wt_model *m, const wt_trace *t); /* 0 or -ENOMEM */
void wt_model_free(wt_model *m);
const wt_task *wt_model_task(const wt_model *m, uint64_t id); /* NULL if never seen */

/* ---- outputs: 0, or -errno when writing failed ---- */
int wt_summary(const wt_model *m, FILE *out);
int wt_perfetto(const wt_model *m, FILE *out);
/* Only what overlaps [from, to] (ns from the trace's first event); timestamps unchanged. */
int wt_perfetto_window(const wt_model *m, FILE *out, uint64_t from, uint64_t to);
int wt_svg(const wt_model *m, FILE *out);
/* The window [from, to] in ns from the trace's first event; outside the trace: all of it. */
int wt_svg_window(const wt_model *m, FILE *out, uint64_t from, uint64_t to);
int wt_dump(const wt_trace *t, FILE *out); /* one line per event, time order */

/* ---- util.c ---- */
const char *wt_fmt_ns(char *buf, size_t len, uint64_t ns); /* "1.25 ms" */
void wt_json_str(FILE *out, const char *s);                /* a quoted, escaped JSON string */
void wt_xml_str(FILE *out, const char *s);                 /* escaped XML text */
uint32_t wt_hash(const char *s);
/* "#12", or "#1:34" for ids of the form ((worker + 1) << 48) | n: spawned on worker 1. */
const char *wt_fmt_task(char *buf, size_t len, uint64_t id);
const char *wt_worker_name(const wt_model *m, unsigned lane, char *buf, size_t len);

#endif
