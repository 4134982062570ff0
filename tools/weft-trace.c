/* weft-trace — reads a trace recorded under WEFT_TRACE=FILE (runtime/trace_format.h).
 *
 *   weft-trace summary FILE           per-worker table, schedule latency, top tasks, lints
 *   weft-trace perfetto [--from MS] [--to MS] FILE > x.json
 *                                     Chrome trace event JSON (ui.perfetto.dev, chrome://tracing)
 *   weft-trace svg [--from MS] [--to MS] FILE > x.svg
 *                                     a self-contained timeline picture (of a window)
 *   weft-trace dump FILE              every event as a line of text, in time order
 *
 * Exit status: 0 on success, 1 when the file cannot be read as a trace or writing the
 * output failed, 2 on bad usage. A trace damaged after its header is still read up to the
 * damage; a warning on stderr says where it stopped. */
#include "trace/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fputs("usage: weft-trace summary FILE\n"
          "       weft-trace perfetto [--from MS] [--to MS] FILE > trace.json   (ui.perfetto.dev)\n"
          "       weft-trace svg [--from MS] [--to MS] FILE > trace.svg   (open in a browser)\n"
          "       weft-trace dump FILE                    (every event, as text)\n"
          "FILE is a trace recorded with WEFT_TRACE=FILE.\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage();
        return 0;
    }
    if (argc < 3)
        return usage();
    const char *path = NULL;
    double from_ms = 0, to_ms = -1;
    bool svg = !strcmp(argv[1], "svg"), perfetto = !strcmp(argv[1], "perfetto");
    for (int i = 2; i < argc; i++) {
        if ((svg || perfetto) && i + 1 < argc &&
            (!strcmp(argv[i], "--from") || !strcmp(argv[i], "--to"))) {
            char *end;
            double v = strtod(argv[i + 1], &end);
            if (*end || end == argv[i + 1] || v < 0) {
                fprintf(stderr, "weft-trace: %s wants milliseconds, got '%s'\n", argv[i],
                        argv[i + 1]);
                return usage();
            }
            *(argv[i][2] == 'f' ? &from_ms : &to_ms) = v;
            i++;
        } else if (!path && argv[i][0] != '-') {
            path = argv[i];
        } else {
            fprintf(stderr, "weft-trace: unexpected argument '%s'\n", argv[i]);
            return usage();
        }
    }
    if (!path)
        return usage();
    int (*out)(const wt_model *, FILE *) = NULL;
    bool dump = !strcmp(argv[1], "dump");
    if (dump)
        ;
    else if (!strcmp(argv[1], "summary"))
        out = wt_summary;
    else if (!strcmp(argv[1], "perfetto"))
        out = wt_perfetto;
    else if (!strcmp(argv[1], "svg"))
        out = wt_svg;
    else {
        fprintf(stderr, "weft-trace: unknown command '%s'\n", argv[1]);
        return usage();
    }
    wt_trace t;
    char err[512];
    if (wt_trace_load_file(&t, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "weft-trace: %s\n", err);
        return 1;
    }
    if (t.warn[0])
        fprintf(stderr, "weft-trace: warning: %s: %s\n", path, t.warn);
    if (dump) {
        int rc = wt_dump(&t, stdout);
        if (rc < 0)
            fprintf(stderr, "weft-trace: writing the dump failed\n");
        wt_trace_free(&t);
        return rc < 0 ? 1 : 0;
    }
    wt_model m;
    if (wt_model_build(&m, &t) < 0) {
        fprintf(stderr, "weft-trace: out of memory analysing %s\n", path);
        wt_trace_free(&t);
        return 1;
    }
    uint64_t from = (uint64_t)(from_ms * 1e6),
             to = to_ms < 0 ? UINT64_MAX : (uint64_t)(to_ms * 1e6);
    int rc = svg        ? wt_svg_window(&m, stdout, from, to)
             : perfetto ? wt_perfetto_window(&m, stdout, from, to)
                        : out(&m, stdout);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
        rc = -1;
    if (rc < 0)
        fprintf(stderr, "weft-trace: writing the %s output failed\n", argv[1]);
    wt_model_free(&m);
    wt_trace_free(&t);
    return rc < 0 ? 1 : 0;
}
