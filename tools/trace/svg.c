/* weft-trace svg: a self-contained timeline picture of the model.
 *
 * One lane per worker: task runs are rectangles coloured by function (a stable hash of
 * its name, so a function keeps its colour across runs and builds), parks are hatched,
 * steals are red triangles on the thief's lane with a line from the victim's lane, and a
 * thin band under each lane shows the local queue depth. A time axis with labels runs
 * underneath, then a legend of the functions that took the most time.
 *
 * Size stays bounded however long the trace: runs one pixel wide or more are drawn as
 * they are (with a tooltip); narrower ones are accumulated per pixel column (busy time
 * and the function with the most of it) and drawn as column bars whose height is the
 * column's busy fraction, merged with their neighbours when they look the same. Parks are
 * merged when the gap between them is under a pixel, steals bucketed per 4 pixels. */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 1400
#define LEFT 160
#define RIGHT 24
#define PW (WIDTH - LEFT - RIGHT) /* plot width in pixels, one column each */
#define TOPH 64
#define LANEH 44
#define QH 12
#define GAP 14
#define AXISH 34
#define LEGEND_MAX 15
#define LEGEND_COLS 3
#define LEGEND_ROWH 18

typedef struct geo {
    uint64_t t0, dur;
} geo;

/* Clamps [*a, *b] to the window; false when it lies outside. */
static bool clip(const geo *g, uint64_t *a, uint64_t *b)
{
    uint64_t end = g->t0 + g->dur;
    if (*b < g->t0 || *a > end)
        return false;
    if (*a < g->t0)
        *a = g->t0;
    if (*b > end)
        *b = end;
    return true;
}

static double xof(const geo *g, uint64_t ts)
{
    return LEFT + (double)(ts - g->t0) * PW / (double)g->dur;
}

static void colour(const wt_fn *f, char out[8])
{
    if (f->addr == 0) {
        snprintf(out, 8, "#9a9a9a");
        return;
    }
    uint32_t h = f->hash;
    double hue = (h % 360) / 60.0, s = 0.55 + ((h >> 9) % 25) / 100.0,
           l = 0.45 + ((h >> 17) % 15) / 100.0;
    double c = (1 - fabs(2 * l - 1)) * s, x = c * (1 - fabs(fmod(hue, 2) - 1)), m = l - c / 2;
    double r = 0, g = 0, b = 0;
    switch ((int)hue) {
    case 0:
        r = c, g = x;
        break;
    case 1:
        r = x, g = c;
        break;
    case 2:
        g = c, b = x;
        break;
    case 3:
        g = x, b = c;
        break;
    case 4:
        r = x, b = c;
        break;
    default:
        r = c, b = x;
        break;
    }
    snprintf(out, 8, "#%02x%02x%02x", (unsigned)((r + m) * 255), (unsigned)((g + m) * 255),
             (unsigned)((b + m) * 255));
}

typedef struct column {
    double busy;   /* ns of narrow runs in this pixel column */
    double best;   /* ns of the dominant function */
    uint32_t fn;   /* the dominant function */
    uint32_t maxq; /* deepest queue sampled here */
} column;

static void col_add(column *c, uint32_t fn, double ns)
{
    c->busy += ns;
    if (c->fn == fn)
        c->best += ns;
    else if (ns > c->best) {
        c->fn = fn;
        c->best = ns;
    }
}

static void draw_runs(const wt_model *m, FILE *out, const geo *g, const wt_worker *w, double y,
                      column *col, char (*colours)[8])
{
    double colns = (double)g->dur / PW;
    memset(col, 0, PW * sizeof(*col));
    for (size_t i = 0; i < w->nsl; i++) {
        const wt_slice *s = &w->sl[i];
        uint64_t a = s->t0, b = s->t1;
        if (!clip(g, &a, &b))
            continue;
        double x0 = xof(g, a), x1 = xof(g, b);
        int cq = (int)(x0 - LEFT);
        if (cq >= 0 && cq < PW && s->qdepth > col[cq].maxq)
            col[cq].maxq = s->qdepth;
        if (s->t1 - s->t0 >= WT_LONG_SLICE_NS) /* the "long slice" lint, outlined */
            fprintf(out,
                    "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"none\" "
                    "stroke=\"#d02020\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n",
                    x0, y - 2, x1 - x0, LANEH + 4);
        if (x1 - x0 >= 1.0) {
            char b[32];
            fprintf(out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\"%s>",
                    x0, y, x1 - x0, LANEH, colours[s->fn],
                    x1 - x0 >= 4 ? " stroke=\"#fff\" stroke-width=\"0.5\"" : "");
            fprintf(out, "<title>");
            wt_xml_str(out, m->fns[s->fn].name);
            char id[32];
            fprintf(out, " task %s, %s</title></rect>\n", wt_fmt_task(id, sizeof(id), s->task),
                    wt_fmt_ns(b, sizeof(b), s->t1 - s->t0));
            continue;
        }
        /* Narrow: spread its time over the (at most two) columns it touches. */
        double ca = x0 - LEFT, ce = x1 - LEFT;
        int c0 = (int)ca, c1 = (int)ce;
        if (c0 < 0 || c0 >= PW)
            continue;
        if (c1 == c0 || c1 >= PW) {
            col_add(&col[c0], s->fn, (double)(b - a));
        } else {
            col_add(&col[c0], s->fn, (c1 - ca) * colns);
            col_add(&col[c1], s->fn, (ce - c1) * colns);
        }
    }
    /* Column bars, merged while the function and the (quantised) height stay the same. */
    for (int c = 0; c < PW;) {
        double f = col[c].busy / colns;
        if (f <= 0) {
            c++;
            continue;
        }
        int h = (int)ceil((f > 1 ? 1 : f) * LANEH);
        if (h < 2)
            h = 2;
        int e = c + 1;
        while (e < PW && col[e].fn == col[c].fn && col[e].busy > 0) {
            double fe = col[e].busy / colns;
            int he = (int)ceil((fe > 1 ? 1 : fe) * LANEH);
            if ((he < 2 ? 2 : he) != h)
                break;
            e++;
        }
        fprintf(out, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n",
                LEFT + c, y + LANEH - h, e - c, h, colours[col[c].fn]);
        c = e;
    }
}

/* Parks and searches: spans closer than a pixel are merged into one rectangle. */
static void draw_spans(FILE *out, const geo *g, const wt_span *sp, size_t n, double y,
                       const char *fill)
{
    double cx0 = -1, cx1 = -1;
    for (size_t i = 0; i <= n; i++) {
        uint64_t a = i < n ? sp[i].t0 : 0, b = i < n ? sp[i].t1 : 0;
        if (i < n && !clip(g, &a, &b))
            continue;
        double x0 = i < n ? xof(g, a) : 1e18;
        double x1 = i < n ? xof(g, b) : 1e18;
        if (cx0 >= 0 && x0 - cx1 < 1.0) {
            cx1 = x1;
            continue;
        }
        if (cx0 >= 0 && cx1 - cx0 >= 0.5)
            fprintf(out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\"/>\n",
                    cx0, y, cx1 - cx0, LANEH, fill);
        cx0 = x0;
        cx1 = x1;
    }
}

static void draw_queue(FILE *out, const column *col, double y, uint32_t qmax)
{
    if (!qmax)
        return;
    fprintf(out, "<path fill=\"#f0a040\" d=\"M%d %.1f", LEFT, y + QH);
    for (int c = 0; c < PW; c++) {
        double h = (double)col[c].maxq * (QH - 1) / qmax;
        fprintf(out, " L%d %.1f L%d %.1f", LEFT + c, y + QH - h, LEFT + c + 1, y + QH - h);
    }
    fprintf(out, " L%d %.1f Z\"/>\n", LEFT + PW, y + QH);
}

static void draw_steals(FILE *out, const geo *g, const wt_model *m, unsigned l, const double *ly)
{
    const wt_worker *w = &m->w[l];
    int last = -100;
    for (size_t i = 0; i < w->nst; i++) {
        const wt_steal *s = &w->st[i];
        uint64_t a = s->ts, b = s->ts;
        if (!clip(g, &a, &b))
            continue;
        double x = xof(g, s->ts);
        if ((int)x / 4 == last)
            continue;
        last = (int)x / 4;
        double ty = ly[l];
        if (s->victim < m->nlanes && ly[s->victim] >= 0) {
            double vy = ly[s->victim];
            double from = vy < ty ? vy + LANEH : vy, to = vy < ty ? ty : ty + LANEH;
            fprintf(out,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d02020\" "
                    "stroke-opacity=\"0.6\" stroke-width=\"1\"/>\n",
                    x, from, x, to);
        }
        fprintf(out, "<path d=\"M%.1f %.1f l-4 -7 h8 z\" fill=\"#d02020\"/>\n", x, ty);
    }
}

static void nice_step(uint64_t dur, double *step, double *unit, const char **uname)
{
    double raw = (double)dur / 8, p = pow(10, floor(log10(raw > 1 ? raw : 1)));
    double r = raw / p;
    *step = (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
    if (*step >= 1e9)
        *unit = 1e9, *uname = "s";
    else if (*step >= 1e6)
        *unit = 1e6, *uname = "ms";
    else if (*step >= 1e3)
        *unit = 1e3, *uname = "us";
    else
        *unit = 1, *uname = "ns";
}

static const wt_model *g_m;
static int fn_cmp(const void *a, const void *b)
{
    uint64_t x = g_m->fns[*(const uint32_t *)a].busy_ns, y = g_m->fns[*(const uint32_t *)b].busy_ns;
    return x > y ? -1 : x < y;
}

/* Time a worker spent in spans (runs, parks or searches) inside the window. */
static uint64_t in_window(const geo *g, const void *arr, size_t n, size_t stride)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        const uint64_t *p = (const uint64_t *)((const char *)arr + i * stride);
        uint64_t a = p[0], b = p[1]; /* t0, t1 lead both wt_slice and wt_span */
        if (clip(g, &a, &b))
            sum += b - a;
    }
    return sum;
}

int wt_svg(const wt_model *m, FILE *out)
{
    return wt_svg_window(m, out, 0, UINT64_MAX);
}

int wt_svg_window(const wt_model *m, FILE *out, uint64_t from, uint64_t to)
{
    const wt_trace *t = m->trace;
    uint64_t w0 = m->t0 + from, w1 = to > m->t1 - m->t0 ? m->t1 : m->t0 + to;
    if (from > m->t1 - m->t0 || w1 <= w0) { /* an empty window: show the whole trace */
        w0 = m->t0;
        w1 = m->t1;
    }
    geo g = {w0, w1 > w0 ? w1 - w0 : 1};
    column *col = malloc(PW * sizeof(*col));
    char(*colours)[8] = malloc((m->nfns ? m->nfns : 1) * sizeof(*colours));
    uint32_t *order = malloc((m->nfns ? m->nfns : 1) * sizeof(*order));
    double *ly = malloc(m->nlanes * sizeof(*ly));
    if (!col || !colours || !order || !ly) {
        free(col), free(colours), free(order), free(ly);
        return -ENOMEM;
    }
    for (size_t f = 0; f < m->nfns; f++)
        colour(&m->fns[f], colours[f]);
    unsigned shown = 0;
    uint32_t qmax = 0;
    uint64_t busy = 0;
    for (unsigned l = 0; l < m->nlanes; l++) {
        const wt_worker *w = &m->w[l];
        bool show = l < t->nworkers || w->nsl || w->npk || w->nmk;
        ly[l] = show ? (double)TOPH + shown++ * (LANEH + QH + GAP) : -1.0;
        if (w->max_q > qmax)
            qmax = w->max_q;
        busy += w->busy_ns;
    }
    size_t nleg = 0;
    for (size_t f = 0; f < m->nfns; f++)
        if (m->fns[f].busy_ns)
            order[nleg++] = (uint32_t)f;
    g_m = m;
    qsort(order, nleg, sizeof(*order), fn_cmp);
    size_t legn = nleg > LEGEND_MAX ? LEGEND_MAX : nleg;
    double axis_y = TOPH + shown * (LANEH + QH + GAP);
    double leg_y = axis_y + AXISH + 10;
    size_t legitems = legn + (nleg > legn); /* the functions, and "... more" */
    size_t legrows = (legitems + LEGEND_COLS - 1) / LEGEND_COLS + 1;
    int height = (int)(leg_y + legrows * LEGEND_ROWH + 16);

    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, "
            "sans-serif\" font-size=\"12\">\n",
            WIDTH, height, WIDTH, height);
    fprintf(out, "<defs><pattern id=\"parked\" width=\"6\" height=\"6\" "
                 "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
                 "<rect width=\"6\" height=\"6\" fill=\"#e2e2e2\"/>"
                 "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#b8b8b8\" "
                 "stroke-width=\"2\"/></pattern></defs>\n");
    fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    char b1[32], b2[32];
    fprintf(out,
            "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">weft trace: ", LEFT);
    wt_xml_str(out, t->hdr.exe[0] ? t->hdr.exe : "?");
    fprintf(out, " (pid %u)</text>\n", t->hdr.pid);
    char win[96] = "";
    if (g.t0 != m->t0 || g.t0 + g.dur != m->t1) {
        char b3[32], b4[32];
        snprintf(win, sizeof(win), "; showing %s to %s", wt_fmt_ns(b3, sizeof(b3), g.t0 - m->t0),
                 wt_fmt_ns(b4, sizeof(b4), g.t0 + g.dur - m->t0));
    }
    fprintf(out,
            "<text x=\"%d\" y=\"44\" fill=\"#444\">%u workers, %s, %zu tasks, %zu events, "
            "busy %s in total%s%s</text>\n",
            LEFT, t->nworkers, wt_fmt_ns(b1, sizeof(b1), m->t1 - m->t0), m->ntasks, t->nevents,
            wt_fmt_ns(b2, sizeof(b2), busy), win,
            (t->hdr.flags & WEFT_TRACE_F_FLIGHT) ? " (flight-recorder window)"
            : t->has_end                         ? ""
                                                 : " (cut short: no end record)");

    double step, unit;
    const char *uname;
    nice_step(g.dur, &step, &unit, &uname);
    double off = (double)(g.t0 - m->t0); /* the axis counts from the start of the trace */
    for (double v = ceil(off / step) * step; v <= off + (double)g.dur + 1e-9; v += step) {
        double x = LEFT + (v - off) * PW / (double)g.dur;
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#333\">%g %s</text>\n",
                x, TOPH - 6, x, axis_y + 4, x, axis_y + 20, v / unit, uname);
    }

    for (unsigned l = 0; l < m->nlanes; l++) {
        if (ly[l] < 0)
            continue;
        const wt_worker *w = &m->w[l];
        double y = ly[l];
        char name[32];
        fprintf(out,
                "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"#f7f7f7\" "
                "stroke=\"#cccccc\"/>\n",
                LEFT, y, PW, LANEH);
        fprintf(out,
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-weight=\"bold\">%s</text>\n"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#444\" font-size=\"11\">busy "
                "%.0f%%, parked %.0f%%</text>\n"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#444\" font-size=\"11\">"
                "searching %.0f%%</text>\n",
                LEFT - 8, y + 13, wt_worker_name(m, l, name, sizeof(name)), LEFT - 8, y + 27,
                100.0 * in_window(&g, w->sl, w->nsl, sizeof(*w->sl)) / g.dur,
                100.0 * in_window(&g, w->pk, w->npk, sizeof(*w->pk)) / g.dur, LEFT - 8, y + 40,
                100.0 * in_window(&g, w->se, w->nse, sizeof(*w->se)) / g.dur);
        draw_spans(out, &g, w->se, w->nse, y, "#fbeec2");
        draw_spans(out, &g, w->pk, w->npk, y, "url(#parked)");
        draw_runs(m, out, &g, w, y, col, colours);
        draw_queue(out, col, y + LANEH + 1, qmax);
        if (qmax)
            fprintf(out,
                    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#b07020\" "
                    "font-size=\"9\">queue</text>\n",
                    LEFT - 8, y + LANEH + QH);
        for (size_t i = 0; i < w->nmk; i++)
            if (w->mk[i].type == WEFT_EV_STALL && w->mk[i].ts >= g.t0 &&
                w->mk[i].ts <= g.t0 + g.dur)
                fprintf(out,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                        "font-weight=\"bold\" fill=\"#d02020\">stall</text>\n",
                        xof(&g, w->mk[i].ts), y + LANEH / 2 + 4);
    }
    for (unsigned l = 0; l < m->nlanes; l++)
        if (ly[l] >= 0)
            draw_steals(out, &g, m, l, ly);

    /* Legend: functions by busy time, then the symbols' meaning. */
    for (size_t i = 0; i <= legn; i++) {
        double x = LEFT + (double)(i % LEGEND_COLS) * (PW / LEGEND_COLS);
        double y = leg_y + (double)(i / LEGEND_COLS) * LEGEND_ROWH;
        if (i == legn) {
            if (nleg > legn)
                fprintf(out,
                        "<text x=\"%.1f\" y=\"%.1f\" fill=\"#444\">... %zu more functions"
                        "</text>\n",
                        x, y + 11, nleg - legn);
            break;
        }
        const wt_fn *f = &m->fns[order[i]];
        fprintf(out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"12\" fill=\"%s\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\">",
                x, y, colours[order[i]], x + 20, y + 11);
        wt_xml_str(out, f->name);
        fprintf(out, " <tspan fill=\"#666\">%.1f%% of busy, %" PRIu64 " run%s</tspan></text>\n",
                busy ? 100.0 * f->busy_ns / busy : 0.0, f->runs, f->runs == 1 ? "" : "s");
    }
    double ky = leg_y + (double)(legrows - 1) * LEGEND_ROWH;
    fprintf(out,
            "<rect x=\"%d\" y=\"%.1f\" width=\"14\" height=\"12\" fill=\"url(#parked)\"/>"
            "<text x=\"%d\" y=\"%.1f\">parked</text>\n"
            "<rect x=\"%d\" y=\"%.1f\" width=\"14\" height=\"12\" fill=\"#fbeec2\"/>"
            "<text x=\"%d\" y=\"%.1f\">searching</text>\n"
            "<path d=\"M%d %.1f l-5 -8 h10 z\" fill=\"#d02020\"/>"
            "<text x=\"%d\" y=\"%.1f\">steal (line from the victim's lane)</text>\n"
            "<rect x=\"%d\" y=\"%.1f\" width=\"14\" height=\"8\" fill=\"#f0a040\"/>"
            "<text x=\"%d\" y=\"%.1f\">local queue depth (max %u)</text>\n"
            "<text x=\"%d\" y=\"%.1f\" fill=\"#666\">dashed red: a run of 100 ms or more, "
            "bars: short runs</text>\n",
            LEFT, ky, LEFT + 20, ky + 11, LEFT + 90, ky, LEFT + 110, ky + 11, LEFT + 250, ky + 11,
            LEFT + 262, ky + 11, LEFT + 540, ky + 3, LEFT + 560, ky + 11, qmax, LEFT + 800,
            ky + 11);
    fprintf(out, "</svg>\n");
    free(col), free(colours), free(order), free(ly);
    fflush(out);
    return ferror(out) ? -EIO : 0;
}
