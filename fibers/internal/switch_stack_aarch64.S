// AArch64 (AAPCS64) stack switch; the interface and contract are documented
// in fibers/internal/switch_stack.h.
//
// Switch frame, from the saved stack pointer up (160 bytes, 16-byte aligned):
//     0: x19 x20   16: x21 x22   32: x23 x24   48: x25 x26   64: x27 x28
//    80: x29 (frame pointer) x30 (return address)
//    96: d8 d9    112: d10 d11  128: d12 d13  144: d14 d15
// A prepared stack's frame holds the entry function in x20, its argument in
// x19, and the trampoline as the return address.

        .text

// void* persist_switch_stack(void** save_sp /*x0*/, void* new_sp /*x1*/,
//                            void* value /*x2*/);
        .globl  persist_switch_stack
        .type   persist_switch_stack, %function
        .p2align 4
persist_switch_stack:
        .cfi_startproc
        sub     sp, sp, #160
        .cfi_def_cfa_offset 160
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        .cfi_offset x29, -80
        .cfi_offset x30, -72
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]

        mov     x9, sp
        str     x9, [x0]
        mov     sp, x1
        // From here on the CFI describes the wrong stack; the rest is
        // straight-line code without calls, so only an asynchronous
        // unwinder (a sampling profiler's signal handler) could see that.

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
        add     sp, sp, #160
        mov     x0, x2
        br      x30
        .cfi_endproc
        .size   persist_switch_stack, .-persist_switch_stack

// void* persist_prepare_stack(void* stack_top /*x0*/,
//                             persist_stack_entry entry /*x1*/,
//                             void* arg /*x2*/);
        .globl  persist_prepare_stack
        .type   persist_prepare_stack, %function
        .p2align 4
persist_prepare_stack:
        .cfi_startproc
        and     x0, x0, #~15
        sub     x0, x0, #160
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
        ret
        .cfi_endproc
        .size   persist_prepare_stack, .-persist_prepare_stack

// The first switch onto a prepared stack jumps here with sp at the 16-byte
// aligned stack top, the switched value in x0, arg in x19 and entry in x20.
// Entry never returns; brk traps if it does.
        .type   persist_stack_entry_trampoline, %function
        .p2align 4
persist_stack_entry_trampoline:
        .cfi_startproc
        .cfi_undefined x30
        mov     x1, x19
        blr     x20
        brk     #0
        .cfi_endproc
        .size   persist_stack_entry_trampoline, .-persist_stack_entry_trampoline

        .section .note.GNU-stack,"",%progbits
