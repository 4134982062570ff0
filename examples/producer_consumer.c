/* producer_consumer — producers and consumers over a bounded queue, the asyncio
 * tutorial's asyncq.py written with weft.
 *
 *   producer_consumer [-p PRODUCERS] [-c CONSUMERS] [-w WORKERS] [-s SEED]
 *
 * Each producer makes a random number (0..10) of items, sleeping a random while before
 * each one, and puts (item, time) on the queue. Each consumer loops: sleep a random
 * while, take an item, say how long it waited, mark it done. main waits for the
 * producers, then for the queue to be joined (every item taken AND marked done), then
 * cancels the consumers, which are still waiting for more. The tasks run on every
 * worker: each line says which one.
 *
 * Python                              weft
 *   q = asyncio.Queue(maxsize)          q = weft_chan_new(sizeof(item), maxsize)
 *   await q.put(x) / await q.get()      weft_chan_send(q, &x) / weft_chan_recv(q, &x)
 *   q.task_done() / await q.join()      weft_chan_task_done(q) / weft_chan_join(q)
 *   asyncio.create_task(coro)           weft_spawn(fn, arg)
 *   await asyncio.gather(*tasks)        weft_gather(tasks, n, NULL)
 *   task.cancel()                       weft_cancel(task)
 *
 * The sleeps are milliseconds here (seconds in the original) so it runs in about a
 * second. Last line: "producer_consumer: OK: N produced, N consumed" (ctest checks it).
 */
#include <weft.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { QUEUE_SIZE = 4, MAX_TASKS = 64 };

/* What goes through the queue: the item and when it was put. */
typedef struct item {
    unsigned value;
    uint64_t put_at;
} item;

static weft_chan *q;
static atomic_uint produced, consumed;
static unsigned seed;

typedef struct who {
    unsigned id;
    unsigned rng; /* each task its own random state (rand_r) */
} who;

/* await randsleep(): a random sleep of 0..50 ms. */
static int randsleep(who *w, const char *role)
{
    unsigned ms = (unsigned)rand_r(&w->rng) % 51;
    printf("%s %u (worker %d) sleeping for %u ms.\n", role, w->id, weft_worker_id(), ms);
    return weft_sleep(ms * WEFT_NS_PER_MS);
}

static void *produce(void *arg)
{
    who *w = arg;
    unsigned n = (unsigned)rand_r(&w->rng) % 11; /* random.randint(0, 10) */
    for (unsigned i = 0; i < n; i++) {
        if (randsleep(w, "Producer") != 0)
            return NULL;
        item it = {.value = (unsigned)rand_r(&w->rng) % 10000, .put_at = weft_now()};
        if (weft_chan_send(q, &it) != 0) /* waits while the queue is full */
            return NULL;
        atomic_fetch_add(&produced, 1);
        printf("Producer %u (worker %d) added <%u> to queue.\n", w->id, weft_worker_id(),
               it.value);
    }
    return NULL;
}

static void *consume(void *arg)
{
    who *w = arg;
    for (;;) { /* until cancelled */
        if (randsleep(w, "Consumer") != 0)
            return NULL;
        item it;
        if (weft_chan_recv(q, &it) != 0) /* -ECANCELED: main is done with us */
            return NULL;
        printf("Consumer %u (worker %d) got element <%u> in %.5f seconds.\n", w->id,
               weft_worker_id(), it.value, (double)(weft_now() - it.put_at) / 1e9);
        atomic_fetch_add(&consumed, 1);
        weft_chan_task_done(q);
    }
}

struct args {
    unsigned np, nc;
};

static void *main_task(void *arg)
{
    struct args *a = arg;
    who pw[MAX_TASKS], cw[MAX_TASKS];
    weft_task *producers[MAX_TASKS], *consumers[MAX_TASKS];
    q = weft_chan_new(sizeof(item), QUEUE_SIZE);
    if (!q)
        return (void *)(intptr_t)-ENOMEM;
    for (unsigned i = 0; i < a->np; i++) {
        pw[i] = (who){i, seed + i};
        producers[i] = weft_spawn(produce, &pw[i]);
    }
    for (unsigned i = 0; i < a->nc; i++) {
        cw[i] = (who){i, seed + 1000 + i};
        consumers[i] = weft_spawn(consume, &cw[i]);
    }
    weft_gather(producers, a->np, NULL); /* await asyncio.gather(*producers) */
    weft_chan_join(q);                   /* await q.join(): all taken and done */
    for (unsigned i = 0; i < a->nc; i++) /* for c in consumers: c.cancel() */
        weft_cancel(consumers[i]);
    weft_gather(consumers, a->nc, NULL);
    weft_chan_free(q);
    return NULL;
}

int main(int argc, char **argv)
{
    struct args a = {5, 10};
    weft_config cfg = {0};
    seed = (unsigned)getpid();
    int opt;
    while ((opt = getopt(argc, argv, "p:c:w:s:")) != -1) {
        switch (opt) {
        case 'p':
            a.np = (unsigned)atoi(optarg);
            break;
        case 'c':
            a.nc = (unsigned)atoi(optarg);
            break;
        case 'w':
            cfg.workers = (unsigned)atoi(optarg);
            break;
        case 's':
            seed = (unsigned)atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: %s [-p PRODUCERS] [-c CONSUMERS] [-w WORKERS] [-s SEED]\n",
                    argv[0]);
            return 2;
        }
    }
    if (a.np < 1 || a.np > MAX_TASKS || a.nc < 1 || a.nc > MAX_TASKS) {
        fprintf(stderr, "producer_consumer: 1..%d producers and consumers\n", MAX_TASKS);
        return 2;
    }
    uint64_t t0 = weft_now();
    void *res = NULL;
    int rc = weft_run(&cfg, main_task, &a, &res);
    if (rc != 0 || res != NULL) {
        fprintf(stderr, "producer_consumer: %s\n", weft_strerror(rc ? rc : (int)(intptr_t)res));
        return 1;
    }
    printf("Program completed in %.3f seconds.\n", (double)(weft_now() - t0) / 1e9);
    unsigned p = atomic_load(&produced), c = atomic_load(&consumed);
    printf("producer_consumer: %s: %u produced, %u consumed\n", p == c ? "OK" : "MISMATCH", p, c);
    return p == c ? 0 : 1;
}
