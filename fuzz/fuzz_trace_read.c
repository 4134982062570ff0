/* fuzz_trace_read — libFuzzer target for weft-trace's reader and its three outputs
 * (tools/trace/): trace files come from crashed or killed programs, from other builds,
 * from anywhere a user points the tool at, so damaged input must give an error or a
 * warning, never a crash, a hang or a leak.
 *
 * Each input is loaded as a trace file (wt_trace_load_mem). What loads is replayed into
 * the model and rendered as the summary, the Perfetto JSON and the SVG timeline, to
 * /dev/null. Checked on every loaded trace: the lanes' events are in time order within
 * [t0, t1], and the event count adds up (kinds are not: a version-1 EVENTS record holds
 * fixed-size events as written, and the model skips kinds it does not know).
 * The seeds (fuzz/corpus_trace/) are small real traces: a file trace and a flight-recorder
 * dump of examples/, so the fuzzer starts from every record kind and the compact
 * encoding's short forms. */
#include "tools/trace/trace.h"

#include <stdio.h>
#include <stdlib.h>

static FILE *sink;

static void check_loaded(const wt_trace *t)
{
    size_t n = 0;
    for (unsigned l = 0; l < t->nlanes; l++) {
        const wt_lane *lane = &t->lanes[l];
        for (size_t i = 0; i < lane->n; i++) {
            const weft_trace_event *e = &lane->ev[i];
            if (i && e->ts < lane->ev[i - 1].ts)
                abort(); /* lanes are sorted */
            if (e->ts < t->t0 || e->ts > t->t1)
                abort();
        }
        n += lane->n;
    }
    if (n != t->nevents)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sink && !(sink = fopen("/dev/null", "w")))
        abort();
    wt_trace t;
    char err[256];
    if (wt_trace_load_mem(&t, data, size, err, sizeof err) != 0)
        return 0;
    check_loaded(&t);
    wt_model m;
    if (wt_model_build(&m, &t) == 0) {
        wt_summary(&m, sink);
        wt_perfetto(&m, sink);
        wt_svg(&m, sink);
        wt_model_free(&m);
    }
    wt_dump(&t, sink);
    wt_trace_free(&t);
    return 0;
}
