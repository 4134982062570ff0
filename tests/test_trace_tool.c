/* test_trace_tool: weft-trace on synthetic traces (trace_synth.c) — the reader, the model's
 * counts against what the scenario put in, the summary's lints, Perfetto JSON validity
 * (strict parse, required fields, per-track monotonic time, paired flows), the SVG (size
 * bound on a big trace; rendered to PNG when rsvg-convert is installed), damaged input
 * (every truncation, random bytes, random corruption: must never crash), and the CLI's
 * exit codes. The reader's sources are linked in, so damaged input runs in-process under
 * the sanitizers. */
#include "json_check.h"
#include "runtime/trace_codec.h"
#include "tools/trace/trace.h"
#include "trace_synth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* clang-format off: cmocka.h needs the four above first */
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static char scen[128];
static synth_expect X;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/weft-trace-test.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(scen, sizeof(scen), "%s/scenario.trace", dir);
    return synth_scenario(scen, &X, 1);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct loaded {
    wt_trace t;
    wt_model m;
} loaded;

static void load(loaded *l, const char *path)
{
    char err[256];
    int rc = wt_trace_load_file(&l->t, path, err, sizeof(err));
    if (rc < 0)
        fail_msg("load %s: %s", path, err);
    assert_int_equal(wt_model_build(&l->m, &l->t), 0);
}

static void unload(loaded *l)
{
    wt_model_free(&l->m);
    wt_trace_free(&l->t);
}

static char *render(const wt_model *m, int (*fn)(const wt_model *, FILE *), size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    assert_non_null(f);
    assert_int_equal(fn(m, f), 0);
    fclose(f);
    return buf;
}

/* The compact encoding (runtime/trace_codec.h), byte for byte as docs/trace-format.md
 * describes it: the full forms, every short form, and the decoder's answer to every way
 * an event can be cut off. */
static void test_codec(void **state)
{
    (void)state;
    uint8_t buf[12 * WEFT_TRACE_MAX_ENCODED], *p = buf;
    weft_trace_codec enc;
    weft_trace_codec_batch(&enc, 1000, 2); /* worker 2's batch */
    const uint64_t t0 = (3ull << 48) | 77, parent = (1ull << 48) | 5, fn = 0x55550000abcdull;
    const uint64_t other = (1ull << 48) | 9, waker_of = (2ull << 48) | 4;
    size_t at[12], n = 0;
#define ENC(...) (at[n++] = (size_t)(p - buf), p = weft_trace_encode(p, &enc, __VA_ARGS__))
    /* 0: the full form (nothing to refer to yet); a is not a SPAWN field: dropped */
    ENC(1300, WEFT_EV_SPAWN, 0, 9, t0, parent, fn);
    /* 1: the next id and the same function are implied; the parent is not the running task */
    ENC(1300, WEFT_EV_SPAWN, 0, 0, t0 + 1, parent, fn);
    /* 2: starts the task spawned last, which last ran here; a saturates */
    ENC(1400, WEFT_EV_RUN_START, 0, 1u << 30, t0 + 1, 2, 0);
    /* 3: spawned by the running task: one word */
    ENC(1400, WEFT_EV_SPAWN, 0, 0, t0 + 2, t0 + 1, fn);
    /* 4: woken by the running task: its id is implied */
    ENC(1400, WEFT_EV_WAKE, WEFT_TW_TASK, 2, waker_of, t0 + 1, 0);
    /* 5: the running task finished: one word, with its status */
    ENC(1400, WEFT_EV_RUN_STOP, WEFT_TR_DONE, (uint32_t)-ECANCELED, t0 + 1, 0, 0);
    /* 6: after a gap beyond 32 bits of ticks (a TIME pair first): the id after the last
     * started, on its first run */
    ENC(1300 + (5ull << 32), WEFT_EV_RUN_START, 0, 3, t0 + 2, WEFT_TRACE_NO_WORKER, 0);
    /* 7: a stop of some other task, and a wake with no waker task while none runs */
    ENC(1300 + (5ull << 32), WEFT_EV_RUN_STOP, WEFT_TR_JOIN, 0, other, 0, 0);
    ENC(1300 + (5ull << 32), WEFT_EV_WAKE, WEFT_TW_TIMER, 2, other, 0, 0);
    /* 9: nothing implied; an earlier reading counts as the previous one */
    ENC(7, WEFT_EV_RUN_START, 0, 4, other, 7, 0);
    ENC(7, WEFT_EV_PARK, 0, 0, 0, 0, 0);
#undef ENC
    size_t len = (size_t)(p - buf);
    const size_t sizes[] = {32, 16, 8, 8, 16, 8, 24, 16, 16, 24, 8};
    for (size_t i = 0; i < n; i++)
        assert_int_equal((i + 1 < n ? at[i + 1] : len) - at[i], sizes[i]);
    uint64_t w[12];
    for (size_t i = 0; i < n; i++)
        memcpy(&w[i], buf + at[i], 8);
    assert_true(w[0] == (WEFT_EV_SPAWN | 300ull << 32));
    assert_true(w[1] == (WEFT_EV_SPAWN | 5u << 4)); /* id + function implied */
    assert_true(w[2] == (WEFT_EV_RUN_START | (2u | 1u << 2) << 4 | (uint64_t)WEFT_TRACE_A_MAX << 8 |
                         100ull << 32));
    assert_true(w[3] == (WEFT_EV_SPAWN | 7u << 4));
    assert_true(w[4] == (WEFT_EV_WAKE | (WEFT_TW_TASK | 8u) << 4 | 2u << 8));
    assert_true(w[5] == (WEFT_TRACE_STOP | WEFT_TR_DONE << 4 |
                         ((uint64_t)-ECANCELED & WEFT_TRACE_A_MAX) << 8));
    assert_true(w[6] == WEFT_TRACE_TIME); /* then the ticks, then the event */
    assert_true(w[7] == (WEFT_EV_RUN_STOP | WEFT_TR_JOIN << 4));
    assert_true(w[8] == (WEFT_EV_WAKE | (WEFT_TW_TIMER | 8u) << 4 | 2u << 8)); /* b = cur = 0 */
    assert_true(w[9] == (WEFT_EV_RUN_START | 4u << 8));

    const uint8_t *q = buf;
    weft_trace_codec dec;
    weft_trace_codec_batch(&dec, 0, 2);
    weft_trace_event e[2];
    memset(e, 0, sizeof e);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 1);
    assert_true(e[0].ts == 300 && e[0].type == WEFT_EV_SPAWN && e[0].reason == 0 &&
                e[0].task == t0 && e[0].b == parent && e[0].c == fn && e[0].a == 0);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 1);
    assert_true(e[0].ts == 300 && e[0].type == WEFT_EV_SPAWN && e[0].reason == 0 &&
                e[0].task == t0 + 1 && e[0].b == parent && e[0].c == fn);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 1);
    assert_true(e[0].ts == 400 && e[0].type == WEFT_EV_RUN_START && e[0].reason == 0 &&
                e[0].task == t0 + 1 && e[0].b == 2 && e[0].a == WEFT_TRACE_A_MAX);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 1);
    assert_true(e[0].type == WEFT_EV_SPAWN && e[0].task == t0 + 2 && e[0].b == t0 + 1 &&
                e[0].c == fn);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 1);
    assert_true(e[0].type == WEFT_EV_WAKE && e[0].reason == WEFT_TW_TASK && e[0].a == 2 &&
                e[0].task == waker_of && e[0].b == t0 + 1);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 2);
    assert_true(e[0].type == WEFT_EV_RUN_STOP && e[0].reason == WEFT_TR_DONE && e[0].a == 0 &&
                e[0].ts == 400 && e[0].task == t0 + 1);
    assert_true(e[1].type == WEFT_EV_END && e[1].ts == 400 && e[1].task == t0 + 1 &&
                (int64_t)e[1].b == -ECANCELED);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 1);
    assert_true(e[0].type == WEFT_EV_RUN_START && e[0].ts == 300 + (5ull << 32) &&
                e[0].task == t0 + 2 && e[0].b == WEFT_TRACE_NO_WORKER && e[0].a == 3);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 1);
    assert_true(e[0].type == WEFT_EV_RUN_STOP && e[0].reason == WEFT_TR_JOIN && e[0].task == other);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 1);
    assert_true(e[0].type == WEFT_EV_WAKE && e[0].reason == WEFT_TW_TIMER && e[0].task == other &&
                e[0].b == 0);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 1);
    assert_true(e[0].type == WEFT_EV_RUN_START && e[0].task == other && e[0].b == 7 && e[0].a == 4 &&
                e[0].ts == 300 + (5ull << 32));
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), 1);
    assert_true(e[0].type == WEFT_EV_PARK && e[0].ts == 300 + (5ull << 32));
    assert_ptr_equal(q, buf + len);
    assert_int_equal(weft_trace_decode(&q, buf + len, &dec, e), -1); /* nothing left */

    /* Every cut inside the stream fails cleanly at the event it cuts. */
    for (size_t cut = 0; cut < len; cut++) {
        q = buf;
        weft_trace_codec_batch(&dec, 0, 2);
        int k = 0, rc;
        while ((rc = weft_trace_decode(&q, buf + cut, &dec, e)) > 0)
            k++;
        assert_int_equal(rc, -1);
        assert_true(q <= buf + cut);
        assert_true(k <= (int)n - 1);
    }
    /* A RUN_START with task form 3 or worker form 3 does not exist. */
    uint64_t bad = WEFT_EV_RUN_START | 3u << 4;
    q = (const uint8_t *)&bad;
    assert_int_equal(weft_trace_decode(&q, q + 8, &dec, e), -1);
    bad = WEFT_EV_RUN_START | 12u << 4;
    q = (const uint8_t *)&bad;
    assert_int_equal(weft_trace_decode(&q, q + 8, &dec, e), -1);
}

static void test_reader_and_model(void **state)
{
    (void)state;
    loaded l;
    load(&l, scen);
    assert_true(l.t.has_end);
    assert_string_equal(l.t.warn, "");
    assert_int_equal(l.t.nworkers, 2);
    assert_int_equal(l.t.nevents, X.events);
    assert_int_equal(l.t.end_written, X.recorded);
    assert_int_equal(l.t.nsyms, 7);
    assert_string_equal(wt_trace_sym(&l.t, 0x401400), "crunch_numbers");
    assert_int_equal(l.m.ntasks, X.tasks);
    for (unsigned w = 0; w < 2; w++) {
        assert_int_equal(l.m.w[w].runs, X.runs[w]);
        assert_int_equal(l.m.w[w].nsl, X.runs[w]);
        assert_int_equal(l.m.w[w].steals, X.steals[w]);
        assert_int_equal(l.m.w[w].parks, X.parks[w]);
    }
    assert_int_equal(l.m.nflows, X.wakes);
    const wt_task *c = wt_model_task(&l.m, X.crunch_task);
    assert_non_null(c);
    assert_string_equal(l.m.fns[c->fn].name, "crunch_numbers");
    assert_true(c->max_slice >= WT_LONG_SLICE_NS);
    const wt_task *p = wt_model_task(&l.m, X.poller_task);
    assert_non_null(p);
    assert_int_equal(p->yields, 1500);
    assert_true(p->max_streak >= WT_SELF_LOOP_MIN);
    assert_true(l.m.nlat > 0);
    for (size_t i = 1; i < l.m.nlat; i++)
        assert_true(l.m.lat[i - 1] <= l.m.lat[i]);
    /* The connections' second runs are on the other worker. */
    uint64_t hops = 0;
    for (size_t i = 0; i < l.m.ntasks; i++)
        hops += l.m.tasks[i].hops;
    assert_true(hops >= 200);
    unload(&l);
}

static void test_summary(void **state)
{
    (void)state;
    loaded l;
    load(&l, scen);
    size_t len;
    char *s = render(&l.m, wt_summary, &len);
    char want[160];
    snprintf(want, sizeof(want), "long slice: task #%" PRIu64 " (crunch_numbers)", X.crunch_task);
    assert_non_null(strstr(s, want));
    snprintf(want, sizeof(want), "self-wake loop: task #%" PRIu64 " (poll_flag)", X.poller_task);
    assert_non_null(strstr(s, want));
    assert_non_null(strstr(s, "idle while queued: worker 1 was parked"));
    assert_non_null(strstr(s, "stall: worker 0 stuck in task"));
    snprintf(want, sizeof(want), "serialized: task #%" PRIu64 " (crunch_numbers)", X.crunch_task);
    assert_non_null(strstr(s, want));
    assert_non_null(strstr(s, "schedule latency"));
    assert_non_null(strstr(s, "top tasks by busy time"));
    assert_non_null(strstr(s, "tasks that hopped workers most"));
    assert_non_null(strstr(s, "handle_conn"));
    assert_null(strstr(s, "warning"));
    free(s);
    unload(&l);
}

/* Checks the Perfetto JSON: strict syntax, fields per phase, time order per track, flows. */
static void check_perfetto(const char *json, size_t len, size_t *nslices)
{
    size_t off = 0;
    jv *root = json_parse(json, len, &off);
    if (!root)
        fail_msg("perfetto JSON does not parse at offset %zu: %.60s", off, json + off);
    const jv *evs = json_get(root, "traceEvents");
    assert_non_null(evs);
    assert_int_equal(evs->type, JV_ARR);
    enum { MAXT = 16, MAXF = 1 << 20 };
    double last[MAXT];
    for (int i = 0; i < MAXT; i++)
        last[i] = -1;
    unsigned char *flows = calloc(MAXF, 1); /* bit 1: s seen, bit 2: f seen */
    assert_non_null(flows);
    size_t ns = 0, nthreads = 0;
    for (size_t i = 0; i < evs->n; i++) {
        const jv *e = &evs->items[i];
        const jv *ph = json_get(e, "ph"), *ts = json_get(e, "ts"), *pid = json_get(e, "pid"),
                 *tid = json_get(e, "tid"), *name = json_get(e, "name");
        assert_true(ph && ph->type == JV_STR);
        assert_true(ts && ts->type == JV_NUM && ts->num >= 0);
        assert_true(pid && pid->type == JV_NUM);
        assert_true(tid && tid->type == JV_NUM && tid->num >= 0 && tid->num < MAXT);
        assert_true(name && name->type == JV_STR && name->str[0]);
        int t = (int)tid->num;
        if (!strcmp(ph->str, "M")) {
            nthreads += !strcmp(name->str, "thread_name");
            continue;
        }
        if (ts->num < last[t])
            fail_msg("track %d goes back in time at event %zu: %f < %f", t, i, ts->num, last[t]);
        last[t] = ts->num;
        if (!strcmp(ph->str, "X")) {
            const jv *dur = json_get(e, "dur");
            assert_true(dur && dur->type == JV_NUM && dur->num >= 0);
            ns += json_get(e, "cat") && !strcmp(json_get(e, "cat")->str, "task");
        } else if (!strcmp(ph->str, "s") || !strcmp(ph->str, "f")) {
            const jv *id = json_get(e, "id");
            assert_true(id && id->type == JV_NUM && id->num > 0 && id->num < MAXF);
            unsigned char bit = ph->str[0] == 's' ? 1 : 2;
            assert_false(flows[(size_t)id->num] & bit); /* each end once */
            flows[(size_t)id->num] |= bit;
            if (bit == 2)
                assert_string_equal(json_get(e, "bp")->str, "e");
        } else if (!strcmp(ph->str, "C")) {
            const jv *args = json_get(e, "args");
            assert_true(args && args->type == JV_OBJ && args->n == 1 &&
                        args->items[0].type == JV_NUM);
        } else {
            assert_string_equal(ph->str, "i");
        }
    }
    for (size_t i = 0; i < MAXF; i++)
        if (flows[i] && flows[i] != 3)
            fail_msg("flow %zu is not paired (%d)", i, flows[i]);
    assert_true(nthreads >= 2);
    free(flows);
    json_free(root);
    *nslices = ns;
}

static void test_perfetto(void **state)
{
    (void)state;
    loaded l;
    load(&l, scen);
    size_t len, ns;
    char *s = render(&l.m, wt_perfetto, &len);
    check_perfetto(s, len, &ns);
    assert_int_equal(ns, X.runs[0] + X.runs[1]);
    /* The symbol with quotes and markup is escaped. */
    assert_non_null(strstr(s, "\"name\":\"bridge \\\"q\\\"<&>\""));
    free(s);
    unload(&l);
}

static int have(const char *prog)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
    return system(cmd) == 0;
}

static void test_svg(void **state)
{
    (void)state;
    loaded l;
    load(&l, scen);
    size_t len;
    char *s = render(&l.m, wt_svg, &len);
    assert_true(!strncmp(s, "<?xml", 5));
    assert_non_null(strstr(s, "</svg>\n"));
    assert_non_null(strstr(s, "crunch_numbers"));
    assert_non_null(strstr(s, "bridge &quot;q&quot;&lt;&amp;&gt;"));
    char path[160], png[160];
    snprintf(path, sizeof(path), "%s/scenario.svg", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite(s, 1, len, f);
    fclose(f);
    free(s);
    unload(&l);
    if (!have("rsvg-convert")) { /* the checks above ran; only the rendering is skipped */
        print_message("rsvg-convert not installed (Debian: librsvg2-bin): SVG not rendered\n");
        skip();
    }
    snprintf(png, sizeof(png), "%s/scenario.png", dir);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rsvg-convert -o %s %s", png, path);
    assert_int_equal(system(cmd), 0);
    struct stat st;
    assert_int_equal(stat(png, &st), 0);
    assert_true(st.st_size > 1000);
    const char *keep = getenv("WT_KEEP_PNG"); /* for looking at the picture */
    if (keep) {
        snprintf(cmd, sizeof(cmd), "cp %s %s && cp %s %s.svg", png, keep, path, keep);
        assert_int_equal(system(cmd), 0);
    }
}

/* A million events: loads, and the SVG stays small (downsampled). */
static void test_big(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof(path), "%s/big.trace", dir);
    assert_int_equal(synth_big(path, 4, 1000000), 0);
    loaded l;
    load(&l, path);
    assert_true(l.t.nevents >= 1000000);
    size_t len;
    char *s = render(&l.m, wt_svg, &len);
    print_message("big trace: %zu events, %zu tasks, SVG %zu bytes\n", l.t.nevents, l.m.ntasks,
                  len);
    assert_true(len < 1500000);
    free(s);
    FILE *f = fopen("/dev/null", "w");
    assert_int_equal(wt_summary(&l.m, f), 0);
    fclose(f);
    unload(&l);
}

static void run_all(const unsigned char *buf, size_t len)
{
    wt_trace t;
    wt_model m;
    char err[256];
    if (wt_trace_load_mem(&t, buf, len, err, sizeof(err)) < 0) {
        assert_true(err[0] != '\0');
        return;
    }
    assert_int_equal(wt_model_build(&m, &t), 0);
    FILE *f = fopen("/dev/null", "w");
    assert_int_equal(wt_summary(&m, f), 0);
    assert_int_equal(wt_perfetto(&m, f), 0);
    assert_int_equal(wt_svg(&m, f), 0);
    assert_int_equal(wt_svg_window(&m, f, 1000000, 5000000), 0);
    assert_int_equal(wt_dump(&t, f), 0);
    fclose(f);
    wt_model_free(&m);
    wt_trace_free(&t);
}

static void test_damaged(void **state)
{
    (void)state;
    unsigned char *good;
    size_t len;
    assert_int_equal(synth_scenario_bytes(&good, &len, NULL), 0);
    /* Every truncation in the first records, then a spread of cut points. */
    for (size_t cut = 0; cut < len; cut += cut < 2048 ? 1 : 4093) {
        unsigned char *b = malloc(cut ? cut : 1); /* exact size, so ASan sees overreads */
        memcpy(b, good, cut);
        wt_trace t;
        char err[256];
        int rc = wt_trace_load_mem(&t, b, cut, err, sizeof(err));
        if (cut < sizeof(weft_trace_file_header))
            assert_true(rc < 0);
        else
            wt_trace_free(&t);
        if (cut < 2048 || cut % 7 == 0)
            run_all(b, cut);
        free(b);
    }
    /* Random corruption of a good file, and pure noise behind a valid header. */
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    unsigned char *b = malloc(len);
    const char *env = getenv("WT_FUZZ_ITERS"); /* more for a longer local run */
    int iters = env ? atoi(env) : 300;
    for (int iter = 0; iter < iters; iter++) {
        memcpy(b, good, len);
        int flips = 1 + iter % 16;
        for (int k = 0; k < flips; k++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t at = iter % 3 == 0 ? rng % 4096 : rng % len;
            b[at] = (unsigned char)(rng >> 40);
        }
        if (iter % 10 == 0)
            for (size_t k = sizeof(weft_trace_file_header); k < len; k++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                b[k] = (unsigned char)rng;
            }
        run_all(b, iter % 5 == 0 ? len / 3 : len);
    }
    free(b);
    free(good);
}

static int run_tool(const char *args, const char *out, const char *errf)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s >%s 2>%s", WEFT_TRACE_BIN, args, out, errf);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_cli(void **state)
{
    (void)state;
    char out[160], errf[160], args[512], junk[160], cut[160];
    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(errf, sizeof(errf), "%s/err", dir);
    assert_int_equal(run_tool("", out, errf), 2);
    char *e = slurp(errf);
    assert_non_null(strstr(e, "usage: weft-trace summary FILE"));
    free(e);
    assert_int_equal(run_tool("frobnicate x", out, errf), 2);
    assert_int_equal(run_tool("summary", out, errf), 2);
    snprintf(args, sizeof(args), "summary %s/missing.trace", dir);
    assert_int_equal(run_tool(args, out, errf), 1);
    e = slurp(errf);
    assert_non_null(strstr(e, "No such file or directory"));
    free(e);
    snprintf(junk, sizeof(junk), "%s/junk.trace", dir);
    FILE *f = fopen(junk, "w");
    fputs("this is not a trace at all, just some text\n", f);
    fclose(f);
    snprintf(args, sizeof(args), "svg %s", junk);
    assert_int_equal(run_tool(args, out, errf), 1);
    e = slurp(errf);
    assert_non_null(strstr(e, "not a weft trace"));
    free(e);
    /* A crashed run: no END record, cut mid-record: still summarised, with a warning. */
    snprintf(cut, sizeof(cut), "%s/cut.trace", dir);
    assert_int_equal(synth_scenario(cut, NULL, 0), 0);
    assert_int_equal(truncate(cut, 30000), 0);
    snprintf(args, sizeof(args), "summary %s", cut);
    assert_int_equal(run_tool(args, out, errf), 0);
    e = slurp(errf);
    assert_non_null(strstr(e, "trace cut short"));
    free(e);
    e = slurp(out);
    assert_non_null(strstr(e, "no end record"));
    free(e);
    const char *cmds[] = {"summary", "perfetto", "svg", "dump"};
    for (int i = 0; i < 4; i++) {
        snprintf(args, sizeof(args), "%s %s", cmds[i], scen);
        assert_int_equal(run_tool(args, out, errf), 0);
    }
    /* A window of the SVG; options only where they belong, and well-formed. */
    snprintf(args, sizeof(args), "svg --from 10 --to 20.5 %s", scen);
    assert_int_equal(run_tool(args, out, errf), 0);
    e = slurp(out);
    assert_non_null(strstr(e, "showing 10.00 ms to 20.50 ms"));
    free(e);
    snprintf(args, sizeof(args), "svg --from ten %s", scen);
    assert_int_equal(run_tool(args, out, errf), 2);
    snprintf(args, sizeof(args), "summary --from 1 %s", scen);
    assert_int_equal(run_tool(args, out, errf), 2);
    snprintf(args, sizeof(args), "summary %s %s", scen, scen);
    assert_int_equal(run_tool(args, out, errf), 2);
    snprintf(args, sizeof(args), "dump %s", scen);
    assert_int_equal(run_tool(args, out, errf), 0);
    e = slurp(out); /* dump (its first 64 KiB): the spawn of main, by name */
    assert_non_null(strstr(e, " w0 SPAWN task="));
    assert_non_null(strstr(e, " fn=main_task"));
    free(e);
    /* The perfetto output through the CLI checks out as well (a window of it: flows
     * whose ends fall on both sides of its edges must go in pairs). */
    snprintf(args, sizeof(args), "perfetto --from 1.5 --to 19 %s", scen);
    assert_int_equal(run_tool(args, out, errf), 0);
    FILE *pf = fopen(out, "r");
    char *buf = NULL;
    size_t cap = 0, len = 0;
    FILE *mem = open_memstream(&buf, &cap);
    int c;
    while ((c = getc(pf)) != EOF)
        putc(c, mem);
    fclose(pf);
    fclose(mem);
    len = cap;
    size_t ns;
    check_perfetto(buf, len, &ns);
    assert_true(ns > 0 && ns < X.runs[0] + X.runs[1]);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_reader_and_model),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_perfetto),
        cmocka_unit_test(test_svg),
        cmocka_unit_test(test_big),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
