/* weft micro-benchmarks — shared helpers: the result line, timing, /proc/self/status,
 * fatal errors. Every benchmark prints the peers' line format
 *     bench=NAME workers=W value=V unit=U
 * (see /work/shared/peers/micro/README.md) so weft and the peers compare line for line. */
#ifndef WEFT_BENCH_UTIL_H
#define WEFT_BENCH_UTIL_H

#include <stdint.h>
#include <weft.h>

/* One result line on stdout, flushed. */
void bench_out(const char *name, unsigned workers, double value, const char *unit);

/* CLOCK_MONOTONIC in ns (independent of the runtime, like the peers' Instant::now). */
uint64_t bench_now_ns(void);

/* A "Field:   123 kB" value of /proc/self/status in kB (VmRSS, VmHWM), -1 if absent. */
long bench_vm_kb(const char *field);

/* Prints "weft_micro: <message>" on stderr and ends the process with status 1 at once
 * (_exit: callable from a task on any worker without running exit handlers while the
 * other workers run). */
_Noreturn void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fails unless rc == 0; rc is a weft return value (negative errno). */
void bench_check(int rc, const char *what);

/* weft_run with cfg.workers = workers; main's result (if any) goes to *result.
 * Fails the process when weft_run itself fails. Returns the number of workers the
 * runtime ran with (weft_workers() as seen by main; resolves workers == 0). */
unsigned bench_run(unsigned workers, weft_fn main, void *arg, void **result);

/* The benchmarks. Each runs its own weft_run call(s) and prints its line(s); a wrong
 * result or a failing weft call ends the process with status 1. */
void bench_spawn_join(unsigned workers);
void bench_yield(unsigned workers);        /* prints yield and yield_switch */
void bench_yield_switch(unsigned workers); /* yield_switch only */
void bench_pingpong(unsigned workers);
void bench_skynet(unsigned workers);
void bench_chan_mpmc(unsigned workers);
void bench_chan_pool(unsigned workers); /* weft only: a worker pool on one channel */
void bench_fanout_cpu(unsigned workers); /* workers ignored: warm-up, then 1 and 2 */
void bench_idle_memory(unsigned workers);
void bench_select4(unsigned workers); /* micro_select.c */
void bench_mutex(unsigned workers);         /* mutex_contended */
void bench_mutex_fifo(unsigned workers); /* mutex_contended_fifo */
void bench_gen_handoff(unsigned workers); /* 1 worker: ctx_switch, gen_handoff, gen_ratio */
void bench_sleep_wake(unsigned workers); /* weft only: CPU per timer wake-up */

#endif
