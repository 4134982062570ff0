/* weft-trace: small shared helpers — durations for humans, string escaping for JSON and
 * XML, and the name hash that gives a function the same colour in every picture.
 *
 * Names come from the traced program's symbol table, so a damaged file can put any bytes
 * in them. Both escapers therefore emit plain ASCII only: control characters are escaped
 * (JSON) or replaced (XML 1.0 cannot carry them at all), bytes >= 0x80 become '?', which
 * keeps the output valid without a UTF-8 validator. */
#include "trace.h"

#include <inttypes.h>

const char *wt_fmt_ns(char *buf, size_t len, uint64_t ns)
{
    if (ns < 1000)
        snprintf(buf, len, "%" PRIu64 " ns", ns);
    else if (ns < 1000000)
        snprintf(buf, len, "%.1f us", ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, len, "%.2f ms", ns / 1e6);
    else
        snprintf(buf, len, "%.3f s", ns / 1e9);
    return buf;
}

void wt_json_str(FILE *out, const char *s)
{
    putc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else if (*p >= 0x80)
            putc('?', out);
        else
            putc(*p, out);
    }
    putc('"', out);
}

void wt_xml_str(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            putc(*p < 0x20 || *p >= 0x7f ? '?' : *p, out);
        }
    }
}

uint32_t wt_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

const char *wt_worker_name(const wt_model *m, unsigned lane, char *buf, size_t len)
{
    if (lane >= m->trace->nworkers)
        snprintf(buf, len, "threads");
    else
        snprintf(buf, len, "worker %u", lane);
    return buf;
}

const char *wt_fmt_task(char *buf, size_t len, uint64_t id)
{
    uint64_t w = id >> 48;
    if (w && w <= WT_MAX_WORKERS)
        snprintf(buf, len, "#%" PRIu64 ":%" PRIu64, w - 1, id & (uint64_t)0xffffffffffffu);
    else
        snprintf(buf, len, "#%" PRIu64, id);
    return buf;
}
