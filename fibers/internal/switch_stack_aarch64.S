// AArch64 (AAPCS64) stack switch; the interface and contract are documented
// in fibers/internal/switch_stack.h.
//
// Switch frame, from the saved stack pointer up (176 bytes, 16-byte aligned):
//     0: x19 x20   16: x21 x22   32: x23 x24   48: x25 x26   64: x27 x28
//    80: x29 (frame pointer) x30 (return address)
//    96: d8 d9    112: d10 d11  128: d12 d13  144: d14 d15
//   160: FPCR, padding
// persist_switch_stack_shared_fp_env uses the same frame and leaves the FPCR
// slot alone, so both switches accept any prepared or suspended stack.
// A prepared stack's frame holds the entry function in x20, its argument in
// x19, and the trampoline as the return address.
//
// Branch Target Identification (BTI): every symbol starts with `bti c`, the
// landing pad for calls through a register (blr, or br x16/x17 from a PLT or
// veneer), and the object is marked BTI-compatible in .note.gnu.property
// (at the end). The switch ends with `ret`, which BTI does not check: a `br`
// would need a landing pad at the return address after the caller's bl.
// Return addresses are not signed (no PAC); the note does not claim it.

        .text

// Symbols are hidden: the library is linked statically into whatever uses
// it (its inline switch paths call these from the user's code), so calls
// stay direct, with no PLT jump and no symbol exported from a shared object.
        .hidden persist_switch_stack
        .hidden persist_switch_stack_shared_fp_env
        .hidden persist_prepare_stack

// Saves x19-x30 and d8-d15 below sp; the FP control slot is left to the
// caller.
.macro SAVE_CALLEE_SAVED
        sub     sp, sp, #176
        .cfi_def_cfa_offset 176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        .cfi_offset x29, -96
        .cfi_offset x30, -88
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
.endm

// Loads them from the new stack, pops the frame and returns there with
// `value` (x2) as the result.
.macro RESTORE_CALLEE_SAVED_AND_RETURN
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #176
        mov     x0, x2
        ret
.endm

// void* persist_switch_stack(void** save_sp /*x0*/, void* new_sp /*x1*/,
//                            void* value /*x2*/);
        .globl  persist_switch_stack
        .type   persist_switch_stack, %function
        .p2align 4
persist_switch_stack:
        .cfi_startproc
        bti     c
        SAVE_CALLEE_SAVED
        mrs     x9, fpcr
        str     x9, [sp, #160]
        mov     x10, sp
        str     x10, [x0]
        mov     sp, x1
        // From here on the CFI describes the wrong stack; the rest is
        // straight-line code without calls, so only an asynchronous
        // unwinder (a sampling profiler's signal handler) could see that.

        // Writing FPCR may synchronize the FP pipeline; both sides almost
        // always hold the same value, and then it is skipped.
        ldr     x10, [sp, #160]
        cmp     x9, x10
        b.eq    1f
        msr     fpcr, x10
1:
        RESTORE_CALLEE_SAVED_AND_RETURN
        .cfi_endproc
        .size   persist_switch_stack, .-persist_switch_stack

// void* persist_switch_stack_shared_fp_env(void** save_sp /*x0*/,
//                                          void* new_sp /*x1*/,
//                                          void* value /*x2*/);
// persist_switch_stack without FPCR.
        .globl  persist_switch_stack_shared_fp_env
        .type   persist_switch_stack_shared_fp_env, %function
        .p2align 4
persist_switch_stack_shared_fp_env:
        .cfi_startproc
        bti     c
        SAVE_CALLEE_SAVED
        mov     x10, sp
        str     x10, [x0]
        mov     sp, x1
        // (CFI as in persist_switch_stack.)
        RESTORE_CALLEE_SAVED_AND_RETURN
        .cfi_endproc
        .size   persist_switch_stack_shared_fp_env, .-persist_switch_stack_shared_fp_env

// void* persist_prepare_stack(void* stack_top /*x0*/,
//                             persist_stack_entry entry /*x1*/,
//                             void* arg /*x2*/);
        .globl  persist_prepare_stack
        .type   persist_prepare_stack, %function
        .p2align 4
persist_prepare_stack:
        .cfi_startproc
        bti     c
        and     x0, x0, #~15
        sub     x0, x0, #176
        stp     x2, x1, [x0, #0]        // x19: arg, x20: entry
        stp     xzr, xzr, [x0, #16]
        stp     xzr, xzr, [x0, #32]
        stp     xzr, xzr, [x0, #48]
        stp     xzr, xzr, [x0, #64]
        adr     x9, persist_stack_entry_trampoline
        stp     xzr, x9, [x0, #80]      // x29: 0 ends frame-pointer chains
        stp     xzr, xzr, [x0, #96]
        stp     xzr, xzr, [x0, #112]
        stp     xzr, xzr, [x0, #128]
        stp     xzr, xzr, [x0, #144]
        mrs     x9, fpcr                // the creator's FP control state
        stp     x9, xzr, [x0, #160]
        ret
        .cfi_endproc
        .size   persist_prepare_stack, .-persist_prepare_stack

// The first switch onto a prepared stack returns here with sp at the 16-byte
// aligned stack top, the switched value in x0, arg in x19 and entry in x20.
// Entry never returns; brk traps if it does. The return address is marked
// undefined: this is the outermost frame of the fiber's stack, where
// unwinders (_Unwind_Backtrace, glibc's backtrace(), gdb's bt) stop.
        .type   persist_stack_entry_trampoline, %function
        .p2align 4
persist_stack_entry_trampoline:
        .cfi_startproc
        .cfi_undefined x30
        bti     c
        mov     x1, x19
        blr     x20
        brk     #0
        .cfi_endproc
        .size   persist_stack_entry_trampoline, .-persist_stack_entry_trampoline

// GNU_PROPERTY_AARCH64_FEATURE_1_AND (0xc0000000) = BTI (1), without PAC
// (2); see the BTI comment at the top. The linker keeps a feature in its
// output only when every input object has it.
        .section .note.gnu.property,"a",%note
        .p2align 3
        .long   4               // name size
        .long   16              // descriptor size
        .long   5               // NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .long   0xc0000000      // pr_type
        .long   4               // pr_datasz
        .long   1               // BTI
        .p2align 3

        .section .note.GNU-stack,"",%progbits
