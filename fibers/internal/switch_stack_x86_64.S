// x86-64 System V stack switch; the interface and contract are documented in
// fibers/internal/switch_stack.h.
//
// Switch frame, from the saved stack pointer up (64 bytes, 16-byte aligned):
//    0: MXCSR (4 bytes), x87 control word (2 bytes), padding
//    8: r15   16: r14   24: r13   32: r12   40: rbx   48: rbp
//   56: return address
// persist_switch_stack_shared_fp_env uses the same frame and leaves slot 0
// alone, so both switches accept any prepared or suspended stack.
// A prepared stack's frame holds the entry function in r13, its argument in
// r12, and the trampoline as the return address.
//
// Control-flow enforcement (CET): every symbol here is a possible indirect
// branch target and starts with endbr64 (a no-op on CPUs without CET). The
// switch ends with `notrack jmp`, not ret: the saved return address is not
// on this call's path, and an indirect jump is predicted by the target
// buffer where a ret would always mispredict. notrack exempts the jump from
// IBT's endbr64 check (the return address after a call has none); the
// trampoline, the one other target, has endbr64 anyway. The object is
// marked IBT-compatible in .note.gnu.property (at the end) and NOT
// shadow-stack-compatible (SHSTK): a shadow stack would need its own
// pointer switched per stack (rdsspq/rstorssp), which is not done, so a
// program linked with this object is never marked SHSTK and never runs with
// shadow stacks.

        .text

// Symbols are hidden: the library is linked statically into whatever uses
// it (its inline switch paths call these from the user's code), so calls
// stay direct, with no PLT jump and no symbol exported from a shared object.
        .hidden persist_switch_stack
        .hidden persist_switch_stack_shared_fp_env
        .hidden persist_prepare_stack
        .hidden persist_inline_switch_entry_trampoline

// The two switches share their frame: push_switch_frame saves the
// callee-saved registers below the return address and reserves slot 0 (with
// the CFI of each push); pop_switch_frame_and_jump, with rsp at a saved
// frame, restores them and jumps to the frame's return address, the
// switched value in rax.
        .macro push_switch_frame
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset rbx, 0
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset r15, 0
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        .endm

        .macro pop_switch_frame_and_jump
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        popq    %rcx
        movq    %rdx, %rax
        notrack jmpq *%rcx
        .endm

// void* persist_switch_stack(void** save_sp /*rdi*/, void* new_sp /*rsi*/,
//                            void* value /*rdx*/);
        .globl  persist_switch_stack
        .type   persist_switch_stack, @function
        .p2align 4
persist_switch_stack:
        .cfi_startproc
        endbr64
        // MXCSR and the x87 control word go straight to their final frame
        // slots (56 bytes down, in the red zone until the pushes below reach
        // them). stmxcsr is slow (microcoded) and dominates a switch; issued
        // first, its latency overlaps with the pushes and with the caller's
        // bookkeeping instead of adding to it: fibers::Fiber's round trip
        // went from 13.8 to 11.4 ns (AMD EPYC), the bare switch is unchanged.
        stmxcsr -56(%rsp)
        fnstcw  -52(%rsp)
        push_switch_frame

        movq    %rsp, (%rdi)
        movzwl  4(%rsp), %eax   // this side's x87 control word
        movq    %rsi, %rsp
        // From here on the CFI describes the wrong stack; the rest is
        // code without calls, so only an asynchronous unwinder (a sampling
        // profiler's signal handler) could see that.

        // MXCSR is restored unconditionally: comparing first would wait for
        // the stmxcsr store (measured: 28% slower). The x87 control word is
        // almost always the same on both sides, fnstcw's store forwards to
        // the load above, and skipping fldcw saves about a tenth of a round
        // trip (measured on AMD Zen 4).
        ldmxcsr (%rsp)
        cmpw    4(%rsp), %ax
        jne     .Lload_x87_control_word
.Lrestore_registers:
        pop_switch_frame_and_jump
.Lload_x87_control_word:
        fldcw   4(%rsp)
        jmp     .Lrestore_registers
        .cfi_endproc
        .size   persist_switch_stack, .-persist_switch_stack

// void* persist_switch_stack_shared_fp_env(void** save_sp /*rdi*/,
//                                          void* new_sp /*rsi*/,
//                                          void* value /*rdx*/);
// persist_switch_stack without the MXCSR and x87 control word.
        .globl  persist_switch_stack_shared_fp_env
        .type   persist_switch_stack_shared_fp_env, @function
        .p2align 4
persist_switch_stack_shared_fp_env:
        .cfi_startproc
        endbr64
        push_switch_frame

        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        // (CFI as in persist_switch_stack.)

        pop_switch_frame_and_jump
        .cfi_endproc
        .size   persist_switch_stack_shared_fp_env, .-persist_switch_stack_shared_fp_env

// void* persist_prepare_stack(void* stack_top /*rdi*/,
//                             persist_stack_entry entry /*rsi*/,
//                             void* arg /*rdx*/);
        .globl  persist_prepare_stack
        .type   persist_prepare_stack, @function
        .p2align 4
persist_prepare_stack:
        .cfi_startproc
        endbr64
        andq    $-16, %rdi
        leaq    -64(%rdi), %rax
        stmxcsr (%rax)
        fnstcw  4(%rax)
        movw    $0, 6(%rax)
        movq    $0, 8(%rax)     // r15
        movq    $0, 16(%rax)    // r14
        movq    %rsi, 24(%rax)  // r13: entry
        movq    %rdx, 32(%rax)  // r12: arg
        movq    $0, 40(%rax)    // rbx
        movq    $0, 48(%rax)    // rbp: ends frame-pointer chains
        leaq    persist_stack_entry_trampoline(%rip), %rcx
        movq    %rcx, 56(%rax)
        ret
        .cfi_endproc
        .size   persist_prepare_stack, .-persist_prepare_stack

// The first switch onto a prepared stack "returns" here with rsp at the
// 16-byte aligned stack top, the switched value in rax, entry in r13 and arg
// in r12. The call pushes a return address, so entry starts with
// rsp % 16 == 8 as the ABI requires. Entry never returns; ud2 traps if it
// does. The return address is marked undefined: this is the outermost frame
// of the fiber's stack, where unwinders (_Unwind_Backtrace, glibc's
// backtrace(), gdb's bt) stop.
        .type   persist_stack_entry_trampoline, @function
        .p2align 4
persist_stack_entry_trampoline:
        .cfi_startproc
        .cfi_undefined rip
        endbr64
        movq    %rax, %rdi
        movq    %r12, %rsi
        callq   *%r13
        ud2
        .cfi_endproc
        .size   persist_stack_entry_trampoline, .-persist_stack_entry_trampoline

// The first resume address of a stack prepared for the inline switch
// (fibers/internal/inline_switch.h), reached by its `notrack jmp` with rsp at
// the prepared stack pointer: entry there, arg above it, the switched value
// in rax. As above, the call leaves entry with rsp % 16 == 8, entry never
// returns, and the return address is marked undefined so that unwinders stop.
        .globl  persist_inline_switch_entry_trampoline
        .type   persist_inline_switch_entry_trampoline, @function
        .p2align 4
persist_inline_switch_entry_trampoline:
        .cfi_startproc
        .cfi_undefined rip
        endbr64
        movq    %rax, %rdi
        movq    8(%rsp), %rsi
        callq   *(%rsp)
        ud2
        .cfi_endproc
        .size   persist_inline_switch_entry_trampoline, .-persist_inline_switch_entry_trampoline

// GNU_PROPERTY_X86_FEATURE_1_AND (0xc0000002) = IBT (1), without SHSTK (2);
// see the CET comment at the top. The linker keeps a feature in its output
// only when every input object has it.
        .section .note.gnu.property,"a",@note
        .p2align 3
        .long   4               // name size
        .long   16              // descriptor size
        .long   5               // NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .long   0xc0000002      // pr_type
        .long   4               // pr_datasz
        .long   1               // IBT
        .p2align 3

        .section .note.GNU-stack,"",@progbits
