/* weft — the blocking pool: threads that run calls which would block a worker (file
 * systems without io_uring support, getaddrinfo, user code via weft_blocking).
 *
 * One process-wide pool (one runtime runs at a time): a FIFO of jobs under a mutex,
 * threads started on demand up to WEFT_BLOCKING_THREADS (default 64), each leaving after
 * 10 s without work. A thread that leaves cannot join itself, so it puts its record on
 * the `exited` list and whoever takes the lock next (a submitter, or shutdown) joins it.
 */
#include "io/internal.h"

#include <signal.h>
#include <string.h>
#include <time.h>

enum { DEFAULT_MAX = 64, IDLE_SEC = 10 };

typedef struct pool_thread {
    pthread_t tid;
    struct pool_thread *next;
} pool_thread;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cond; /* CLOCK_MONOTONIC, initialised once */
static pthread_cond_t exit_cond;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static weft__job *head, *tail;
static unsigned nqueued, nthreads, nidle, max_threads; /* max 0: read the env again */
static bool stopping;
static pool_thread *exited;

static void init_conds(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&work_cond, &a);
    pthread_condattr_destroy(&a);
    pthread_cond_init(&exit_cond, NULL);
}

static unsigned read_max(void)
{
    const char *e = getenv("WEFT_BLOCKING_THREADS");
    long n = e ? strtol(e, NULL, 10) : 0;
    return n > 0 && n <= 100000 ? (unsigned)n : DEFAULT_MAX;
}

static void *pool_main(void *arg)
{
    pool_thread *self = arg;
    pthread_setname_np(pthread_self(), "weft-blocking");
    pthread_mutex_lock(&lock);
    for (;;) {
        if (head) {
            weft__job *j = head;
            head = j->next;
            if (!head)
                tail = NULL;
            nqueued--;
            pthread_mutex_unlock(&lock);
            j->run(j);
            pthread_mutex_lock(&lock);
            continue;
        }
        if (stopping)
            break;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += IDLE_SEC;
        nidle++;
        int rc = 0;
        while (!head && !stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&work_cond, &lock, &until);
        nidle--;
        if (!head && !stopping)
            break; /* idle for IDLE_SEC */
    }
    nthreads--;
    self->next = exited;
    exited = self;
    pthread_cond_broadcast(&exit_cond);
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Joins the threads that have left; called without the lock (they may still be
 * finishing pthread_exit). */
static void join_list(pool_thread *p)
{
    while (p) {
        pool_thread *next = p->next;
        pthread_join(p->tid, NULL);
        free(p);
        p = next;
    }
}

/* Blocks every asynchronous signal for the new thread (it inherits the mask): signals
 * are for the application's threads and weft_signal_wait's signalfd, never a pool
 * thread. Faults stay deliverable. */
static int start_thread(pool_thread *p)
{
    sigset_t all, old;
    sigfillset(&all);
    const int sync_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t i = 0; i < sizeof sync_sigs / sizeof sync_sigs[0]; i++)
        sigdelset(&all, sync_sigs[i]);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->tid, NULL, pool_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int weft__blocking_submit(weft__job *j)
{
    pthread_once(&once, init_conds);
    pool_thread *p = NULL;
    pthread_mutex_lock(&lock);
    if (!max_threads)
        max_threads = read_max();
    pool_thread *gone = exited;
    exited = NULL;
    j->next = NULL;
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    nqueued++;
    int rc = 0;
    if (nidle >= nqueued) {
        pthread_cond_signal(&work_cond);
    } else if (nthreads < max_threads && (p = malloc(sizeof *p)) != NULL) {
        nthreads++;
        /* Created under the lock so that shutdown never misses a thread. */
        if (start_thread(p) != 0) {
            nthreads--;
            free(p);
            p = NULL;
        }
    }
    if (!p && nthreads == 0) {
        /* Nobody would ever run it: take it back (it is the only job queued, since
         * a queued job implies a thread that will run it). */
        head = tail = NULL;
        nqueued = 0;
        rc = -EAGAIN;
    }
    pthread_mutex_unlock(&lock);
    join_list(gone);
    return rc;
}

void weft__blocking_shutdown(void)
{
    pthread_once(&once, init_conds);
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_broadcast(&work_cond);
    while (nthreads)
        pthread_cond_wait(&exit_cond, &lock);
    pool_thread *gone = exited;
    exited = NULL;
    stopping = false;
    max_threads = 0;
    pthread_mutex_unlock(&lock);
    join_list(gone);
}

/* ---- weft_blocking ------------------------------------------------------------------ */

typedef struct {
    weft__job job;
    weft__waiter wt;
    weft_fn fn;
    void *arg;
    void *result;
} call;

static void run_call(weft__job *j)
{
    call *c = (call *)j;
    c->result = c->fn(c->arg);
    weft__waiter_fire(&c->wt, 0); /* c (on the task's stack) may be gone after this */
}

int weft_blocking(weft_fn fn, void *arg, void **result)
{
    weft_task *t = weft__task_self();
    if (!t)
        return -EPERM;
    if (!fn)
        return -EINVAL;
    int rc = weft__interrupted(t);
    if (rc)
        return rc;
    call c = {.job.run = run_call, .fn = fn, .arg = arg};
    c.wt.task = t;
    rc = weft__blocking_submit(&c.job);
    if (rc)
        return rc;
    /* fn may use arg on this stack until it returns: wait for it whatever happens. */
    bool nointr = t->nointr;
    t->nointr = true;
    while (weft__waiter_wait(&c.wt) != 0)
        ;
    t->nointr = nointr;
    if (result)
        *result = c.result;
    return 0;
}
