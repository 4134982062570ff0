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
 *    in one batch (Go and Tokio do the same), so a spawning loop never blocks.
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

unsigned weft__runq_len(weft__runq *q)
{
    return ck_ring_size(&q->ring);
}

static void overflow(weft__worker *w, weft_task *t)
{
    weft_task *head = NULL, *tail = NULL;
    size_t n = 0;
    unsigned half = ck_ring_size(&w->runq.ring) / 2;
    for (unsigned i = 0; i < half; i++) {
        weft_task *x;
        if (!ck_ring_dequeue_spmc(&w->runq.ring, w->runq.buf, &x))
            break;
        TSAN_ACQUIRE(x);
        x->qnext = NULL;
        if (tail)
            tail->qnext = x;
        else
            head = x;
        tail = x;
        n++;
    }
    t->qnext = NULL;
    if (tail)
        tail->qnext = t;
    else
        head = t;
    weft__inject_push_batch(head, t, n + 1);
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
    return t;
}

weft_task *weft__runq_steal(weft__worker *w, weft__worker *v)
{
    ck_ring_t *r = &v->runq.ring;
    const unsigned mask = r->mask;
    weft_task *got[WEFT_RUNQ_SIZE / 2 + 1];
    unsigned n;
    for (;;) {
        unsigned c = ck_pr_load_uint(&r->c_head);
        ck_pr_fence_load(); /* c_head before p_tail, as ck's own dequeue */
        unsigned p = ck_pr_load_uint(&r->p_tail);
        unsigned avail = p - c;
        if (avail == 0 || avail > mask)
            return NULL; /* empty, or a torn snapshot: try another victim */
        n = avail - avail / 2;
        ck_pr_fence_load(); /* slots below p_tail: the producer filled them first */
        for (unsigned i = 0; i < n; i++)
            got[i] = ck_pr_load_ptr(&v->runq.buf[(c + i) & mask].value);
        ck_pr_fence_store_atomic(); /* slot loads before the claiming CAS */
        if (ck_pr_cas_uint(&r->c_head, c, c + n))
            break;
    }
    /* Keep the first for ourselves, queue the rest locally (our queue is empty: we only
     * steal when out of work, so they fit). */
    TSAN_ACQUIRE(got[0]);
    for (unsigned i = 1; i < n; i++) {
        TSAN_ACQUIRE(got[i]);
        weft__runq_push(w, got[i]);
    }
    atomic_fetch_add_explicit(&w->n_steals, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&v->n_stolen, n, memory_order_relaxed);
    WEFT_TRACE(WEFT_EV_STEAL, 0, v->index, 0, n, 0);
    return got[0];
}

/* ---- global injection queue ------------------------------------------------------- */

static struct {
    pthread_mutex_t lock;
    weft_task *head, *tail;
    _Atomic size_t len;
} inj = {.lock = PTHREAD_MUTEX_INITIALIZER};

void weft__inject_push_batch(weft_task *head, weft_task *tail, size_t n)
{
    tail->qnext = NULL;
    pthread_mutex_lock(&inj.lock);
    if (inj.tail)
        inj.tail->qnext = head;
    else
        inj.head = head;
    inj.tail = tail;
    atomic_fetch_add(&inj.len, n);
    pthread_mutex_unlock(&inj.lock);
}

void weft__inject_push(weft_task *t)
{
    weft__inject_push_batch(t, t, 1);
}

weft_task *weft__inject_pop(void)
{
    if (atomic_load_explicit(&inj.len, memory_order_relaxed) == 0)
        return NULL;
    pthread_mutex_lock(&inj.lock);
    weft_task *t = inj.head;
    if (t) {
        inj.head = t->qnext;
        if (!inj.head)
            inj.tail = NULL;
        atomic_fetch_sub(&inj.len, 1);
    }
    pthread_mutex_unlock(&inj.lock);
    return t;
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
    pthread_mutex_lock(&inj.lock);
    weft_task *first = inj.head, *t = first;
    size_t n = 0;
    while (t && n < share) {
        t = t->qnext;
        n++;
    }
    inj.head = t;
    if (!t)
        inj.tail = NULL;
    if (n)
        atomic_fetch_sub(&inj.len, n);
    pthread_mutex_unlock(&inj.lock);
    if (!first)
        return NULL;
    WEFT_TRACE(WEFT_EV_INJECT_PULL, 0, 0, 0, n, 0);
    for (t = first->qnext; n > 1; n--) {
        weft_task *nx = t->qnext;
        weft__runq_push(w, t);
        t = nx;
    }
    return first;
}

size_t weft__inject_len(void)
{
    return atomic_load_explicit(&inj.len, memory_order_relaxed);
}
