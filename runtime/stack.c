/* weft — task stacks: carved from large MAP_NORESERVE slabs, a guard page below each,
 * cached per worker.
 *
 * 1. A slab is one anonymous mapping of SLAB_SLOTS slots; slot = guard page + stack.
 * 2. Guards are made with madvise(MADV_GUARD_INSTALL) where the kernel has it (Linux
 *    6.13+): the slab stays one mapping however many stacks it holds. Older kernels get
 *    mprotect(PROT_NONE), one extra mapping per guard, which caps a process near 32k
 *    live stacks under the default vm.max_map_count of 65530 (documented in README).
 * 3. Free stacks live in a per-worker LIFO cache (no locks, hot pages); beyond
 *    CACHE_MAX a batch goes to the global dirty list (stacks whose pages may still be
 *    resident). Getters take dirty stacks first, then clean ones (pages given back or
 *    never touched), then map a new slab.
 * 4. Pages go back to the kernel off the hot path: the monitor thread calls
 *    weft__stacks_trim, which every TRIM_NS gives back (MADV_DONTNEED) the dirty stacks
 *    beyond GLOBAL_KEEP that stayed unused for the whole period (the low-water mark of
 *    the dirty list). madvise on the put path cost a TLB shoot-down IPI to every other
 *    core per stack: with 2 workers it took ~24% of skynet's time (perf), and a stack
 *    given back one moment was faulted in again the next.
 * 2a. A new slab's guards go in with one process_madvise call on the process itself
 *     (a pidfd; Linux 6.13+ accepts any advice there) instead of one madvise per slot:
 *     256 system calls per slab were ~5 % of skynet's time at two workers. Where that
 *     is refused, one madvise per slot as before.
 * 5. The slab table is append-only and published with a release store of its length,
 *    so the SIGSEGV handler can look up a guard page without locks.
 */
#include "runtime/internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define STACK_REGISTER(lo, hi) ((void)VALGRIND_STACK_REGISTER(lo, hi))
#else
#define STACK_REGISTER(lo, hi) ((void)0)
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

enum { SLAB_SLOTS = 256, MAX_SLABS = 65536, CACHE_MAX = 64, GLOBAL_KEEP = 1024 };
#define TRIM_NS 1000000000ull /* a dirty stack unused this long gives its pages back */

typedef struct slab {
    char *base;
    weft__stack desc[SLAB_SLOTS];
} slab;

static struct {
    size_t size; /* usable stack bytes */
    size_t page;
    size_t slot; /* guard + stack */
    bool madv_guard;
    int pidfd; /* this process, for process_madvise (step 2a); -1: not used */
    pid_t pid; /* the process pidfd refers to (a forked child must not use it) */
    pthread_mutex_t lock;
    weft__stack *free; /* dirty: pages may be resident */
    size_t nfree;
    size_t nfree_min;   /* low-water mark of nfree since the last trim */
    weft__stack *clean; /* pages given back, or never touched */
    uint64_t last_trim; /* monitor thread only */
    slab *slabs[MAX_SLABS];
    _Atomic size_t nslabs;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

size_t weft__stack_size(void)
{
    return g.size;
}

int weft__stacks_init(size_t stack_size)
{
    g.page = (size_t)sysconf(_SC_PAGESIZE);
    g.size = (stack_size + g.page - 1) & ~(g.page - 1);
    g.slot = g.size + g.page;
    g.free = g.clean = NULL;
    g.nfree = g.nfree_min = 0;
    g.last_trim = 0;
    /* Probe MADV_GUARD_INSTALL on a scratch page. */
    void *p = mmap(NULL, g.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    /* WEFT_STACK_MPROTECT=1 forces the pre-6.13 path, so tests cover it on new kernels. */
    const char *force = getenv("WEFT_STACK_MPROTECT");
    g.madv_guard =
        !(force && *force && *force != '0') && madvise(p, g.page, MADV_GUARD_INSTALL) == 0;
    g.pidfd = -1;
    g.pid = getpid();
#if defined(SYS_pidfd_open) && defined(SYS_process_madvise)
    if (g.madv_guard) {
        int fd = (int)syscall(SYS_pidfd_open, g.pid, 0);
        struct iovec v = {p, g.page};
        if (fd >= 0 &&
            syscall(SYS_process_madvise, fd, &v, 1, MADV_GUARD_INSTALL, 0) == (long)g.page)
            g.pidfd = fd;
        else if (fd >= 0)
            close(fd);
    }
#endif
    munmap(p, g.page);
    return 0;
}

/* Step 2a: guards for every slot of the slab at base, in one call. */
static bool guards_batch(char *base)
{
#if defined(SYS_process_madvise)
    if (g.pidfd < 0 || getpid() != g.pid)
        return false;
    struct iovec v[SLAB_SLOTS];
    for (size_t i = 0; i < SLAB_SLOTS; i++)
        v[i] = (struct iovec){base + i * g.slot, g.page};
    long want = (long)(g.page * SLAB_SLOTS);
    return syscall(SYS_process_madvise, g.pidfd, v, SLAB_SLOTS, MADV_GUARD_INSTALL, 0) == want;
#else
    (void)base;
    return false;
#endif
}

void weft__stacks_fini(void)
{
    size_t n = atomic_load(&g.nslabs);
    for (size_t i = 0; i < n; i++) {
        munmap(g.slabs[i]->base, g.slot * SLAB_SLOTS);
        weft__free(g.slabs[i], sizeof(slab));
        g.slabs[i] = NULL;
    }
    atomic_store(&g.nslabs, 0);
    if (g.pidfd >= 0) {
        close(g.pidfd);
        g.pidfd = -1;
    }
    g.free = g.clean = NULL;
    g.nfree = g.nfree_min = 0;
}

/* Maps a new slab and puts all but one of its stacks on the global clean list. Called
 * with g.lock held. */
static weft__stack *slab_new(void)
{
    size_t n = atomic_load_explicit(&g.nslabs, memory_order_relaxed);
    if (n == MAX_SLABS)
        return NULL;
    slab *s = weft__alloc(sizeof(slab));
    if (!s)
        return NULL;
    size_t len = g.slot * SLAB_SLOTS;
    char *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) {
        weft__free(s, sizeof(slab));
        return NULL;
    }
    (void)madvise(base, len, MADV_NOHUGEPAGE); /* 2 MiB pages would back 32 stacks */
    bool guarded = g.madv_guard && guards_batch(base);
    for (size_t i = 0; i < SLAB_SLOTS; i++) {
        char *guard = base + i * g.slot;
        int rc = guarded        ? 0
                 : g.madv_guard ? madvise(guard, g.page, MADV_GUARD_INSTALL)
                                : mprotect(guard, g.page, PROT_NONE);
        if (rc != 0) {
            munmap(base, len);
            weft__free(s, sizeof(slab));
            return NULL;
        }
        s->desc[i].lo = guard + g.page;
        s->desc[i].next = NULL;
        /* Valgrind learns each stack once (a few instructions when not under it). */
        STACK_REGISTER(s->desc[i].lo, s->desc[i].lo + g.size);
    }
    s->base = base;
    g.slabs[n] = s;
    /* release: the handler that reads nslabs sees the slab's fields */
    atomic_store_explicit(&g.nslabs, n + 1, memory_order_release);
    for (size_t i = SLAB_SLOTS - 1; i >= 1; i--) { /* lowest address first out */
        s->desc[i].next = g.clean;
        g.clean = &s->desc[i];
    }
    return &s->desc[0];
}

/* Takes one stack off the global lists, dirty first. Called with g.lock held. */
static weft__stack *global_get(void)
{
    weft__stack *s = g.free;
    if (s) {
        g.free = s->next;
        if (--g.nfree < g.nfree_min)
            g.nfree_min = g.nfree;
        return s;
    }
    s = g.clean;
    if (s)
        g.clean = s->next;
    return s;
}

weft__stack *weft__stack_get(weft__stack_cache *c)
{
    weft__stack *s = c ? c->head : NULL;
    if (WEFT_LIKELY(s != NULL)) {
        c->head = s->next;
        c->count--;
    } else {
        pthread_mutex_lock(&g.lock);
        s = global_get();
        if (!s)
            s = slab_new();
        /* Refill the worker's cache with a batch while the lock is held. */
        while (s && c && c->count < CACHE_MAX / 2) {
            weft__stack *x = global_get();
            if (!x)
                break;
            x->next = c->head;
            c->head = x;
            c->count++;
        }
        pthread_mutex_unlock(&g.lock);
        if (!s)
            return NULL;
    }
    return s;
}

static void global_put(weft__stack *s)
{
    s->next = g.free;
    g.free = s;
    g.nfree++;
}

void weft__stacks_trim(uint64_t now)
{
    if (now - g.last_trim < TRIM_NS)
        return;
    g.last_trim = now;
    pthread_mutex_lock(&g.lock);
    size_t n = g.nfree_min > GLOBAL_KEEP ? g.nfree_min - GLOBAL_KEEP : 0;
    weft__stack *batch = NULL, *tail = NULL;
    for (size_t i = 0; i < n; i++) {
        weft__stack *x = g.free;
        g.free = x->next;
        g.nfree--;
        x->next = batch;
        batch = x;
        if (!tail)
            tail = x;
    }
    g.nfree_min = g.nfree;
    pthread_mutex_unlock(&g.lock);
    if (!batch)
        return;
    /* Outside the lock: one TLB shoot-down per stack, paid by this thread. */
    for (weft__stack *x = batch; x; x = x->next)
        (void)madvise(x->lo, g.size, MADV_DONTNEED);
    pthread_mutex_lock(&g.lock);
    tail->next = g.clean;
    g.clean = batch;
    pthread_mutex_unlock(&g.lock);
}

void weft__stack_put(weft__stack_cache *c, weft__stack *s)
{
    if (c && c->count < CACHE_MAX) {
        s->next = c->head;
        c->head = s;
        c->count++;
        return;
    }
    pthread_mutex_lock(&g.lock);
    global_put(s);
    if (c) { /* hand half of the cache back so other workers can use it */
        while (c->count > CACHE_MAX / 2) {
            weft__stack *x = c->head;
            c->head = x->next;
            c->count--;
            global_put(x);
        }
    }
    pthread_mutex_unlock(&g.lock);
}

void weft__stack_cache_drain(weft__stack_cache *c)
{
    pthread_mutex_lock(&g.lock);
    while (c->head) {
        weft__stack *x = c->head;
        c->head = x->next;
        global_put(x);
    }
    c->count = 0;
    pthread_mutex_unlock(&g.lock);
}

const weft__stack *weft__stack_guard_hit(const void *addr)
{
    const char *a = addr;
    size_t n = atomic_load_explicit(&g.nslabs, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        const slab *s = g.slabs[i];
        if (a < s->base || a >= s->base + g.slot * SLAB_SLOTS)
            continue;
        size_t k = (size_t)(a - s->base) / g.slot;
        const char *guard = s->base + k * g.slot;
        return a < guard + g.page ? &s->desc[k] : NULL;
    }
    return NULL;
}
