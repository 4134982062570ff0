/* weft — getaddrinfo on the blocking pool, interruptible.
 *
 * The request lives on the heap, not on the task's stack: a cancelled task returns at
 * once while the lookup goes on. Its state word decides who frees it: the task moves
 * PENDING → ABANDONED when it gives up, the pool thread PENDING → DONE when the lookup
 * ends; whoever loses the race to ABANDONED/DONE knows the other side owns the rest
 * (the pool thread frees an abandoned request and its result; a task that finds DONE
 * waits the few instructions until the thread has fired its waiter). */
#include "io/internal.h"

#include <netdb.h>
#include <string.h>

enum { PENDING, DONE, ABANDONED };

typedef struct {
    weft__job job;
    weft__waiter wt;
    _Atomic int state;
    bool has_hints;
    struct addrinfo hints;
    const char *host, *service; /* point into the tail of this allocation, or NULL */
    struct addrinfo *res;
    int rc, sys_err;
    size_t size;
} gai_req;

static void req_free(gai_req *r)
{
    weft__free(r, r->size);
}

static void run_lookup(weft__job *j)
{
    gai_req *r = (gai_req *)j;
    if (atomic_load_explicit(&r->state, memory_order_acquire) == ABANDONED) {
        req_free(r); /* nobody waits: skip the lookup */
        return;
    }
    r->res = NULL;
    r->rc = getaddrinfo(r->host, r->service, r->has_hints ? &r->hints : NULL, &r->res);
    r->sys_err = r->rc == EAI_SYSTEM ? errno : 0;
    int s = PENDING;
    if (atomic_compare_exchange_strong(&r->state, &s, DONE)) {
        weft__waiter_fire(&r->wt, 0);
        return;
    }
    if (r->res)
        freeaddrinfo(r->res);
    req_free(r);
}

static char *copy_str(char **dst, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = memcpy(*dst, s, n);
    *dst += n;
    return p;
}

int weft__getaddrinfo(const char *host, const char *service, const struct addrinfo *hints,
                      struct addrinfo **res, int *sys_err)
{
    weft_task *t = weft__task_self();
    if (!t)
        return -EPERM;
    if (!res)
        return -EINVAL;
    *res = NULL;
    *sys_err = 0;
    int rc = weft__interrupted(t);
    if (rc)
        return rc;
    size_t hl = host ? strlen(host) + 1 : 0, sl = service ? strlen(service) + 1 : 0;
    size_t size = sizeof(gai_req) + hl + sl;
    gai_req *r = weft__alloc(size);
    if (!r)
        return EAI_MEMORY;
    memset(r, 0, sizeof *r);
    r->size = size;
    r->job.run = run_lookup;
    r->wt.task = t;
    atomic_init(&r->state, PENDING);
    if (hints) {
        /* Only these fields are inputs (getaddrinfo(3)); the pointers must be NULL. */
        r->has_hints = true;
        r->hints.ai_flags = hints->ai_flags;
        r->hints.ai_family = hints->ai_family;
        r->hints.ai_socktype = hints->ai_socktype;
        r->hints.ai_protocol = hints->ai_protocol;
    }
    char *tail = (char *)(r + 1);
    r->host = copy_str(&tail, host);
    r->service = copy_str(&tail, service);
    if (weft__blocking_submit(&r->job) != 0) {
        req_free(r);
        return EAI_AGAIN;
    }
    rc = weft__waiter_wait(&r->wt);
    if (rc) {
        int s = PENDING;
        if (atomic_compare_exchange_strong(&r->state, &s, ABANDONED))
            return rc; /* the pool thread frees r and its result */
        /* The lookup just ended and its thread is firing the waiter: take the result
         * (nothing is lost; the interruption shows at the next suspension point). */
        bool nointr = t->nointr;
        t->nointr = true;
        while (weft__waiter_wait(&r->wt) != 0)
            ;
        t->nointr = nointr;
    }
    rc = r->rc;
    *sys_err = r->sys_err;
    if (rc == 0)
        *res = r->res;
    else if (r->res)
        freeaddrinfo(r->res);
    req_free(r);
    return rc;
}

int weft_getaddrinfo(const char *host, const char *service, const struct addrinfo *hints,
                     struct addrinfo **res)
{
    int sys_err;
    return weft__getaddrinfo(host, service, hints, res, &sys_err);
}
