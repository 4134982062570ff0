/* A synthetic trace writer for weft-trace's tests: builds files in the format of
 * runtime/trace_format.h without a runtime, so the reader and its outputs are tested on
 * known content (and on every kind of event) independently of the recorder. */
#ifndef WEFT_TESTS_TRACE_SYNTH_H
#define WEFT_TESTS_TRACE_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#define SYNTH_MAX_WORKERS 8

/* What the scenario put in, for the test to compare against. */
typedef struct synth_expect {
    unsigned nworkers;
    uint64_t runs[SYNTH_MAX_WORKERS];
    uint64_t steals[SYNTH_MAX_WORKERS];
    uint64_t parks[SYNTH_MAX_WORKERS];
    uint64_t tasks;
    uint64_t events;   /* as the reader sees them */
    uint64_t recorded; /* as the END record counts them (an END within a RUN_STOP is not one) */
    uint64_t crunch_task; /* runs 150 ms without suspending on worker 0 */
    uint64_t poller_task; /* yields 1500 times in a row, 8 us runs, on worker 1 */
    uint64_t wakes;       /* WAKE events followed by a run (flows) */
} synth_expect;

/* A realistic 2-worker trace with every event kind: a main task spawning 200 connection
 * tasks that do I/O and hop workers, steals, a 150 ms CPU hog while worker 1 is parked
 * with a long queue on worker 0 (and a stall report), a busy-polling task, sleepers woken
 * by timers, a wake from a plain thread with an injection-queue pull. Returns 0 or -errno;
 * with_end = 0 leaves out the END record (a crashed run). */
int synth_scenario(const char *path, synth_expect *exp, int with_end);

/* A large trace: about nevents events of short tasks over nworkers workers (for the
 * downsampling and speed checks). */
int synth_big(const char *path, unsigned nworkers, size_t nevents);

/* The whole file of a scenario trace in memory (malloc'ed), for fuzzing the reader. */
int synth_scenario_bytes(unsigned char **buf, size_t *len, synth_expect *exp);

#endif
