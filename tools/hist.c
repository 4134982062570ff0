/* hist — log-linear histogram; see hist.h for the layout and its error bound. */
#include "hist.h"

#include <math.h>
#include <string.h>

void hist_init(hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

size_t hist_index(uint64_t v)
{
    if (v < 2 * HIST_SUB)
        return (size_t)v;
    unsigned k = 63u - (unsigned)__builtin_clzll(v); /* 2^k <= v < 2^(k+1), k >= 8 */
    if (k >= HIST_MAX_EXP)
        return HIST_BUCKETS - 1;
    unsigned mant = (unsigned)(v >> (k - 7)); /* top 8 bits: 128..255 */
    return 2 * HIST_SUB + (size_t)(k - 8) * HIST_SUB + (mant - HIST_SUB);
}

void hist_bucket_range(size_t i, uint64_t *lo, uint64_t *hi)
{
    if (i < 2 * HIST_SUB) {
        *lo = *hi = i;
        return;
    }
    size_t j = i - 2 * HIST_SUB;
    unsigned k = 8 + (unsigned)(j / HIST_SUB);
    uint64_t mant = HIST_SUB + j % HIST_SUB;
    *lo = mant << (k - 7);
    *hi = *lo + (1ull << (k - 7)) - 1;
}

void hist_record(hist *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void hist_merge(hist *dst, const hist *src)
{
    if (!src->count)
        return;
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hist_percentile(const hist *h, double p)
{
    if (!h->count)
        return 0;
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (rank < 1)
        rank = 1;
    if (rank >= h->count)
        return h->max; /* the top rank is the exact maximum */
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            hist_bucket_range(i, &lo, &hi);
            uint64_t v = lo + (hi - lo) / 2;
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max;
}
