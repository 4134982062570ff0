/* weft — run queues: each worker's local ck_ring, the global injection queue, stealing.
 *
 * 1. The local queue is a ck_ring used SPMC: only its worker enqueues (at p_tail); its
 *    worker and thieves dequeue at c_head with a CAS.
 * 2. ck_ring has no batch dequeue, so stealing half is written here on ck_ring's own
 *    fields: read c_head then p_tail, copy n slots, claim them with one CAS on c_head.
 *    A successful CAS proves the slots were not reused meanwhile: the producer only
 *    overwrites a slot once c_head has moved past it (ABA would need 2^32 dequeues
 *    during one steal).
 * 3. A full local queue moves half of itself plus the new task to the injection queue
 *    in one batch (Go and Tokio do the same), so a spawning loop never blocks. The
 *    owner claims that half with the thieves' single CAS, not one CAS per task.
 * 4. Under TSan, ck's inline asm is invisible: the task pointer is released before an
 *    enqueue and acquired after a dequeue (research/design.md §3).
 */
#include "runtime/internal.h"

#include <string.h>

#if defined(WEFT_TSAN)
#include <sanitizer/tsan_interface.h>
#define TSAN_RELEASE(p) __tsan_release(p)
#define TSAN_ACQUIRE(p) __tsan_acquire(p)
#else
#define TSAN_RELEASE(p) ((void)0)
#define TSAN_ACQUIRE(p) ((void)0)
#endif

void weft__runq_init(weft__runq *q)
{
    ck_ring_init(&q->ring, WEFT_RUNQ_SIZE);
    memset(q->buf, 0, sizeof q->buf);
}

/* Claims the older half (rounded up) of q's queued tasks with one CAS on c_head and
 * copies them to out; 0 when q is empty. Thieves and q's owner (overflow) both use it. */
static unsigned grab_half(weft__runq *q, weft_task **out)
{
    ck_ring_t *r = &q->ring;
    const unsigned mask = r->mask;
    for (;;) {
        unsigned c = ck_pr_load_uint(&r->c_head);
        ck_pr_fence_load(); /* c_head before p_tail, as ck's own dequeue */
        unsigned p = ck_pr_load_uint(&r->p_tail);
        unsigned avail = p - c;
        if (avail == 0 || avail > mask)
            return 0; /* empty, or a torn snapshot */
        unsigned n = avail - avail / 2;
        ck_pr_fence_load(); /* slots below p_tail: the producer filled them first */
        for (unsigned i = 0; i < n; i++)
            out[i] = ck_pr_load_ptr(&q->buf[(c + i) & mask].value);
        ck_pr_fence_store_atomic(); /* slot loads before the claiming CAS */
        if (ck_pr_cas_uint(&r->c_head, c, c + n)) {
            for (unsigned i = 0; i < n; i++)
                TSAN_ACQUIRE(out[i]);
            return n;
        }
    }
}

static void overflow(weft__worker *w, weft_task *t)
{
    weft_task *batch[WEFT_RUNQ_SIZE / 2 + 1];
    size_t n = grab_half(&w->runq, batch);
    batch[n++] = t;
    weft__inject_push_batch(batch, n);
}

void weft__runq_push(weft__worker *w, weft_task *t)
{
    TSAN_RELEASE(t);
    if (WEFT_UNLIKELY(!ck_ring_enqueue_spmc(&w->runq.ring, w->runq.buf, t)))
        overflow(w, t);
}

weft_task *weft__runq_pop(weft__runq *q)
{
    weft_task *t;
    if (!ck_ring_dequeue_spmc(&q->ring, q->buf, &t))
        return NULL;
    TSAN_ACQUIRE(t);
    /* Warm the next queued task's object while this one runs: it has waited behind
     * everything queued before it and is likely cold (skynet at one worker spent ~6 %
     * on the first load from each popped task). The slot may be stale or empty; a
     * prefetch never faults. */
    unsigned c = ck_pr_load_uint(&q->ring.c_head);
    __builtin_prefetch(ck_pr_load_ptr(&q->buf[c & q->ring.mask].value));
    return t;
}

weft_task *weft__runq_steal(weft__worker *w, weft__worker *v)
{
    weft_task *got[WEFT_RUNQ_SIZE / 2 + 1];
    unsigned n = grab_half(&v->runq, got);
    if (!n)
        return NULL; /* empty, or a torn snapshot: try another victim */
    /* Keep the first for ourselves, queue the rest locally (our queue is empty: we only
     * steal when out of work, so they fit). */
    for (unsigned i = 1; i < n; i++)
        weft__runq_push(w, got[i]);
    atomic_fetch_add_explicit(&w->n_steals, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&v->n_stolen, n, memory_order_relaxed);
    WEFT_TRACE(WEFT_EV_STEAL, 0, v->index, 0, n, 0);
    return got[0];
}

/* ---- global injection queue -------------------------------------------------------
 *
 * A FIFO of task pointers in fixed-size chunks under one mutex. Taking a worker's share
 * copies pointers out of a chunk: it never reads the queued tasks themselves, which
 * have gone cold by then (a linked list through the tasks cost one dependent cache miss
 * per task under the lock: 19 % of skynet at one worker). One emptied chunk is kept
 * for the next push. Should a chunk allocation fail, tasks are linked through
 * t->qnext on a fallback list instead, taken after the chunks: a push never fails and
 * nothing is lost, only FIFO order between the two lists under memory exhaustion. */

#if defined(WEFT_SMALL_QUEUES)
enum { INJ_CHUNK = 3 }; /* tests: chunk boundaries every few tasks */
#else
enum { INJ_CHUNK = 126 }; /* the chunk is 1 KiB */
#endif

typedef struct inj_chunk {
    struct inj_chunk *next;
    unsigned head, tail; /* t[head..tail) are queued */
    weft_task *t[INJ_CHUNK];
} inj_chunk;

static struct {
    pthread_mutex_t lock;
    inj_chunk *head, *tail;
    inj_chunk *spare;
    weft_task *lhead, *ltail; /* the fallback list */
    _Atomic size_t len;
} inj = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Under the lock: a chunk with room at the tail, or NULL when none can be had. */
static inj_chunk *inj_room(void)
{
    inj_chunk *c = inj.tail;
    if (c && c->tail < INJ_CHUNK)
        return c;
    if (inj.spare) {
        c = inj.spare;
        inj.spare = NULL;
    } else if (!(c = malloc(sizeof *c))) {
        return NULL;
    }
    c->next = NULL;
    c->head = c->tail = 0;
    if (inj.tail)
        inj.tail->next = c;
    else
        inj.head = c;
    inj.tail = c;
    return c;
}

void weft__inject_push_batch(weft_task **ts, size_t n)
{
    pthread_mutex_lock(&inj.lock);
    for (size_t i = 0; i < n;) {
        inj_chunk *c = inj_room();
        if (!c) {
            for (; i < n; i++) {
                ts[i]->qnext = NULL;
                if (inj.ltail)
                    inj.ltail->qnext = ts[i];
                else
                    inj.lhead = ts[i];
                inj.ltail = ts[i];
            }
            break;
        }
        size_t k = INJ_CHUNK - c->tail;
        if (k > n - i)
            k = n - i;
        memcpy(&c->t[c->tail], &ts[i], k * sizeof *ts);
        c->tail += (unsigned)k;
        i += k;
    }
    atomic_fetch_add(&inj.len, n);
    pthread_mutex_unlock(&inj.lock);
}

void weft__inject_push(weft_task *t)
{
    weft__inject_push_batch(&t, 1);
}

/* Under the lock: moves up to max queued tasks into out; returns how many. */
static size_t inj_take(weft_task **out, size_t max)
{
    size_t n = 0;
    while (n < max && inj.head) {
        inj_chunk *c = inj.head;
        size_t k = c->tail - c->head;
        if (k > max - n)
            k = max - n;
        memcpy(&out[n], &c->t[c->head], k * sizeof *out);
        c->head += (unsigned)k;
        n += k;
        if (c->head < c->tail)
            break; /* max reached */
        if (c == inj.tail) {
            c->head = c->tail = 0; /* the last chunk stays, empty */
            break;
        }
        inj.head = c->next;
        if (inj.spare)
            free(c);
        else
            inj.spare = c;
    }
    while (n < max && inj.lhead) {
        out[n++] = inj.lhead;
        inj.lhead = inj.lhead->qnext;
        if (!inj.lhead)
            inj.ltail = NULL;
    }
    if (n)
        atomic_fetch_sub(&inj.len, n);
    return n;
}

weft_task *weft__inject_pop(void)
{
    if (atomic_load_explicit(&inj.len, memory_order_relaxed) == 0)
        return NULL;
    weft_task *t;
    pthread_mutex_lock(&inj.lock);
    size_t n = inj_take(&t, 1);
    pthread_mutex_unlock(&inj.lock);
    return n ? t : NULL;
}

weft_task *weft__inject_pop_batch(weft__worker *w)
{
    size_t len = atomic_load_explicit(&inj.len, memory_order_relaxed);
    if (len == 0)
        return NULL;
    /* Take a fair share (Go's globrunqget): up to half the local queue's room, so one
     * lock serves many tasks instead of one. */
    weft__rt *rt = weft__rt_cur;
    size_t share = len / (rt ? rt->nworkers : 1) + 1;
    size_t room = (WEFT_RUNQ_SIZE - 1 - weft__runq_len(&w->runq)) / 2;
    if (share > room + 1)
        share = room + 1;
    weft_task *got[WEFT_RUNQ_SIZE / 2 + 1];
    pthread_mutex_lock(&inj.lock);
    size_t n = inj_take(got, share);
    pthread_mutex_unlock(&inj.lock);
    if (!n)
        return NULL;
    WEFT_TRACE(WEFT_EV_INJECT_PULL, 0, 0, 0, n, 0);
    for (size_t i = 1; i < n; i++)
        weft__runq_push(w, got[i]);
    return got[0];
}

void weft__inject_fini(void)
{
    pthread_mutex_lock(&inj.lock);
    WEFT_ASSERT(atomic_load(&inj.len) == 0);
    while (inj.head) {
        inj_chunk *c = inj.head;
        inj.head = c->next;
        free(c);
    }
    inj.tail = NULL;
    free(inj.spare);
    inj.spare = NULL;
    pthread_mutex_unlock(&inj.lock);
}

size_t weft__inject_len(void)
{
    return atomic_load_explicit(&inj.len, memory_order_relaxed);
}
