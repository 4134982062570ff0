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
    /* CFI for every instruction, so an unwinder (the stall report's backtrace, taken
     * by a signal that may land here) always finds a frame: before the stack swap
     * the switching context's, after it the resumed one's, whose saved frame has the
     * same layout. Without it, a backtrace taken mid-switch read garbage and crashed. */
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbp, 0
    pushq %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbx, 0
    pushq %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r12, 0
    pushq %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r13, 0
    pushq %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r14, 0
    pushq %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r15, 0
    subq $16, %rsp
    .cfi_adjust_cfa_offset 16
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp /* the CFA rule (rsp + 72) holds on the new stack too */
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $16, %rsp
    .cfi_adjust_cfa_offset -16
    popq %r15
    .cfi_adjust_cfa_offset -8
    .cfi_restore r15
    popq %r14
    .cfi_adjust_cfa_offset -8
    .cfi_restore r14
    popq %r13
    .cfi_adjust_cfa_offset -8
    .cfi_restore r13
    popq %r12
    .cfi_adjust_cfa_offset -8
    .cfi_restore r12
    popq %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbx
    popq %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbp
    popq %r8
    .cfi_adjust_cfa_offset -8
    .cfi_register rip, r8
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

/* Return through an indirect jump, for the functions a context switch resumes in
 * (gcc's function_return("thunk-extern")): see WEFT_RESUME_RET in
 * runtime/internal.h. Weak: a program that links weft statically and brings its own
 * thunk (built with -mfunction-return=thunk-extern) keeps its own. */
    .weak __x86_return_thunk
    .hidden __x86_return_thunk
    .type __x86_return_thunk,@function
    .p2align 4
__x86_return_thunk:
    .cfi_startproc
    popq %r11
    .cfi_def_cfa_offset 0
    .cfi_register %rip, %r11
    jmpq *%r11
    .cfi_endproc
    .size __x86_return_thunk,.-__x86_return_thunk
#endif
    .section .note.GNU-stack,"",@progbits
