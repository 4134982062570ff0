/* weft-trace perfetto: the model as Chrome trace event JSON, which ui.perfetto.dev and
 * chrome://tracing open.
 *
 * Layout: one process (the traced pid), one thread track per worker (tid = worker + 1,
 * named by "M" thread_name events; plain threads share one more track). On each track:
 *   - an "X" complete slice per task run, named by the task's function, args task id,
 *     queue depth at the start and why it stopped; "X" slices "parked" and "searching";
 *   - "i" instants for I/O submits and completions, timer fires, injection pulls, stalls;
 *   - a "C" counter "queue wN" with the local queue depth sampled at each run start.
 * Flow arrows ("s" then "f" with "bp":"e", bound to the enclosing slices): a wake or spawn
 * from the waker's running task to the run it caused, a steal from the task the victim
 * was running to the thief's next run (every steal is also an "i" instant on the thief's
 * track). Every "s" has its "f" (same id); flows that could not bind are left out.
 *
 * Items are collected, then sorted by (track, ts, kind) so timestamps never go backwards
 * on a track; a slice sorts before the flow ends and instants at its own start. */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

enum kind { K_SLICE, K_PARK, K_SEARCH, K_COUNTER, K_FLOW_F, K_FLOW_S, K_MARK, K_STEAL };

typedef struct item {
    uint64_t ts;
    uint32_t lane;
    uint8_t kind;
    uint32_t idx; /* into the lane's slices/parks/marks, or the flow number */
} item;

static int item_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->lane != y->lane)
        return x->lane < y->lane ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static const char *reason_name(unsigned r)
{
    static const char *const n[] = {"end of trace", "yield", "sleep", "join", "chan",
                                    "lock",         "io",    "done",  "other", "migrate"};
    return r < sizeof(n) / sizeof(n[0]) ? n[r] : "other";
}

static const char *wake_name(unsigned s)
{
    static const char *const n[] = {"wake",       "wake by task",   "wake by timer",
                                    "wake by io", "wake by thread", "spawn"};
    return s < sizeof(n) / sizeof(n[0]) ? n[s] : "wake";
}

static void us(FILE *out, uint64_t ns) /* microseconds with nanosecond precision */
{
    fprintf(out, "%" PRIu64 ".%03u", ns / 1000, (unsigned)(ns % 1000));
}

/* A steal's arrow ends at the thief's first run at or after the steal. */
static uint64_t next_run(const wt_worker *w, uint64_t ts)
{
    size_t lo = 0, hi = w->nsl;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->sl[mid].t0 < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < w->nsl ? w->sl[lo].t0 : ts;
}

/* Whether a task was running on w at ts: a flow's start binds to the enclosing slice, and
 * one that starts outside any (a wake by an I/O reap or a timer pass, a steal from a
 * worker between tasks) would be dropped by the viewer, so it is not written. */
static bool in_run(const wt_worker *w, uint64_t ts)
{
    size_t lo = 0, hi = w->nsl;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->sl[mid].t0 <= ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && ts <= w->sl[lo - 1].t1;
}

typedef struct steal_ref {
    uint32_t lane, idx;
} steal_ref;

int wt_perfetto(const wt_model *m, FILE *out)
{
    return wt_perfetto_window(m, out, 0, UINT64_MAX);
}

int wt_perfetto_window(const wt_model *m, FILE *out, uint64_t from, uint64_t to)
{
    /* The window in trace time; an item is kept when it overlaps it, a flow when both
     * of its ends are in it. */
    uint64_t lo = m->t0 + (from < m->t1 - m->t0 ? from : m->t1 - m->t0);
    uint64_t hi = to > m->t1 - m->t0 ? m->t1 : m->t0 + to;
#define IN(a, b) ((b) >= lo && (a) <= hi)
    size_t n = 0, nsteals = 0;
    for (unsigned l = 0; l < m->nlanes; l++) {
        const wt_worker *w = &m->w[l];
        n += 2 * w->nsl + w->npk + w->nse + w->nmk + 3 * w->nst;
        nsteals += w->nst;
    }
    n += 2 * m->nflows;
    item *it = malloc((n ? n : 1) * sizeof(*it));
    steal_ref *sr = malloc((nsteals ? nsteals : 1) * sizeof(*sr));
    if (!it || !sr) {
        free(it);
        free(sr);
        return -ENOMEM;
    }
    size_t k = 0, ks = 0;
    uint64_t t0 = m->t0;
    for (unsigned l = 0; l < m->nlanes; l++) {
        const wt_worker *w = &m->w[l];
        uint32_t lastq = UINT32_MAX;
        for (size_t i = 0; i < w->nsl; i++) {
            if (!IN(w->sl[i].t0, w->sl[i].t1))
                continue;
            it[k++] = (item){w->sl[i].t0, l, K_SLICE, (uint32_t)i};
            if (w->sl[i].qdepth != lastq) {
                it[k++] = (item){w->sl[i].t0, l, K_COUNTER, (uint32_t)i};
                lastq = w->sl[i].qdepth;
            }
        }
        for (size_t i = 0; i < w->npk; i++)
            if (IN(w->pk[i].t0, w->pk[i].t1))
                it[k++] = (item){w->pk[i].t0, l, K_PARK, (uint32_t)i};
        for (size_t i = 0; i < w->nse; i++)
            if (IN(w->se[i].t0, w->se[i].t1))
                it[k++] = (item){w->se[i].t0, l, K_SEARCH, (uint32_t)i};
        for (size_t i = 0; i < w->nmk; i++)
            if (IN(w->mk[i].ts, w->mk[i].ts))
                it[k++] = (item){w->mk[i].ts, l, K_MARK, (uint32_t)i};
        for (size_t i = 0; i < w->nst; i++) {
            const wt_steal *s = &w->st[i];
            unsigned victim = s->victim < m->nlanes ? s->victim : l;
            uint32_t id = (uint32_t)(m->nflows + ks);
            sr[ks++] = (steal_ref){l, (uint32_t)i};
            if (!IN(s->ts, s->ts))
                continue;
            it[k++] = (item){s->ts, l, K_STEAL, id};
            uint64_t to_ts = next_run(w, s->ts);
            if (in_run(&m->w[victim], s->ts) && IN(to_ts, to_ts)) {
                it[k++] = (item){s->ts, victim, K_FLOW_S, id};
                it[k++] = (item){to_ts, l, K_FLOW_F, id};
            }
        }
    }
    for (size_t i = 0; i < m->nflows; i++) {
        const wt_flow *f = &m->flows[i];
        if (f->from_lane >= m->nlanes || !in_run(&m->w[f->from_lane], f->from_ts) ||
            !IN(f->from_ts, f->from_ts) || !IN(f->to_ts, f->to_ts))
            continue;
        it[k++] = (item){f->from_ts, f->from_lane, K_FLOW_S, (uint32_t)i};
        it[k++] = (item){f->to_ts, f->to_lane, K_FLOW_F, (uint32_t)i};
    }
#undef IN
    qsort(it, k, sizeof(*it), item_cmp);

    unsigned pid = m->trace->hdr.pid ? m->trace->hdr.pid : 1;
    fprintf(out, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    fprintf(out,
            "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,\"tid\":0,\"ts\":0,"
            "\"args\":{\"name\":",
            pid);
    char title[128];
    snprintf(title, sizeof(title), "weft: %s", m->trace->hdr.exe[0] ? m->trace->hdr.exe : "?");
    wt_json_str(out, title);
    fprintf(out, "}}");
    for (unsigned l = 0; l < m->nlanes; l++) {
        char name[32];
        fprintf(out,
                ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,\"ts\":0,"
                "\"args\":{\"name\":\"%s\"}}",
                pid, l + 1, wt_worker_name(m, l, name, sizeof(name)));
        fprintf(out,
                ",\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%u,\"tid\":%u,"
                "\"ts\":0,\"args\":{\"sort_index\":%u}}",
                pid, l + 1, l);
    }
    for (size_t i = 0; i < k; i++) {
        const item *x = &it[i];
        const wt_worker *w = &m->w[x->lane];
        fprintf(out, ",\n{\"pid\":%u,\"tid\":%u,\"ts\":", pid, x->lane + 1);
        us(out, x->ts - t0);
        switch (x->kind) {
        case K_SLICE: {
            const wt_slice *s = &w->sl[x->idx];
            fprintf(out, ",\"ph\":\"X\",\"cat\":\"task\",\"dur\":");
            us(out, s->t1 - s->t0);
            fprintf(out, ",\"name\":");
            wt_json_str(out, m->fns[s->fn].name);
            fprintf(out, ",\"args\":{\"task\":%" PRIu64 ",\"queue\":%u,\"stop\":\"%s\"}}", s->task,
                    s->qdepth, reason_name(s->reason));
            break;
        }
        case K_PARK:
        case K_SEARCH: {
            const wt_span *p = x->kind == K_PARK ? &w->pk[x->idx] : &w->se[x->idx];
            fprintf(out, ",\"ph\":\"X\",\"cat\":\"idle\",\"name\":\"%s\",\"dur\":",
                    x->kind == K_PARK ? "parked" : "searching");
            us(out, p->t1 - p->t0);
            fprintf(out, "}");
            break;
        }
        case K_COUNTER:
            fprintf(out, ",\"ph\":\"C\",\"name\":\"queue w%u\",\"args\":{\"depth\":%u}}", x->lane,
                    w->sl[x->idx].qdepth);
            break;
        case K_MARK: {
            const wt_mark *mk = &w->mk[x->idx];
            static const char *const names[] = {[WEFT_EV_INJECT_PULL] = "global queue pull",
                                                [WEFT_EV_IO_SUBMIT] = "io submit",
                                                [WEFT_EV_IO_COMPLETE] = "io complete",
                                                [WEFT_EV_TIMER_FIRE] = "timers fired",
                                                [WEFT_EV_STALL] = "STALL"};
            const char *nm = mk->type < sizeof(names) / sizeof(names[0]) && names[mk->type]
                                 ? names[mk->type]
                                 : "event";
            fprintf(out,
                    ",\"ph\":\"i\",\"s\":\"t\",\"cat\":\"rt\",\"name\":\"%s\","
                    "\"args\":{\"n\":%" PRIu64 ",\"task\":%" PRIu64 "}}",
                    nm, mk->n, mk->task);
            break;
        }
        case K_STEAL: {
            const steal_ref *r = &sr[x->idx - m->nflows];
            const wt_steal *s = &m->w[r->lane].st[r->idx];
            fprintf(out,
                    ",\"ph\":\"i\",\"s\":\"t\",\"cat\":\"steal\",\"name\":\"steal\","
                    "\"args\":{\"tasks\":%u,\"victim\":%u}}",
                    s->count, s->victim);
            break;
        }
        case K_FLOW_S:
        case K_FLOW_F: {
            const char *ph = x->kind == K_FLOW_S ? "s" : "f";
            if (x->idx < m->nflows) {
                const wt_flow *f = &m->flows[x->idx];
                fprintf(out,
                        ",\"ph\":\"%s\",\"cat\":\"wake\",\"name\":\"%s\",\"id\":%u%s,"
                        "\"args\":{\"task\":%" PRIu64 "}}",
                        ph, wake_name(f->src), x->idx + 1,
                        x->kind == K_FLOW_F ? ",\"bp\":\"e\"" : "", f->task);
            } else {
                const steal_ref *r = &sr[x->idx - m->nflows];
                const wt_steal *s = &m->w[r->lane].st[r->idx];
                fprintf(out,
                        ",\"ph\":\"%s\",\"cat\":\"steal\",\"name\":\"steal\",\"id\":%u%s,"
                        "\"args\":{\"tasks\":%u,\"victim\":%u,\"thief\":%u}}",
                        ph, x->idx + 1, x->kind == K_FLOW_F ? ",\"bp\":\"e\"" : "", s->count,
                        s->victim, r->lane);
            }
            break;
        }
        }
    }
    fprintf(out, "\n]}\n");
    free(it);
    free(sr);
    fflush(out);
    return ferror(out) ? -EIO : 0;
}
