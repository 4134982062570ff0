/* Synthetic weft traces for test_trace_tool (see trace_synth.h). Events are scripted per
 * worker, sorted by time per worker (as the recorder guarantees), then written as
 * interleaved batches of up to 50 events — different workers' batches mixed, symbols in
 * the middle of the file — the way a background writer thread would produce them. */
#include "trace_synth.h"

#include "runtime/trace_codec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_RECV = 27, OP_SEND = 26 }; /* io_uring opcodes, as RUN_STOP.a */

#define US 1000ull
#define MS 1000000ull

typedef struct evlist {
    weft_trace_event *ev;
    size_t n, cap;
} evlist;

typedef struct gen {
    unsigned nw;
    evlist lane[SYNTH_MAX_WORKERS + 1]; /* [nw]: plain threads */
    uint64_t next_id;
    uint32_t *last_worker; /* per task id: where it last ran */
    size_t last_cap;
    synth_expect *x;
    int oom;
} gen;

/* Function "addresses" and their names. */
enum {
    F_MAIN = 0x401000,
    F_CONN = 0x401200,
    F_CRUNCH = 0x401400,
    F_CHILD = 0x401600,
    F_POLL = 0x401800,
    F_SLEEPER = 0x401a00,
    F_BRIDGE = 0x401c00
};
static const struct {
    uint64_t addr;
    const char *name;
} syms[] = {{F_MAIN, "main_task"},        {F_CONN, "handle_conn"}, {F_CRUNCH, "crunch_numbers"},
            {F_CHILD, "child_job"},       {F_POLL, "poll_flag"},   {F_SLEEPER, "sleeper"},
            {F_BRIDGE, "bridge \"q\"<&>"}};

static void ev(gen *g, unsigned lane, uint64_t ts, int type, int reason, uint32_t a, uint64_t task,
               uint64_t b, uint64_t c)
{
    evlist *l = &g->lane[lane];
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        weft_trace_event *e = realloc(l->ev, cap * sizeof(*e));
        if (!e) {
            g->oom = 1;
            return;
        }
        l->ev = e;
        l->cap = cap;
    }
    l->ev[l->n++] = (weft_trace_event){.ts = ts,
                                       .type = (uint8_t)type,
                                       .reason = (uint8_t)reason,
                                       .a = a,
                                       .task = task,
                                       .b = b,
                                       .c = c};
    g->x->events++;
}

static uint64_t spawn(gen *g, unsigned w, uint64_t ts, uint64_t parent, uint64_t fn)
{
    uint64_t id = g->next_id++;
    if (id >= g->last_cap) {
        size_t cap = g->last_cap ? g->last_cap * 2 : 1024;
        uint32_t *p = realloc(g->last_worker, cap * sizeof(*p));
        if (!p) {
            g->oom = 1;
            return id;
        }
        for (size_t i = g->last_cap; i < cap; i++)
            p[i] = WEFT_TRACE_NO_WORKER;
        g->last_worker = p;
        g->last_cap = cap;
    }
    ev(g, w, ts, WEFT_EV_SPAWN, 0, 0, id, parent, fn); /* also its first wake-up */
    g->x->tasks++;
    g->x->wakes++;
    return id;
}

/* One run of task on worker w: [ts, ts+dur), stopping for reason. Returns the end. */
static uint64_t run(gen *g, unsigned w, uint64_t ts, uint64_t task, uint64_t dur, uint32_t q,
                    int reason, uint32_t op)
{
    uint32_t last = task < g->last_cap ? g->last_worker[task] : WEFT_TRACE_NO_WORKER;
    ev(g, w, ts, WEFT_EV_RUN_START, 0, q, task, last, 0);
    ev(g, w, ts + dur, WEFT_EV_RUN_STOP, reason, op, task, 0, 0);
    if (reason == WEFT_TR_DONE)
        ev(g, w, ts + dur, WEFT_EV_END, 0, 0, task, 0, 0);
    if (task < g->last_cap)
        g->last_worker[task] = w;
    g->x->runs[w]++;
    return ts + dur;
}

static void wake(gen *g, unsigned lane, uint64_t ts, uint64_t task, uint64_t waker,
                 uint32_t waker_worker, int src)
{
    ev(g, lane, ts, WEFT_EV_WAKE, src, waker_worker, task, waker, 0);
    g->x->wakes++;
}

static void steal(gen *g, unsigned w, uint64_t ts, unsigned victim, uint64_t n)
{
    ev(g, w, ts, WEFT_EV_SEARCH, 0, 0, 0, 0, 0);
    ev(g, w, ts + 1 * US, WEFT_EV_STEAL, 0, victim, 0, n, 0);
    g->x->steals[w]++;
}

static void park(gen *g, unsigned w, uint64_t t0, uint64_t t1)
{
    ev(g, w, t0, WEFT_EV_PARK, 0, 0, 0, 0, 0);
    ev(g, w, t1, WEFT_EV_UNPARK, 0, 0, 0, 0, 0);
    g->x->parks[w]++;
}

static void script(gen *g)
{
    synth_expect *x = g->x;
    uint64_t cur[2];
    /* Phase A: main spawns 200 connections; worker 1 steals; connections hop. */
    uint64_t main_id = spawn(g, 0, 0, 0, F_MAIN);
    uint64_t conn[200];
    ev(g, 0, 1 * US, WEFT_EV_RUN_START, 0, 0, main_id, WEFT_TRACE_NO_WORKER, 0);
    g->last_worker[main_id] = 0;
    x->runs[0]++;
    for (int i = 0; i < 200; i++)
        conn[i] = spawn(g, 0, 2 * US + (uint64_t)i * 9 * US, main_id, F_CONN);
    ev(g, 0, 2 * MS, WEFT_EV_RUN_STOP, WEFT_TR_JOIN, 0, main_id, 0, 0);
    park(g, 1, 0, 300 * US);
    cur[0] = 2 * MS + 5 * US;
    cur[1] = 310 * US;
    for (int i = 0; i < 200; i++) {
        unsigned w = (unsigned)(i % 2);
        if (w == 1 && i % 16 == 1) {
            steal(g, 1, cur[1], 0, 8);
            cur[1] += 3 * US;
        }
        cur[w] = run(g, w, cur[w], conn[i], 100 * US, (uint32_t)(200 - i) / 2, WEFT_TR_IO, OP_RECV);
        ev(g, w, cur[w] + 1 * US, WEFT_EV_IO_SUBMIT, 0, 0, 0, 1, 0);
        cur[w] += 5 * US;
    }
    for (int i = 0; i < 200; i++) {
        unsigned w = (unsigned)(1 - i % 2); /* completes on the other worker: a hop */
        ev(g, w, cur[w], WEFT_EV_IO_COMPLETE, 0, 0, 0, 1, 0);
        wake(g, w, cur[w] + 1 * US, conn[i], 0, w, WEFT_TW_IO);
        cur[w] = run(g, w, cur[w] + 3 * US, conn[i], 50 * US, 0, WEFT_TR_DONE, 0) + 2 * US;
    }
    /* The last connection wakes main (a task wake across workers). */
    uint64_t t = cur[0] > cur[1] ? cur[0] : cur[1];
    wake(g, 0, cur[0] - 2 * US, main_id, conn[199], 0, WEFT_TW_TASK);
    t += 10 * US;

    /* Phase B: main spawns a CPU hog and 20 children; worker 1 is parked all along. */
    uint64_t crunch = spawn(g, 0, t + 1 * US, main_id, F_CRUNCH);
    uint64_t kids[20];
    for (int i = 0; i < 20; i++)
        kids[i] = spawn(g, 0, t + 2 * US + (uint64_t)i * US, main_id, F_CHILD);
    run(g, 0, t, main_id, 30 * US, 0, WEFT_TR_JOIN, 0);
    x->crunch_task = crunch;
    uint64_t hog = t + 40 * US;
    park(g, 1, cur[1] + 5 * US, hog + 140 * MS);
    uint64_t end = run(g, 0, hog, crunch, 150 * MS, 20, WEFT_TR_DONE, 0);
    /* The monitor thread's report: a plain-thread batch, a = the stuck worker. */
    ev(g, SYNTH_MAX_WORKERS, hog + 100 * MS, WEFT_EV_STALL, 0, 0, crunch, 100 * MS, F_CRUNCH);
    cur[1] = hog + 140 * MS + 5 * US;
    steal(g, 1, cur[1], 0, 10);
    cur[1] += 3 * US;
    cur[0] = end + 2 * US;
    for (int i = 0; i < 20; i++) {
        unsigned w = i < 10 ? 1 : 0;
        cur[w] = run(g, w, cur[w], kids[i], 200 * US, (uint32_t)(i < 10 ? 10 - i : 20 - i),
                     WEFT_TR_DONE, 0) +
                 1 * US;
    }
    wake(g, 0, cur[0], main_id, kids[19], 0, WEFT_TW_TASK);
    t = (cur[0] > cur[1] ? cur[0] : cur[1]) + 10 * US;

    /* Phase C: a busy-polling task on worker 1; sleepers and a bridge on worker 0. */
    uint64_t poll = spawn(g, 0, t + 1 * US, main_id, F_POLL);
    uint64_t sl[5];
    for (int i = 0; i < 5; i++)
        sl[i] = spawn(g, 0, t + 2 * US + (uint64_t)i * US, main_id, F_SLEEPER);
    uint64_t bridge = spawn(g, 0, t + 8 * US, main_id, F_BRIDGE);
    run(g, 0, t, main_id, 20 * US, 0, WEFT_TR_JOIN, 0);
    x->poller_task = poll;
    steal(g, 1, t + 30 * US, 0, 1);
    uint64_t p = t + 40 * US;
    for (int i = 0; i < 1500; i++)
        p = run(g, 1, p, poll, 8 * US, 0, WEFT_TR_YIELD, 0) + 2 * US;
    run(g, 1, p, poll, 5 * US, 0, WEFT_TR_DONE, 0);
    uint64_t c0 = t + 30 * US;
    for (int i = 0; i < 5; i++)
        c0 = run(g, 0, c0, sl[i], 10 * US, 0, WEFT_TR_SLEEP, 0) + 1 * US;
    c0 = run(g, 0, c0, bridge, 10 * US, 0, WEFT_TR_OTHER, 0) + 1 * US;
    for (int round = 0; round < 3; round++) {
        uint64_t wake_at = c0 + 3 * MS;
        park(g, 0, c0, wake_at);
        ev(g, 0, wake_at + 1 * US, WEFT_EV_TIMER_FIRE, 0, 0, 0, 5, 0);
        for (int i = 0; i < 5; i++)
            wake(g, 0, wake_at + 2 * US, sl[i], 0, 0, WEFT_TW_TIMER);
        c0 = wake_at + 5 * US;
        for (int i = 0; i < 5; i++)
            c0 = run(g, 0, c0, sl[i], 20 * US, (uint32_t)(4 - i),
                     round == 2 ? WEFT_TR_DONE : WEFT_TR_SLEEP, 0) +
                 1 * US;
    }
    /* A plain thread (the blocking pool) finishes the bridge's job and wakes it. */
    wake(g, SYNTH_MAX_WORKERS, c0 + 10 * US, bridge, 0, WEFT_TRACE_NO_WORKER, WEFT_TW_THREAD);
    ev(g, 0, c0 + 20 * US, WEFT_EV_INJECT_PULL, 0, 0, 0, 1, 0);
    c0 = run(g, 0, c0 + 21 * US, bridge, 15 * US, 0, WEFT_TR_DONE, 0);
    uint64_t last = (c0 > p ? c0 : p) + 10 * US;
    wake(g, 0, last - 5 * US, main_id, bridge, 0, WEFT_TW_TASK);
    run(g, 0, last, main_id, 10 * US, 0, WEFT_TR_DONE, 0);
}

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const void *data, size_t len)
{
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + len)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
}

/* Insertion sort: stable (equal timestamps keep the order the script emitted them in) and
 * cheap because the script emits each worker's events almost in order. */
static void sort_lane(evlist *l)
{
    for (size_t i = 1; i < l->n; i++) {
        if (l->ev[i].ts < l->ev[i - 1].ts) {
            /* insertion-merge keeps equal timestamps in emission order */
            weft_trace_event e = l->ev[i];
            size_t j = i;
            while (j > 0 && l->ev[j - 1].ts > e.ts) {
                l->ev[j] = l->ev[j - 1];
                j--;
            }
            l->ev[j] = e;
        }
    }
}

static void emit(gen *g, buf *b, int with_end)
{
    weft_trace_file_header h = {.version = WEFT_TRACE_VERSION,
                                .header_size = sizeof(h),
                                .nworkers = g->nw,
                                .pid = 4242,
                                .event_size = sizeof(weft_trace_event),
                                .start_mono_ns = 123456789,
                                .start_unix_ns = 1700000000000000000ull};
    memcpy(h.magic, WEFT_TRACE_MAGIC, 8);
    snprintf(h.exe, sizeof(h.exe), "synth_server");
    put(b, &h, sizeof(h));
    size_t pos[SYNTH_MAX_WORKERS + 1] = {0};
    unsigned lanes[SYNTH_MAX_WORKERS + 1];
    unsigned nl = 0;
    for (unsigned l = 0; l < g->nw; l++)
        lanes[nl++] = l;
    lanes[nl++] = SYNTH_MAX_WORKERS;
    int syms_done = 0, more = 1;
    uint64_t written = 0;
    for (unsigned round = 0; more; round++) {
        more = 0;
        for (unsigned k = 0; k < nl; k++) {
            evlist *l = &g->lane[lanes[k]];
            size_t n = l->n - pos[lanes[k]];
            if (!n)
                continue;
            /* Uneven batch sizes, so batches of different workers interleave unevenly. */
            size_t cnt = n < 50 - (round + k) % 17 ? n : 50 - (round + k) % 17;
            const weft_trace_event *e = l->ev + pos[lanes[k]];
            uint16_t worker =
                (uint16_t)(lanes[k] == SYNTH_MAX_WORKERS ? WEFT_TRACE_NO_WORKER : lanes[k]);
            if ((round + k) % 3 == 2) {
                /* The fixed-size form of version 1, which readers still take. */
                weft_trace_rec_header r = {
                    .kind = WEFT_TRACE_REC_EVENTS,
                    .size = (uint32_t)(sizeof(r) + cnt * sizeof(weft_trace_event)),
                    .count = (uint32_t)cnt,
                    .worker = worker};
                put(b, &r, sizeof(r));
                put(b, e, cnt * sizeof(weft_trace_event));
                written += cnt;
            } else {
                /* The compact form the recorder writes; a RUN_STOP(DONE) stands for its END,
                 * so the two stay in one batch. */
                if (cnt < n && e[cnt - 1].type == WEFT_EV_RUN_STOP &&
                    e[cnt - 1].reason == WEFT_TR_DONE)
                    cnt++;
                uint8_t *data = malloc(cnt * WEFT_TRACE_MAX_ENCODED + 8), *p = data;
                if (!data) {
                    b->oom = 1;
                    return;
                }
                weft_trace_codec st; /* base = the first event's ns, 1 tick = 1 ns */
                weft_trace_codec_batch(&st, e[0].ts, worker);
                uint32_t nrec = 0;
                for (size_t i = 0; i < cnt; i++) {
                    uint32_t a = e[i].a;
                    bool done = e[i].type == WEFT_EV_RUN_STOP && e[i].reason == WEFT_TR_DONE;
                    bool end = done && i + 1 < cnt && e[i + 1].type == WEFT_EV_END;
                    if (done) /* the status of the END right after it */
                        a = end ? (uint32_t)e[i + 1].b : 0;
                    p = weft_trace_encode(p, &st, e[i].ts, e[i].type, e[i].reason, a, e[i].task,
                                          e[i].b, e[i].c);
                    i += end;
                    nrec++;
                }
                uint32_t nbytes = (uint32_t)(p - data), padded = (nbytes + 7) & ~7u;
                memset(p, 0, padded - nbytes);
                weft_trace_rec_header r = {
                    .kind = WEFT_TRACE_REC_EVENTS2,
                    .size = (uint32_t)(sizeof(r) + sizeof(weft_trace_batch) + padded),
                    .count = nrec,
                    .worker = worker};
                weft_trace_batch bh = {.base_ns = e[0].ts, .ns_per_tick = 1.0, .nbytes = nbytes};
                put(b, &r, sizeof(r));
                put(b, &bh, sizeof(bh));
                put(b, data, padded);
                free(data);
                written += nrec;
            }
            pos[lanes[k]] += cnt;
            more |= pos[lanes[k]] < l->n;
        }
        if (!syms_done && round == 3) {
            for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
                size_t len = strlen(syms[i].name), padded = (len + 7) & ~(size_t)7;
                weft_trace_rec_header r = {.kind = WEFT_TRACE_REC_SYMBOL,
                                           .size = (uint32_t)(sizeof(r) + 8 + padded),
                                           .count = (uint32_t)len};
                char name[64] = {0};
                memcpy(name, syms[i].name, len);
                put(b, &r, sizeof(r));
                put(b, &syms[i].addr, 8);
                put(b, name, padded);
            }
            syms_done = 1;
        }
    }
    if (with_end) {
        weft_trace_rec_header r = {.kind = WEFT_TRACE_REC_END, .size = sizeof(r) + 16};
        uint64_t counts[2] = {written, 0};
        g->x->recorded = written;
        put(b, &r, sizeof(r));
        put(b, counts, sizeof(counts));
    }
}

static void gen_free(gen *g)
{
    for (unsigned l = 0; l <= SYNTH_MAX_WORKERS; l++)
        free(g->lane[l].ev);
    free(g->last_worker);
}

static int finish(gen *g, buf *b, int with_end)
{
    for (unsigned l = 0; l <= SYNTH_MAX_WORKERS; l++)
        sort_lane(&g->lane[l]);
    if (!g->oom)
        emit(g, b, with_end);
    gen_free(g);
    return g->oom || b->oom ? -ENOMEM : 0;
}

static int save(buf *b, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -errno;
    size_t w = fwrite(b->p, 1, b->n, f);
    int rc = fclose(f);
    free(b->p);
    return w == b->n && rc == 0 ? 0 : -EIO;
}

int synth_scenario_bytes(unsigned char **out, size_t *len, synth_expect *exp)
{
    synth_expect scratch;
    gen g = {.nw = 2, .next_id = 1, .x = exp ? exp : &scratch};
    buf b = {0};
    memset(g.x, 0, sizeof(*g.x));
    g.x->nworkers = 2;
    script(&g);
    int rc = finish(&g, &b, 1);
    *out = b.p;
    *len = b.n;
    return rc;
}

int synth_scenario(const char *path, synth_expect *exp, int with_end)
{
    synth_expect scratch;
    gen g = {.nw = 2, .next_id = 1, .x = exp ? exp : &scratch};
    buf b = {0};
    memset(g.x, 0, sizeof(*g.x));
    g.x->nworkers = 2;
    script(&g);
    int rc = finish(&g, &b, with_end);
    return rc < 0 ? (free(b.p), rc) : save(&b, path);
}

int synth_big(const char *path, unsigned nworkers, size_t nevents)
{
    synth_expect x;
    memset(&x, 0, sizeof(x));
    if (nworkers > SYNTH_MAX_WORKERS)
        nworkers = SYNTH_MAX_WORKERS;
    gen g = {.nw = nworkers, .next_id = 1, .x = &x};
    buf b = {0};
    uint64_t cur[SYNTH_MAX_WORKERS] = {0};
    static const uint64_t fns[] = {F_CONN, F_CHILD, F_SLEEPER, F_POLL};
    uint64_t rng = 88172645463325252ull;
    for (size_t i = 0; x.events < nevents && !g.oom; i++) {
        unsigned w = (unsigned)(i % nworkers);
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        uint64_t id = spawn(&g, w, cur[w], 0, fns[rng % 4]);
        cur[w] = run(&g, w, cur[w] + 1 * US, id, 1 * US + rng % (40 * US), (uint32_t)(rng % 30),
                     WEFT_TR_DONE, 0) +
                 500;
        if (rng % 97 == 0) {
            park(&g, w, cur[w], cur[w] + 200 * US);
            cur[w] += 201 * US;
        }
        if (rng % 89 == 0)
            steal(&g, w, cur[w], (w + 1) % nworkers, 2), cur[w] += 2 * US;
    }
    int rc = finish(&g, &b, 1);
    return rc < 0 ? (free(b.p), rc) : save(&b, path);
}
