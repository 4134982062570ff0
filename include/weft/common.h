/* weft — common definitions shared by every public header. */
#ifndef WEFT_COMMON_H
#define WEFT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define WEFT_API __attribute__((visibility("default")))
#else
#define WEFT_API
#endif

#ifdef __cplusplus
#define WEFT_BEGIN_DECLS extern "C" {
#define WEFT_END_DECLS }
#else
#define WEFT_BEGIN_DECLS
#define WEFT_END_DECLS
#endif

WEFT_BEGIN_DECLS

/* Text for a negative errno returned by any weft call ("Operation canceled" for
 * -ECANCELED). Accepts positive values too. Never NULL; thread-safe. */
WEFT_API const char *weft_strerror(int err);

WEFT_END_DECLS

#endif
