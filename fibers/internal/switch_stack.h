// The raw stack switch under fibers::Fiber: hand-written assembly for x86-64
// System V (switch_stack_x86_64.S) and AArch64 (switch_stack_aarch64.S).
//
// A suspended execution is nothing but a stack pointer: the switch pushes the
// callee-saved state (x86-64: rbx, rbp, r12-r15, MXCSR and the x87 control
// word; AArch64: x19-x30, d8-d15 and FPCR) onto the current stack, stores the
// stack pointer, loads another one, pops that stack's saved state and jumps
// to its saved return address. Everything else is caller-saved, so the
// compiler has already spilled it at the call.
// persist_switch_stack_shared_fp_env is the same switch without the
// floating-point control state (MXCSR, x87 control word, FPCR): about half
// the cost on x86-64, where stmxcsr/ldmxcsr dominate.
//
// The symbols are hidden (the .S files and the declarations below): they are
// meant to be linked statically into the module that calls them, so calls
// are direct even from a shared object. The code is marked for x86-64 IBT
// (endbr64) and AArch64 BTI (bti c) in .note.gnu.property; it does not
// support x86-64 shadow stacks (SHSTK) and does not claim to.
//
// fibers::Fiber uses this switch on AArch64; on x86-64 it switches with
// inline assembly instead (fibers/internal/inline_switch.h), which needs
// only this file's hidden trampoline symbol.
//
// This layer knows nothing about exceptions, sanitizers or contexts (see
// fibers/fiber.h for those); it has no dependencies so that
// switch_stack_selftest.cc can be cross-compiled and run under qemu.
//
// Example (an echo loop on a fresh stack):
//
//   void* main_sp;
//   void* echo_sp;
//   void Echo(void* value, void* /*arg*/) {  // never returns
//     for (;;) value = persist_switch_stack(&echo_sp, main_sp, value);
//   }
//   ...
//   echo_sp = persist_prepare_stack(stack_top, Echo, nullptr);
//   void* same = persist_switch_stack(&main_sp, echo_sp, some_pointer);

#ifndef PERSIST_FIBERS_INTERNAL_SWITCH_STACK_H_
#define PERSIST_FIBERS_INTERNAL_SWITCH_STACK_H_

#if defined(__GNUC__) || defined(__clang__)
#define PERSIST_FIBERS_SWITCH_STACK_HIDDEN __attribute__((visibility("hidden")))
#else
#define PERSIST_FIBERS_SWITCH_STACK_HIDDEN
#endif

#ifdef __cplusplus
extern "C" {
#endif

// The function a prepared stack starts in. `value` is what the first switch
// onto the stack passed, `arg` what persist_prepare_stack was given. It runs
// with the ABI's 16-byte stack alignment and must never return (there is no
// caller frame to return to): it ends by switching away for good. Exceptions
// must not escape it either, since unwinding stops at the entry trampoline.
typedef void (*persist_stack_entry)(void* value, void* arg);

// Builds an initial switch frame just below `stack_top` (rounded down to 16
// bytes) and returns the stack pointer to pass to persist_switch_stack. The
// first switch onto it calls entry(value, arg) through a trampoline whose
// unwind info marks the return address undefined, so debuggers' backtraces
// and unwinders stop there. The new stack starts with the calling thread's
// current floating-point control state (MXCSR and x87 control word on
// x86-64, FPCR on AArch64). O(1); writes under 192 bytes.
PERSIST_FIBERS_SWITCH_STACK_HIDDEN void* persist_prepare_stack(
    void* stack_top, persist_stack_entry entry, void* arg);

// Saves the calling execution's callee-saved state on its stack, stores the
// resulting stack pointer in *save_sp, and resumes the execution suspended at
// `new_sp` (a value stored by an earlier persist_switch_stack, or returned by
// persist_prepare_stack). `value` is handed across: the resumed execution sees
// it as the return value of its own persist_switch_stack call (or as the
// entry's first argument). Returns when some execution switches back to
// *save_sp. Not thread-safe per stack; an execution may be resumed on another
// thread only if the code running on it does not cache thread-locals.
PERSIST_FIBERS_SWITCH_STACK_HIDDEN void* persist_switch_stack(void** save_sp,
                                                              void* new_sp,
                                                              void* value);

// persist_switch_stack, except that the floating-point control state is
// neither saved nor restored: the resumed execution continues with the
// caller's. The frame layout is the same (the control-state slot is left as
// it is), so persist_prepare_stack serves both; switch a given stack with
// one of the two only, or it resumes with a stale control state.
PERSIST_FIBERS_SWITCH_STACK_HIDDEN void* persist_switch_stack_shared_fp_env(
    void** save_sp, void* new_sp, void* value);

// The type of both switches.
typedef void* (*persist_switch_stack_function)(void** save_sp, void* new_sp,
                                               void* value);

#ifdef __cplusplus
}  // extern "C"
#endif

#endif  // PERSIST_FIBERS_INTERNAL_SWITCH_STACK_H_
