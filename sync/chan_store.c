/* weft — the locked element stores of channels that are not bounded FIFOs: a growable
 * FIFO ring (unbounded channels), a stack (LIFO channels) and a binary min-heap ordered
 * by the channel's cmp (priority channels). Every function runs under the channel's
 * lock. A bounded store is allocated at its capacity and never grows. */
#include "sync/chan_internal.h"

static inline char *at(weft_chan *c, size_t i)
{
    return c->ubuf + i * c->esize;
}

/* FIFO: the i-th element from the head. */
static inline char *fifo_at(weft_chan *c, size_t i)
{
    return at(c, (c->uhead + i) % c->uslots);
}

int weft__store_init(weft_chan *c)
{
    c->uslots = c->cap ? c->cap : 16;
    c->ubuf = weft__alloc(c->uslots * c->esize);
    if (!c->ubuf)
        return -ENOMEM;
    if (c->kind == WEFT__PRIO && !(c->tmp = weft__alloc(c->esize))) {
        weft__free(c->ubuf, c->uslots * c->esize);
        return -ENOMEM;
    }
    return 0;
}

void weft__store_fini(weft_chan *c)
{
    weft__free(c->ubuf, c->uslots * c->esize);
    if (c->tmp)
        weft__free(c->tmp, c->esize);
}

static bool grow(weft_chan *c)
{
    size_t n = c->uslots * 2;
    if (n > SIZE_MAX / c->esize)
        return false;
    char *b = weft__alloc(n * c->esize);
    if (!b)
        return false;
    for (size_t i = 0; i < c->ulen; i++) /* uhead is 0 for stacks and heaps */
        memcpy(b + i * c->esize, fifo_at(c, i), c->esize);
    weft__free(c->ubuf, c->uslots * c->esize);
    c->ubuf = b;
    c->uslots = n;
    c->uhead = 0;
    return true;
}

static void swap(weft_chan *c, size_t i, size_t j)
{
    memcpy(c->tmp, at(c, i), c->esize);
    memcpy(at(c, i), at(c, j), c->esize);
    memcpy(at(c, j), c->tmp, c->esize);
}

int weft__store_put(weft_chan *c, const void *elem)
{
    if (c->ulen == c->uslots) {
        if (c->cap)
            return -EAGAIN;
        if (!grow(c))
            return -ENOMEM;
    }
    if (c->kind == WEFT__FIFO) {
        weft__copy_elem(fifo_at(c, c->ulen++), elem, c->esize);
        return 0;
    }
    size_t i = c->ulen++;
    weft__copy_elem(at(c, i), elem, c->esize);
    if (c->kind == WEFT__PRIO) {
        while (i > 0) { /* sift up */
            size_t p = (i - 1) / 2;
            if (c->cmp(at(c, i), at(c, p)) >= 0)
                break;
            swap(c, i, p);
            i = p;
        }
    }
    return 0;
}

int weft__store_get(weft_chan *c, void *elem)
{
    if (!c->ulen)
        return -EAGAIN;
    switch (c->kind) {
    case WEFT__FIFO:
        weft__copy_elem(elem, at(c, c->uhead), c->esize);
        c->uhead = (c->uhead + 1) % c->uslots;
        c->ulen--;
        return 0;
    case WEFT__LIFO:
        weft__copy_elem(elem, at(c, --c->ulen), c->esize);
        return 0;
    default:
        break;
    }
    weft__copy_elem(elem, at(c, 0), c->esize);
    if (--c->ulen == 0)
        return 0;
    memcpy(at(c, 0), at(c, c->ulen), c->esize);
    for (size_t i = 0;;) { /* sift down */
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < c->ulen && c->cmp(at(c, l), at(c, m)) < 0)
            m = l;
        if (r < c->ulen && c->cmp(at(c, r), at(c, m)) < 0)
            m = r;
        if (m == i)
            break;
        swap(c, i, m);
        i = m;
    }
    return 0;
}

size_t weft__store_drop(weft_chan *c)
{
    size_t n = c->ulen;
    c->ulen = 0;
    c->uhead = 0;
    return n;
}
