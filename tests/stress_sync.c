/* stress_sync.c — many tasks on every worker hammer each sync primitive while a
 * canceller task cancels random ones of them (most of those are waiting at that moment).
 * A cancelled task stops at its next failed wait. Counts prove that mutual exclusion
 * held, that every success was counted once, and that no hand-off was lost (a lost
 * one leaves a lock held or a waiter asleep: the round would hang and time out). */
#include "fixture.h"

enum { NTASK = 64 };
#define ROUNDS WT_SCALE(50, 8, 4)
#define OPS WT_SCALE(400, 150, 60)
#define CANCELS 24

typedef struct storm {
    weft_task *t[NTASK];
    unsigned seed;
    bool even_only; /* cancel only tasks with an even index */
} storm;

/* What each worker gets: the test's context and its index in the round. */
typedef struct warg {
    void *ctx;
    int i;
} warg;

static void *canceller(void *p)
{
    storm *s = p;
    unsigned x = s->seed | 1;
    for (int i = 0; i < CANCELS; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        unsigned i = x % NTASK;
        weft_cancel(s->t[s->even_only ? i & ~1u : i]);
        (void)weft_sleep((x >> 8) % 3 ? 0 : 50 * WT_US);
        (void)weft_yield();
    }
    return NULL;
}

/* One round: NTASK workers plus the canceller, all joined. */
static void round_run(weft_fn worker, void *ctx, unsigned seed, bool even_only)
{
    storm s = {.seed = seed, .even_only = even_only};
    warg a[NTASK];
    for (int i = 0; i < NTASK; i++) {
        a[i] = (warg){ctx, i};
        s.t[i] = wt_spawn(worker, &a[i]);
    }
    weft_task *c = wt_spawn(canceller, &s);
    WT_OK(weft_join(c, NULL));
    for (int i = 0; i < NTASK; i++) {
        int rc = weft_join(s.t[i], NULL);
        WT_TRUE(rc == 0 || rc == -ECANCELED);
    }
}

/* The fifo_* storms run the same bodies on weft_mutex_init_fifo mutexes (the strict
 * hand-off mode); the plain ones use the default mode. */
static bool g_fifo;
static void mx_mode(weft_mutex *m)
{
    if (g_fifo)
        weft_mutex_init_fifo(m);
}

/* ---- mutex ------------------------------------------------------------------------- */

struct mx {
    weft_mutex m;
    atomic_int in;
    long counter; /* under m */
    atomic_long ok, failed;
};

static void *mutex_worker(void *p)
{
    struct mx *s = ((warg *)p)->ctx;
    for (int i = 0; i < OPS; i++) {
        int rc = weft_mutex_lock(&s->m);
        if (rc) {
            WT_TRUE(rc == -ECANCELED);
            atomic_fetch_add(&s->failed, 1);
            return NULL;
        }
        WT_EQ(atomic_fetch_add(&s->in, 1), 0);
        long c = s->counter;
        if (i % 4 == 0)
            (void)weft_yield(); /* hold it across a suspension: others queue */
        s->counter = c + 1;
        atomic_fetch_sub(&s->in, 1);
        weft_mutex_unlock(&s->m);
        atomic_fetch_add(&s->ok, 1);
    }
    return NULL;
}

static void *mutex_storm_main(void *arg)
{
    (void)arg;
    struct mx s = {.m = WEFT_MUTEX_INIT};
    mx_mode(&s.m);
    for (int r = 0; r < ROUNDS; r++)
        round_run(mutex_worker, &s, 0x9e3779b9u * (unsigned)(r + 1), false);
    WT_EQ(s.counter, atomic_load(&s.ok));
    printf("mutex: %ld locked, %ld cancelled while waiting\n", atomic_load(&s.ok),
           atomic_load(&s.failed));
    WT_FALSE(weft_mutex_locked(&s.m));
    weft_mutex_destroy(&s.m);
    return NULL;
}

/* ---- rwlock ------------------------------------------------------------------------ */

struct rw {
    weft_rwlock l;
    atomic_int readers, writers;
    long value; /* under the write lock */
    atomic_long wok, rok;
};

static void *rw_worker(void *p)
{
    struct rw *s = ((warg *)p)->ctx;
    for (int i = 0; i < OPS; i++) {
        bool w = i % 3 == 0;
        int rc = w ? weft_rwlock_wrlock(&s->l) : weft_rwlock_rdlock(&s->l);
        if (rc)
            return NULL;
        if (w) {
            WT_EQ(atomic_fetch_add(&s->writers, 1), 0);
            WT_EQ(atomic_load(&s->readers), 0);
            long v = s->value;
            (void)weft_yield();
            s->value = v + 1;
            atomic_fetch_sub(&s->writers, 1);
            weft_rwlock_wrunlock(&s->l);
            atomic_fetch_add(&s->wok, 1);
        } else {
            atomic_fetch_add(&s->readers, 1);
            WT_EQ(atomic_load(&s->writers), 0);
            if (i % 2)
                (void)weft_yield();
            WT_EQ(atomic_load(&s->writers), 0);
            atomic_fetch_sub(&s->readers, 1);
            weft_rwlock_rdunlock(&s->l);
            atomic_fetch_add(&s->rok, 1);
        }
    }
    return NULL;
}

static void *rwlock_storm_main(void *arg)
{
    (void)arg;
    struct rw s = {.l = WEFT_RWLOCK_INIT};
    for (int r = 0; r < ROUNDS; r++)
        round_run(rw_worker, &s, 0x85ebca6bu * (unsigned)(r + 1), false);
    WT_EQ(s.value, atomic_load(&s.wok));
    WT_GT(atomic_load(&s.rok), 0);
    WT_OK(weft_rwlock_trywrlock(&s.l)); /* nothing left held */
    weft_rwlock_wrunlock(&s.l);
    weft_rwlock_destroy(&s.l);
    return NULL;
}

/* ---- semaphore --------------------------------------------------------------------- */

enum { UNITS = 4 };
struct sm {
    weft_sem s;
    atomic_int in;
    atomic_long ok;
};

static void *sem_worker(void *p)
{
    struct sm *s = ((warg *)p)->ctx;
    for (int i = 0; i < OPS; i++) {
        if (weft_sem_acquire(&s->s))
            return NULL;
        WT_LE(atomic_fetch_add(&s->in, 1) + 1, UNITS);
        if (i % 2 == 0)
            (void)weft_yield();
        atomic_fetch_sub(&s->in, 1);
        WT_OK(weft_sem_release(&s->s));
        atomic_fetch_add(&s->ok, 1);
    }
    return NULL;
}

static void *sem_storm_main(void *arg)
{
    (void)arg;
    struct sm s = {.s = WEFT_BOUNDED_SEM_INIT(UNITS)};
    for (int r = 0; r < ROUNDS; r++)
        round_run(sem_worker, &s, 0xc2b2ae35u * (unsigned)(r + 1), false);
    WT_EQ(weft_sem_value(&s.s), UNITS); /* every unit came back, none extra */
    WT_GT(atomic_load(&s.ok), 0);
    weft_sem_destroy(&s.s);
    return NULL;
}

/* ---- condition: producers and consumers --------------------------------------------- */

struct cv {
    weft_mutex m;
    weft_cond c;
    long items, made, taken; /* under m */
    int finished;            /* producers that stopped, under m */
};

static void *cv_worker(void *p)
{
    struct cv *s = ((warg *)p)->ctx;
    if (((warg *)p)->i % 2) { /* producer: never cancelled (even_only) */
        int rc = 0;
        for (int i = 0; i < OPS && rc == 0; i++) {
            WT_OK(weft_mutex_lock(&s->m));
            s->items++;
            s->made++;
            weft_cond_signal(&s->c);
            weft_mutex_unlock(&s->m);
            rc = weft_yield();
        }
        WT_OK(weft_mutex_lock(&s->m));
        if (++s->finished == NTASK / 2)
            weft_cond_broadcast(&s->c);
        weft_mutex_unlock(&s->m);
        return NULL;
    }
    for (;;) { /* consumer */
        if (weft_mutex_lock(&s->m))
            return NULL;
        int rc = 0;
        while (s->items == 0 && s->finished < NTASK / 2 && rc == 0)
            rc = weft_cond_wait(&s->c, &s->m);
        if (s->items > 0) {
            s->items--;
            s->taken++;
        } else if (rc == 0) {
            weft_mutex_unlock(&s->m);
            return NULL; /* all producers done, nothing left */
        }
        weft_mutex_unlock(&s->m);
        if (rc)
            return NULL;
    }
}

static void *cond_storm_main(void *arg)
{
    (void)arg;
    struct cv s = {.m = WEFT_MUTEX_INIT, .c = WEFT_COND_INIT};
    mx_mode(&s.m);
    for (int r = 0; r < ROUNDS; r++) {
        s.finished = 0;
        round_run(cv_worker, &s, 0x27d4eb2fu * (unsigned)(r + 1), true);
        WT_EQ(s.finished, NTASK / 2);
        WT_EQ(s.made, s.taken + s.items);
    }
    WT_GT(s.taken, 0);
    weft_cond_destroy(&s.c);
    return NULL;
}

/* ---- event and waitgroup --------------------------------------------------------------- */

struct evwg {
    weft_event e;
    weft_waitgroup g;
    atomic_long woken, interrupted, done;
};

static void *evwg_worker(void *p)
{
    struct evwg *s = ((warg *)p)->ctx;
    int role = ((warg *)p)->i % 4;
    if (role == 0) { /* does work the group waits for; done even when cancelled */
        (void)weft_yield();
        atomic_fetch_add(&s->done, 1);
        WT_OK(weft_waitgroup_done(&s->g));
        return NULL;
    }
    int rc = role == 1 ? weft_waitgroup_wait(&s->g) : weft_event_wait(&s->e);
    if (rc == 0 && role == 1)
        WT_EQ(weft_waitgroup_count(&s->g), 0);
    atomic_fetch_add(rc ? &s->interrupted : &s->woken, 1);
    return NULL;
}

static void *setter(void *p)
{
    struct evwg *s = p;
    (void)weft_sleep(200 * WT_US);
    weft_event_set(&s->e);
    return NULL;
}

static void *evwg_storm_main(void *arg)
{
    (void)arg;
    struct evwg s = {.e = WEFT_EVENT_INIT, .g = WEFT_WAITGROUP_INIT};
    for (int r = 0; r < ROUNDS; r++) {
        weft_event_clear(&s.e);
        WT_OK(weft_waitgroup_add(&s.g, NTASK / 4));
        weft_task *st = wt_spawn(setter, &s);
        round_run(evwg_worker, &s, 0x165667b1u * (unsigned)(r + 1), false);
        WT_OK(weft_join(st, NULL));
        WT_EQ(weft_waitgroup_count(&s.g), 0);
        WT_EQ(atomic_load(&s.woken) + atomic_load(&s.interrupted), (long)(r + 1) * (NTASK * 3 / 4));
    }
    WT_EQ(atomic_load(&s.done), (long)ROUNDS * (NTASK / 4));
    weft_event_destroy(&s.e);
    weft_waitgroup_destroy(&s.g);
    return NULL;
}

/* ---- barrier (no cancels: a withdrawn party would leave its generation short) ------ */

struct bar {
    weft_barrier b;
    atomic_int arrived;
};

static void *bar_worker(void *p)
{
    struct bar *s = p;
    for (int g = 0; g < OPS / 4; g++) {
        atomic_fetch_add(&s->arrived, 1);
        int i = weft_barrier_wait(&s->b);
        WT_TRUE(i >= 0 && i < NTASK);
        WT_GE(atomic_load(&s->arrived), (g + 1) * NTASK);
    }
    return NULL;
}

static void *barrier_storm_main(void *arg)
{
    (void)arg;
    struct bar s = {.b = WEFT_BARRIER_INIT(NTASK)};
    weft_task *t[NTASK];
    for (int i = 0; i < NTASK; i++)
        t[i] = wt_spawn(bar_worker, &s);
    WT_OK(weft_gather(t, NTASK, NULL));
    WT_EQ(atomic_load(&s.arrived), NTASK * (OPS / 4));
    return NULL;
}

#define STORM(name)                                                                                \
    static void test_##name(void **state)                                                          \
    {                                                                                              \
        (void)state;                                                                               \
        (void)wt_run(2, name##_main, NULL);                                                        \
        (void)wt_run(4, name##_main, NULL);                                                        \
    }
STORM(mutex_storm)
STORM(rwlock_storm)
STORM(sem_storm)
STORM(cond_storm)
STORM(evwg_storm)
STORM(barrier_storm)

static void test_fifo_storms(void **state)
{
    g_fifo = true;
    test_mutex_storm(state);
    test_cond_storm(state);
    g_fifo = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutex_storm), cmocka_unit_test(test_rwlock_storm),
        cmocka_unit_test(test_sem_storm),   cmocka_unit_test(test_cond_storm),
        cmocka_unit_test(test_evwg_storm),  cmocka_unit_test(test_barrier_storm),
        cmocka_unit_test(test_fifo_storms),
    };
    return WT_RUN_GROUP(tests);
}
