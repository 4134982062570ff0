/* select_storm.h — the exactly-once storm shared by test_select.c and stress_select.c:
 * producers hand out unique ids through selects over send cases on every channel (with
 * short timeouts, so send-side selects give up mid-wait), consumers take them through
 * selects over receive cases while the main task cancels consumers at random and
 * spawns replacements. Each id must be received exactly once (counted per id). */
#ifndef WEFT_TEST_SELECT_STORM_H
#define WEFT_TEST_SELECT_STORM_H

#include "fixture.h"

enum { STORM_K = 4, STORM_P = 4, STORM_C = 4 };

struct storm {
    weft_chan *ch[STORM_K];
    uint32_t per; /* ids per producer */
    atomic_uchar *seen;
    atomic_int producers_done;
    atomic_llong received, timeouts, cancels;
};

static struct storm storm;

static uint32_t storm_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void *storm_producer(void *arg)
{
    uint32_t p = (uint32_t)(uintptr_t)arg, r = 2654435761u * (p + 1);
    for (uint32_t i = 0; i < storm.per; i++) {
        uint32_t id = p * storm.per + i;
        if (i % 3 == 0) { /* a plain send to one channel, next to the selects */
            WT_OK(weft_chan_send(storm.ch[storm_rand(&r) % STORM_K], &id));
            continue;
        }
        weft_select_case cs[STORM_K];
        for (int k = 0; k < STORM_K; k++)
            cs[k] = (weft_select_case)WEFT_SEND(storm.ch[k], &id);
        if (i % 3 == 1)
            cs[2].chan = NULL; /* bounded channels only: the select may have to wait */
        for (;;) {
            int rc = weft_select(cs, STORM_K, storm_rand(&r) % 4 == 0 ? 20 * WT_US : WEFT_SELECT_FOREVER);
            if (rc == -ETIMEDOUT) {
                atomic_fetch_add(&storm.timeouts, 1);
                continue; /* nothing was sent: try again */
            }
            WT_GE(rc, 0);
            WT_OK(cs[rc].result);
            break;
        }
    }
    atomic_fetch_add(&storm.producers_done, 1);
    return NULL;
}

static void storm_take(uint32_t id)
{
    WT_LT(id, STORM_P * storm.per);
    WT_EQ(atomic_fetch_add(&storm.seen[id], 1), 0); /* never twice */
    atomic_fetch_add(&storm.received, 1);
}

/* Receives until every channel is closed and drained, or until cancelled. */
static void *storm_consumer(void *arg)
{
    (void)arg;
    uint32_t v[STORM_K];
    weft_select_case cs[STORM_K];
    for (int k = 0; k < STORM_K; k++)
        cs[k] = (weft_select_case)WEFT_RECV(storm.ch[k], &v[k]);
    int open = STORM_K;
    while (open) {
        int rc = weft_select(cs, STORM_K, WEFT_SELECT_FOREVER);
        if (rc == -ECANCELED)
            return NULL;
        WT_GE(rc, 0);
        if (cs[rc].result == 0) {
            storm_take(v[rc]);
            if (atomic_load_explicit(&storm.received, memory_order_relaxed) % 512 == 0)
                (void)weft_sleep(50 * WT_US); /* let the channels fill: senders time out */
        } else {
            WT_EQ(cs[rc].result, -EPIPE);
            cs[rc].chan = NULL; /* closed and drained: switch the case off */
            open--;
        }
    }
    return NULL;
}

static void storm_run(uint32_t per)
{
    memset(&storm, 0, sizeof storm);
    storm.per = per;
    storm.ch[0] = weft_chan_new(sizeof(uint32_t), 1);
    storm.ch[1] = weft_chan_new(sizeof(uint32_t), 4);
    storm.ch[2] = weft_chan_new(sizeof(uint32_t), 0);
    storm.ch[3] = weft_chan_new_lifo(sizeof(uint32_t), 2);
    for (int k = 0; k < STORM_K; k++)
        WT_NONNULL(storm.ch[k]);
    WT_NONNULL(storm.seen = calloc((size_t)STORM_P * per, 1));
    weft_task *prod[STORM_P], *cons[STORM_C];
    for (int i = 0; i < STORM_C; i++)
        cons[i] = wt_spawn(storm_consumer, NULL);
    for (int i = 0; i < STORM_P; i++)
        prod[i] = wt_spawn(storm_producer, (void *)(uintptr_t)i);
    uint32_t r = 12345;
    while (atomic_load(&storm.producers_done) < STORM_P) {
        WT_OK(weft_sleep((storm_rand(&r) % 200) * WT_US));
        int i = (int)(storm_rand(&r) % STORM_C);
        weft_cancel(cons[i]);
        int rc = weft_join(cons[i], NULL);
        WT_TRUE(rc == 0 || rc == -ECANCELED);
        atomic_fetch_add(&storm.cancels, 1);
        cons[i] = wt_spawn(storm_consumer, NULL);
    }
    WT_OK(weft_gather(prod, STORM_P, NULL));
    for (int k = 0; k < STORM_K; k++)
        weft_chan_close(storm.ch[k]);
    WT_OK(weft_gather(cons, STORM_C, NULL));
    WT_EQ(atomic_load(&storm.received), (long long)STORM_P * per);
    for (size_t i = 0; i < (size_t)STORM_P * per; i++)
        if (atomic_load(&storm.seen[i]) != 1)
            WT_EQ(atomic_load(&storm.seen[i]), 1);
    for (int k = 0; k < STORM_K; k++)
        weft_chan_free(storm.ch[k]);
    free(storm.seen);
}

#endif
