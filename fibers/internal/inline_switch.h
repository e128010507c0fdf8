// The stack switch that fibers::Fiber uses on x86-64: inline assembly in the
// resume() and yield() paths instead of a call to persist_switch_stack.
//
// Why: persist_switch_stack is a function, so its contract has to save every
// callee-saved register (rbx, rbp, r12-r15) on each switch, whether the
// caller keeps anything in them or not. Inline, the switch tells the
// compiler instead that it clobbers all of them (and every other register
// but rsp and rbp), and the compiler keeps across it only what is live there,
// usually the fiber pointer and a loop counter, in stack slots or in
// registers it saves once in its prologue. What remains per switch is
// storing and loading a SwitchPoint: the stack pointer, the resume address
// and the frame pointer (rbp cannot be declared clobbered when it is the
// frame pointer, so it is saved either way), plus MXCSR and the x87 control
// word unless the fiber shares the floating-point environment. A round trip
// (resume()+yield()) went from 113 to 92 instructions (callgrind, g++ -O2;
// 101 to 79 with FpEnv::kShared), BM_Switch_Fiber from 1.15x Boost.Context's
// jump_fcontext to 0.9x.
//
// A suspended execution resumes by an indirect `notrack jmp` to the resume
// address, a label just after the asm statement that switched away (IBT: a
// notrack jump needs no endbr64 at its target; see switch_stack_x86_64.S for
// CET). No return address is pushed, so the red zone of the code around the
// asm statement is left alone. Shadow stacks (SHSTK) are not supported here
// either: code compiled with -fcf-protection=full marks its object SHSTK
// whatever its inline asm does, but PrepareSwitchPoint refers to the
// trampoline, so switch_stack_x86_64.o (IBT only) is always linked in and
// the output never claims SHSTK. A new fiber's first SwitchPoint points at
// persist_inline_switch_entry_trampoline (switch_stack_x86_64.S), which calls
// the entry function with its argument from the top of the new stack and
// ends unwinding there, as persist_stack_entry_trampoline does for
// persist_switch_stack.
//
// Other architectures use persist_switch_stack (PERSIST_FIBERS_INLINE_SWITCH
// is 0 there).

#ifndef PERSIST_FIBERS_INTERNAL_INLINE_SWITCH_H_
#define PERSIST_FIBERS_INTERNAL_INLINE_SWITCH_H_

#include "fibers/internal/switch_stack.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PERSIST_FIBERS_INLINE_SWITCH 1
#else
#define PERSIST_FIBERS_INLINE_SWITCH 0
#endif

#if PERSIST_FIBERS_INLINE_SWITCH

#include <cstddef>
#include <cstdint>

#include "base/optimization.h"

extern "C" {
// Not a function: the first resume address of a prepared stack (see above).
PERSIST_FIBERS_SWITCH_STACK_HIDDEN void
persist_inline_switch_entry_trampoline();
}

namespace fibers {
namespace internal {

// Where a suspended execution continues. The offsets are the asm's.
struct SwitchPoint {
  void* sp = nullptr;                  // 0
  const void* pc = nullptr;            // 8
  void* fp = nullptr;                  // 16: rbp
  std::uint32_t mxcsr = 0;             // 24 (not kept when sharing the FP env)
  std::uint16_t x87_control_word = 0;  // 28 (likewise)
};
static_assert(offsetof(SwitchPoint, pc) == 8 &&
                  offsetof(SwitchPoint, fp) == 16 &&
                  offsetof(SwitchPoint, mxcsr) == 24 &&
                  offsetof(SwitchPoint, x87_control_word) == 28,
              "the offsets in the asm below");

// A fiber's two sides: where the fiber is suspended and where its resumer
// waits while it runs. InlineSwitch addresses both from one base register.
struct SwitchPoints {
  SwitchPoint fiber;
  SwitchPoint resumer;
  bool shared_fp_env = false;  // FpEnv::kShared, for every switch
};
inline constexpr std::size_t kFiberSwitchPoint = offsetof(SwitchPoints, fiber);
inline constexpr std::size_t kResumerSwitchPoint =
    offsetof(SwitchPoints, resumer);

// Makes `point` start entry(value, arg) on the stack below `stack_top`, with
// the calling thread's floating-point control state.
inline void PrepareSwitchPoint(SwitchPoint& point, void* stack_top,
                               persist_stack_entry entry, void* arg) noexcept {
  // 16-byte aligned; the trampoline finds entry and arg at its stack pointer
  // and its call leaves the entry with rsp % 16 == 8, as the ABI requires.
  auto* top = reinterpret_cast<void**>(
      reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15});
  void** sp = top - 2;
  sp[0] = reinterpret_cast<void*>(entry);
  sp[1] = arg;
  point.sp = sp;
  point.pc =
      reinterpret_cast<const void*>(&persist_inline_switch_entry_trampoline);
  point.fp = nullptr;  // ends frame-pointer chains
  asm volatile("stmxcsr %0" : "=m"(point.mxcsr));
  asm volatile("fnstcw %0" : "=m"(point.x87_control_word));
}

// Everything but rsp and rbp: the other side runs arbitrary code before it
// switches back. (x87 and MMX state is empty at a switch, as at any call.)
#if defined(__AVX512F__)
#define PERSIST_FIBERS_INLINE_SWITCH_AVX512_CLOBBERS                          \
  , "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",   \
      "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", \
      "k1", "k2", "k3", "k4", "k5", "k6", "k7"
#else
#define PERSIST_FIBERS_INLINE_SWITCH_AVX512_CLOBBERS
#endif
#define PERSIST_FIBERS_INLINE_SWITCH_CLOBBERS                                 \
  "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",  \
      "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
      "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st",     \
      "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", "mm0",   \
      "mm1", "mm2", "mm3", "mm4", "mm5", "mm6", "mm7", "memory",              \
      "cc" PERSIST_FIBERS_INLINE_SWITCH_AVX512_CLOBBERS

// The two halves every InlineSwitch variant shares: save this execution's
// stack pointer, resume address (label 1) and frame pointer at [save]; then
// load the target's and jump to it.
#define PERSIST_FIBERS_INLINE_SWITCH_SAVE \
  "leaq 1f(%%rip), %%rcx\n\t"             \
  "movq %%rsp, %c[save](%%rdi)\n\t"       \
  "movq %%rcx, %c[save]+8(%%rdi)\n\t"     \
  "movq %%rbp, %c[save]+16(%%rdi)\n\t"
#define PERSIST_FIBERS_INLINE_SWITCH_JUMP \
  "movq %c[target]+16(%%rdi), %%rbp\n\t"  \
  "movq %c[target](%%rdi), %%rsp\n\t"     \
  "notrack jmpq *%c[target]+8(%%rdi)\n"

// Saves the calling execution in the SwitchPoint at kSaveOffset in
// `points`, continues the one at kTargetOffset and returns when something
// switches back to the first, with the value that switch passed. (One base
// register and constant offsets: a second address would be one more lea per
// switch.) With points->shared_fp_env, MXCSR and the x87 control word are
// left alone.
template <std::size_t kSaveOffset, std::size_t kTargetOffset>
PERSIST_BASE_ALWAYS_INLINE inline void* InlineSwitch(SwitchPoints* points,
                                                     void* value) noexcept {
  void* base = points;
  if (points->shared_fp_env) {
    asm volatile(
        PERSIST_FIBERS_INLINE_SWITCH_SAVE PERSIST_FIBERS_INLINE_SWITCH_JUMP "1:"
        : "+a"(value), "+D"(base)
        : [save] "i"(kSaveOffset), [target] "i"(kTargetOffset)
        : "rsi", PERSIST_FIBERS_INLINE_SWITCH_CLOBBERS);
  } else {
    // stmxcsr first: it is slow (microcoded) and its latency overlaps with
    // the stores. MXCSR is loaded unconditionally (comparing would wait for
    // the stmxcsr store); the x87 control word is almost always the same on
    // both sides and fnstcw's store forwards to the compare, so fldcw is
    // skipped then (as in persist_switch_stack).
    asm volatile(
        "stmxcsr %c[save]+24(%%rdi)\n\t"
        "fnstcw %c[save]+28(%%rdi)\n\t" PERSIST_FIBERS_INLINE_SWITCH_SAVE
        "movzwl %c[save]+28(%%rdi), %%ecx\n\t"
        "ldmxcsr %c[target]+24(%%rdi)\n\t"
        "cmpw %c[target]+28(%%rdi), %%cx\n\t"
        "jne 2f\n"
        "3:\n\t" PERSIST_FIBERS_INLINE_SWITCH_JUMP
        "2:\n\t"
        "fldcw %c[target]+28(%%rdi)\n\t"
        "jmp 3b\n"
        "1:"
        : "+a"(value), "+D"(base)
        : [save] "i"(kSaveOffset), [target] "i"(kTargetOffset)
        : "rsi", PERSIST_FIBERS_INLINE_SWITCH_CLOBBERS);
  }
  return value;
}

}  // namespace internal
}  // namespace fibers

#endif  // PERSIST_FIBERS_INLINE_SWITCH

#endif  // PERSIST_FIBERS_INTERNAL_INLINE_SWITCH_H_
