/* hist — a log-linear latency histogram (HdrHistogram's layout), for weft-fetch.
 *
 * Values (nanoseconds) below 256 get a bucket each; above, every power-of-two range
 * [2^k, 2^(k+1)) is split into 128 equal buckets, so a bucket is at most 1/128 of its
 * values wide: reporting a bucket's midpoint is within 0.4% of any value in it (≤ 1%
 * is the promise). Recording is an index computation and an increment, with no lock:
 * each task records into its own histogram and they are merged at the end. */
#ifndef WEFT_TOOLS_HIST_H
#define WEFT_TOOLS_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB 128u   /* buckets per power of two */
#define HIST_MAX_EXP 42 /* values up to 2^42 ns (73 minutes); larger ones are clamped */
#define HIST_BUCKETS (2 * HIST_SUB + (HIST_MAX_EXP - 8) * HIST_SUB)

typedef struct hist {
    uint64_t count;
    uint64_t min, max; /* exact */
    uint64_t sum;
    uint32_t b[HIST_BUCKETS];
} hist;

void hist_init(hist *h);
void hist_record(hist *h, uint64_t v);
/* Adds src's counts into dst. */
void hist_merge(hist *dst, const hist *src);
/* Nearest-rank percentile (p in (0, 100]): the value of rank ceil(p/100 * count), as
 * its bucket's midpoint clamped to [min, max]; the top rank is the exact max. 0 when
 * empty. */
uint64_t hist_percentile(const hist *h, double p);
/* Bucket of v and the range [lo, hi] of values in a bucket (for the tests). */
size_t hist_index(uint64_t v);
void hist_bucket_range(size_t i, uint64_t *lo, uint64_t *hi);

#endif
