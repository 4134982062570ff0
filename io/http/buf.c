/* weft HTTP — growable byte buffers (internal.h). */
#include "io/http/internal.h"

int weft__buf_grow(weft__buf *b, size_t n)
{
    if (n > SIZE_MAX / 2 - b->len)
        return -ENOMEM;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}
