/* test_signal.c — weft_signal_wait: a signal sent to the process (from a task or from a
 * plain thread) wakes the task waiting for it; cancellation and deadlines of a waiting
 * call (the signal stays pending for the next wait); bad arguments. main() blocks
 * SIGUSR1 and SIGUSR2 before any runtime starts, as the contract asks. */
#include "fixture.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>

static const int usr[] = {SIGUSR1, SIGUSR2};

static void *wait_usr(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)weft_signal_wait(usr, 2);
}

static void *send_usr1(void *arg)
{
    (void)arg;
    WT_OK(weft_sleep(5 * WT_MS));
    WT_OK(kill(getpid(), SIGUSR1));
    return NULL;
}

static void *thread_send_usr2(void *arg)
{
    (void)arg;
    usleep(5000);
    kill(getpid(), SIGUSR2);
    return NULL;
}

static void *from_task_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        weft_task *w = wt_spawn(wait_usr, NULL);
        weft_task *s = wt_spawn(send_usr1, NULL);
        void *r = NULL;
        WT_OK(weft_join(w, &r));
        WT_EQ((intptr_t)r, SIGUSR1);
        WT_OK(weft_join(s, NULL));
    }
    /* From a thread outside the runtime. */
    pthread_t th;
    WT_OK(pthread_create(&th, NULL, thread_send_usr2, NULL));
    WT_EQ(weft_signal_wait(usr, 2), SIGUSR2);
    WT_OK(pthread_join(th, NULL));
    /* Sent before the wait: it was pending, the wait takes it at once. */
    WT_OK(kill(getpid(), SIGUSR2));
    WT_EQ(weft_signal_wait(&usr[1], 1), SIGUSR2);
    return NULL;
}
WT_TEST_1_2(from_task)

static void *cancel_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        weft_task *w = wt_spawn(wait_usr, NULL);
        WT_OK(weft_sleep((uint64_t)(i % 3) * WT_MS));
        weft_cancel(w);
        void *r = NULL;
        WT_EQ(weft_join(w, &r), -ECANCELED);
        WT_EQ((intptr_t)r, -ECANCELED);
    }
    uint64_t t0 = weft_now();
    int rc;
    {
        WEFT_WITH_TIMEOUT(20 * WT_MS);
        rc = weft_signal_wait(usr, 2);
    }
    WT_EQ(rc, -ETIMEDOUT);
    WT_GE(weft_now() - t0, 20 * WT_MS);
    /* A signal that arrives after the cancelled waits is not lost. */
    WT_OK(kill(getpid(), SIGUSR1));
    WT_EQ(weft_signal_wait(usr, 2), SIGUSR1);
    return NULL;
}
WT_TEST_1_2(cancel)

/* ---- a stream of signals, one at a time, each sent at a random moment of the wait:
 * every one is returned by exactly the wait it was sent for (none lost, none left
 * pending), while other tasks keep the workers' rings busy. */
enum { MANY = 300 };
static _Atomic int many_turn;

static void *many_sender(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 1; i <= MANY; i++) {
        while (atomic_load(&many_turn) != i)
            usleep(20);
        usleep(rand_r(&seed) % 400);
        kill(getpid(), SIGUSR1);
    }
    return NULL;
}

static void *many_busy(void *arg)
{
    (void)arg;
    while (weft_sleep(20 * 1000) == 0) /* 20 us: timers and CQEs all the time */
        ;
    return NULL;
}

static void *many_main(void *arg)
{
    (void)arg;
    atomic_store(&many_turn, 0);
    weft_task *busy[3];
    for (int i = 0; i < 3; i++)
        busy[i] = wt_spawn(many_busy, NULL);
    pthread_t th;
    WT_OK(pthread_create(&th, NULL, many_sender, (void *)(uintptr_t)weft_now()));
    int got = 0;
    for (int i = 1; i <= MANY; i++) {
        atomic_store(&many_turn, i);
        int rc;
        {
            WEFT_WITH_TIMEOUT(2 * WT_SEC);
            rc = weft_signal_wait(usr, 2);
        }
        WT_EQ(rc, SIGUSR1);
        got++;
    }
    WT_OK(pthread_join(th, NULL));
    WT_EQ(got, MANY);
    sigset_t pend;
    sigpending(&pend);
    WT_EQ(sigismember(&pend, SIGUSR1), 0); /* nothing left over */
    for (int i = 0; i < 3; i++) {
        weft_cancel(busy[i]);
        WT_EQ(weft_join(busy[i], NULL), -ECANCELED);
    }
    return NULL;
}
WT_TEST_1_2(many)

static void *bad_args_main(void *arg)
{
    (void)arg;
    int zero = 0, big = 1000, killsig = SIGKILL;
    WT_EQ(weft_signal_wait(&zero, 1), -EINVAL);
    WT_EQ(weft_signal_wait(&big, 1), -EINVAL);
    WT_EQ(weft_signal_wait(&killsig, 1), -EINVAL);
    WT_EQ(weft_signal_wait(usr, 0), -EINVAL);
    WT_EQ(weft_signal_wait(NULL, 1), -EINVAL);
    return NULL;
}
WT_TEST_1_2(bad_args)

static void test_outside_task(void **state)
{
    (void)state;
    WT_EQ(weft_signal_wait(usr, 2), -EPERM);
    int zero = 0;
    WT_EQ(weft_signals_block(&zero, 1), -EINVAL);
    WT_EQ(weft_signals_block(usr, 0), -EINVAL);
}

int main(void)
{
    if (weft_signals_block(usr, 2) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_task),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_outside_task),
    };
    return WT_RUN_GROUP(tests);
}
