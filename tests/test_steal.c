/* test_steal.c — work must move away from a worker whose task hogs it: a task made
 * runnable by a hog (spawned into its local queue or "next" slot, or woken by a send
 * and so placed in its next slot) must run on the other worker while the hog spins for
 * 300 ms without suspending; so must a task that moved itself to the hog's worker
 * (weft_move_to) and sits in its inbox. How soon is printed (the design target is ~1 ms) but not
 * asserted: timing belongs to bench/, and a loaded VM can delay any thread. Always 2
 * workers. */
#include "fixture.h"

#define HOG_NS (300 * WT_MS)
#define REPEATS 2
#define MAX_CHILDREN 8

struct steal {
    int children;                   /* tasks the hog makes runnable */
    weft_chan *chan;                /* the handoff variant: hog sends, receiver waits */
    atomic_int recv_ready;          /* receiver is about to wait */
    _Atomic uint64_t made_runnable; /* weft_now() just before the spawn / send */
    atomic_int hog_worker;
    atomic_int ran;                        /* children that ran */
    atomic_int ran_while_hogging;          /* seen by the hog at the end of its spin */
    _Atomic uint64_t ran_at[MAX_CHILDREN]; /* weft_now() when child i ran */
    atomic_int ran_on[MAX_CHILDREN];       /* worker child i ran on */
};

struct child_arg {
    struct steal *s;
    int i;
};

static void record_run(struct steal *s, int i)
{
    atomic_store(&s->ran_at[i], weft_now());
    atomic_store(&s->ran_on[i], weft_worker_id());
    atomic_fetch_add(&s->ran, 1);
}

static void *child(void *arg)
{
    struct child_arg *c = arg;
    record_run(c->s, c->i);
    return NULL;
}

static void *receiver(void *arg)
{
    struct steal *s = arg;
    int v = 0;
    atomic_store(&s->recv_ready, 1);
    WT_OK(weft_chan_recv(s->chan, &v));
    record_run(s, 0);
    WT_EQ(v, 0x5151);
    return NULL;
}

static void *hog(void *arg)
{
    struct steal *s = arg;
    weft_task *kids[MAX_CHILDREN];
    struct child_arg ca[MAX_CHILDREN];
    int n = 0;

    if (s->chan) {
        /* Make sure the receiver is parked in weft_chan_recv before the send. */
        wt_wait_ge(&s->recv_ready, 1);
        WT_OK(weft_sleep(20 * WT_MS));
        int v = 0x5151;
        atomic_store(&s->made_runnable, weft_now());
        WT_OK(weft_chan_send(s->chan, &v)); /* wakes the receiver into our next slot */
    } else {
        atomic_store(&s->made_runnable, weft_now());
        for (n = 0; n < s->children; n++) {
            ca[n] = (struct child_arg){.s = s, .i = n};
            kids[n] = wt_spawn(child, &ca[n]);
        }
    }
    /* From here until the end of the spin this task cannot move. */
    int w = weft_worker_id();
    atomic_store(&s->hog_worker, w);
    uint64_t start = atomic_load(&s->made_runnable);
    while (weft_now() - start < HOG_NS) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    atomic_store(&s->ran_while_hogging, atomic_load(&s->ran));
    WT_EQ(weft_worker_id(), w);
    for (int i = 0; i < n; i++)
        WT_OK(weft_join(kids[i], NULL));
    return NULL;
}

static void check_stolen(struct steal *s, int expect, const char *what)
{
    uint64_t t0 = atomic_load(&s->made_runnable);
    int hw = atomic_load(&s->hog_worker);
    for (int i = 0; i < expect; i++) {
        uint64_t at = atomic_load(&s->ran_at[i]);
        int on = atomic_load(&s->ran_on[i]);
        double ms = at >= t0 ? (double)(at - t0) / 1e6 : -1.0;
        print_message("      %s: task %d ran on worker %d (hog on %d) %.3f ms after it "
                      "became runnable\n",
                      what, i, on, hw, ms);
        WT_NE(on, hw);
        WT_GE(at, t0);
    }
    WT_EQ(atomic_load(&s->ran_while_hogging), expect);
}

static void run_variant(int children, bool handoff, const char *what)
{
    for (int rep = 0; rep < REPEATS; rep++) {
        struct steal s = {.children = children};
        weft_task *r = NULL;
        if (handoff) {
            WT_NONNULL(s.chan = weft_chan_new(sizeof(int), 4));
            r = wt_spawn(receiver, &s);
        }
        /* Let the other worker go idle (park) first, so the wake-up path is tested. */
        WT_OK(weft_sleep(30 * WT_MS));
        weft_task *h = wt_spawn(hog, &s);
        WT_OK(weft_join(h, NULL));
        if (r)
            WT_OK(weft_join(r, NULL));
        check_stolen(&s, handoff ? 1 : children, what);
        if (s.chan)
            weft_chan_free(s.chan);
    }
}

static void *steal_spawned_main(void *arg)
{
    (void)arg;
    WT_EQ(weft_workers(), 2);
    run_variant(1, false, "spawned by the hog");
    return NULL;
}
WT_TEST_W(steal_spawned, 2)

static void *steal_many_spawned_main(void *arg)
{
    (void)arg;
    run_variant(MAX_CHILDREN, false, "one of 8 spawned by the hog");
    return NULL;
}
WT_TEST_W(steal_many_spawned, 2)

static void *steal_woken_main(void *arg)
{
    (void)arg;
    run_variant(0, true, "receiver woken by the hog's send");
    return NULL;
}
WT_TEST_W(steal_woken, 2)

/* ---- a task moved to a hogging worker (weft_move_to) ------------------------------------ */

struct move_steal {
    atomic_int hog_worker; /* -1 until the hog spins */
    _Atomic uint64_t moved_at;
    atomic_int ran_on;
    atomic_int ran_while_hogging;
};

static void *move_hog(void *arg)
{
    struct move_steal *m = arg;
    int w = weft_worker_id();
    atomic_store(&m->hog_worker, w);
    uint64_t start = weft_now();
    while (weft_now() - start < HOG_NS) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    atomic_store(&m->ran_while_hogging, atomic_load(&m->ran_on) >= 0);
    WT_EQ(weft_worker_id(), w);
    return NULL;
}

static void *move_into_hog(void *arg)
{
    struct move_steal *m = arg;
    while (atomic_load(&m->hog_worker) < 0)
        WT_OK(weft_sleep(WT_MS));
    int hw = atomic_load(&m->hog_worker);
    atomic_store(&m->moved_at, weft_now());
    WT_OK(weft_move_to((unsigned)hw)); /* into the inbox of a worker that cannot look */
    atomic_store(&m->ran_on, weft_worker_id());
    return NULL;
}

static void *steal_moved_main(void *arg)
{
    (void)arg;
    for (int rep = 0; rep < REPEATS; rep++) {
        struct move_steal m;
        atomic_init(&m.hog_worker, -1);
        atomic_init(&m.moved_at, 0);
        atomic_init(&m.ran_on, -1);
        atomic_init(&m.ran_while_hogging, 0);
        weft_task *h = wt_spawn(move_hog, &m);
        weft_task *t = wt_spawn(move_into_hog, &m);
        WT_OK(weft_join(t, NULL));
        WT_OK(weft_join(h, NULL));
        print_message("      moved to the hog's worker %d, ran on worker %d\n",
                      atomic_load(&m.hog_worker), atomic_load(&m.ran_on));
        WT_NE(atomic_load(&m.ran_on), atomic_load(&m.hog_worker));
        WT_EQ(atomic_load(&m.ran_while_hogging), 1);
    }
    return NULL;
}
WT_TEST_W(steal_moved, 2)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steal_spawned),
        cmocka_unit_test(test_steal_many_spawned),
        cmocka_unit_test(test_steal_woken),
        cmocka_unit_test(test_steal_moved),
    };
    return WT_RUN_GROUP(tests);
}
