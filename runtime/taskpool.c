/* weft — the task pool: type-stable memory for task objects.
 *
 * 1. Task objects are carved from slabs of SLAB_TASKS and never returned to the
 *    allocator while the runtime runs; a freed task goes back to a free list with state
 *    WEFT_TS_FREE. This is what makes a late weft__unpark() on a finished task safe: it
 *    reads a FREE (no-op) or a reused task (a spurious wake-up, which every wait loop
 *    tolerates). Wakers therefore need no reference count on the hot path.
 * 2. Each worker keeps a LIFO free list (owner only). Plain threads and overflow use
 *    the global list under a mutex.
 * 3. The slab table lets shutdown walk every live task (to cancel it) and WEFT_DEBUG
 *    list the tasks nobody joined, without a registry on the spawn path.
 * 4. All memory is released when weft_run returns (weft__taskpool_fini).
 */
#include "runtime/internal.h"

#include <string.h>
#include <sys/mman.h>

/* A slab is mapped with MAP_POPULATE: the kernel fills its ~200 KiB in one call instead
 * of one page fault per 4 KiB as spawn first touches it (a burst of 1M spawns took ~50k
 * faults). */
enum { SLAB_TASKS = 1024, LOCAL_MAX = 4096 };

typedef struct tslab {
    struct tslab *next;
    weft_task tasks[SLAB_TASKS];
} tslab;

static struct {
    pthread_mutex_t lock;
    tslab *slabs;
    weft_task *free;
    size_t nfree;
    _Atomic size_t foreign_alloc, foreign_free; /* by plain threads */
    size_t left_at_exit; /* tasks still allocated when the last runtime ended */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

int weft__taskpool_init(void)
{
    g.slabs = NULL;
    g.free = NULL;
    g.nfree = 0;
    atomic_store(&g.foreign_alloc, 0);
    atomic_store(&g.foreign_free, 0);
    return 0;
}

void weft__taskpool_fini(void)
{
    size_t left = 0;
    for (tslab *s = g.slabs; s; s = s->next)
        for (int i = 0; i < SLAB_TASKS; i++)
            left += atomic_load(&s->tasks[i].state) != WEFT_TS_FREE;
    g.left_at_exit = left;
    for (tslab *x = g.slabs; x; x = x->next)
        for (int i = 0; i < SLAB_TASKS; i++)
            weft__san_task_destroyed(&x->tasks[i]);
    tslab *s = g.slabs;
    while (s) {
        tslab *n = s->next;
        munmap(s, sizeof *s);
        s = n;
    }
    g.slabs = NULL;
    g.free = NULL;
    g.nfree = 0;
}

/* With g.lock held: a new slab, all of it on the global free list. */
static bool slab_grow(void)
{
    tslab *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (s == MAP_FAILED)
        return false;
    /* No memset: spawn initialises every field; only what a scan or a stale waker may
     * read before that (state, jstate, sanitizer fiber) is set here. */
    for (int i = SLAB_TASKS - 1; i >= 0; i--) {
        weft_task *t = &s->tasks[i];
        atomic_init(&t->state, WEFT_TS_FREE);
        atomic_init(&t->jstate, WEFT_J_NONE);
#if defined(WEFT_TSAN)
        t->tsan_fiber = NULL;
#endif
        t->pool_next = g.free;
        g.free = t;
    }
    g.nfree += SLAB_TASKS;
    s->next = g.slabs;
    g.slabs = s;
    return true;
}

weft_task *weft__task_alloc(weft__worker *w)
{
    weft_task *t;
    if (w && w->task_free) {
        t = w->task_free;
        w->task_free = t->pool_next;
        w->task_free_n--;
    } else {
        pthread_mutex_lock(&g.lock);
        if (!g.free && !slab_grow()) {
            pthread_mutex_unlock(&g.lock);
            return NULL;
        }
        t = g.free;
        g.free = t->pool_next;
        g.nfree--;
        /* Take a batch for the worker while the lock is held. */
        for (int i = 0; w && i < SLAB_TASKS && g.free; i++) {
            weft_task *x = g.free;
            g.free = x->pool_next;
            g.nfree--;
            x->pool_next = w->task_free;
            w->task_free = x;
            w->task_free_n++;
        }
        pthread_mutex_unlock(&g.lock);
    }
    if (w)
        atomic_store_explicit(&w->n_spawned,
                              atomic_load_explicit(&w->n_spawned, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&g.foreign_alloc, 1, memory_order_relaxed);
    return t;
}

void weft__task_free(weft__worker *w, weft_task *t)
{
    /* release: a scanner or stale waker that reads FREE sees no half-torn task */
    atomic_store_explicit(&t->state, WEFT_TS_FREE, memory_order_release);
    if (w) {
        atomic_store_explicit(&w->n_freed,
                              atomic_load_explicit(&w->n_freed, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        t->pool_next = w->task_free;
        w->task_free = t;
        if (++w->task_free_n <= LOCAL_MAX)
            return;
        /* Too many cached here (tasks spawned elsewhere, freed here): give half back. */
        pthread_mutex_lock(&g.lock);
        while (w->task_free_n > LOCAL_MAX / 2) {
            weft_task *x = w->task_free;
            w->task_free = x->pool_next;
            w->task_free_n--;
            x->pool_next = g.free;
            g.free = x;
            g.nfree++;
        }
        pthread_mutex_unlock(&g.lock);
        return;
    }
    atomic_fetch_add_explicit(&g.foreign_free, 1, memory_order_relaxed);
    pthread_mutex_lock(&g.lock);
    t->pool_next = g.free;
    g.free = t;
    g.nfree++;
    pthread_mutex_unlock(&g.lock);
}

void weft__taskpool_each(void (*fn)(weft_task *t, void *arg), void *arg)
{
    pthread_mutex_lock(&g.lock);
    for (tslab *s = g.slabs; s; s = s->next)
        for (int i = 0; i < SLAB_TASKS; i++) {
            weft_task *t = &s->tasks[i];
            if (atomic_load_explicit(&t->state, memory_order_acquire) != WEFT_TS_FREE)
                fn(t, arg);
        }
    pthread_mutex_unlock(&g.lock);
}

size_t weft__tasks_live_count(void)
{
    size_t a = atomic_load(&g.foreign_alloc), f = atomic_load(&g.foreign_free);
    weft__rt *rt = weft__rt_cur;
    if (!rt)
        return g.left_at_exit;
    if (rt)
        for (unsigned i = 0; i < rt->nworkers; i++) {
            a += atomic_load_explicit(&rt->workers[i].n_spawned, memory_order_relaxed);
            f += atomic_load_explicit(&rt->workers[i].n_freed, memory_order_relaxed);
        }
    return a - f;
}

/* Exported for the test fixture: tasks allocated and not yet freed. */
WEFT_API size_t weft__tasks_live(void);
size_t weft__tasks_live(void)
{
    return weft__tasks_live_count();
}
