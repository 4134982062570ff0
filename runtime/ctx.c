/* weft — building the first frame of a new context for ctx_x86_64.S. */
#include "runtime/internal.h"

#include <string.h>

#if !defined(__x86_64__)
#error "weft: only x86-64 has a context switch so far (aarch64 is planned)"
#endif

void weft__ctx_trampoline(void);

/* Frame layout must match ctx_x86_64.S: 16 bytes of FP control, six registers, rip. */
enum { CTX_FP = 16, CTX_REGS = 6 * 8, CTX_RIP = 8 };
_Static_assert(CTX_FP + CTX_REGS + CTX_RIP == 72, "frame layout used by ctx_x86_64.S");

void *weft__ctx_make(void *hi, void (*entry)(void *))
{
    /* After the switch pops 72 bytes, rsp must be 16-byte aligned at the trampoline. */
    uintptr_t top = (uintptr_t)hi & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 16 - 72);
    uint32_t mxcsr = 0x1f80; /* default control bits: all exceptions masked, nearest */
    uint16_t fpucw = 0x037f;
    memset(sp, 0, 16);
    memcpy(sp, &mxcsr, sizeof mxcsr);
    memcpy((char *)sp + 4, &fpucw, sizeof fpucw);
    sp[2] = 0;                                         /* r15 */
    sp[3] = 0;                                         /* r14 */
    sp[4] = 0;                                         /* r13 */
    sp[5] = (uint64_t)(uintptr_t)entry;                /* r12: called by the trampoline */
    sp[6] = 0;                                         /* rbx */
    sp[7] = 0;                                         /* rbp */
    sp[8] = (uint64_t)(uintptr_t)weft__ctx_trampoline; /* rip */
    return sp;
}
