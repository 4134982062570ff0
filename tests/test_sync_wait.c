/* test_sync_wait.c — sync waiting primitives: event, condition (with both mutex modes),
 * barrier, waitgroup and once, under contention on 1, 2 and 4 workers, with
 * cancellation and deadlines while waiting (a signal handed to a waiter that is then
 * cancelled is kept, not lost). */
#include "sync_common.h"

/* ---- event ---------------------------------------------------------------------------- */

struct ev {
    weft_event e;
    atomic_int ready, woken;
};
static void *ev_waiter(void *p)
{
    struct ev *e = p;
    atomic_fetch_add(&e->ready, 1);
    int rc = weft_event_wait(&e->e);
    if (rc == 0)
        atomic_fetch_add(&e->woken, 1);
    return PTR(rc);
}

static void *event_main(void *arg)
{
    (void)arg;
    struct ev e = {.e = WEFT_EVENT_INIT};
    WT_FALSE(weft_event_is_set(&e.e));
    weft_task *t[NT];
    for (int i = 0; i < NT; i++)
        t[i] = wt_spawn(ev_waiter, &e);
    SETTLE(weft__event_waiters(&e.e), NT);
    weft_cancel(t[0]);
    WT_EQ(RC(join_res(t[0])), -ECANCELED);
    weft_event_set(&e.e);
    WT_TRUE(weft_event_is_set(&e.e));
    for (int i = 1; i < NT; i++)
        WT_EQ(RC(join_res(t[i])), 0);
    WT_EQ(atomic_load(&e.woken), NT - 1);
    WT_OK(weft_event_wait(&e.e)); /* set: at once */
    weft_event_clear(&e.e);
    WT_FALSE(weft_event_is_set(&e.e));
    {
        WEFT_WITH_TIMEOUT(2 * WT_MS);
        WT_EQ(weft_event_wait(&e.e), -ETIMEDOUT);
    }
    weft_event_destroy(&e.e);
    return NULL;
}
WT_TEST_124(event)

/* ---- condition ------------------------------------------------------------------------ */

struct cv {
    weft_mutex m;
    weft_cond c;
    int items;        /* under m */
    long taken, made; /* under m */
    atomic_int ready;
};

static void *cv_consumer(void *p)
{
    struct cv *s = p;
    for (int i = 0; i < K; i++) {
        WT_OK(weft_mutex_lock(&s->m));
        while (s->items == 0)
            WT_OK(weft_cond_wait(&s->c, &s->m));
        s->items--;
        s->taken++;
        weft_mutex_unlock(&s->m);
    }
    return NULL;
}

static void *cv_producer(void *p)
{
    struct cv *s = p;
    for (int i = 0; i < K; i++) {
        WT_OK(weft_mutex_lock(&s->m));
        s->items++;
        s->made++;
        weft_cond_signal(&s->c);
        weft_mutex_unlock(&s->m);
        if (i % 8 == 0)
            WT_OK(weft_yield());
    }
    return NULL;
}

static void *cond_contended_main(void *arg)
{
    (void)arg;
    struct cv s = {.m = WEFT_MUTEX_INIT, .c = WEFT_COND_INIT};
    mx_mode(&s.m);
    weft_task *t[NT];
    for (int i = 0; i < NT; i++)
        t[i] = wt_spawn(i % 2 ? cv_producer : cv_consumer, &s);
    WT_OK(weft_gather(t, NT, NULL));
    WT_EQ(s.taken, (NT / 2) * K);
    WT_EQ(s.made, s.taken);
    WT_EQ(s.items, 0);
    weft_cond_destroy(&s.c);
    return NULL;
}
WT_TEST_124(cond_contended)
WT_FIFO(cond, cond_contended)

static void *cv_waiter(void *p)
{
    struct cv *s = p;
    WT_OK(weft_mutex_lock(&s->m));
    atomic_fetch_add(&s->ready, 1);
    int rc = weft_cond_wait(&s->c, &s->m);
    WT_TRUE(weft_mutex_locked(&s->m)); /* held again in every case */
    if (rc == 0)
        s->taken++;
    weft_mutex_unlock(&s->m);
    return PTR(rc);
}

static void *cond_cancel_main(void *arg)
{
    (void)arg;
    struct cv s = {.m = WEFT_MUTEX_INIT, .c = WEFT_COND_INIT};
    weft_task *t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = wt_spawn(cv_waiter, &s);
        SETTLE(weft__cond_waiters(&s.c), i + 1);
    }
    weft_cancel(t[0]);
    WT_EQ(RC(join_res(t[0])), -ECANCELED);
    weft_cond_signal(&s.c); /* to t[1], not lost on the cancelled t[0] */
    WT_EQ(RC(join_res(t[1])), 0);
    /* Signal then cancel before the waiter ran: it keeps the signal. */
    WT_OK(weft_mutex_lock(&s.m));
    weft_cond_signal(&s.c);
    weft_cancel(t[2]);
    weft_mutex_unlock(&s.m);
    WT_EQ(RC(join_res(t[2])), 0);
    weft_cond_broadcast(&s.c);
    WT_EQ(RC(join_res(t[3])), 0);
    WT_EQ(s.taken, 3);
    WT_OK(weft_mutex_lock(&s.m));
    {
        WEFT_WITH_TIMEOUT(2 * WT_MS);
        WT_EQ(weft_cond_wait(&s.c, &s.m), -ETIMEDOUT);
    }
    WT_TRUE(weft_mutex_locked(&s.m));
    weft_mutex_unlock(&s.m);
    return NULL;
}
WT_TEST_1_2(cond_cancel)

/* ---- barrier -------------------------------------------------------------------------- */

enum { BP = 8, GEN = 50 };
struct bar {
    weft_barrier b;
    atomic_int phase[GEN];
    atomic_int idx_mask[GEN];
};

static void *bar_worker(void *p)
{
    struct bar *s = p;
    for (int g = 0; g < GEN; g++) {
        atomic_fetch_add(&s->phase[g], 1);
        int i = weft_barrier_wait(&s->b);
        WT_GE(i, 0);
        WT_LT(i, BP);
        /* nobody passes before all BP arrived in this generation */
        WT_EQ(atomic_load(&s->phase[g]), BP);
        int bit = 1 << i;
        WT_EQ(atomic_fetch_or(&s->idx_mask[g], bit) & bit, 0);
    }
    return NULL;
}

static void *barrier_main(void *arg)
{
    (void)arg;
    static struct bar s; /* large for the stack under sanitizers */
    memset(&s, 0, sizeof s);
    WT_EQ(weft_barrier_init(&s.b, 0), -EINVAL);
    WT_OK(weft_barrier_init(&s.b, BP));
    weft_task *t[BP];
    for (int i = 0; i < BP; i++)
        t[i] = wt_spawn(bar_worker, &s);
    WT_OK(weft_gather(t, BP, NULL));
    for (int g = 0; g < GEN; g++)
        WT_EQ(atomic_load(&s.idx_mask[g]), (1 << BP) - 1);

    /* A cancelled party withdraws its arrival. */
    weft_barrier b2 = WEFT_BARRIER_INIT(2);
    {
        WEFT_WITH_TIMEOUT(2 * WT_MS);
        WT_EQ(weft_barrier_wait(&b2), -ETIMEDOUT);
    }
    weft_barrier one = WEFT_BARRIER_INIT(1);
    WT_EQ(weft_barrier_wait(&one), 0);
    weft_barrier_destroy(&b2);
    return NULL;
}
WT_TEST_124(barrier)

static void *bar_two(void *p)
{
    return PTR(weft_barrier_wait(p));
}
static void *barrier_withdraw_main(void *arg)
{
    (void)arg;
    weft_barrier b = WEFT_BARRIER_INIT(2);
    weft_task *a = wt_spawn(bar_two, &b);
    WT_OK(weft_sleep(10 * WT_MS));
    weft_cancel(a);
    WT_EQ(RC(join_res(a)), -ECANCELED);
    weft_task *c = wt_spawn(bar_two, &b);
    WT_OK(weft_sleep(5 * WT_MS));
    int i = weft_barrier_wait(&b); /* needs c: a's arrival was withdrawn */
    int j = RC(join_res(c));
    WT_EQ(i + j, 1);
    return NULL;
}
WT_TEST_1_2(barrier_withdraw)

/* ---- waitgroup ------------------------------------------------------------------------ */

struct wgx {
    weft_waitgroup g;
    atomic_int done;
};
static void *wg_worker(void *p)
{
    struct wgx *s = p;
    WT_OK(weft_yield());
    atomic_fetch_add(&s->done, 1);
    WT_OK(weft_waitgroup_done(&s->g));
    return NULL;
}
static void *wg_waiter(void *p)
{
    struct wgx *s = p;
    int rc = weft_waitgroup_wait(&s->g);
    if (rc == 0)
        WT_EQ(atomic_load(&s->done), NT);
    return PTR(rc);
}

static void *waitgroup_main(void *arg)
{
    (void)arg;
    struct wgx s = {.g = WEFT_WAITGROUP_INIT};
    WT_OK(weft_waitgroup_wait(&s.g)); /* zero: at once */
    WT_EQ(weft_waitgroup_done(&s.g), -EINVAL);
    WT_OK(weft_waitgroup_add(&s.g, NT));
    weft_task *w[4];
    for (int i = 0; i < 4; i++)
        w[i] = wt_spawn(wg_waiter, &s);
    weft_task *t[NT];
    for (int i = 0; i < NT; i++)
        t[i] = wt_spawn(wg_worker, &s);
    WT_OK(weft_waitgroup_wait(&s.g));
    WT_EQ(atomic_load(&s.done), NT);
    WT_OK(weft_gather(t, NT, NULL));
    for (int i = 0; i < 4; i++)
        WT_EQ(RC(join_res(w[i])), 0);
    WT_EQ(weft_waitgroup_count(&s.g), 0);
    WT_OK(weft_waitgroup_add(&s.g, 1));
    weft_task *c = wt_spawn(wg_waiter, &s);
    WT_OK(weft_sleep(5 * WT_MS));
    weft_cancel(c);
    WT_EQ(RC(join_res(c)), -ECANCELED);
    {
        WEFT_WITH_TIMEOUT(2 * WT_MS);
        WT_EQ(weft_waitgroup_wait(&s.g), -ETIMEDOUT);
    }
    WT_OK(weft_waitgroup_done(&s.g));
    weft_waitgroup_destroy(&s.g);
    return NULL;
}
WT_TEST_124(waitgroup)

/* ---- once ----------------------------------------------------------------------------- */

struct oncex {
    weft_once o;
    atomic_int calls;
    int fail_first;
};
static int once_fn(void *p)
{
    struct oncex *s = p;
    int n = atomic_fetch_add(&s->calls, 1);
    WT_OK(weft_sleep(2 * WT_MS)); /* others arrive and wait meanwhile */
    return n < s->fail_first ? -EIO : 0;
}
static void *once_caller(void *p)
{
    struct oncex *s = p;
    int rc;
    while ((rc = weft_once_call(&s->o, once_fn, s)) == -EIO)
        ;
    WT_OK(rc);
    WT_TRUE(weft_once_done(&s->o));
    return NULL;
}

static void *once_main(void *arg)
{
    (void)arg;
    for (int fail = 0; fail < 3; fail++) {
        struct oncex s = {.o = WEFT_ONCE_INIT, .fail_first = fail};
        weft_task *t[NT];
        for (int i = 0; i < NT; i++)
            t[i] = wt_spawn(once_caller, &s);
        WT_OK(weft_gather(t, NT, NULL));
        WT_EQ(atomic_load(&s.calls), fail + 1);
        WT_OK(weft_once_call(&s.o, once_fn, &s));
        WT_EQ(atomic_load(&s.calls), fail + 1);
    }
    return NULL;
}
WT_TEST_124(once)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event),
        cmocka_unit_test(test_cond_contended),
        cmocka_unit_test(test_cond_cancel),
        cmocka_unit_test(test_fifo_cond),
        cmocka_unit_test(test_barrier),
        cmocka_unit_test(test_barrier_withdraw),
        cmocka_unit_test(test_waitgroup),
        cmocka_unit_test(test_once),
    };
    return WT_RUN_GROUP(tests);
}
