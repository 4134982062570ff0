/* weft — channels: bounded or unbounded MPMC queues safe across cores.
 *
 * Bounded channels keep their elements in a lock-free ticket ring (Vyukov's bounded
 * MPMC queue): producers claim a ticket with a CAS on `tail`, consumers on `head`, on
 * separate cache lines, and each slot's sequence number says whose turn it is: 2p when
 * free for ticket p, 2p+1 once filled by it. (Vyukov's original p / p+1 cannot tell the
 * two apart when the capacity is 1.) The
 * spinlock guards only the waiter queues. Unbounded channels use a growable ring under
 * the same lock.
 *
 * Protocol for waiting (bounded):
 *  1. A receiver that finds the ring empty takes the lock, queues its waiter, counts it
 *     in nrecvw (seq_cst), re-tries the ring, and only then sleeps. Senders likewise
 *     with nsendw when the ring is full.
 *  2. After a successful push a sender reads nrecvw (seq_cst; its ticket CAS is seq_cst
 *     too): either it sees the waiter, or the waiter's re-try sees the new tail. It then
 *     fires one waiter with RETRY; the woken receiver takes from the ring itself.
 *     Receivers do the same for waiting senders.
 *  3. Direct hand-over: a sender that sees a waiting receiver while the ring is empty
 *     copies the element straight into the receiver's buffer under the lock (res 0), no
 *     trip through the ring. Requiring an empty ring keeps each producer's order. The
 *     ring stays empty, so a sender that was woken to use free space and handed over
 *     instead wakes the next waiting sender: otherwise that space would go unnoticed.
 *  4. An interrupted waiter (cancel, deadline) retakes the lock: if it was not fired it
 *     leaves the queue and nothing happened; if it was handed an element the operation
 *     stands; if it was only told RETRY it passes that on to the next waiter.
 *  5. close() sets the CLOSED bit in tail with one atomic OR: every later ticket claim
 *     fails, so no element can be pushed after a receiver has seen the channel closed
 *     and drained. Waiters are all fired with RETRY and find out for themselves.
 *  6. A slot whose ticket was claimed but not yet filled (the other side is between
 *     its CAS and its store) is waited out with pause, a few instructions at most.
 *  7. Waiters without a task are plain threads blocked on a futex (the bridge).
 *  8. A queue may hold a select's records next to plain waiters: every pop goes through
 *     weft__pop_live (chan_internal.h), which claims the select with one CAS under the
 *     lock before handing anything over, and skips records of a select taken elsewhere.
 *     A select fired with RETRY that ends up using another case passes it on (step 4).
 *  9. shutdown() is close() with -ESHUTDOWN as the error (closed_err, stored before the
 *     CLOSED bit is set, read after it is seen); with `immediate` it also drops what is
 *     buffered, under the lock, and counts the dropped elements as done for join.
 * 10. Channels that are not bounded FIFOs (unbounded, LIFO, priority) keep their
 *     elements in a store under the lock (chan_store.c) and never wake with RETRY: a
 *     sender hands its element to a waiting receiver, a receiver that makes room takes a
 *     waiting sender's element into the store, and close fires everyone with the error.
 * 11. Gathering contending tasks: a failed ticket CAS means a task on another core
 *     claimed the same end at the same moment. A lost claim opens a window of
 *     CONTEND_WINDOW operations for the task (in weft_task, no shared writes): it
 *     counts the claims it loses, and reads the clock at the start and end of each
 *     operation, counting the operations that took longer than the time since the
 *     task's previous one ("busy"). A task that never lost a claim reads no clock. At
 *     the window's end, when at least 1 claim in CONTEND_SHARE was lost, the window
 *     ran without suspending, and at least 3/4 of its operations were busy (the task
 *     does little but pass messages), the channel's `home` is set to the task's worker
 *     if it has none, and a task elsewhere moves itself there (runtime/migrate.c)
 *     right after its operation. Measured on 2 vCPUs (chan_mpmc, 4 × 4 tasks): tasks
 *     spread over both cores pay a cache-line transfer per message and ran at 7–30 M
 *     msg/s; gathered on one core, at one core's 30–65 M. Tasks that work between
 *     operations lose claims too (4 consumers spinning 200–500 ns per element did),
 *     but gain more from the second core: the busy rule keeps them spread (test_chan
 *     work_stays_spread). It replaced a rule of under 200 ns per operation, which
 *     stopped gathering when the machine ran slower (contended operations took longer
 *     than that: 10–18 M msg/s). The vote per operation keeps one long stall (a
 *     preempted vCPU) from deciding a window.
 *     Only task callers of send/recv count; plain threads, try_* and select do not.
 * 11a. The other end on another core: tasks that each own one end of a channel never
 *     lose a claim (one producer, one consumer or select), yet every element crosses
 *     between their cores. Each ticket a task takes leaves its worker's index at its
 *     end (tail_w / head_w, on the line the ticket CAS owns anyway; a select leaves it
 *     too, but takes no part in the rule: it tries several channels per wait, and
 *     timing them cost it more than the gathering gained). Every 256th operation of a
 *     task (ch_sample) looks at the other end's index; when that is another worker, a
 *     window opens as for a lost claim (CH_REMOTE), and when the window ends busy and
 *     unsuspended the task moves to the other end's worker, the channel's home if it
 *     has none. Measured (bench select4, 4 producers and a select, W=2, 2-vCPU VM, 100
 *     rounds alternating builds): in the VM's phases where a cache line between the two
 *     vCPUs is slow (25 of the rounds), the spread pipeline ran at 8-10 M sel/s and now
 *     gathers: median 21 M, min 10 M; where lines are cheap the windows are not busy
 *     and the two workers keep sharing the pipeline (median 27 M with and without).
 *     WEFT_GATHER (run.c): "0" turns step 11 and 11a off, "always" leaves out the
 *     busy vote (tasks known to do nothing but relay; tests), "auto" is the default.
 * 12. Yield before waiting: a task whose send finds the ring full, or whose receive
 *     finds it empty, first switches once to the task waiting in its worker's next-task
 *     slot, typically the one it just woke, and stays runnable meanwhile
 *     (runtime/handoff.h step 6); then it tries again, and only then waits. Two tasks
 *     passing messages on one worker then meet in the ring: a push and a pop per
 *     message, without the lock, the waiter counts or a park.
 */
#include "runtime/handoff.h"
#include "sync/chan_internal.h"

enum { MAX_ELEM = 65536, RETRY = WEFT__RETRY };
#define CLOSED WEFT__CLOSED
typedef weft__slot slot;

/* ---- the lock-free ring (bounded) --------------------------------------------------- */

static inline slot *slot_at(weft_chan *c, uint64_t pos)
{
    size_t i = WEFT_LIKELY(c->mask != SIZE_MAX) ? (size_t)(pos & c->mask) : (size_t)(pos % c->cap);
    return (slot *)(c->slots + i * c->stride);
}

/* The ring operations and the once-wrappers below are forced inline into the public
 * send and receive: the uncontended path is then one function with no calls but the
 * task lookup, ~40 % fewer instructions per message than through four calls. */
#define HOT static inline __attribute__((always_inline))

/* 0, -EAGAIN when full, the closed error when closed. *fails (if fails) counts ticket
 * claims lost to another core (step 11). */
HOT int ring_push(weft_chan *c, const void *elem, unsigned *fails)
{
    uint64_t pos = atomic_load_explicit(&c->tail, memory_order_relaxed);
    slot *s;
    for (;;) {
        if (pos & CLOSED)
            return weft__closed_rc(c);
        s = slot_at(c, pos);
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t d = (int64_t)(seq - 2 * pos);
        if (d == 0) {
            if (atomic_compare_exchange_weak(&c->tail, &pos, pos + 1))
                break;
            if (fails)
                ++*fails;
        } else if (d < 0) {
            /* The slot still holds last lap's element: full, or a consumer is between
             * its CAS and its store (step 6). */
            /* Signed: pos may be stale, and head may have passed it meanwhile. */
            if ((int64_t)(pos - atomic_load(&c->head)) >= (int64_t)c->cap)
                return -EAGAIN;
            __builtin_ia32_pause();
            pos = atomic_load_explicit(&c->tail, memory_order_relaxed);
        } else {
            pos = atomic_load_explicit(&c->tail, memory_order_relaxed);
        }
    }
    weft__copy_elem(s->data, elem, c->esize);
    /* release: the element before the turn passes to consumers */
    atomic_store_explicit(&s->seq, 2 * pos + 1, memory_order_release);
    return 0;
}

/* 0, -EAGAIN when empty, the closed error when closed and drained. elem NULL drops.
 * *fails as for ring_push. */
HOT int ring_pop(weft_chan *c, void *elem, unsigned *fails)
{
    uint64_t pos = atomic_load_explicit(&c->head, memory_order_relaxed);
    slot *s;
    for (;;) {
        s = slot_at(c, pos);
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t d = (int64_t)(seq - (2 * pos + 1));
        if (d == 0) {
            if (atomic_compare_exchange_weak(&c->head, &pos, pos + 1))
                break;
            if (fails)
                ++*fails;
        } else if (d < 0) {
            uint64_t t = atomic_load(&c->tail);
            if ((t & ~CLOSED) == pos)
                return t & CLOSED ? weft__closed_rc(c) : -EAGAIN;
            __builtin_ia32_pause(); /* a producer is filling this slot (step 6) */
            pos = atomic_load_explicit(&c->head, memory_order_relaxed);
        } else {
            pos = atomic_load_explicit(&c->head, memory_order_relaxed);
        }
    }
    if (elem)
        weft__copy_elem(elem, s->data, c->esize);
    /* release: we are done reading before producers may refill the slot */
    atomic_store_explicit(&s->seq, 2 * (pos + c->cap), memory_order_release);
    return 0;
}

/* Fires one waiter of q with RETRY when its counter says someone waits (step 2). */
static __attribute__((noinline)) void wake_one_slow(weft_chan *c, weft__waitq *q,
                                                    _Atomic uint32_t *n)
{
    weft__spin_lock(&c->lock);
    weft__waiter *w = weft__pop_live(q, n);
    weft__spin_unlock(&c->lock);
    if (w)
        weft__fire(w, RETRY);
}

HOT void wake_one(weft_chan *c, weft__waitq *q, _Atomic uint32_t *n)
{
    if (atomic_load(n))
        wake_one_slow(c, q, n);
}

/* Fires a popped waiter from a task on worker me (NULL: unknown or a plain thread). */
HOT void fire_on(weft__worker *me, weft__waiter *w, int res)
{
    if (WEFT_UNLIKELY(w->sel != NULL))
        w = &w->sel->w;
    weft__waiter_fire_on(me, w, res);
}

/* One send on a ring channel that never waits: a direct hand-over to a waiting
 * receiver (step 3) or a push. me: the sending task's worker, or NULL. 0, -EAGAIN when
 * full, the closed error. */
HOT int ring_send_once(weft_chan *c, const void *elem, weft__worker *me, unsigned *fails)
{
    if (atomic_load_explicit(&c->nrecvw, memory_order_relaxed)) {
        weft__waiter *r = NULL;
        weft__spin_lock(&c->lock);
        uint64_t t = atomic_load(&c->tail);
        if (!(t & CLOSED) && t == atomic_load(&c->head) &&
            (r = weft__pop_live(&c->recvq, &c->nrecvw))) {
            weft__copy_elem(r->elem, elem, c->esize);
            weft__count_accepted(c);
        }
        weft__spin_unlock(&c->lock);
        if (r) {
            fire_on(me, r, 0);
            /* The ring is empty, yet senders may wait: one of them was told RETRY
             * ("there is space") and we may be that one, having used the hand-over
             * instead. Pass the news on so the space is not forgotten. */
            wake_one(c, &c->sendq, &c->nsendw);
            return 0;
        }
    }
    int rc = ring_push(c, elem, fails);
    if (rc == 0)
        wake_one(c, &c->recvq, &c->nrecvw);
    return rc;
}

HOT int ring_recv_once(weft_chan *c, void *elem, unsigned *fails)
{
    int rc = ring_pop(c, elem, fails);
    if (rc == 0)
        wake_one(c, &c->sendq, &c->nsendw);
    return rc;
}

/* ---- locked channels (step 10) ------------------------------------------------------ */

/* With the lock held. 0 (*wake: a receiver given the element), -EAGAIN when full, the
 * closed error, -ENOMEM. */
static int lsend_locked(weft_chan *c, const void *elem, weft__waiter **wake)
{
    if (atomic_load_explicit(&c->closed_err, memory_order_relaxed))
        return weft__closed_rc(c);
    weft__waiter *r = weft__pop_live(&c->recvq, NULL);
    if (r) {
        weft__copy_elem(r->elem, elem, c->esize);
        weft__count_accepted(c);
        *wake = r;
        return 0;
    }
    int rc = weft__store_put(c, elem);
    if (rc == 0)
        weft__count_accepted(c);
    return rc;
}

/* With the lock held. 0 (*wake: a sender whose element took the freed place), -EAGAIN
 * when empty, the closed error when closed and drained. */
static int lrecv_locked(weft_chan *c, void *elem, weft__waiter **wake)
{
    if (weft__store_get(c, elem) == 0) {
        weft__waiter *s;
        if (c->cap && (s = weft__pop_live(&c->sendq, NULL))) {
            (void)weft__store_put(c, s->elem); /* there is room: cannot fail */
            weft__count_accepted(c);
            *wake = s;
        }
        return 0;
    }
    if (atomic_load_explicit(&c->closed_err, memory_order_relaxed))
        return weft__closed_rc(c);
    return -EAGAIN;
}

/* Leaves the queue after an interruption (step 4). Returns the operation's result if it
 * completed anyway, else rc. n is NULL for locked channels (never told RETRY). */
static int leave(weft_chan *c, weft__waitq *q, _Atomic uint32_t *n, weft__waiter *w, int rc)
{
    weft__spin_lock(&c->lock);
    if (w->queued) {
        weft__waitq_remove(q, w);
        w->queued = false;
        if (n)
            weft__count_down(n);
        weft__spin_unlock(&c->lock);
        return rc;
    }
    weft__spin_unlock(&c->lock);
    /* Popped: a waker claimed us and fires us, perhaps not yet (it fires after its
     * unlock). Wait for that so it never writes into a frame we have left. */
    int res = weft__waiter_await_fire(w);
    if (res != RETRY)
        return res; /* handed an element (or an error): the operation stands */
    if (n) {
        weft__spin_lock(&c->lock);
        weft__waiter *pass = weft__pop_live(q, n);
        weft__spin_unlock(&c->lock);
        if (pass)
            weft__fire(pass, RETRY);
    }
    return rc;
}

/* A send or receive on a locked channel; waits when `wait` (self may be NULL: a plain
 * thread). */
static int locked_op(weft_chan *c, bool send, void *elem, weft_task *self, bool wait)
{
    weft__waiter *wake = NULL;
    weft__spin_lock(&c->lock);
    int rc = send ? lsend_locked(c, elem, &wake) : lrecv_locked(c, elem, &wake);
    if (rc != -EAGAIN || !wait) {
        weft__spin_unlock(&c->lock);
        if (wake)
            weft__fire(wake, 0);
        return rc;
    }
    weft__waiter w = {.task = self, .elem = elem};
    weft__waitq *q = send ? &c->sendq : &c->recvq;
    weft__waitq_push(q, &w);
    w.queued = true;
    weft__spin_unlock(&c->lock);
    weft__trace_waiter(&w, WEFT_TR_CHAN);
    rc = weft__waiter_wait(&w);
    return rc ? leave(c, q, NULL, &w, rc) : w.res;
}

/* ---- construction ------------------------------------------------------------------- */

static weft_chan *chan_new(size_t elem_size, size_t capacity, int kind,
                           int (*cmp)(const void *, const void *))
{
    if (elem_size == 0 || elem_size > MAX_ELEM || capacity > (SIZE_MAX >> 2) / (elem_size + 8))
        return NULL;
    weft_chan *c;
    if (posix_memalign((void **)&c, WEFT_CACHELINE, sizeof *c) != 0)
        return NULL;
    memset(c, 0, sizeof *c);
    c->esize = elem_size;
    c->cap = capacity;
    c->kind = kind;
    c->cmp = cmp;
    c->ring = capacity && kind == WEFT__FIFO;
    if (c->ring) {
        c->stride = (sizeof(slot) + elem_size + 7) & ~(size_t)7;
        c->mask = (capacity & (capacity - 1)) == 0 ? capacity - 1 : SIZE_MAX;
        c->slots = weft__alloc(capacity * c->stride);
        if (!c->slots) {
            free(c);
            return NULL;
        }
        for (size_t i = 0; i < capacity; i++)
            atomic_init(&((slot *)(c->slots + i * c->stride))->seq, 2 * i);
        atomic_init(&c->home, -1);
        atomic_init(&c->tail_w, -1);
        atomic_init(&c->head_w, -1);
    } else if (weft__store_init(c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

weft_chan *weft_chan_new(size_t elem_size, size_t capacity)
{
    return chan_new(elem_size, capacity, WEFT__FIFO, NULL);
}

weft_chan *weft_chan_new_lifo(size_t elem_size, size_t capacity)
{
    return chan_new(elem_size, capacity, WEFT__LIFO, NULL);
}

weft_chan *weft_chan_new_priority(size_t elem_size, size_t capacity,
                                  int (*cmp)(const void *a, const void *b))
{
    return cmp ? chan_new(elem_size, capacity, WEFT__PRIO, cmp) : NULL;
}

void weft_chan_free(weft_chan *c)
{
    if (!c)
        return;
    if (c->ring)
        weft__free(c->slots, c->cap * c->stride);
    else
        weft__store_fini(c);
    free(c);
}

/* ---- contention between cores (step 11) ---------------------------------------------- */

enum {
    CONTEND_WINDOW = 32, /* operations in a window, counted from a lost claim */
    CONTEND_SHARE = 8,   /* gather when at least 1 in CONTEND_SHARE claims was lost */
    /* ... and in at least CONTEND_BUSY_NUM / CONTEND_BUSY_DEN of the window's
     * operations the task spent longer inside the operation than since its last one */
    CONTEND_BUSY_NUM = 3,
    CONTEND_BUSY_DEN = 4,
    CH_REMOTE = 0x80, /* ch_fails: the window opened on the other end's worker */
};

/* Which run of which worker the task is in: unchanged across a window only if the task
 * did not suspend (a suspension lets the worker run other tasks: its tick moves). */
static inline uint32_t run_mark(weft_task *t)
{
    weft__worker *w = t->w;
    return (uint32_t)(atomic_load_explicit(&w->tick, memory_order_relaxed) & 0xffff) |
           (uint32_t)w->index << 16;
}

/* The clock's low 32 bits: windows last microseconds, differences are taken modulo
 * 2^32, and only ratios of them are used, so the unit does not matter. */
static inline uint32_t op_clock(void)
{
    return (uint32_t)weft__clock_raw();
}

/* The start of an operation by task t: its clock reading while a window is open, else
 * 0 (no clock read: a task that never lost a claim pays one load and a branch). */
HOT uint32_t op_begin(weft_task *t)
{
    return t && WEFT_UNLIKELY(t->ch_ops) ? op_clock() | 1 : 0;
}

/* The worker that last took a ticket at the other end of c, if it is not `me` and the
 * runtime has it; else -1. */
static int other_end(weft_chan *c, bool send, int me)
{
    int o = atomic_load_explicit(send ? &c->head_w : &c->tail_w, memory_order_relaxed);
    return o >= 0 && o != me && (unsigned)o < weft__rt_cur->nworkers ? o : -1;
}

static __attribute__((noinline)) void contended(weft_chan *c, weft_task *t, bool send,
                                                unsigned fails, uint32_t op_t0)
{
    unsigned mode = weft__rt_cur->gather;
    if (mode == WEFT_GATHER_OFF)
        return;
    int me = (int)t->w->index;
    if (t->ch_ops == 0 && fails == 0) {
        /* A sample: the other end ran on another worker lately? */
        if (other_end(c, send, me) < 0)
            return;
    }
    uint32_t now = op_clock();
    if (t->ch_ops == 0) {
        /* A lost claim, or the other end elsewhere, opens a window. */
        t->ch_ops = 1;
        t->ch_fails =
            fails ? (uint8_t)(fails < CONTEND_WINDOW ? fails : CONTEND_WINDOW) : CH_REMOTE;
        t->ch_busy = 0;
        t->ch_mark0 = run_mark(t);
    } else {
        /* Busy: longer inside this operation than between it and the last one. Counted
         * per operation, so one long stall (a preempted vCPU) weighs one vote. */
        if (op_t0 && (uint32_t)(now - op_t0) >= (uint32_t)(op_t0 - t->ch_t1))
            t->ch_busy++;
        unsigned f = (t->ch_fails & ~CH_REMOTE) + fails;
        t->ch_fails =
            (uint8_t)((f < CONTEND_WINDOW ? f : CONTEND_WINDOW) | (t->ch_fails & CH_REMOTE));
        t->ch_ops++;
    }
    t->ch_t1 = now;
    if (t->ch_ops < CONTEND_WINDOW)
        return;
    /* Contended: claims were lost, or the element passes between two workers. */
    bool remote = t->ch_fails & CH_REMOTE;
    bool hot = (t->ch_fails & ~CH_REMOTE) * CONTEND_SHARE >= t->ch_ops;
    /* Tasks that work between operations gain more from running in parallel than they
     * lose to the contention: only tasks that spend most of their time in the channel
     * gather. */
    bool busy = t->ch_busy * CONTEND_BUSY_DEN >= (CONTEND_WINDOW - 1) * CONTEND_BUSY_NUM;
    t->ch_ops = t->ch_fails = 0;
    if ((!busy && mode != WEFT_GATHER_ALWAYS) || run_mark(t) != t->ch_mark0)
        return;
    int other = remote ? other_end(c, send, me) : -1;
    if (!hot && other < 0)
        return;
    /* The home: the worker of a claim's loser, or that of the other end (which may be
     * a select, which does not decide). Two ends deciding at once agree on the first
     * decision's home. */
    int pick = other >= 0 ? other : me;
    unsigned n = weft__rt_cur->nworkers;
    int h = atomic_load_explicit(&c->home, memory_order_relaxed);
    /* No home yet (-1), or one from an earlier runtime with more workers: pick. After
     * our CAS h keeps the old, invalid value, so nobody moves. */
    while ((unsigned)h >= n && !atomic_compare_exchange_weak(&c->home, &h, pick))
        ;
    if ((unsigned)h >= n)
        h = pick;
    if (h != me)
        weft__migrate(t, (unsigned)h);
}

/* After task t's operation on c (rc 0: it took a ticket): leaves t's worker at its end
 * (step 11a), written only when it changes, so a task that stays put writes nothing. */
HOT void note_end(weft_chan *c, weft_task *t, bool send, int rc)
{
    if (rc == 0) {
        _Atomic int *end = send ? &c->tail_w : &c->head_w;
        int me = (int)t->w->index;
        if (atomic_load_explicit(end, memory_order_relaxed) != me)
            atomic_store_explicit(end, me, memory_order_relaxed);
    }
}

/* Counts an operation of task t on c that began at op_t0 (op_begin), whether it took a
 * ticket (rc 0) and the ticket claims it lost; every 256th operation samples the other
 * end (step 11a). */
HOT void note_contention(weft_chan *c, weft_task *t, bool send, int rc, unsigned fails,
                         uint32_t op_t0)
{
    note_end(c, t, send, rc);
    if (WEFT_UNLIKELY(fails | op_t0) || WEFT_UNLIKELY(++t->ch_sample == 0))
        contended(c, t, send, fails, op_t0);
}

/* ---- waiting ------------------------------------------------------------------------ */

/* One side of a bounded channel: its ring operation and waiters, and the other side's. */
typedef struct side {
    int (*op)(weft_chan *c, void *elem);
    weft__waitq *q, *oq;
    _Atomic uint32_t *n, *on;
} side;

/* Under the lock: contention here is not what step 11 looks for. */
static int push_op(weft_chan *c, void *elem)
{
    return ring_push(c, elem, NULL);
}

static int pop_op(weft_chan *c, void *elem)
{
    return ring_pop(c, elem, NULL);
}

/* Steps 1 and 4 for either side: queue, count, re-try, sleep. Returns the operation's
 * result, or RETRY when the caller should go round again. */
HOT int wait_side(weft_chan *c, const side *sd, weft_task *self, void *elem)
{
    weft__waiter w = {.task = self, .elem = elem};
    weft__spin_lock(&c->lock);
    weft__waitq_push(sd->q, &w);
    w.queued = true;
    atomic_fetch_add(sd->n, 1);
    int rc = sd->op(c, elem);
    if (rc != -EAGAIN) {
        weft__waitq_remove(sd->q, &w);
        weft__count_down(sd->n);
        weft__spin_unlock(&c->lock);
        if (rc == 0)
            wake_one(c, sd->oq, sd->on);
        return rc;
    }
    weft__spin_unlock(&c->lock);
    weft__trace_waiter(&w, WEFT_TR_CHAN);
    rc = weft__waiter_wait_inline(&w);
    return rc ? leave(c, sd->q, sd->n, &w, rc) : w.res;
}

/* One ring operation, timed and counted for the gathering rule (step 11). */
HOT int send_once(weft_chan *c, const void *elem, weft_task *self)
{
    unsigned fails = 0;
    uint32_t t0 = op_begin(self);
    int rc = ring_send_once(c, elem, self ? self->w : NULL, &fails);
    if (self)
        note_contention(c, self, true, rc, fails, t0);
    return rc;
}

HOT int recv_once(weft_chan *c, void *elem, weft_task *self)
{
    unsigned fails = 0;
    uint32_t t0 = op_begin(self);
    int rc = ring_recv_once(c, elem, &fails);
    if (self)
        note_contention(c, self, false, rc, fails, t0);
    return rc;
}

/* The rest of a send or receive that found the ring full or empty: yield once to the
 * task this one woke (step 12), else queue and sleep (step 1), and try again. Only
 * these may switch, so only they return through the jump (WEFT_RESUME_RET): the public
 * functions tail-call them, and their own fast path keeps a plain, predicted `ret`. */
HOT int op_wait(weft_chan *c, bool send, void *elem, weft_task *self)
{
    const side sd = send ? (side){push_op, &c->sendq, &c->recvq, &c->nsendw, &c->nrecvw}
                         : (side){pop_op, &c->recvq, &c->sendq, &c->nrecvw, &c->nsendw};
    bool yielded = false;
    for (;;) {
        if (self && !yielded && weft__yield_next(self)) {
            yielded = true;
        } else {
            int rc = wait_side(c, &sd, self, elem);
            if (rc != RETRY)
                return rc; /* 0 also when a receive was handed its element directly */
        }
        int rc = send ? send_once(c, elem, self) : recv_once(c, elem, self);
        if (rc != -EAGAIN)
            return rc;
    }
}

static __attribute__((noinline)) WEFT_RESUME_RET int send_wait(weft_chan *c, const void *elem,
                                                               weft_task *self)
{
    return op_wait(c, true, (void *)elem, self);
}

static __attribute__((noinline)) WEFT_RESUME_RET int recv_wait(weft_chan *c, void *elem,
                                                               weft_task *self)
{
    return op_wait(c, false, elem, self);
}

static __attribute__((noinline)) WEFT_RESUME_RET int locked_wait(weft_chan *c, bool send,
                                                                 void *elem, weft_task *self)
{
    return locked_op(c, send, elem, self, true);
}

int weft_chan_send(weft_chan *c, const void *elem)
{
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    if (!c->ring)
        return locked_wait(c, true, (void *)elem, self);
    int rc = send_once(c, elem, self);
    if (WEFT_LIKELY(rc != -EAGAIN))
        return rc;
    return send_wait(c, elem, self); /* full */
}

int weft_chan_recv(weft_chan *c, void *elem)
{
    weft_task *self = weft__task_self();
    if (self) {
        int rc = weft__interrupted(self);
        if (rc)
            return rc;
    }
    if (!c->ring)
        return locked_wait(c, false, elem, self);
    int rc = recv_once(c, elem, self);
    if (WEFT_LIKELY(rc != -EAGAIN))
        return rc;
    return recv_wait(c, elem, self); /* empty */
}

int weft_chan_try_send(weft_chan *c, const void *elem)
{
    if (!c->ring)
        return locked_op(c, true, (void *)elem, NULL, false);
    int rc = ring_push(c, elem, NULL);
    if (rc == 0)
        wake_one(c, &c->recvq, &c->nrecvw);
    return rc;
}

int weft_chan_try_recv(weft_chan *c, void *elem)
{
    if (!c->ring)
        return locked_op(c, false, elem, NULL, false);
    return ring_recv_once(c, elem, NULL);
}

/* Steps 5 and 9. */
static void close_common(weft_chan *c, bool immediate)
{
    weft__waitq all = {0};
    weft__waiter *w;
    size_t dropped = 0;
    if (c->ring)
        atomic_fetch_or(&c->tail, CLOSED); /* step 5; a release after closed_err */
    weft__spin_lock(&c->lock);
    if (immediate) {
        if (c->ring) {
            while (ring_pop(c, NULL, NULL) == 0)
                dropped++;
        } else {
            dropped = weft__store_drop(c);
        }
    }
    while ((w = weft__pop_live(&c->sendq, NULL)))
        weft__waitq_push(&all, w);
    while ((w = weft__pop_live(&c->recvq, NULL)))
        weft__waitq_push(&all, w);
    atomic_store(&c->nsendw, 0);
    atomic_store(&c->nrecvw, 0);
    weft__spin_unlock(&c->lock);
    if (dropped) {
        atomic_fetch_add(&c->ndone, dropped);
        weft__chan_wake_joiners(c);
    }
    /* Ring waiters retry and see CLOSED; locked ones get the error directly. */
    int res = c->ring ? RETRY : weft__closed_rc(c);
    while ((w = weft__waitq_pop(&all)))
        weft__fire(w, res);
}

void weft_chan_close(weft_chan *c)
{
    int e = 0; /* a shutdown's -ESHUTDOWN stays */
    atomic_compare_exchange_strong(&c->closed_err, &e, -EPIPE);
    close_common(c, false);
}

void weft_chan_shutdown(weft_chan *c, bool immediate)
{
    atomic_store(&c->closed_err, -ESHUTDOWN);
    close_common(c, immediate);
}

size_t weft_chan_len(const weft_chan *c)
{
    weft_chan *m = (weft_chan *)c;
    if (m->ring) {
        uint64_t h = atomic_load(&m->head);
        uint64_t t = atomic_load(&m->tail) & ~CLOSED;
        return t > h ? (size_t)(t - h) : 0;
    }
    weft__spin_lock(&m->lock);
    size_t n = m->ulen;
    weft__spin_unlock(&m->lock);
    return n;
}

/* ---- for select ---------------------------------------------------------------------- */

int weft__chan_try_op(weft_chan *c, bool send, void *elem, weft_task *self)
{
    if (!c->ring)
        return locked_op(c, send, elem, NULL, false);
    int rc =
        send ? ring_send_once(c, elem, self ? self->w : NULL, NULL) : ring_recv_once(c, elem, NULL);
    /* A select leaves its worker at its end but does not move by the rule (step 11a). */
    if (self)
        note_end(c, self, send, rc);
    return rc;
}

void weft__chan_enqueue(weft_chan *c, bool send, weft__waiter *rec)
{
    weft__spin_lock(&c->lock);
    weft__waitq_push(send ? &c->sendq : &c->recvq, rec);
    rec->queued = true;
    if (c->ring) /* seq_cst: the registrant's half of step 1 */
        atomic_fetch_add(send ? &c->nsendw : &c->nrecvw, 1);
    weft__spin_unlock(&c->lock);
}

void weft__chan_dequeue(weft_chan *c, bool send, weft__waiter *rec)
{
    weft__spin_lock(&c->lock);
    if (rec->queued) {
        weft__waitq_remove(send ? &c->sendq : &c->recvq, rec);
        rec->queued = false;
        if (c->ring)
            weft__count_down(send ? &c->nsendw : &c->nrecvw);
    }
    weft__spin_unlock(&c->lock);
}

void weft__chan_pass(weft_chan *c, bool send)
{
    if (c->ring)
        wake_one(c, send ? &c->sendq : &c->recvq, send ? &c->nsendw : &c->nrecvw);
}
