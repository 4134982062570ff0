/* test_blocking.c — the blocking pool and what runs on it: weft_blocking's results, the
 * WEFT_BLOCKING_THREADS bound, uninterruptible calls, getaddrinfo (results, EAI errors,
 * interruption while queued), weft_tcp_connect by name, and a clean pool shutdown
 * (threads joined when weft_run returns; a second run starts afresh). */
#include "fixture.h"

#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    WT_NONNULL(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0)
        ;
}

/* ---- results ---------------------------------------------------------------------- */

static void *square_on_thread(void *arg)
{
    /* A blocking thread is no worker. */
    WT_EQ(weft_worker_id(), -1);
    intptr_t x = (intptr_t)arg;
    return (void *)(x * x);
}

static void *one_call(void *arg)
{
    void *r = NULL;
    WT_OK(weft_blocking(square_on_thread, arg, &r));
    WT_EQ((intptr_t)r, (intptr_t)arg * (intptr_t)arg);
    WT_OK(weft_blocking(square_on_thread, arg, NULL)); /* result not wanted */
    return r;
}

static void *results_main(void *arg)
{
    (void)arg;
    enum { N = 32 };
    weft_task *ts[N];
    void *rs[N];
    for (intptr_t i = 0; i < N; i++)
        ts[i] = wt_spawn(one_call, (void *)i);
    WT_OK(weft_gather(ts, N, rs));
    for (intptr_t i = 0; i < N; i++)
        WT_EQ((intptr_t)rs[i], i * i);
    WT_EQ(weft_blocking(NULL, NULL, NULL), -EINVAL);
    return NULL;
}
WT_TEST_1_2(results)

/* ---- the bound -------------------------------------------------------------------- */

static atomic_int running, peak;
static pthread_mutex_t tid_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t tids[64];
static int ntids;

static void *hold(void *arg)
{
    (void)arg;
    int now = atomic_fetch_add(&running, 1) + 1;
    int p = atomic_load(&peak);
    while (now > p && !atomic_compare_exchange_weak(&peak, &p, now))
        ;
    pid_t me = (pid_t)syscall(SYS_gettid);
    pthread_mutex_lock(&tid_lock);
    bool known = false;
    for (int i = 0; i < ntids; i++)
        known |= tids[i] == me;
    if (!known && ntids < 64)
        tids[ntids++] = me;
    pthread_mutex_unlock(&tid_lock);
    sleep_ms(40);
    atomic_fetch_sub(&running, 1);
    return NULL;
}

static void *hold_task(void *arg)
{
    WT_OK(weft_blocking(hold, arg, NULL));
    return NULL;
}

static void *bound_main(void *arg)
{
    (void)arg;
    enum { N = 12 };
    atomic_store(&running, 0);
    atomic_store(&peak, 0);
    ntids = 0;
    weft_task *ts[N];
    for (int i = 0; i < N; i++)
        ts[i] = wt_spawn(hold_task, NULL);
    WT_OK(weft_gather(ts, N, NULL));
    WT_EQ(atomic_load(&peak), 3); /* 12 calls of 40 ms queue behind 3 threads */
    WT_EQ(ntids, 3);
    return NULL;
}

static void test_bound(void **state)
{
    (void)state;
    setenv("WEFT_BLOCKING_THREADS", "3", 1);
    wt_run_1_2(bound_main, NULL);
    unsetenv("WEFT_BLOCKING_THREADS");
}

/* ---- a cancelled task still waits for fn ------------------------------------------ */

static atomic_int fn_done;

static void *slow_fn(void *arg)
{
    sleep_ms(60);
    atomic_store(&fn_done, 1);
    return arg;
}

typedef struct {
    int rc, done_at_return, after;
    void *result;
} slow_out;

static void *slow_caller(void *arg)
{
    slow_out *o = arg;
    o->rc = weft_blocking(slow_fn, (void *)(intptr_t)7, &o->result);
    o->done_at_return = atomic_load(&fn_done);
    o->after = weft_yield(); /* the cancellation shows here */
    /* Already cancelled: the call does not start fn. */
    atomic_store(&fn_done, 0);
    WT_EQ(weft_blocking(slow_fn, NULL, NULL), -ECANCELED);
    WT_EQ(atomic_load(&fn_done), 0);
    return NULL;
}

static void *uninterruptible_main(void *arg)
{
    (void)arg;
    for (int round = 0; round < 3; round++) {
        atomic_store(&fn_done, 0);
        slow_out o = {1, 0, 0, NULL};
        uint64_t t0 = weft_now();
        weft_task *t = wt_spawn(slow_caller, &o);
        WT_OK(weft_sleep(10 * WT_MS));
        weft_cancel(t);
        WT_EQ(weft_join(t, NULL), -ECANCELED);
        WT_GE(weft_now() - t0, 60 * WT_MS);
        WT_EQ(o.rc, 0);
        WT_EQ(o.done_at_return, 1);
        WT_EQ((intptr_t)o.result, 7);
        WT_EQ(o.after, -ECANCELED);
    }
    /* A deadline does not cut it short either. */
    atomic_store(&fn_done, 0);
    void *r = NULL;
    int rc;
    {
        WEFT_WITH_TIMEOUT(10 * WT_MS);
        rc = weft_blocking(slow_fn, (void *)(intptr_t)9, &r);
    }
    WT_OK(rc);
    WT_EQ(atomic_load(&fn_done), 1);
    WT_EQ((intptr_t)r, 9);
    return NULL;
}
WT_TEST_1_2(uninterruptible)

/* ---- getaddrinfo ------------------------------------------------------------------ */

static void *gai_main(void *arg)
{
    (void)arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    WT_OK(weft_getaddrinfo("localhost", "80", &hints, &res));
    WT_NONNULL(res);
    int n = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next, n++) {
        WT_EQ(ai->ai_socktype, SOCK_STREAM);
        if (ai->ai_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)ai->ai_addr;
            WT_EQ(ntohl(a->sin_addr.s_addr) >> 24, 127);
            WT_EQ(ntohs(a->sin_port), 80);
        } else {
            WT_EQ(ai->ai_family, AF_INET6);
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)ai->ai_addr;
            WT_TRUE(IN6_IS_ADDR_LOOPBACK(&a->sin6_addr));
        }
    }
    WT_GT(n, 0);
    freeaddrinfo(res);
    /* Errors are glibc's (negative) EAI codes; none of these touches the network. */
    struct addrinfo numeric = {.ai_flags = AI_NUMERICHOST};
    res = (struct addrinfo *)1;
    WT_EQ(weft_getaddrinfo("not-a-number", NULL, &numeric, &res), EAI_NONAME);
    WT_TRUE(res == NULL);
    WT_LT(EAI_NONAME, 0);
    WT_EQ(weft_getaddrinfo("localhost", "no-such-service-weft", &hints, &res), EAI_SERVICE);
    WT_EQ(weft_getaddrinfo(NULL, NULL, NULL, &res), EAI_NONAME);
    struct addrinfo badfam = {.ai_family = 12345};
    WT_EQ(weft_getaddrinfo("127.0.0.1", NULL, &badfam, &res), EAI_FAMILY);
    WT_EQ(weft_getaddrinfo("localhost", NULL, NULL, NULL), -EINVAL);
    WT_OK(weft_getaddrinfo("127.0.0.1", "http", NULL, &res)); /* service by name */
    WT_EQ(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 80);
    freeaddrinfo(res);
    return NULL;
}
WT_TEST_1_2(gai)

/* One blocking thread, busy: a lookup queued behind it is abandoned at once when its
 * task is cancelled or its deadline passes; the pool drops (frees) it later. */
static void *long_fn(void *arg)
{
    sleep_ms(200);
    return arg;
}

static void *occupy(void *arg)
{
    (void)arg;
    WT_OK(weft_blocking(long_fn, NULL, NULL));
    return NULL;
}

static void *lookup_task(void *arg)
{
    (void)arg;
    struct addrinfo *res = NULL;
    int rc = weft_getaddrinfo("localhost", "80", NULL, &res);
    WT_TRUE(res == NULL);
    return (void *)(intptr_t)rc;
}

static void *gai_interrupt_main(void *arg)
{
    (void)arg;
    for (int round = 0; round < 3; round++) {
        weft_task *busy = wt_spawn(occupy, NULL);
        WT_OK(weft_sleep(5 * WT_MS)); /* long_fn holds the only thread for 200 ms */
        uint64_t t0 = weft_now();
        weft_task *t = wt_spawn(lookup_task, NULL);
        WT_OK(weft_sleep(5 * WT_MS));
        weft_cancel(t);
        void *r = NULL;
        WT_EQ(weft_join(t, &r), -ECANCELED);
        WT_EQ((intptr_t)r, -ECANCELED);
        WT_LT(weft_now() - t0, 150 * WT_MS);
        struct addrinfo *res = NULL;
        int rc;
        {
            WEFT_WITH_TIMEOUT(5 * WT_MS);
            rc = weft_getaddrinfo("localhost", "80", NULL, &res);
        }
        WT_EQ(rc, -ETIMEDOUT);
        WT_TRUE(res == NULL);
        WT_OK(weft_join(busy, NULL));
        /* The pool is fine afterwards. */
        WT_OK(weft_getaddrinfo("localhost", "80", NULL, &res));
        freeaddrinfo(res);
    }
    return NULL;
}

static void test_gai_interrupt(void **state)
{
    (void)state;
    setenv("WEFT_BLOCKING_THREADS", "1", 1);
    wt_run_1_2(gai_interrupt_main, NULL);
    unsetenv("WEFT_BLOCKING_THREADS");
}

/* ---- connecting by name ----------------------------------------------------------- */

static void *by_name_main(void *arg)
{
    (void)arg;
    int lfd = weft_tcp_listen("127.0.0.1", 0, 8, 0);
    WT_GE(lfd, 0);
    int port = weft_local_port(lfd);
    /* "localhost" may give ::1 first: each address is tried in turn. */
    int c = weft_tcp_connect("localhost", (uint16_t)port, WEFT_NET_NODELAY);
    WT_GE(c, 0);
    int s = weft_accept(lfd, NULL, NULL, 0);
    WT_GE(s, 0);
    WT_EQ(weft_send_all(c, "by name", 7, 0), 7);
    char buf[8];
    WT_EQ(weft_recv(s, buf, 7, MSG_WAITALL), 7);
    WT_EQ(memcmp(buf, "by name", 7), 0);
    WT_OK(weft_close(s));
    WT_OK(weft_close(c));
    WT_OK(weft_close(lfd));
    /* A listener by name, and nobody listening any more. */
    lfd = weft_tcp_listen("localhost", 0, 8, 0);
    WT_GE(lfd, 0);
    port = weft_local_port(lfd);
    WT_GT(port, 0);
    WT_OK(weft_close(lfd));
    WT_EQ(weft_tcp_connect("localhost", (uint16_t)port, 0), -ECONNREFUSED);
    int u = weft_udp_bind("localhost", 0, AF_INET);
    WT_GE(u, 0);
    WT_OK(weft_close(u));
    return NULL;
}
WT_TEST_1_2(by_name)

/* ---- shutdown ----------------------------------------------------------------------- */

static void *fan_out_main(void *arg)
{
    (void)arg;
    enum { N = 8 };
    weft_task *ts[N];
    for (int i = 0; i < N; i++)
        ts[i] = wt_spawn(hold_task, NULL);
    WT_OK(weft_gather(ts, N, NULL));
    return (void *)(intptr_t)count_threads();
}

/* The pool's threads are gone when weft_run returns, and a second run starts them
 * again. */
static void test_second_run(void **state)
{
    (void)state;
    int before = count_threads();
    for (int run = 0; run < 2; run++) {
        intptr_t inside = (intptr_t)wt_run(2, fan_out_main, NULL);
        WT_GE(inside, before + 2 + 1); /* workers, and at least one blocking thread */
        /* A joined thread can linger in /proc for a moment after its exit. */
        for (int i = 0; i < 1000 && count_threads() != before; i++)
            sleep_ms(1);
        WT_EQ(count_threads(), before);
    }
}

static void test_outside_task(void **state)
{
    (void)state;
    struct addrinfo *res;
    WT_EQ(weft_blocking(square_on_thread, NULL, NULL), -EPERM);
    WT_EQ(weft_getaddrinfo("localhost", NULL, NULL, &res), -EPERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results),         cmocka_unit_test(test_bound),
        cmocka_unit_test(test_uninterruptible), cmocka_unit_test(test_gai),
        cmocka_unit_test(test_gai_interrupt),   cmocka_unit_test(test_by_name),
        cmocka_unit_test(test_second_run),      cmocka_unit_test(test_outside_task),
    };
    return WT_RUN_GROUP(tests);
}
