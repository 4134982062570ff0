/* weft-trace dump: every event as one text line, in global time order (for checking a
 * recorder, or grepping a trace): ts_ns worker EVENT task=.. fields by kind. */
#include "trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static const char *const ev_names[] = {
    "?",      "SPAWN",       "RUN_START", "RUN_STOP",    "WAKE",       "END",    "STEAL", "PARK",
    "UNPARK", "INJECT_PULL", "IO_SUBMIT", "IO_COMPLETE", "TIMER_FIRE", "SEARCH", "STALL"};

static void line(const wt_trace *t, FILE *out, unsigned lane, const weft_trace_event *e)
{
    const char *name = e->type < sizeof(ev_names) / sizeof(ev_names[0]) ? ev_names[e->type] : "?";
    if (lane < t->nworkers)
        fprintf(out, "%" PRIu64 " w%u %s", e->ts, lane, name);
    else
        fprintf(out, "%" PRIu64 " thread %s", e->ts, name);
    if (e->type == WEFT_EV_SPAWN) {
        const char *sym = wt_trace_sym(t, e->c);
        fprintf(out, " task=%" PRIu64 " parent=%" PRIu64 " fn=%s", e->task, e->b, sym ? sym : "?");
        if (!sym)
            fprintf(out, "(0x%" PRIx64 ")", e->c);
    } else {
        fprintf(out, " task=%" PRIu64 " reason=%u a=%u b=%" PRIu64 " c=%" PRIu64, e->task,
                e->reason, e->a, e->b, e->c);
    }
    putc('\n', out);
}

int wt_dump(const wt_trace *t, FILE *out)
{
    size_t *pos = calloc(t->nlanes, sizeof(*pos));
    if (!pos)
        return -ENOMEM;
    for (;;) { /* a linear scan per event: fine for a debugging dump of a few workers */
        unsigned best = t->nlanes;
        for (unsigned l = 0; l < t->nlanes; l++)
            if (pos[l] < t->lanes[l].n &&
                (best == t->nlanes || t->lanes[l].ev[pos[l]].ts < t->lanes[best].ev[pos[best]].ts))
                best = l;
        if (best == t->nlanes)
            break;
        line(t, out, best, &t->lanes[best].ev[pos[best]++]);
        if (ferror(out))
            break;
    }
    free(pos);
    fflush(out);
    return ferror(out) ? -EIO : 0;
}
