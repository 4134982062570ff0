/* weft-trace: loading a trace file (runtime/trace_format.h) into per-worker event arrays.
 *
 * One pass over the bytes: the header is checked strictly (it says what the rest means);
 * then records are walked by their size field. Every length is checked against what is
 * left before it is used, so a truncated or random file ends the walk with a warning
 * instead of a read past the buffer. Events are copied out (memcpy: the input need not be
 * aligned) into the lane of the worker that recorded them; lanes whose timestamps go
 * backwards (a writer bug or damage) are stably sorted so the model can rely on order. */
#include "trace.h"

#include "runtime/trace_codec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void set_msg(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static int lane_push(wt_lane *l, const weft_trace_event *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        weft_trace_event *ev = realloc(l->ev, cap * sizeof(*ev));
        if (!ev)
            return -ENOMEM;
        l->ev = ev;
        l->cap = cap;
    }
    l->ev[l->n++] = *e;
    return 0;
}

/* Stable bottom-up merge sort by timestamp; only runs when a lane is out of order. */
static int lane_sort(wt_lane *l)
{
    size_t n = l->n;
    weft_trace_event *tmp = malloc(n * sizeof(*tmp));
    if (!tmp)
        return -ENOMEM;
    weft_trace_event *src = l->ev, *dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = src[j].ts < src[i].ts ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        weft_trace_event *s = src;
        src = dst;
        dst = s;
    }
    if (src != l->ev)
        memcpy(l->ev, src, n * sizeof(*tmp));
    free(tmp);
    return 0;
}

static int sym_cmp(const void *a, const void *b)
{
    const wt_sym *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int add_symbol(wt_trace *t, size_t *cap, uint64_t addr, const char *name, size_t len)
{
    if (t->nsyms == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        wt_sym *s = realloc(t->syms, c * sizeof(*s));
        if (!s)
            return -ENOMEM;
        t->syms = s;
        *cap = c;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, name, len);
    copy[len] = '\0';
    t->syms[t->nsyms].addr = addr;
    t->syms[t->nsyms].name = copy;
    t->nsyms++;
    return 0;
}

/* Sorts the symbols and drops duplicate addresses (the first name wins). */
static void finish_symbols(wt_trace *t)
{
    if (!t->nsyms)
        return;
    qsort(t->syms, t->nsyms, sizeof(*t->syms), sym_cmp);
    size_t k = 1;
    for (size_t i = 1; i < t->nsyms; i++) {
        if (t->syms[i].addr == t->syms[k - 1].addr)
            free(t->syms[i].name);
        else
            t->syms[k++] = t->syms[i];
    }
    t->nsyms = k;
}

static int check_header(wt_trace *t, const unsigned char *p, size_t len, char *err, size_t errlen)
{
    if (len < sizeof(t->hdr.magic) || memcmp(p, WEFT_TRACE_MAGIC, 8) != 0) {
        set_msg(err, errlen, "not a weft trace (no %s magic at the start)", WEFT_TRACE_MAGIC);
        return -EINVAL;
    }
    if (len < sizeof(weft_trace_file_header)) {
        set_msg(err, errlen, "truncated trace: %zu bytes, shorter than the %zu-byte header", len,
                sizeof(weft_trace_file_header));
        return -EINVAL;
    }
    memcpy(&t->hdr, p, sizeof(t->hdr));
    weft_trace_file_header *h = &t->hdr;
    if (h->version < 1 || h->version > WEFT_TRACE_VERSION) {
        set_msg(err, errlen, "trace format version %u; this weft-trace reads versions 1 to %u",
                h->version, WEFT_TRACE_VERSION);
        return -EPROTONOSUPPORT;
    }
    if (h->header_size < sizeof(*h) || h->header_size > len || h->header_size % 8) {
        set_msg(err, errlen, "corrupt header: header_size %u (file has %zu bytes)", h->header_size,
                len);
        return -EINVAL;
    }
    if (h->nworkers == 0 || h->nworkers > WT_MAX_WORKERS) {
        set_msg(err, errlen, "corrupt header: %u workers", h->nworkers);
        return -EINVAL;
    }
    if (h->event_size < sizeof(weft_trace_event) || h->event_size > 4096 || h->event_size % 8) {
        set_msg(err, errlen, "corrupt header: event_size %u (expected %zu)", h->event_size,
                sizeof(weft_trace_event));
        return -EINVAL;
    }
    h->exe[sizeof(h->exe) - 1] = '\0';
    return 0;
}

/* An EVENTS2 batch (runtime/trace_codec.h) into lane l; *last: the lane's latest
 * timestamp, which the batch's never go below (each batch converts its clock ticks with
 * its own factor, so the seams may round backwards). 0, -EINVAL when the batch is
 * damaged (the events before the damage are kept), -ENOMEM. */
static int decode_batch(wt_trace *t, unsigned l, uint16_t worker, uint64_t *last,
                        const unsigned char *body, size_t blen, uint32_t count)
{
    weft_trace_batch bh;
    if (blen < sizeof bh)
        return -EINVAL;
    memcpy(&bh, body, sizeof bh);
    if (bh.nbytes > blen - sizeof bh || !(bh.ns_per_tick >= 0 && bh.ns_per_tick < 1e6))
        return -EINVAL;
    const uint8_t *p = body + sizeof bh, *end = p + bh.nbytes;
    weft_trace_codec st;
    weft_trace_codec_batch(&st, 0, worker);
    /* count: the events as recorded (an END within a RUN_STOP is not one of them) */
    for (uint32_t i = 0; i < count; i++) {
        weft_trace_event e[2];
        int n = weft_trace_decode(&p, end, &st, e);
        if (n < 0)
            return -EINVAL;
        double ns = (double)e[0].ts * bh.ns_per_tick;
        uint64_t ts = bh.base_ns + (ns < 1.8e19 ? (uint64_t)ns : UINT64_MAX / 2);
        if (ts < *last)
            ts = *last;
        *last = ts;
        for (int k = 0; k < n; k++) {
            e[k].ts = ts;
            if (lane_push(&t->lanes[l], &e[k]) < 0)
                return -ENOMEM;
        }
        t->nevents += (size_t)n;
    }
    return p == end ? 0 : -EINVAL;
}

int wt_trace_load_mem(wt_trace *t, const void *buf, size_t len, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    const unsigned char *p = buf;
    uint64_t *last = NULL;
    int rc = check_header(t, p, len, err, errlen);
    if (rc < 0)
        return rc;
    t->nworkers = t->hdr.nworkers;
    t->nlanes = t->nworkers + 1;
    t->lanes = calloc(t->nlanes, sizeof(*t->lanes));
    last = calloc(t->nlanes, sizeof(*last)); /* per lane, for decode_batch */
    if (!t->lanes || !last)
        goto nomem;

    size_t esz = t->hdr.event_size, symcap = 0;
    size_t off = t->hdr.header_size;
    while (off < len) {
        weft_trace_rec_header rh;
        size_t left = len - off;
        if (left < sizeof(rh)) {
            set_msg(t->warn, sizeof(t->warn),
                    "trace cut short: %zu stray bytes at offset %zu (a truncated record)", left,
                    off);
            break;
        }
        memcpy(&rh, p + off, sizeof(rh));
        if (rh.size < sizeof(rh) || rh.size % 8) {
            set_msg(t->warn, sizeof(t->warn),
                    "corrupt record at offset %zu (size %u); ignored the rest of the file", off,
                    rh.size);
            break;
        }
        if (rh.size > left) {
            set_msg(t->warn, sizeof(t->warn),
                    "trace cut short: the record at offset %zu needs %u bytes, %zu remain", off,
                    rh.size, left);
            break;
        }
        const unsigned char *body = p + off + sizeof(rh);
        size_t blen = rh.size - sizeof(rh);
        if (rh.kind == WEFT_TRACE_REC_EVENTS) {
            unsigned lane = rh.worker == WEFT_TRACE_NO_WORKER ? t->nworkers : rh.worker;
            if (lane > t->nworkers || (uint64_t)rh.count * esz > blen) {
                set_msg(t->warn, sizeof(t->warn),
                        "corrupt event batch at offset %zu (worker %u, %u events in %zu "
                        "bytes); skipped it",
                        off, rh.worker, rh.count, blen);
            } else {
                for (uint32_t i = 0; i < rh.count; i++) {
                    weft_trace_event e;
                    memcpy(&e, body + (size_t)i * esz, sizeof(e));
                    if (lane_push(&t->lanes[lane], &e) < 0)
                        goto nomem;
                }
                t->nevents += rh.count;
            }
        } else if (rh.kind == WEFT_TRACE_REC_EVENTS2) {
            unsigned lane = rh.worker == WEFT_TRACE_NO_WORKER ? t->nworkers : rh.worker;
            rc = lane > t->nworkers ? -EINVAL
                                    : decode_batch(t, lane, rh.worker, &last[lane], body, blen, rh.count);
            if (rc == -ENOMEM)
                goto nomem;
            if (rc < 0 && !t->warn[0])
                set_msg(t->warn, sizeof(t->warn),
                        "corrupt event batch at offset %zu (worker %u, %u events in %zu "
                        "bytes); kept the events before the damage",
                        off, rh.worker, rh.count, blen);
        } else if (rh.kind == WEFT_TRACE_REC_SYMBOL) {
            if (blen < 8 || rh.count > blen - 8) {
                set_msg(t->warn, sizeof(t->warn), "corrupt symbol record at offset %zu", off);
            } else {
                uint64_t addr;
                memcpy(&addr, body, 8);
                const char *name = (const char *)body + 8;
                size_t nlen = strnlen(name, rh.count);
                if (nlen && add_symbol(t, &symcap, addr, name, nlen) < 0)
                    goto nomem;
            }
        } else if (rh.kind == WEFT_TRACE_REC_END) {
            if (blen >= 16) {
                t->has_end = true;
                memcpy(&t->end_written, body, 8);
                memcpy(&t->end_dropped, body + 8, 8);
            }
        } else {
            t->skipped_records++;
        }
        off += rh.size;
    }

    free(last);
    last = NULL;
    finish_symbols(t);
    bool first = true;
    for (unsigned l = 0; l < t->nlanes; l++) {
        wt_lane *ln = &t->lanes[l];
        for (size_t i = 1; i < ln->n; i++) {
            if (ln->ev[i].ts < ln->ev[i - 1].ts) {
                if (lane_sort(ln) < 0)
                    goto nomem;
                if (!t->warn[0])
                    set_msg(t->warn, sizeof(t->warn),
                            "worker %u's events were out of time order; sorted them", l);
                break;
            }
        }
        if (ln->n) {
            uint64_t a = ln->ev[0].ts, b = ln->ev[ln->n - 1].ts;
            if (first || a < t->t0)
                t->t0 = a;
            if (first || b > t->t1)
                t->t1 = b;
            first = false;
        }
    }
    return 0;
nomem:
    free(last);
    set_msg(err, errlen, "out of memory loading the trace");
    wt_trace_free(t);
    return -ENOMEM;
}

int wt_trace_load_file(wt_trace *t, const char *path, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        set_msg(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        set_msg(err, errlen, "%s: not a regular file", path);
        return -EINVAL;
    }
    if (st.st_size == 0) {
        close(fd);
        set_msg(err, errlen, "%s: empty file, not a weft trace", path);
        return -EINVAL;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) {
        set_msg(err, errlen, "%s: mmap: %s", path, strerror(e));
        return -e;
    }
    char msg[256];
    int rc = wt_trace_load_mem(t, map, (size_t)st.st_size, msg, sizeof(msg));
    munmap(map, (size_t)st.st_size);
    if (rc < 0)
        set_msg(err, errlen, "%s: %s", path, msg);
    return rc;
}

void wt_trace_free(wt_trace *t)
{
    if (t->lanes)
        for (unsigned l = 0; l < t->nlanes; l++)
            free(t->lanes[l].ev);
    free(t->lanes);
    for (size_t i = 0; i < t->nsyms; i++)
        free(t->syms[i].name);
    free(t->syms);
    memset(t, 0, sizeof(*t));
}

const char *wt_trace_sym(const wt_trace *t, uint64_t addr)
{
    size_t lo = 0, hi = t->nsyms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->syms[mid].addr == addr)
            return t->syms[mid].name;
        if (t->syms[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
