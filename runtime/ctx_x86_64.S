/* weft — stackful context switch for x86-64 System V.
 *
 * void *weft__ctx_switch(void **save_sp, void *to_sp, void *xfer)
 *   rdi = where to store the current stack pointer, rsi = stack to switch to,
 *   rdx = value handed to the other side (returned in rax and also passed in rdi, so a
 *   fresh context's entry function receives it as its first argument).
 *
 * Saved: the callee-saved registers rbx rbp r12-r15, the MXCSR control bits and the x87
 * control word (per-task FP environment; ~2.6 ns, research/design.md §1). Never %fs:
 * the thread pointer belongs to the worker. Resumes through pop + jmp rather than ret,
 * which keeps the return-stack predictor in step (Boost.Context does the same).
 *
 * Frame layout at a saved stack pointer (lowest address first):
 *   [0] MXCSR (4 bytes) [4] x87 CW (2 bytes) [8] pad  [16] r15 r14 r13 r12 rbx rbp  [64] rip
 */
#if defined(__x86_64__)
    .text
    .globl weft__ctx_switch
    .hidden weft__ctx_switch
    .type weft__ctx_switch,@function
    .p2align 4
weft__ctx_switch:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $16, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $16, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    popq %r8
    movq %rdx, %rax
    movq %rdx, %rdi
    jmpq *%r8
    .cfi_endproc
    .size weft__ctx_switch,.-weft__ctx_switch

/* First code a new context runs: r12 holds the entry function (weft__ctx_make put it in
 * the initial frame), rdi holds xfer. The stack is 16-byte aligned here, so the call
 * leaves the callee with rsp % 16 == 8 as the ABI requires. */
    .globl weft__ctx_trampoline
    .hidden weft__ctx_trampoline
    .type weft__ctx_trampoline,@function
    .p2align 4
weft__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    callq *%r12
    ud2
    .cfi_endproc
    .size weft__ctx_trampoline,.-weft__ctx_trampoline
#endif
    .section .note.GNU-stack,"",@progbits
