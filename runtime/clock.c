/* weft — the cheap clock of traces and metrics.
 *
 * rdtsc costs ~10 ns where clock_gettime costs ~20-40 ns (more on VMs without a vDSO
 * clock). The TSC is used only when the CPU says it ticks at a constant rate and keeps
 * ticking in deep C-states (/proc/cpuinfo: constant_tsc and nonstop_tsc); then Linux
 * also keeps it in step across cores. Its rate is not published, so it is measured:
 * the ratio of CLOCK_MONOTONIC to TSC progress since the first weft__clock_init, which
 * grows more exact the longer the process runs (over 1 ms the error is ~1e-4).
 */
#include "runtime/internal.h"

#include <string.h>
#include <time.h>

bool weft__clock_tsc;

static pthread_once_t clock_once = PTHREAD_ONCE_INIT;
static uint64_t raw0, mono0; /* written once, under clock_once */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool tsc_invariant(void)
{
#if defined(__x86_64__)
    if (getenv("WEFT_TRACE_NO_TSC"))
        return false;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return false;
    char line[4096];
    bool ok = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) == 0) {
            ok = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
            break;
        }
    }
    fclose(f);
    return ok;
#else
    return false;
#endif
}

static void clock_setup(void)
{
    weft__clock_tsc = tsc_invariant();
    mono0 = mono_ns();
    raw0 = weft__clock_raw();
}

void weft__clock_init(void)
{
    pthread_once(&clock_once, clock_setup);
}

double weft__clock_ns_per_tick(void)
{
    weft__clock_init();
    if (!weft__clock_tsc)
        return 1.0;
    uint64_t m = mono_ns(), r = weft__clock_raw();
    /* Too short a baseline gives a poor ratio: wait until it spans 2 ms (only in the
     * first 2 ms of the process). */
    while (m - mono0 < 2000000u) {
        struct timespec ts = {0, (long)(2000000u - (m - mono0))};
        nanosleep(&ts, NULL);
        m = mono_ns();
        r = weft__clock_raw();
    }
    return r > raw0 ? (double)(m - mono0) / (double)(r - raw0) : 1.0;
}

static _Atomic uint64_t quick_bits; /* a double, 0 until calibrated */

double weft__clock_ns_per_tick_quick(void)
{
    uint64_t bits = atomic_load_explicit(&quick_bits, memory_order_relaxed);
    double r;
    if (WEFT_LIKELY(bits)) {
        memcpy(&r, &bits, sizeof r);
        return r;
    }
    if (!weft__clock_tsc) {
        r = 1.0;
    } else {
        uint64_t m = mono_ns(), raw = weft__clock_raw();
        if (m - mono0 < 2000000u || raw <= raw0)
            return 0;
        r = (double)(m - mono0) / (double)(raw - raw0);
    }
    memcpy(&bits, &r, sizeof bits);
    atomic_store_explicit(&quick_bits, bits, memory_order_relaxed);
    return r;
}
