/* weft-trace: the model — every worker's events replayed in one global time order (a k-way
 * merge of the per-worker lanes), turning start/stop and park/unpark pairs into slices and
 * spans and following each task through spawn, wake, run and stop.
 *
 * Scheduling latency is measured from the moment a task became runnable to its next run
 * start. "Runnable" is the first of: its spawn, a wake, or a yield. A wake can be recorded
 * while the task is still running (the waker fired its waiter before the task finished
 * switching out); the task is then runnable from its stop, not from the wake.
 *
 * Damaged or partial traces (flight-recorder windows) are normal input: a stop without a
 * start is ignored, a start while a slice is open closes it, and anything still open at
 * the end is closed at the last timestamp. */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NO_LANE UINT32_MAX

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 256;
    while (c < need)
        c *= 2;
    void *p = realloc(*arr, c * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = c;
    return 0;
}
#define PUSH(arr, n, cap, val)                                                                     \
    (grow((void **)&(arr), &(cap), (n) + 1, sizeof(*(arr))) < 0 ? -ENOMEM                          \
                                                                : ((arr)[(n)++] = (val), 0))

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

/* Open addressing: slots hold index+1 into tasks[] / fns[], 0 = empty. */
static int map_grow(uint32_t **map, size_t *cap, size_t n, const void *base, size_t stride)
{
    if ((n + 1) * 2 <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 1024;
    uint32_t *m = calloc(c, sizeof(*m));
    if (!m)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = *(const uint64_t *)((const char *)base + i * stride);
        size_t s = mix(key) & (c - 1);
        while (m[s])
            s = (s + 1) & (c - 1);
        m[s] = (uint32_t)i + 1;
    }
    free(*map);
    *map = m;
    *cap = c;
    return 0;
}

static uint32_t fn_index(const wt_model *m, uint64_t addr)
{
    if (addr == 0 || !m->fmap_cap)
        return 0; /* fns[0]: unknown */
    size_t s = mix(addr) & (m->fmap_cap - 1);
    for (; m->fmap[s]; s = (s + 1) & (m->fmap_cap - 1))
        if (m->fns[m->fmap[s] - 1].addr == addr)
            return m->fmap[s] - 1;
    return UINT32_MAX;
}

static int fn_get(wt_model *m, uint64_t addr, uint32_t *out)
{
    uint32_t i = m->nfns ? fn_index(m, addr) : UINT32_MAX;
    if (i != UINT32_MAX) {
        *out = i;
        return 0;
    }
    if (map_grow(&m->fmap, &m->fmap_cap, m->nfns, m->fns, sizeof(wt_fn)) < 0 ||
        grow((void **)&m->fns, &m->capfns, m->nfns + 1, sizeof(wt_fn)) < 0)
        return -ENOMEM;
    const char *sym = wt_trace_sym(m->trace, addr);
    char hex[24];
    snprintf(hex, sizeof(hex), "0x%" PRIx64, addr);
    wt_fn f = {.addr = addr, .name = strdup(sym ? sym : hex)};
    if (!f.name)
        return -ENOMEM;
    f.hash = wt_hash(f.name);
    m->fns[m->nfns] = f;
    size_t s = mix(addr) & (m->fmap_cap - 1);
    while (m->fmap[s])
        s = (s + 1) & (m->fmap_cap - 1);
    m->fmap[s] = (uint32_t)m->nfns + 1;
    *out = (uint32_t)m->nfns++;
    return 0;
}

static wt_task *task_get(wt_model *m, uint64_t id)
{
    if (m->tmap_cap) {
        size_t s = mix(id) & (m->tmap_cap - 1);
        for (; m->tmap[s]; s = (s + 1) & (m->tmap_cap - 1))
            if (m->tasks[m->tmap[s] - 1].id == id)
                return &m->tasks[m->tmap[s] - 1];
    }
    if (map_grow(&m->tmap, &m->tmap_cap, m->ntasks, m->tasks, sizeof(wt_task)) < 0 ||
        grow((void **)&m->tasks, &m->captasks, m->ntasks + 1, sizeof(wt_task)) < 0)
        return NULL;
    wt_task *t = &m->tasks[m->ntasks];
    memset(t, 0, sizeof(*t));
    t->id = id;
    t->last_lane = NO_LANE;
    size_t s = mix(id) & (m->tmap_cap - 1);
    while (m->tmap[s])
        s = (s + 1) & (m->tmap_cap - 1);
    m->tmap[s] = (uint32_t)m->ntasks + 1;
    m->ntasks++;
    return t;
}

const wt_task *wt_model_task(const wt_model *m, uint64_t id)
{
    if (!m->tmap_cap)
        return NULL;
    size_t s = mix(id) & (m->tmap_cap - 1);
    for (; m->tmap[s]; s = (s + 1) & (m->tmap_cap - 1))
        if (m->tasks[m->tmap[s] - 1].id == id)
            return &m->tasks[m->tmap[s] - 1];
    return NULL;
}

/* Per-lane replay state. */
typedef struct lane_state {
    bool in_run, in_park, in_search;
    wt_slice run;
    uint64_t park_t0, search_t0;
} lane_state;

static int close_run(wt_model *m, unsigned l, lane_state *ls, uint64_t ts, uint8_t reason)
{
    wt_worker *w = &m->w[l];
    ls->in_run = false;
    ls->run.t1 = ts;
    ls->run.reason = reason;
    uint64_t d = ts - ls->run.t0;
    w->busy_ns += d;
    m->fns[ls->run.fn].busy_ns += d;
    m->fns[ls->run.fn].runs++;
    wt_task *t = task_get(m, ls->run.task);
    if (!t)
        return -ENOMEM;
    t->busy_ns += d;
    t->long_runs += d >= WT_LONG_SLICE_NS;
    if (d > t->max_slice) {
        t->max_slice = d;
        t->max_slice_ts = ls->run.t0;
        t->max_slice_lane = l;
    }
    if ((reason == WEFT_TR_YIELD || t->self_woke) && d < WT_SHORT_RUN_NS) {
        if (++t->streak > t->max_streak)
            t->max_streak = t->streak;
    } else {
        t->streak = 0;
    }
    if (reason == WEFT_TR_YIELD)
        t->yields++;
    if (reason == WEFT_TR_YIELD || reason == WEFT_TR_MIGRATE || t->woke_while_running) {
        t->ready = 1;
        t->ready_ts = ts;
    }
    t->running = 0;
    t->woke_while_running = 0;
    t->self_woke = 0;
    return PUSH(w->sl, w->nsl, w->capsl, ls->run);
}

static int close_park(wt_model *m, unsigned l, lane_state *ls, uint64_t ts)
{
    wt_worker *w = &m->w[l];
    ls->in_park = false;
    w->park_ns += ts - ls->park_t0;
    wt_span sp = {ls->park_t0, ts};
    return PUSH(w->pk, w->npk, w->cappk, sp);
}

/* SEARCH has no end event: a search ends at the worker's next run start or park. */
static int close_search(wt_model *m, unsigned l, lane_state *ls, uint64_t ts)
{
    wt_worker *w = &m->w[l];
    ls->in_search = false;
    w->search_ns += ts - ls->search_t0;
    wt_span sp = {ls->search_t0, ts};
    return PUSH(w->se, w->nse, w->capse, sp);
}

static int mark(wt_worker *w, const weft_trace_event *e)
{
    wt_mark mk = {.ts = e->ts, .task = e->task, .n = e->b, .type = e->type};
    return PUSH(w->mk, w->nmk, w->capmk, mk);
}

static int on_event(wt_model *m, unsigned l, lane_state *ls, const weft_trace_event *e)
{
    wt_worker *w = &m->w[l];
    wt_task *t;
    unsigned nw = m->trace->nworkers;
    switch (e->type) {
    case WEFT_EV_SPAWN:
        if (!(t = task_get(m, e->task)))
            return -ENOMEM;
        t->parent = e->b;
        t->spawn_ts = e->ts;
        /* SPAWN is also the first wake-up (no WAKE follows it): a flow from the
         * spawner's worker to the first run. */
        t->has_wake = 1;
        t->wake_ts = e->ts;
        t->wake_lane = l;
        t->wake_src = WEFT_TW_SPAWN;
        if (fn_get(m, e->c, &t->fn) < 0)
            return -ENOMEM;
        if (!t->ready && !t->running) {
            t->ready = 1;
            t->ready_ts = e->ts;
        }
        return 0;
    case WEFT_EV_WAKE:
        if (!(t = task_get(m, e->task)))
            return -ENOMEM;
        t->has_wake = 1;
        t->wake_ts = e->ts;
        t->wake_lane = e->a < nw ? e->a : l;
        t->wake_src = e->reason;
        if (e->b == e->task) {
            t->self_wakes++;
            t->self_woke = 1;
        }
        if (t->running) {
            t->woke_while_running = 1;
        } else if (!t->ready) {
            t->ready = 1;
            t->ready_ts = e->ts;
        }
        return 0;
    case WEFT_EV_RUN_START:
        if (ls->in_park && close_park(m, l, ls, e->ts) < 0)
            return -ENOMEM;
        if (ls->in_search && close_search(m, l, ls, e->ts) < 0)
            return -ENOMEM;
        if (ls->in_run && close_run(m, l, ls, e->ts, 0) < 0)
            return -ENOMEM;
        if (!(t = task_get(m, e->task)))
            return -ENOMEM;
        w->runs++;
        t->runs++;
        if (t->ready) {
            uint64_t lat = e->ts >= t->ready_ts ? e->ts - t->ready_ts : 0;
            t->wait_ns += lat;
            if (PUSH(m->lat, m->nlat, m->caplat, lat) < 0)
                return -ENOMEM;
            t->ready = 0;
        }
        if (t->last_lane != NO_LANE && t->last_lane != l)
            t->hops++;
        t->last_lane = l;
        if (t->has_wake) {
            wt_flow f = {t->wake_ts, e->ts, t->id, t->wake_lane, l, t->wake_src};
            if (PUSH(m->flows, m->nflows, m->capflows, f) < 0)
                return -ENOMEM;
            t->has_wake = 0;
        }
        t->running = 1;
        t->run_ts = e->ts;
        ls->in_run = true;
        ls->run = (wt_slice){.t0 = e->ts, .task = t->id, .fn = t->fn, .qdepth = e->a};
        if (e->a > w->max_q)
            w->max_q = e->a;
        return 0;
    case WEFT_EV_RUN_STOP:
        if (ls->in_run)
            return close_run(m, l, ls, e->ts, e->reason ? e->reason : WEFT_TR_OTHER);
        return 0;
    case WEFT_EV_END:
        if ((t = task_get(m, e->task)) == NULL)
            return -ENOMEM;
        t->end_ts = e->ts;
        return 0;
    case WEFT_EV_STEAL: {
        w->steals++;
        w->stolen_tasks += e->b;
        if (e->a < nw)
            m->w[e->a].robbed += e->b;
        wt_steal s = {e->ts, e->a, (uint32_t)(e->b > UINT32_MAX ? UINT32_MAX : e->b)};
        return PUSH(w->st, w->nst, w->capst, s);
    }
    case WEFT_EV_PARK:
        if (ls->in_run && close_run(m, l, ls, e->ts, 0) < 0)
            return -ENOMEM;
        if (ls->in_search && close_search(m, l, ls, e->ts) < 0)
            return -ENOMEM;
        if (!ls->in_park) {
            w->parks++;
            ls->in_park = true;
            ls->park_t0 = e->ts;
        }
        return 0;
    case WEFT_EV_UNPARK:
        return ls->in_park ? close_park(m, l, ls, e->ts) : 0;
    case WEFT_EV_INJECT_PULL:
        w->inject_pulls++;
        w->inject_tasks += e->b;
        return mark(w, e);
    case WEFT_EV_IO_SUBMIT:
        w->io_submits++;
        w->io_sqes += e->b;
        return mark(w, e);
    case WEFT_EV_IO_COMPLETE:
        w->io_reaps++;
        w->io_cqes += e->b;
        return e->b ? mark(w, e) : 0;
    case WEFT_EV_TIMER_FIRE:
        w->timer_fires++;
        w->timers += e->b;
        return mark(w, e);
    case WEFT_EV_STALL: {
        /* Recorded by the monitor thread (a plain-thread batch): a = the stuck worker,
         * c = the task's function, so it is drawn on that worker and named even when
         * the task's SPAWN is not in the trace. */
        wt_worker *sw = e->a < nw ? &m->w[e->a] : w;
        sw->stalls++;
        wt_mark mk = {.ts = e->ts, .task = e->task, .n = e->b, .type = e->type};
        if ((t = task_get(m, e->task)) == NULL || fn_get(m, e->c, &mk.fn) < 0)
            return -ENOMEM;
        if (t->fn == 0)
            t->fn = mk.fn;
        return PUSH(sw->mk, sw->nmk, sw->capmk, mk);
    }
    case WEFT_EV_SEARCH:
        if (!ls->in_search && !ls->in_run && !ls->in_park) {
            ls->in_search = true;
            ls->search_t0 = e->ts;
        }
        return 0;
    default: /* kinds newer than this reader */
        return 0;
    }
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A binary min-heap of lanes keyed by their next event's (ts, lane). */
typedef struct heap {
    unsigned *h;
    unsigned n;
    const wt_lane *lanes;
    size_t *pos;
} heap;

static bool heap_less(const heap *hp, unsigned a, unsigned b)
{
    uint64_t ta = hp->lanes[a].ev[hp->pos[a]].ts, tb = hp->lanes[b].ev[hp->pos[b]].ts;
    return ta < tb || (ta == tb && a < b);
}

static void heap_down(heap *hp, unsigned i)
{
    for (;;) {
        unsigned l = 2 * i + 1, r = l + 1, s = i;
        if (l < hp->n && heap_less(hp, hp->h[l], hp->h[s]))
            s = l;
        if (r < hp->n && heap_less(hp, hp->h[r], hp->h[s]))
            s = r;
        if (s == i)
            return;
        unsigned x = hp->h[i];
        hp->h[i] = hp->h[s];
        hp->h[s] = x;
        i = s;
    }
}

int wt_model_build(wt_model *m, const wt_trace *t)
{
    memset(m, 0, sizeof(*m));
    m->trace = t;
    m->t0 = t->t0;
    m->t1 = t->t1;
    m->nlanes = t->nlanes;
    m->w = calloc(t->nlanes, sizeof(*m->w));
    lane_state *ls = calloc(t->nlanes, sizeof(*ls));
    heap hp = {.h = calloc(t->nlanes, sizeof(unsigned)),
               .lanes = t->lanes,
               .pos = calloc(t->nlanes, sizeof(size_t))};
    uint32_t unknown;
    int rc = -ENOMEM;
    if (!m->w || !ls || !hp.h || !hp.pos)
        goto out;
    /* fns[0] is the unknown function: tasks whose SPAWN is not in the trace. */
    if (fn_get(m, 0, &unknown) < 0)
        goto out;
    free(m->fns[0].name);
    if (!(m->fns[0].name = strdup("?")))
        goto out;
    m->fns[0].hash = wt_hash("?");

    for (unsigned l = 0; l < t->nlanes; l++)
        if (t->lanes[l].n)
            hp.h[hp.n++] = l;
    for (unsigned i = hp.n; i-- > 0;)
        heap_down(&hp, i);
    while (hp.n) {
        unsigned l = hp.h[0];
        if (on_event(m, l, &ls[l], &t->lanes[l].ev[hp.pos[l]]) < 0)
            goto out;
        if (++hp.pos[l] == t->lanes[l].n)
            hp.h[0] = hp.h[--hp.n];
        heap_down(&hp, 0);
    }
    for (unsigned l = 0; l < t->nlanes; l++) {
        if (ls[l].in_run && close_run(m, l, &ls[l], t->t1, 0) < 0)
            goto out;
        if (ls[l].in_park && close_park(m, l, &ls[l], t->t1) < 0)
            goto out;
        if (ls[l].in_search && close_search(m, l, &ls[l], t->t1) < 0)
            goto out;
    }
    if (m->nlat)
        qsort(m->lat, m->nlat, sizeof(*m->lat), u64_cmp);
    rc = 0;
out:
    free(ls);
    free(hp.h);
    free(hp.pos);
    if (rc < 0)
        wt_model_free(m);
    return rc;
}

void wt_model_free(wt_model *m)
{
    if (m->w) {
        for (unsigned l = 0; l < m->nlanes; l++) {
            free(m->w[l].sl);
            free(m->w[l].pk);
            free(m->w[l].se);
            free(m->w[l].st);
            free(m->w[l].mk);
        }
    }
    free(m->w);
    for (size_t i = 0; i < m->nfns; i++)
        free(m->fns[i].name);
    free(m->fns);
    free(m->tasks);
    free(m->lat);
    free(m->flows);
    free(m->tmap);
    free(m->fmap);
    memset(m, 0, sizeof(*m));
}
