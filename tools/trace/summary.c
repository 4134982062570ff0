/* weft-trace summary: the text report — per-worker table, schedule latency, the tasks
 * that stand out, and lints that name a likely scheduling problem in one line each.
 *
 * The lints and their thresholds (trace.h):
 *  1. long slice: a run of WT_LONG_SLICE_NS or more — the task never suspended, so nothing
 *     else ran on that worker meanwhile (and no one could steal its worker back).
 *  2. idle while queued: a worker parked while another worker's local queue held
 *     WT_LONG_QUEUE or more tasks (the depth sampled at each run start holds until the
 *     next one) for at least 1 ms in total: work that should have been stolen.
 *  3. self-wake loop: WT_SELF_LOOP_MIN or more consecutive runs shorter than
 *     WT_SHORT_RUN_NS, each ending in a yield or a wake of itself: busy polling.
 *  4. imbalance: the busiest and the idlest worker differ by 50 points of busy time or
 *     more over a trace of 10 ms or more; names the function that filled the busy one.
 *  5. serialized: one task did half or more of all the work of a multi-worker run and the
 *     workers together were busy 1.2 cores or less on average: a task runs on one worker
 *     at a time, so work done inline in it cannot spread (whichever worker runs it).
 *  6. stall: the runtime's stall monitor reported a stuck worker. */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define TOP 10

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static const char *task_fn(const wt_model *m, const wt_task *t)
{
    return m->fns[t->fn].name;
}

/* Sort keys for the "top tasks" lists: a global is the simplest comparator context. */
static const wt_model *g_m;
static int g_key;

static uint64_t task_key(const wt_task *t)
{
    return g_key == 0 ? t->busy_ns : g_key == 1 ? t->wait_ns : t->hops;
}

static int task_cmp(const void *a, const void *b)
{
    const wt_task *x = &g_m->tasks[*(const uint32_t *)a], *y = &g_m->tasks[*(const uint32_t *)b];
    uint64_t kx = task_key(x), ky = task_key(y);
    if (kx != ky)
        return kx > ky ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void top_tasks(const wt_model *m, FILE *out, uint32_t *idx, int key, const char *title)
{
    g_m = m;
    g_key = key;
    for (size_t i = 0; i < m->ntasks; i++)
        idx[i] = (uint32_t)i;
    size_t n = m->ntasks;
    qsort(idx, n, sizeof(*idx), task_cmp);
    fprintf(out, "\n%s\n", title);
    fprintf(out, "  %-17s %-24s %11s %11s %8s %6s %11s\n", "task", "function", "busy", "waiting",
            "runs", "hops", "max slice");
    size_t shown = 0;
    for (size_t i = 0; i < n && shown < TOP; i++) {
        const wt_task *t = &m->tasks[idx[i]];
        if (task_key(t) == 0)
            break;
        char b1[32], b2[32], b3[32], id[24];
        wt_fmt_task(id, sizeof(id), t->id);
        fprintf(out, "  %-17s %-24.24s %11s %11s %8" PRIu64 " %6u %11s\n", id, task_fn(m, t),
                wt_fmt_ns(b1, sizeof(b1), t->busy_ns), wt_fmt_ns(b2, sizeof(b2), t->wait_ns),
                t->runs, t->hops, wt_fmt_ns(b3, sizeof(b3), t->max_slice));
        shown++;
    }
    if (!shown)
        fprintf(out, "  (none)\n");
}

static int fn_cmp(const void *a, const void *b)
{
    uint64_t x = g_m->fns[*(const uint32_t *)a].busy_ns, y = g_m->fns[*(const uint32_t *)b].busy_ns;
    return x > y ? -1 : x < y;
}

/* Functions by busy time: where many tasks share a function, the per-task lists miss it. */
static int functions(const wt_model *m, FILE *out)
{
    uint32_t *idx = malloc((m->nfns ? m->nfns : 1) * sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    size_t n = 0;
    uint64_t total = 0;
    for (size_t f = 0; f < m->nfns; f++) {
        total += m->fns[f].busy_ns;
        if (m->fns[f].runs)
            idx[n++] = (uint32_t)f;
    }
    g_m = m;
    qsort(idx, n, sizeof(*idx), fn_cmp);
    fprintf(out, "\nfunctions by busy time\n  %-36s %11s %6s %10s %11s\n", "function", "busy",
            "share", "runs", "mean run");
    for (size_t i = 0; i < n && i < TOP; i++) {
        const wt_fn *f = &m->fns[idx[i]];
        char b1[32], b2[32];
        fprintf(out, "  %-36.36s %11s %5.1f%% %10" PRIu64 " %11s\n", f->name,
                wt_fmt_ns(b1, sizeof(b1), f->busy_ns), pct(f->busy_ns, total), f->runs,
                wt_fmt_ns(b2, sizeof(b2), f->busy_ns / f->runs));
    }
    if (!n)
        fprintf(out, "  (none)\n");
    free(idx);
    return 0;
}

static void workers(const wt_model *m, FILE *out, uint64_t dur)
{
    fprintf(out, "\n%-8s %6s %7s %7s %9s %9s %7s %7s %7s %9s %9s %7s %5s\n", "worker", "busy",
            "search", "parked", "runs", "steals", "stolen", "robbed", "parks", "io sqes", "io cqes",
            "timers", "maxq");
    for (unsigned l = 0; l < m->nlanes; l++) {
        const wt_worker *w = &m->w[l];
        if (l == m->trace->nworkers && !w->runs && !w->io_sqes && !w->steals)
            continue; /* the plain-thread lane, only when it did something */
        char name[32];
        fprintf(out,
                "%-8s %5.1f%% %6.1f%% %6.1f%% %9" PRIu64 " %9" PRIu64 " %7" PRIu64 " %7" PRIu64
                " %7" PRIu64 " %9" PRIu64 " %9" PRIu64 " %7" PRIu64 " %5u\n",
                l == m->trace->nworkers ? "threads" : (snprintf(name, sizeof(name), "%u", l), name),
                pct(w->busy_ns, dur), pct(w->search_ns, dur), pct(w->park_ns, dur), w->runs,
                w->steals, w->stolen_tasks, w->robbed, w->parks, w->io_sqes, w->io_cqes, w->timers,
                w->max_q);
    }
    fprintf(out, "busy: running tasks (and, unless recorded with WEFT_TRACE_PRECISE=1, the "
                 "scheduler's bookkeeping right before each run); search: looking for work; "
                 "parked: asleep; the rest is the scheduler itself (I/O, timers) and time the OS "
                 "gave to other threads\n");
}

static void latency(const wt_model *m, FILE *out)
{
    fprintf(out, "\nschedule latency (runnable -> running), %zu samples\n", m->nlat);
    if (!m->nlat) {
        fprintf(out, "  (none)\n");
        return;
    }
    static const double qs[] = {0.5, 0.9, 0.99, 0.999};
    static const char *const names[] = {"p50", "p90", "p99", "p99.9"};
    fprintf(out, " ");
    for (size_t i = 0; i < 4; i++) {
        char b[32];
        size_t k = (size_t)(qs[i] * (double)(m->nlat - 1));
        fprintf(out, " %s %s ", names[i], wt_fmt_ns(b, sizeof(b), m->lat[k]));
    }
    char b[32];
    fprintf(out, " max %s\n", wt_fmt_ns(b, sizeof(b), m->lat[m->nlat - 1]));
}

/* Lint 2: time lane v spent parked while lane w's queue held >= WT_LONG_QUEUE tasks. */
static uint64_t idle_while_queued(const wt_model *m, unsigned w, unsigned v, uint64_t *stretches,
                                  uint32_t *maxq)
{
    const wt_worker *bw = &m->w[w], *iw = &m->w[v];
    uint64_t total = 0;
    size_t j = 0;
    for (size_t i = 0; i < bw->nsl; i++) {
        const wt_slice *s = &bw->sl[i];
        if (s->qdepth < WT_LONG_QUEUE)
            continue;
        uint64_t a = s->t0, b = i + 1 < bw->nsl ? bw->sl[i + 1].t0 : s->t1;
        while (j < iw->npk && iw->pk[j].t1 <= a)
            j++;
        for (size_t k = j; k < iw->npk && iw->pk[k].t0 < b; k++) {
            uint64_t lo = iw->pk[k].t0 > a ? iw->pk[k].t0 : a;
            uint64_t hi = iw->pk[k].t1 < b ? iw->pk[k].t1 : b;
            if (hi > lo) {
                total += hi - lo;
                (*stretches)++;
                if (s->qdepth > *maxq)
                    *maxq = s->qdepth;
            }
        }
    }
    return total;
}

static int lints(const wt_model *m, FILE *out, uint64_t dur)
{
    unsigned nw = m->trace->nworkers, found = 0;
    char b1[32], b2[32], b3[32], id[32];
    fprintf(out, "\nlints\n");
    for (size_t i = 0; i < m->ntasks; i++) {
        const wt_task *t = &m->tasks[i];
        if (t->max_slice >= WT_LONG_SLICE_NS) {
            fprintf(out,
                    "  long slice: task %s (%s) ran %s on worker %u without "
                    "suspending (from %s; %u run%s of %s or more); nothing else ran on that "
                    "worker meanwhile\n",
                    wt_fmt_task(id, sizeof(id), t->id), task_fn(m, t),
                    wt_fmt_ns(b1, sizeof(b1), t->max_slice), t->max_slice_lane,
                    wt_fmt_ns(b2, sizeof(b2), t->max_slice_ts - m->t0), t->long_runs,
                    t->long_runs == 1 ? "" : "s", wt_fmt_ns(b3, sizeof(b3), WT_LONG_SLICE_NS));
            found++;
        }
        if (t->max_streak >= WT_SELF_LOOP_MIN) {
            fprintf(out,
                    "  self-wake loop: task %s (%s) yielded or woke itself %u times in "
                    "a row, each run under %s (%" PRIu64 " yields, %" PRIu64
                    " self-wakes): busy polling\n",
                    wt_fmt_task(id, sizeof(id), t->id), task_fn(m, t), t->max_streak,
                    wt_fmt_ns(b1, sizeof(b1), WT_SHORT_RUN_NS), t->yields, t->self_wakes);
            found++;
        }
    }
    for (unsigned w = 0; w < nw; w++) {
        for (unsigned v = 0; v < nw; v++) {
            if (v == w)
                continue;
            uint64_t n = 0;
            uint32_t q = 0;
            uint64_t ns = idle_while_queued(m, w, v, &n, &q);
            if (ns >= 1000000) {
                fprintf(out,
                        "  idle while queued: worker %u was parked for %s (%" PRIu64
                        " stretch%s) while worker %u had %u or more tasks queued (up to %u): "
                        "work that was not stolen\n",
                        v, wt_fmt_ns(b1, sizeof(b1), ns), n, n == 1 ? "" : "es", w, WT_LONG_QUEUE,
                        q);
                found++;
            }
        }
    }
    if (nw >= 2 && dur >= 10000000) {
        unsigned hi = 0, lo = 0;
        for (unsigned w = 1; w < nw; w++) {
            if (m->w[w].busy_ns > m->w[hi].busy_ns)
                hi = w;
            if (m->w[w].busy_ns < m->w[lo].busy_ns)
                lo = w;
        }
        double ph = pct(m->w[hi].busy_ns, dur), pl = pct(m->w[lo].busy_ns, dur);
        if (ph - pl >= 50.0) {
            uint64_t *per = calloc(m->nfns, sizeof(*per));
            if (!per)
                return -ENOMEM;
            for (size_t i = 0; i < m->w[hi].nsl; i++)
                per[m->w[hi].sl[i].fn] += m->w[hi].sl[i].t1 - m->w[hi].sl[i].t0;
            size_t top = 0;
            for (size_t f = 1; f < m->nfns; f++)
                if (per[f] > per[top])
                    top = f;
            fprintf(out,
                    "  imbalance: worker %u was busy %.0f%% of the time, worker %u only %.0f%%; "
                    "%s ran %.0f%% of worker %u's busy time. Work is not spreading: is it done "
                    "inline in one task instead of spawned?\n",
                    hi, ph, lo, pl, m->fns[top].name, pct(per[top], m->w[hi].busy_ns), hi);
            free(per);
            found++;
        }
    }
    uint64_t total = 0;
    for (unsigned w = 0; w < nw; w++)
        total += m->w[w].busy_ns;
    const wt_task *top = NULL;
    for (size_t i = 0; i < m->ntasks; i++)
        if (!top || m->tasks[i].busy_ns > top->busy_ns)
            top = &m->tasks[i];
    if (nw >= 2 && dur >= 10000000 && top && top->busy_ns * 2 >= total && total * 10 <= dur * 12 &&
        total * 10 >= dur) {
        fprintf(out,
                "  serialized: task %s (%s) did %.0f%% of all the work (%s busy, "
                "%u moves between workers); the %u workers together were busy %.2f cores on "
                "average. A task runs on one worker at a time: spawn a task per request or "
                "connection so other workers can take the work\n",
                wt_fmt_task(id, sizeof(id), top->id), task_fn(m, top), pct(top->busy_ns, total),
                wt_fmt_ns(b1, sizeof(b1), top->busy_ns), top->hops, nw,
                (double)total / (double)dur);
        found++;
    }
    for (unsigned l = 0; l < m->nlanes; l++) {
        for (size_t i = 0; i < m->w[l].nmk; i++) {
            const wt_mark *k = &m->w[l].mk[i];
            if (k->type != WEFT_EV_STALL)
                continue;
            fprintf(out, "  stall: worker %u stuck in task %s (%s) for %s (at %s)\n", l,
                    wt_fmt_task(id, sizeof(id), k->task), m->fns[k->fn].name,
                    wt_fmt_ns(b1, sizeof(b1), k->n), wt_fmt_ns(b2, sizeof(b2), k->ts - m->t0));
            found++;
        }
    }
    if (!found)
        fprintf(out, "  none\n");
    return 0;
}

int wt_summary(const wt_model *m, FILE *out)
{
    const wt_trace *t = m->trace;
    uint64_t dur = m->t1 - m->t0;
    char b[32];
    fprintf(out, "weft trace of %s (pid %u): %u workers, %s, %zu events, %zu tasks\n",
            t->hdr.exe[0] ? t->hdr.exe : "?", t->hdr.pid, t->nworkers, wt_fmt_ns(b, sizeof(b), dur),
            t->nevents, m->ntasks > 0 ? m->ntasks : 0);
    if (t->hdr.flags & WEFT_TRACE_F_FLIGHT)
        fprintf(out, "flight-recorder dump: only the last window of the run\n");
    else if (!t->has_end)
        fprintf(out, "note: no end record, the trace was cut short (crash or kill)\n");
    if (t->has_end && t->end_dropped)
        fprintf(out, "note: %" PRIu64 " events were dropped (buffers full); counts are low\n",
                t->end_dropped);
    if (t->warn[0])
        fprintf(out, "warning: %s\n", t->warn);

    workers(m, out, dur);
    latency(m, out);
    if (functions(m, out) < 0)
        return -ENOMEM;
    uint32_t *idx = malloc((m->ntasks ? m->ntasks : 1) * sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    top_tasks(m, out, idx, 0, "top tasks by busy time");
    top_tasks(m, out, idx, 1, "top tasks by waiting time (runnable, not running)");
    top_tasks(m, out, idx, 2, "tasks that hopped workers most");
    free(idx);
    int rc = lints(m, out, dur);
    if (rc < 0)
        return rc;
    fflush(out);
    return ferror(out) ? -EIO : 0;
}
