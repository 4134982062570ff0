/* test_trace.c — the trace recorder (WEFT_TRACE / cfg.trace_path): every event kind
 * appears with the right fields in a trace of a small program, read back here with a
 * reader of runtime/trace_format.h; the flight recorder's dump; weft_stats counters;
 * the stall report (function name, backtrace, STALL event in a flight dump). */
#include "fixture.h"

#include "../runtime/trace_codec.h"

#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exported so the runtime (dladdr) and backtrace_symbols name them. */
__attribute__((noinline, visibility("default"))) void *trace_child(void *arg);
__attribute__((noinline, visibility("default"))) void *trace_spinner(void *arg);
__attribute__((noinline, visibility("default"))) void *stall_spinner(void *arg);
__attribute__((noinline, visibility("default"))) void *trace_locker(void *arg);

static char tmpdir[] = "/tmp/weft-trace-XXXXXX";

/* ---- a small reader ------------------------------------------------------------- */

typedef struct {
    weft_trace_file_header h;
    weft_trace_event *ev;
    uint16_t *worker; /* recording worker of ev[i] */
    size_t n;
    struct {
        uint64_t addr;
        char name[128];
    } sym[64];
    size_t nsym;
    bool has_end;
    uint64_t written, dropped;
    uint64_t recorded; /* the records' counts (an END within a RUN_STOP is not one) */
} trace;

static void trace_read(const char *path, trace *t)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open trace %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)size);
    WT_NONNULL(d);
    WT_EQ(fread(d, 1, (size_t)size, f), size);
    fclose(f);
    WT_GE(size, (long)sizeof t->h);
    memcpy(&t->h, d, sizeof t->h);
    WT_EQ(memcmp(t->h.magic, WEFT_TRACE_MAGIC, 8), 0);
    WT_EQ(t->h.version, WEFT_TRACE_VERSION);
    WT_EQ(t->h.event_size, sizeof(weft_trace_event));
    WT_NE(t->h.pid, 0);
    size_t cap = (size_t)size / 4 + 2; /* 8 bytes an event at least, 2 events at most */
    t->ev = malloc(cap * sizeof *t->ev);
    t->worker = malloc(cap * sizeof *t->worker);
    long off = t->h.header_size;
    while (off < size) {
        weft_trace_rec_header r;
        WT_LE(off + (long)sizeof r, size);
        memcpy(&r, d + off, sizeof r);
        WT_EQ(r.size % 8, 0);
        WT_GE(r.size, sizeof r);
        WT_LE(off + (long)r.size, size);
        WT_FALSE(t->has_end); /* END is the last record */
        if (r.kind == WEFT_TRACE_REC_EVENTS2) {
            /* What the recorder writes: a batch header, then the compact events. */
            WT_TRUE(r.worker < t->h.nworkers || r.worker == WEFT_TRACE_NO_WORKER);
            weft_trace_batch bh;
            WT_GE(r.size, sizeof r + sizeof bh);
            memcpy(&bh, d + off + sizeof r, sizeof bh);
            WT_EQ(r.size, sizeof r + sizeof bh + ((bh.nbytes + 7) & ~7u));
            WT_TRUE(bh.ns_per_tick > 0 && bh.ns_per_tick < 100);
            const uint8_t *p = (const uint8_t *)d + off + sizeof r + sizeof bh;
            const uint8_t *end = p + bh.nbytes;
            weft_trace_codec st;
            weft_trace_codec_batch(&st, 0, r.worker);
            t->recorded += r.count;
            for (uint32_t i = 0; i < r.count; i++) {
                WT_LE(t->n + 2, cap);
                int k = weft_trace_decode(&p, end, &st, &t->ev[t->n]);
                WT_TRUE(k == 1 || k == 2); /* 2: a RUN_STOP(DONE) and its END */
                for (int j = 0; j < k; j++) {
                    t->ev[t->n].ts = bh.base_ns + (uint64_t)((double)t->ev[t->n].ts * bh.ns_per_tick);
                    t->worker[t->n++] = r.worker;
                }
            }
            WT_TRUE(p == end); /* exactly count events in nbytes */
        } else if (r.kind == WEFT_TRACE_REC_SYMBOL) {
            if (t->nsym < 64) {
                memcpy(&t->sym[t->nsym].addr, d + off + sizeof r, 8);
                size_t len = r.count < 127 ? r.count : 127;
                memcpy(t->sym[t->nsym].name, d + off + sizeof r + 8, len);
                t->sym[t->nsym].name[len] = 0;
                t->nsym++;
            }
        } else if (r.kind == WEFT_TRACE_REC_END) {
            t->has_end = true;
            memcpy(&t->written, d + off + sizeof r, 8);
            memcpy(&t->dropped, d + off + sizeof r + 8, 8);
        }
        off += r.size;
    }
    WT_EQ(off, size);
    free(d);
}

static void trace_free(trace *t)
{
    free(t->ev);
    free(t->worker);
}

static const char *sym_name(const trace *t, uint64_t addr)
{
    for (size_t i = 0; i < t->nsym; i++)
        if (t->sym[i].addr == addr)
            return t->sym[i].name;
    return NULL;
}

static size_t count_kind(const trace *t, unsigned type)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->ev[i].type == type;
    return n;
}

/* ---- the traced program ------------------------------------------------------------ */

enum { CHILDREN = 8, SPINNERS = 100 };

typedef struct {
    weft_chan *ch;
    char path[256];
} shared;

void *trace_child(void *arg)
{
    shared *sh = arg;
    WT_OK(weft_sleep(1 * WT_MS)); /* SLEEP, a timer fire */
    int fd = weft_open(sh->path, O_RDONLY, 0);
    WT_GE(fd, 0);
    char buf[64];
    WT_EQ(weft_read(fd, buf, sizeof buf, 0), 5); /* IO (IORING_OP_READ) */
    WT_OK(weft_close(fd));
    int v = 1;
    WT_OK(weft_chan_send(sh->ch, &v)); /* CHAN: the channel has no room */
    weft_yield();
    return NULL;
}

void *trace_spinner(void *arg)
{
    (void)arg;
    wt_spin_ns(100 * WT_US);
    return NULL;
}

/* Static: not in the dynamic symbol table even with -rdynamic, so its name must come
 * from the ELF .symtab fallback (runtime/trace_sym.c). */
static __attribute__((noinline)) void *hidden_task(void *arg)
{
    return arg;
}

void *trace_locker(void *arg)
{
    weft_mutex *m = arg;
    WT_OK(weft_mutex_lock(m)); /* LOCK: main holds it */
    weft_mutex_unlock(m);
    return NULL;
}

/* Two spinners queued while their spawner keeps its worker busy: they fit in the local
 * queue (3 slots in WEFT_SMALL_QUEUES builds), so the other worker can only steal them,
 * not find them in the injection queue. */
static void steal_rounds(void)
{
    for (int round = 0; round < 20; round++) {
        weft_task *a = wt_spawn(trace_spinner, NULL), *b = wt_spawn(trace_spinner, NULL);
        wt_spin_ns(1 * WT_MS);
        WT_OK(weft_join(a, NULL));
        WT_OK(weft_join(b, NULL));
    }
}

static void *traced_main(void *arg)
{
    shared *sh = arg;
    weft_mutex m = WEFT_MUTEX_INIT;
    WT_OK(weft_mutex_lock(&m));
    weft_task *locker = wt_spawn(trace_locker, &m);
    WT_OK(weft_sleep(2 * WT_MS));
    weft_mutex_unlock(&m);
    WT_OK(weft_join(locker, NULL));
    WT_OK(weft_join(wt_spawn(hidden_task, NULL), NULL));
    weft_task *kids[CHILDREN];
    for (int i = 0; i < CHILDREN; i++)
        kids[i] = wt_spawn(trace_child, sh);
    for (int i = 0; i < CHILDREN; i++) {
        int v;
        WT_OK(weft_chan_recv(sh->ch, &v)); /* CHAN */
    }
    for (int i = 0; i < CHILDREN; i++)
        WT_OK(weft_join(kids[i], NULL)); /* JOIN */
    /* One worker floods its queue: the other steals. */
    weft_task *sp[SPINNERS];
    for (int i = 0; i < SPINNERS; i++)
        sp[i] = wt_spawn(trace_spinner, NULL);
    for (int i = 0; i < SPINNERS; i++)
        WT_OK(weft_join(sp[i], NULL));
    steal_rounds();
    WT_OK(weft_sleep(5 * WT_MS)); /* everyone idle: workers park */
    return NULL;
}

/* ---- a burst of events faster than the writer: nothing may be lost ------------------ */

/* Each trivial task records SPAWN, RUN_START, RUN_STOP and END: 300k of them are ~48 MB
 * of events in a fraction of a second, far more than the free chunks the writer hands
 * out ahead (64 per worker, 4 MiB). The workers must take new chunks (up to
 * WEFT_TRACE_BUFFER_MB) when the writer falls behind, not drop events: before they
 * could, this lost 0.6-3 M of skynet's 4.7 M events. */
enum { BURST_TASKS = WT_SCALE(300000, 100000, 30000), BURST_BATCH = 1000 };

static void *burst_leaf(void *arg)
{
    return arg;
}

static void *burst_main(void *arg)
{
    (void)arg;
    weft_task *t[BURST_BATCH];
    for (int done = 0; done < BURST_TASKS; done += BURST_BATCH) {
        for (int i = 0; i < BURST_BATCH; i++)
            t[i] = wt_spawn(burst_leaf, NULL);
        WT_OK(weft_gather(t, BURST_BATCH, NULL));
    }
    return NULL;
}

static void test_burst_not_dropped(void **state)
{
    (void)state;
    char tpath[300];
    snprintf(tpath, sizeof tpath, "%s/burst.trace", tmpdir);
    weft_config cfg = {.workers = 2, .trace_path = tpath};
    wt_run_cfg(&cfg, burst_main, NULL);
    trace t;
    trace_read(tpath, &t);
    print_message("      %zu events written, %llu dropped\n", t.n,
                  (unsigned long long)t.dropped);
    WT_EQ(t.dropped, 0);
    WT_EQ(t.written, t.recorded);
    WT_GE(count_kind(&t, WEFT_EV_SPAWN), BURST_TASKS); /* + main */
    WT_GE(count_kind(&t, WEFT_EV_END), BURST_TASKS);
    trace_free(&t);
    unlink(tpath);
}

/* A RUN_START right after a RUN_STOP (or its END) of the same worker. */
static bool stop_start(const trace *t, size_t i)
{
    unsigned prev = t->ev[i - 1].type;
    return t->ev[i].type == WEFT_EV_RUN_START &&
           (prev == WEFT_EV_RUN_STOP || prev == WEFT_EV_END) && t->worker[i] == t->worker[i - 1];
}

/* Those pairs, and how many of them share a clock reading. */
static size_t count_pairs(const trace *t, size_t *shared)
{
    size_t n = 0;
    *shared = 0;
    for (size_t i = 1; i < t->n; i++) {
        if (stop_start(t, i)) {
            n++;
            *shared += t->ev[i].ts == t->ev[i - 1].ts;
        }
    }
    return n;
}

/* By default a RUN_START right after a RUN_STOP (the scheduler taking the next local
 * task) shares the stop's clock reading; WEFT_TRACE_PRECISE=1 reads the clock for each. */
static void test_shared_clock(void **state)
{
    (void)state;
    char tpath[300];
    snprintf(tpath, sizeof tpath, "%s/shared.trace", tmpdir);
    for (int precise = 0; precise < 2; precise++) {
        setenv("WEFT_TRACE_PRECISE", precise ? "1" : "0", 1);
        weft_config cfg = {.workers = 1, .trace_path = tpath};
        wt_run_cfg(&cfg, burst_main, NULL);
        trace t;
        trace_read(tpath, &t);
        size_t shared, pairs = count_pairs(&t, &shared);
        print_message("      precise=%d: %zu of %zu stop/start pairs share a reading\n", precise,
                      shared, pairs);
        WT_GE(pairs, BURST_TASKS / 2);
        if (precise)
            WT_EQ(shared, 0); /* two TSC reads are ns apart */
        else
            WT_GE(shared, pairs / 2);
        trace_free(&t);
        unlink(tpath);
    }
    unsetenv("WEFT_TRACE_PRECISE");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    WT_NONNULL(f);
    fputs(text, f);
    fclose(f);
}

static void test_every_event(void **state)
{
    (void)state;
    char tpath[300];
    snprintf(tpath, sizeof tpath, "%s/events.trace", tmpdir);
    shared sh;
    snprintf(sh.path, sizeof sh.path, "%s/data", tmpdir);
    write_file(sh.path, "hello");
    sh.ch = weft_chan_new(sizeof(int), 0);
    WT_NONNULL(sh.ch);
    weft_config cfg = {.workers = 2, .trace_path = tpath};
    wt_run_cfg(&cfg, traced_main, &sh);
    weft_chan_free(sh.ch);

    trace t;
    trace_read(tpath, &t);
    WT_EQ(t.h.nworkers, 2);
    WT_EQ(t.h.flags, 0);
    WT_TRUE(t.has_end);
    WT_EQ(t.dropped, 0);
    WT_EQ(t.written, t.recorded);
    WT_TRUE(strstr(t.h.exe, "test_trace") != NULL);

    /* Every kind but STALL appears. */
    for (unsigned k = WEFT_EV_SPAWN; k <= WEFT_EV_SEARCH; k++)
        if (!count_kind(&t, k))
            fail_msg("no event of kind %u in the trace", k);

    uint64_t main_id = 0;
    size_t children = 0, spinners = 0, hidden = 0;
    for (size_t i = 0; i < t.n; i++) {
        const char *name = sym_name(&t, t.ev[i].c);
        if (t.ev[i].type == WEFT_EV_SPAWN && name && strcmp(name, "main_wrapper") == 0)
            main_id = t.ev[i].task;
    }
    WT_NE(main_id, 0);
    for (size_t i = 0; i < t.n; i++) {
        weft_trace_event *e = &t.ev[i];
        if (e->type != WEFT_EV_SPAWN)
            continue;
        WT_NE(e->task, 0);
        const char *name = sym_name(&t, e->c);
        if (!name)
            fail_msg("no SYMBOL record for fn %#llx", (unsigned long long)e->c);
        if (strcmp(name, "main_wrapper") == 0) {
            WT_EQ(e->b, 0); /* spawned by the thread in weft_run */
            WT_EQ(t.worker[i], WEFT_TRACE_NO_WORKER);
        } else if (strcmp(name, "trace_child") == 0) {
            WT_EQ(e->b, main_id);
            children++;
        } else if (strcmp(name, "trace_locker") == 0 || strcmp(name, "hidden_task") == 0) {
            WT_EQ(e->b, main_id);
            hidden += strcmp(name, "hidden_task") == 0;
        } else if (strcmp(name, "trace_spinner") == 0) {
            WT_EQ(e->b, main_id);
            spinners++;
        }
    }
    WT_NE(main_id, 0);
    WT_EQ(children, CHILDREN);
    WT_EQ(hidden, 1);               /* named through the ELF symbol table */
    WT_EQ(spinners, SPINNERS + 40); /* + steal_rounds */
    /* Task ids are unique. */
    for (size_t i = 0; i < t.n; i++)
        for (size_t j = i + 1; t.ev[i].type == WEFT_EV_SPAWN && j < t.n; j++)
            if (t.ev[j].type == WEFT_EV_SPAWN)
                WT_NE(t.ev[i].task, t.ev[j].task);

    /* Per worker: timestamps never go back; RUN_START and RUN_STOP alternate and name
     * the same task; END follows RUN_STOP(DONE). */
    bool reasons[16] = {false};
    bool read_op = false;
    size_t wakes_by_task = 0;
    for (unsigned w = 0; w < 2; w++) {
        uint64_t last = 0, running = 0;
        bool done_pending = false;
        for (size_t i = 0; i < t.n; i++) {
            if (t.worker[i] != w)
                continue;
            weft_trace_event *e = &t.ev[i];
            WT_GE(e->ts, last);
            last = e->ts;
            if (done_pending) {
                WT_EQ(e->type, WEFT_EV_END);
                WT_EQ(e->task, running);
                WT_EQ((int64_t)e->b, 0);
                done_pending = false;
                running = 0;
                continue;
            }
            switch (e->type) {
            case WEFT_EV_RUN_START:
                WT_EQ(running, 0);
                WT_NE(e->task, 0);
                WT_TRUE(e->b < 2 || e->b == WEFT_TRACE_NO_WORKER);
                running = e->task;
                break;
            case WEFT_EV_RUN_STOP:
                WT_EQ(e->task, running);
                WT_TRUE(e->reason >= WEFT_TR_YIELD && e->reason <= WEFT_TR_OTHER);
                reasons[e->reason] = true;
                if (e->reason == WEFT_TR_IO && e->a == IORING_OP_READ)
                    read_op = true;
                if (e->reason == WEFT_TR_DONE)
                    done_pending = true;
                else
                    running = 0;
                break;
            case WEFT_EV_WAKE:
                WT_NE(e->task, 0);
                WT_TRUE(e->reason >= WEFT_TW_TASK && e->reason <= WEFT_TW_THREAD);
                WT_EQ(e->a, w); /* recorded by the waker's worker */
                if (e->reason == WEFT_TW_TASK && e->b != 0)
                    wakes_by_task++;
                break;
            case WEFT_EV_STEAL:
                WT_NE(e->a, w);
                WT_LT(e->a, 2);
                WT_GE(e->b, 1);
                break;
            case WEFT_EV_TIMER_FIRE:
            case WEFT_EV_IO_SUBMIT:
            case WEFT_EV_IO_COMPLETE:
            case WEFT_EV_INJECT_PULL:
                WT_GE(e->b, 1);
                break;
            case WEFT_EV_PARK:
            case WEFT_EV_UNPARK:
            case WEFT_EV_SEARCH:
                WT_EQ(running, 0); /* the scheduler's own events */
                break;
            default:
                break;
            }
        }
        WT_FALSE(done_pending);
    }
    WT_GT(wakes_by_task, 0);
    WT_TRUE(read_op);
    const unsigned want[] = {WEFT_TR_YIELD, WEFT_TR_SLEEP, WEFT_TR_JOIN, WEFT_TR_CHAN,
                             WEFT_TR_LOCK,  WEFT_TR_IO,    WEFT_TR_DONE};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!reasons[want[i]])
            fail_msg("no RUN_STOP with reason %u", want[i]);
    trace_free(&t);
    unlink(tpath);
    unlink(sh.path);
}

/* ---- flight recorder ---------------------------------------------------------------- */

static void *flight_main(void *arg)
{
    const char *dump = arg;
    for (int round = 0; round < 50; round++) {
        weft_task *sp[20];
        for (int i = 0; i < 20; i++)
            sp[i] = wt_spawn(trace_spinner, NULL);
        for (int i = 0; i < 20; i++)
            WT_OK(weft_join(sp[i], NULL));
    }
    WT_TRUE(weft_trace_enabled());
    WT_EQ(weft_trace_dump(""), -EINVAL);
    WT_OK(weft_trace_dump(dump));
    /* SIGUSR2 dumps to the WEFT_TRACE file (here cfg.trace_path): the handler only
     * kicks the writer thread, so wait for the file. */
    const char *tpath = dump + strlen(dump) + 1;
    WT_OK(raise(SIGUSR2));
    for (int i = 0; i < 5000 && access(tpath, F_OK) != 0; i++)
        WT_OK(weft_sleep(1 * WT_MS));
    WT_OK(access(tpath, F_OK));
    return NULL;
}

static void test_flight_dump(void **state)
{
    (void)state;
    /* flight_main's argument: the dump path, then the trace path after its NUL. */
    char dump[600];
    int n = snprintf(dump, 300, "%s/dump.trace", tmpdir);
    char *tpath = dump + n + 1;
    snprintf(tpath, 290, "%s/flight.trace", tmpdir);
    setenv("WEFT_TRACE_FLIGHT", "1", 1);
    weft_config cfg = {.workers = 2, .trace_path = tpath};
    wt_run_cfg(&cfg, flight_main, dump);
    unsetenv("WEFT_TRACE_FLIGHT");
    trace t;
    trace_read(tpath, &t); /* the signal's dump */
    WT_EQ(t.h.flags & WEFT_TRACE_F_FLIGHT, WEFT_TRACE_F_FLIGHT);
    WT_GT(t.n, 0);
    trace_free(&t);
    unlink(tpath);
    trace_read(dump, &t);
    WT_EQ(t.h.flags & WEFT_TRACE_F_FLIGHT, WEFT_TRACE_F_FLIGHT);
    WT_FALSE(t.has_end);
    WT_GT(count_kind(&t, WEFT_EV_RUN_START), 0);
    WT_GT(count_kind(&t, WEFT_EV_SPAWN), 0);
    bool named = false;
    for (size_t i = 0; i < t.n; i++)
        if (t.ev[i].type == WEFT_EV_SPAWN) {
            const char *n = sym_name(&t, t.ev[i].c);
            named |= n && strcmp(n, "trace_spinner") == 0;
        }
    WT_TRUE(named);
    trace_free(&t);
    unlink(dump);
}

/* The flight recorder under the same burst: its chunks are all allocated up front, so
 * when the writer falls behind, a worker whose free ring ran dry must count the events
 * as dropped. It dereferenced a NULL chunk instead (skynet under WEFT_TRACE_FLIGHT
 * crashed in 5 runs of 8). The dump afterwards holds the newest events. */
static void *flight_burst_main(void *arg)
{
    const char *dump = arg;
    burst_main(NULL);
    WT_OK(weft_trace_dump(dump));
    return NULL;
}

static void test_flight_burst(void **state)
{
    (void)state;
    char dump[300];
    snprintf(dump, sizeof dump, "%s/flight-burst.trace", tmpdir);
    setenv("WEFT_TRACE_FLIGHT", "64", 1);
    weft_config cfg = {.workers = 2, .trace_path = dump};
    wt_run_cfg(&cfg, flight_burst_main, dump);
    unsetenv("WEFT_TRACE_FLIGHT");
    trace t;
    trace_read(dump, &t);
    print_message("      %zu events in the dump, %llu dropped\n", t.n,
                  (unsigned long long)t.dropped);
    WT_EQ(t.h.flags & WEFT_TRACE_F_FLIGHT, WEFT_TRACE_F_FLIGHT);
    WT_GT(count_kind(&t, WEFT_EV_END), 0);
    trace_free(&t);
    unlink(dump);
}

static void *no_trace_main(void *arg)
{
    (void)arg;
    WT_FALSE(weft_trace_enabled());
    WT_EQ(weft_trace_dump(NULL), -ENOTSUP);
    return NULL;
}

static void test_dump_without_flight(void **state)
{
    (void)state;
    unsetenv("WEFT_TRACE");
    wt_run(1, no_trace_main, NULL);
}

/* ---- metrics --------------------------------------------------------------------------- */

static void *stats_main(void *arg)
{
    (void)arg;
    uint64_t t0 = weft_now();
    WT_OK(weft_sleep(3 * WT_MS)); /* past the clock's 2 ms calibration */
    for (int round = 0; round < 20; round++) {
        weft_task *sp[SPINNERS];
        for (int i = 0; i < SPINNERS; i++)
            sp[i] = wt_spawn(trace_spinner, NULL);
        for (int i = 0; i < SPINNERS; i++)
            WT_OK(weft_join(sp[i], NULL));
    }
    steal_rounds();
    uint64_t ran = weft_now() - t0;
    weft_worker_stats st[4];
    int n = weft_stats(st, 4);
    WT_EQ(n, (int)wt_cur_workers());
    WT_EQ(weft_stats(st, 1), n); /* fills one, still returns the count */
    n = weft_stats(st, 4);
    uint64_t run = 0, spawned = 0, in = 0, out = 0, lat = 0;
    for (int i = 0; i < n; i++) {
        run += st[i].tasks_run;
        spawned += st[i].spawned;
        in += st[i].steals_in;
        out += st[i].steals_out;
        WT_EQ(st[i].busy_ns + st[i].idle_ns + st[i].search_ns, st[i].elapsed_ns);
        /* The worker started before main: at least main's run time (the clocks are
         * calibrated against each other, so allow 10%). */
        WT_GE(st[i].elapsed_ns, ran * 9 / 10);
        WT_LE(st[i].elapsed_ns, ran + 10 * WT_SEC);
        WT_LT(st[i].queue_depth, 256);
        for (int b = 0; b < WEFT_STATS_LAT_BUCKETS; b++)
            lat += st[i].sched_latency[b];
    }
    WT_GE(spawned, 20 * SPINNERS + 40);
    WT_GE(run, spawned);
    WT_EQ(in, out);
    WT_GT(lat, 0); /* 2000 joins woke main: about 1 in 64 was timed */
    if (n > 1)
        WT_GT(in, 0); /* steal_rounds */
    return NULL;
}
WT_TEST_1_2(stats)

static void test_stats_outside(void **state)
{
    (void)state;
    weft_worker_stats st;
    WT_EQ(weft_stats(&st, 1), -ESRCH);
}

/* ---- stall detection -------------------------------------------------------------------- */

void *stall_spinner(void *arg)
{
    (void)arg;
    wt_spin_ns(300 * WT_MS);
    return NULL;
}

static void *stall_main(void *arg)
{
    (void)arg;
    WT_OK(weft_join(wt_spawn(stall_spinner, NULL), NULL));
    return NULL;
}

static int stall_child(void)
{
    weft_config cfg = {.workers = 2};
    return weft_run(&cfg, stall_main, NULL, NULL) == 0 ? 0 : 3;
}

static void test_stall_report(void **state)
{
    (void)state;
    char tpath[300], env_trace[320];
    snprintf(tpath, sizeof tpath, "%s/stall.trace", tmpdir);
    snprintf(env_trace, sizeof env_trace, "WEFT_TRACE=%s", tpath);
    const char *env[] = {"WEFT_SLOW_MS=50", "WEFT_DEBUG", env_trace, "WEFT_TRACE_FLIGHT=1", NULL};
    int status;
    char *out = wt_run_child("--stall", env, &status);
    print_message("      child stderr:\n%s", out);
    WT_TRUE(WIFEXITED(status));
    WT_EQ(WEXITSTATUS(status), 0);
    if (!strstr(out, "task stall_spinner has run for"))
        fail_msg("no stall report naming stall_spinner");
    /* TSan delivers a signal only at its next interceptor call, and the spinner makes
     * none until it stops spinning; the backtrace then shows the wrong place or none. */
    if (!WT_TSAN) {
        if (!strstr(out, "backtrace of worker"))
            fail_msg("no backtrace of the stuck worker");
        if (!strstr(out, "(stall_spinner+"))
            fail_msg("the backtrace does not show stall_spinner");
    }
    if (!strstr(out, "flight recorder dumped to"))
        fail_msg("no flight recorder dump on the stall");
    free(out);
    trace t;
    trace_read(tpath, &t);
    WT_TRUE(t.h.flags & WEFT_TRACE_F_FLIGHT);
    size_t stalls = 0;
    for (size_t i = 0; i < t.n; i++) {
        weft_trace_event *e = &t.ev[i];
        if (e->type != WEFT_EV_STALL)
            continue;
        stalls++;
        WT_LT(e->a, 2);
        WT_GE(e->b, 50 * WT_MS);
        WT_NE(e->task, 0);
        const char *n = sym_name(&t, e->c);
        WT_NONNULL(n);
        WT_EQ(strcmp(n, "stall_spinner"), 0);
    }
    WT_EQ(stalls, 1);
    trace_free(&t);
    unlink(tpath);
}

/* ---- a stall report that lands in the middle of a context switch -------------------- */

/* The stall report's backtrace is taken by a signal on the stuck worker, wherever it is.
 * A task that switches between two contexts of its own without suspending (the
 * gen_handoff benchmark's bare-switch loop did) gets the signal inside
 * weft__ctx_switch most of the time, and before the switch described its frames to the
 * unwinder (CFI), backtrace() read garbage there and crashed the process (gen_handoff
 * with WEFT_SLOW_MS=1: 3 runs of 4). Five stuck episodes of 150 ms, each reported. */
#if defined(__x86_64__)
/* runtime/ctx_x86_64.S and runtime/ctx.c, compiled into this test (tests/CMakeLists.txt) */
void *weft__ctx_switch(void **save_sp, void *to_sp, void *xfer);
void *weft__ctx_make(void *hi, void (*entry)(void *));

static void *sw_main_sp, *sw_co_sp;

static void sw_entry(void *x)
{
    for (;;)
        x = weft__ctx_switch(&sw_co_sp, sw_main_sp, x);
}

static void *switch_spinner(void *arg)
{
    (void)arg;
    enum { STACK = 64 * 1024 };
    char *stack = malloc(STACK);
    WT_NONNULL(stack);
    sw_co_sp = weft__ctx_make(stack + STACK, sw_entry);
    weft__ctx_switch(&sw_main_sp, sw_co_sp, NULL);
    uint64_t t0 = weft_now();
    while (weft_now() - t0 < 150 * WT_MS)
        for (int i = 0; i < 1000; i++)
            weft__ctx_switch(&sw_main_sp, sw_co_sp, NULL);
    free(stack); /* the coroutine stays suspended: its stack is just memory */
    return NULL;
}

static void *stall_switch_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++)
        WT_OK(weft_join(wt_spawn(switch_spinner, NULL), NULL));
    return NULL;
}

static int stall_switch_child(void)
{
    weft_config cfg = {.workers = 2};
    return weft_run(&cfg, stall_switch_main, NULL, NULL) == 0 ? 0 : 3;
}
#endif

static void test_stall_mid_switch(void **state)
{
    (void)state;
#if defined(__x86_64__)
    /* Sanitizer builds: the bare switch has none of their fiber annotations. */
    if (WT_ASAN || WT_TSAN)
        skip();
    const char *env[] = {"WEFT_SLOW_MS=20", NULL};
    int status;
    char *out = wt_run_child("--stall-switch", env, &status);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        print_message("      child stderr:\n%s", out);
    WT_TRUE(WIFEXITED(status));
    WT_EQ(WEXITSTATUS(status), 0);
    if (!strstr(out, "backtrace of worker"))
        fail_msg("no backtrace of the stuck worker");
    free(out);
#else
    skip();
#endif
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--stall") == 0)
        return stall_child();
#if defined(__x86_64__)
    if (argc > 1 && strcmp(argv[1], "--stall-switch") == 0)
        return stall_switch_child();
#endif
    if (!mkdtemp(tmpdir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_event),         cmocka_unit_test(test_burst_not_dropped),
        cmocka_unit_test(test_flight_dump),         cmocka_unit_test(test_flight_burst),
        cmocka_unit_test(test_dump_without_flight), cmocka_unit_test(test_stats),
        cmocka_unit_test(test_stats_outside),       cmocka_unit_test(test_stall_report),
        cmocka_unit_test(test_stall_mid_switch),    cmocka_unit_test(test_shared_clock),
    };
    int rc = WT_RUN_GROUP(tests);
    rmdir(tmpdir);
    return rc;
}
