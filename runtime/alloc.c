/* weft — memory, errors, symbols.
 *
 * Memory goes through mallocx/sdallocx when built with jemalloc. A shared library
 * linked with -ljemalloc does not get jemalloc's malloc (research/design.md §6), so weft
 * never mixes the two: what weft__alloc returns is freed only by weft__free, and never
 * handed to users to free().
 */
#include "runtime/internal.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#if defined(WEFT_HAVE_JEMALLOC)
#include <jemalloc/jemalloc.h>
void *weft__alloc(size_t size)
{
    return mallocx(size, 0);
}
void *weft__calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return mallocx(n * size != 0 ? n * size : 1, MALLOCX_ZERO);
}
void weft__free(void *p, size_t size)
{
    if (p)
        sdallocx(p, size ? size : 1, 0);
}
#else
void *weft__alloc(size_t size)
{
    return malloc(size);
}
void *weft__calloc(size_t n, size_t size)
{
    return calloc(n, size);
}
void weft__free(void *p, size_t size)
{
    (void)size;
    free(p);
}
#endif

_Noreturn void weft__panic(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n > sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    (void)!write(2, "weft: ", 6);
    (void)!write(2, buf, (size_t)n);
    abort();
}

const char *weft_strerror(int err)
{
    if (err < 0)
        err = -err;
    /* strerrordesc_np returns constant strings: thread-safe, unlike strerror(). */
    const char *s = strerrordesc_np(err);
    return s ? s : "Unknown error";
}

/* "name+0x1f (libfoo.so)" or "0x... (exe)" for diagnostics. Needs the symbol in the
 * dynamic table: executables that want names link with -rdynamic (ENABLE_EXPORTS). */
const char *weft__symbol(const void *addr, char *buf, size_t len)
{
    Dl_info info = {0};
    if (dladdr(addr, &info) && info.dli_sname) {
        snprintf(buf, len, "%s", info.dli_sname);
    } else if (info.dli_fname) {
        const char *f = strrchr(info.dli_fname, '/');
        snprintf(buf, len, "%p (%s+0x%lx)", addr, f ? f + 1 : info.dli_fname,
                 (unsigned long)((const char *)addr - (const char *)info.dli_fbase));
    } else {
        snprintf(buf, len, "%p", addr);
    }
    return buf;
}
