/* test_scope.c — `async with` scopes: deadline scopes (expire, nest, restore on every
 * way out of the block) and task-set scopes (join all on exit, a failure cancels the
 * others, the cancelling variant). */
#include "fixture.h"

static void *deadline_expires_main(void *arg)
{
    (void)arg;
    WT_EQ(weft_deadline(), UINT64_MAX);
    {
        WEFT_DEADLINE_SCOPE(20 * WT_MS);
        WT_NE(weft_deadline(), UINT64_MAX);
        WT_EQ(weft_sleep(10 * WT_SEC), -ETIMEDOUT);
        WT_EQ(weft_yield(), -ETIMEDOUT); /* every suspension, from now on */
    }
    WT_EQ(weft_deadline(), UINT64_MAX); /* restored */
    WT_OK(weft_sleep(WT_MS));
    return NULL;
}
WT_TEST_1_2(deadline_expires)

static void *deadline_nested_main(void *arg)
{
    (void)arg;
    {
        WEFT_DEADLINE_SCOPE(10 * WT_SEC);
        uint64_t outer = weft_deadline();
        {
            WEFT_DEADLINE_SCOPE(20 * WT_MS); /* earlier: wins */
            uint64_t inner = weft_deadline();
            WT_LT(inner, outer);
            {
                WEFT_DEADLINE_SCOPE(60 * WT_SEC); /* later: the inner one stays */
                WT_EQ(weft_deadline(), inner);
            }
            WT_EQ(weft_deadline(), inner);
            WT_EQ(weft_sleep(10 * WT_SEC), -ETIMEDOUT);
        }
        WT_EQ(weft_deadline(), outer);
        WT_OK(weft_sleep(WT_MS)); /* the outer one has not passed */
    }
    WT_EQ(weft_deadline(), UINT64_MAX);
    return NULL;
}
WT_TEST_1_2(deadline_nested)

/* Leaving the block by return and by break restores the outer deadline. */
static int leave_by_return(void)
{
    WEFT_DEADLINE_SCOPE(5 * WT_MS);
    return weft_sleep(10 * WT_SEC);
}

static void *deadline_exits_main(void *arg)
{
    (void)arg;
    WT_EQ(leave_by_return(), -ETIMEDOUT);
    WT_EQ(weft_deadline(), UINT64_MAX);
    for (int i = 0; i < 3; i++) {
        WEFT_DEADLINE_SCOPE_AT(weft_now() + 5 * WT_MS);
        if (weft_sleep(10 * WT_SEC) == -ETIMEDOUT)
            break;
    }
    WT_EQ(weft_deadline(), UINT64_MAX);
    return NULL;
}
WT_TEST_1_2(deadline_exits)

/* ---- task-set scopes ---------------------------------------------------------------- */

struct job {
    uint64_t ms;
    int fail;
    atomic_int done;
    atomic_int rc;
};

static void *job_fn(void *arg)
{
    struct job *j = arg;
    int rc = weft_sleep(j->ms * WT_MS);
    atomic_store(&j->rc, rc);
    if (rc == 0 && j->fail)
        weft_fail(j->fail);
    atomic_store(&j->done, 1);
    return NULL;
}

static void *taskset_joins_main(void *arg)
{
    (void)arg;
    struct job j[8];
    int rc = 1;
    {
        WEFT_TASKSET_SCOPE(tg, &rc);
        WT_NONNULL(tg);
        for (int i = 0; i < 8; i++) {
            j[i] = (struct job){.ms = (uint64_t)(1 + i * 3)};
            atomic_store(&j[i].rc, 1);
            WT_NONNULL(weft_set_spawn(tg, job_fn, &j[i]));
        }
    } /* every member is joined here */
    WT_OK(rc);
    for (int i = 0; i < 8; i++) {
        WT_EQ(atomic_load(&j[i].done), 1);
        WT_OK(atomic_load(&j[i].rc));
    }
    return NULL;
}
WT_TEST_1_2(taskset_joins)

static void *taskset_failure_main(void *arg)
{
    (void)arg;
    struct job j[4];
    int rc = 1;
    {
        WEFT_TASKSET_SCOPE(tg, &rc);
        WT_NONNULL(tg);
        for (int i = 0; i < 4; i++) {
            j[i] = (struct job){.ms = i == 0 ? 5 : 10000, .fail = i == 0 ? -EIO : 0};
            atomic_store(&j[i].rc, 1);
            WT_NONNULL(weft_set_spawn(tg, job_fn, &j[i]));
        }
    }
    WT_EQ(rc, -EIO); /* the first failure; it cancelled the others */
    for (int i = 1; i < 4; i++)
        WT_EQ(atomic_load(&j[i].rc), -ECANCELED);
    return NULL;
}
WT_TEST_1_2(taskset_failure)

/* The cancelling variant, left early by a return. */
static int cancel_scope(struct job *j, int *rc)
{
    WEFT_TASKSET_SCOPE_CANCEL(tg, rc);
    if (!tg)
        return -ENOMEM;
    for (int i = 0; i < 4; i++)
        if (!weft_set_spawn(tg, job_fn, &j[i]))
            return -ENOMEM;
    return 0; /* members still sleep: they are cancelled, then joined */
}

static void *taskset_cancel_main(void *arg)
{
    (void)arg;
    struct job j[4];
    for (int i = 0; i < 4; i++) {
        j[i] = (struct job){.ms = 10000};
        atomic_store(&j[i].rc, 1);
    }
    int rc = 1;
    uint64_t t0 = weft_now();
    WT_OK(cancel_scope(j, &rc));
    WT_OK(rc); /* cancelled members are not failures */
    WT_LT(weft_now() - t0, 5 * WT_SEC);
    for (int i = 0; i < 4; i++) {
        WT_EQ(atomic_load(&j[i].done), 1);
        WT_EQ(atomic_load(&j[i].rc), -ECANCELED);
    }
    return NULL;
}
WT_TEST_1_2(taskset_cancel)

/* A scope whose owner is cancelled while waiting at the end of the block: the members
 * are cancelled and still joined; the status says the owner was interrupted. */
static struct job owner_jobs[3];
static atomic_int owner_rc;
static atomic_int owner_in;

static void *scope_owner(void *arg)
{
    (void)arg;
    int rc = 1;
    {
        WEFT_TASKSET_SCOPE(tg, &rc);
        for (int i = 0; i < 3; i++)
            WT_NONNULL(weft_set_spawn(tg, job_fn, &owner_jobs[i]));
        atomic_store(&owner_in, 1);
    }
    atomic_store(&owner_rc, rc);
    return NULL;
}

static void *taskset_owner_cancel_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        owner_jobs[i] = (struct job){.ms = 10000};
        atomic_store(&owner_jobs[i].rc, 1);
    }
    atomic_store(&owner_rc, 1);
    atomic_store(&owner_in, 0);
    weft_task *o = wt_spawn(scope_owner, NULL);
    wt_wait_ge(&owner_in, 1);
    WT_OK(weft_sleep(2 * WT_MS));
    weft_cancel(o);
    (void)weft_join(o, NULL);
    WT_EQ(atomic_load(&owner_rc), -ECANCELED);
    for (int i = 0; i < 3; i++)
        WT_EQ(atomic_load(&owner_jobs[i].rc), -ECANCELED);
    return NULL;
}
WT_TEST_1_2(taskset_owner_cancel)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_expires), cmocka_unit_test(test_deadline_nested),
        cmocka_unit_test(test_deadline_exits),   cmocka_unit_test(test_taskset_joins),
        cmocka_unit_test(test_taskset_failure),  cmocka_unit_test(test_taskset_cancel),
        cmocka_unit_test(test_taskset_owner_cancel),
    };
    return WT_RUN_GROUP(tests);
}
