// Self-contained test of the raw assembly switch (no gtest, no absl), so that
// tools/test_aarch64.sh can cross-compile it statically and run it under
// qemu-aarch64; it is also a cc_test on the native architecture.
//
// Checks: values cross the switch both ways, the entry function starts on
// the new stack with 16-byte alignment, every callee-saved register survives
// a switch in both directions (filled with distinct patterns by inline asm
// on each side), the floating-point control state (x86-64: MXCSR and the x87
// control word; AArch64: FPCR) belongs to each side with
// persist_switch_stack and is shared with persist_switch_stack_shared_fp_env,
// and both switches work when called through a function pointer (under
// BTI enforcement, tools/test_aarch64.sh, that needs their `bti c`).

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "fibers/internal/switch_stack.h"

namespace {

int failures = 0;

#define SELFTEST_CHECK(condition)                                           \
  do {                                                                      \
    if (!(condition)) {                                                     \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                   #condition);                                             \
      ++failures;                                                           \
    }                                                                       \
  } while (false)

constexpr std::size_t kStackSize = 64 * 1024;
alignas(16) unsigned char fiber_stack[kStackSize];
void* main_sp = nullptr;
void* fiber_sp = nullptr;

// --- Values cross the switch, the entry runs on the new stack, aligned. ---

std::uintptr_t entry_frame_address = 0;
void* entry_arg = nullptr;

void EchoPlusOneEntry(void* value, void* arg) {
  entry_frame_address =
      reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  entry_arg = arg;
  for (;;) {
    auto n = reinterpret_cast<std::uintptr_t>(value);
    value = persist_switch_stack(&fiber_sp, main_sp,
                                 reinterpret_cast<void*>(n + 1));
  }
}

void TestPingPongAndAlignment() {
  int marker = 0;
  fiber_sp = persist_prepare_stack(fiber_stack + kStackSize, EchoPlusOneEntry,
                                   &marker);
  for (std::uintptr_t i = 0; i < 1000; ++i) {
    void* echoed =
        persist_switch_stack(&main_sp, fiber_sp, reinterpret_cast<void*>(i));
    SELFTEST_CHECK(reinterpret_cast<std::uintptr_t>(echoed) == i + 1);
  }
  SELFTEST_CHECK(entry_arg == &marker);
  auto stack_begin = reinterpret_cast<std::uintptr_t>(fiber_stack);
  SELFTEST_CHECK(entry_frame_address > stack_begin);
  SELFTEST_CHECK(entry_frame_address < stack_begin + kStackSize);
  // x86-64: the frame pointer sits 16 bytes below the aligned call site's
  // stack pointer (return address + saved rbp); AArch64: the frame record
  // is at the 16-byte aligned stack pointer. Both are 0 mod 16 exactly when
  // the entry was called with the ABI alignment.
  SELFTEST_CHECK(entry_frame_address % 16 == 0);
}

// --- Callee-saved registers survive in both directions. ---

#if defined(__x86_64__)
// rbx, rbp, r12, r13, r14, r15.
constexpr int kCalleeSavedCount = 6;

// Loads `pattern` into every callee-saved register, switches, and stores the
// registers as found after the switch back into `found`.
void* SwitchWithFilledRegisters(void** save_sp, void* new_sp, void* value,
                                const std::uint64_t* pattern,
                                std::uint64_t* found) {
  register void** rdi asm("rdi") = save_sp;
  register void* rsi asm("rsi") = new_sp;
  register void* rdx asm("rdx") = value;
  register const std::uint64_t* rcx asm("rcx") = pattern;
  register std::uint64_t* r8 asm("r8") = found;
  register void* rax asm("rax");
  // rbp cannot be named as a clobber (it may be the frame pointer), so it is
  // saved by hand on an aligned scratch area below the red zone.
  asm volatile(
      "leaq -128(%%rsp), %%rsp\n\t"
      "movq %%rsp, %%rax\n\t"
      "andq $-16, %%rsp\n\t"
      "subq $32, %%rsp\n\t"
      "movq %%rax, 0(%%rsp)\n\t"
      "movq %%rbp, 8(%%rsp)\n\t"
      "movq %%r8, 16(%%rsp)\n\t"
      "movq 0(%%rcx), %%rbx\n\t"
      "movq 8(%%rcx), %%rbp\n\t"
      "movq 16(%%rcx), %%r12\n\t"
      "movq 24(%%rcx), %%r13\n\t"
      "movq 32(%%rcx), %%r14\n\t"
      "movq 40(%%rcx), %%r15\n\t"
      "call persist_switch_stack\n\t"
      "movq 16(%%rsp), %%r8\n\t"
      "movq %%rbx, 0(%%r8)\n\t"
      "movq %%rbp, 8(%%r8)\n\t"
      "movq %%r12, 16(%%r8)\n\t"
      "movq %%r13, 24(%%r8)\n\t"
      "movq %%r14, 32(%%r8)\n\t"
      "movq %%r15, 40(%%r8)\n\t"
      "movq 8(%%rsp), %%rbp\n\t"
      "movq 0(%%rsp), %%rsp\n\t"
      "leaq 128(%%rsp), %%rsp\n\t"
      : "=r"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(rcx), "+r"(r8)
      :
      : "rbx", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "xmm0", "xmm1",
        "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
  return rax;
}
#elif defined(__aarch64__)
// x19-x28, x29 (frame pointer), then the bit patterns of d8-d15.
constexpr int kCalleeSavedCount = 19;

void* SwitchWithFilledRegisters(void** save_sp, void* new_sp, void* value,
                                const std::uint64_t* pattern,
                                std::uint64_t* found) {
  register void* x0 asm("x0") = save_sp;
  register void* x1 asm("x1") = new_sp;
  register void* x2 asm("x2") = value;
  register const std::uint64_t* x3 asm("x3") = pattern;
  register std::uint64_t* x4 asm("x4") = found;
  // x29 cannot be named as a clobber (it is the frame pointer), so it is
  // saved by hand next to `found`, which the switch would clobber.
  asm volatile(
      "sub sp, sp, #16\n\t"
      "stp x29, x4, [sp]\n\t"
      "ldp x19, x20, [x3, #0]\n\t"
      "ldp x21, x22, [x3, #16]\n\t"
      "ldp x23, x24, [x3, #32]\n\t"
      "ldp x25, x26, [x3, #48]\n\t"
      "ldp x27, x28, [x3, #64]\n\t"
      "ldr x29, [x3, #80]\n\t"
      "ldp d8, d9, [x3, #88]\n\t"
      "ldp d10, d11, [x3, #104]\n\t"
      "ldp d12, d13, [x3, #120]\n\t"
      "ldp d14, d15, [x3, #136]\n\t"
      "bl persist_switch_stack\n\t"
      "ldr x4, [sp, #8]\n\t"
      "stp x19, x20, [x4, #0]\n\t"
      "stp x21, x22, [x4, #16]\n\t"
      "stp x23, x24, [x4, #32]\n\t"
      "stp x25, x26, [x4, #48]\n\t"
      "stp x27, x28, [x4, #64]\n\t"
      "str x29, [x4, #80]\n\t"
      "stp d8, d9, [x4, #88]\n\t"
      "stp d10, d11, [x4, #104]\n\t"
      "stp d12, d13, [x4, #120]\n\t"
      "stp d14, d15, [x4, #136]\n\t"
      "ldr x29, [sp]\n\t"
      "add sp, sp, #16\n\t"
      : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4)
      :
      : "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
        "x16", "x17", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
        "x27", "x28", "x30", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7",
        "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17",
        "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27",
        "v28", "v29", "v30", "v31", "memory", "cc");
  return x0;
}
#else
#error "switch_stack_selftest: unsupported architecture"
#endif

void FillPattern(std::uint64_t seed, std::uint64_t* pattern) {
  for (int i = 0; i < kCalleeSavedCount; ++i) {
    pattern[i] = (seed + static_cast<std::uint64_t>(i)) * 0x9E3779B97F4A7C15u;
  }
}

int fiber_register_mismatches = 0;

void RegisterCheckingEntry(void* value, void* /*arg*/) {
  std::uint64_t pattern[kCalleeSavedCount];
  std::uint64_t found[kCalleeSavedCount];
  for (std::uint64_t round = 1000;; ++round) {
    FillPattern(round, pattern);
    value =
        SwitchWithFilledRegisters(&fiber_sp, main_sp, value, pattern, found);
    if (std::memcmp(pattern, found, sizeof(pattern)) != 0) {
      ++fiber_register_mismatches;
    }
  }
}

void TestCalleeSavedRegisters() {
  fiber_sp = persist_prepare_stack(fiber_stack + kStackSize,
                                   RegisterCheckingEntry, nullptr);
  std::uint64_t pattern[kCalleeSavedCount];
  std::uint64_t found[kCalleeSavedCount];
  for (std::uint64_t round = 0; round < 100; ++round) {
    FillPattern(round, pattern);
    void* echoed = SwitchWithFilledRegisters(
        &main_sp, fiber_sp, reinterpret_cast<void*>(round + 7), pattern, found);
    SELFTEST_CHECK(reinterpret_cast<std::uintptr_t>(echoed) == round + 7);
    for (int i = 0; i < kCalleeSavedCount; ++i) {
      if (pattern[i] != found[i]) {
        std::fprintf(stderr, "round %llu: register #%d was %llx, not %llx\n",
                     static_cast<unsigned long long>(round), i,
                     static_cast<unsigned long long>(found[i]),
                     static_cast<unsigned long long>(pattern[i]));
        ++failures;
      }
    }
  }
  SELFTEST_CHECK(fiber_register_mismatches == 0);
}

// --- The floating-point control state: per side, or shared. ---

// Rounding mode and flush-to-zero, the two fields the tests change, read and
// written through the architecture's control registers.
#if defined(__x86_64__)
// MXCSR: rounding 13-14, flush-to-zero 15; x87 control word: rounding 10-11.
std::uint32_t ReadMxcsr() {
  std::uint32_t mxcsr;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  return mxcsr;
}
void WriteMxcsr(std::uint32_t mxcsr) {
  asm volatile("ldmxcsr %0" ::"m"(mxcsr));
}
std::uint16_t ReadX87ControlWord() {
  std::uint16_t control_word;
  asm volatile("fnstcw %0" : "=m"(control_word));
  return control_word;
}
void WriteX87ControlWord(std::uint16_t control_word) {
  asm volatile("fldcw %0" ::"m"(control_word));
}
struct FpControl {
  std::uint32_t mxcsr_mode;  // rounding and flush-to-zero bits
  std::uint16_t x87_rounding;
  bool operator==(const FpControl& other) const {
    return mxcsr_mode == other.mxcsr_mode && x87_rounding == other.x87_rounding;
  }
};
FpControl ReadFpControl() {
  return {ReadMxcsr() & 0xE000u,
          static_cast<std::uint16_t>(ReadX87ControlWord() & 0x0C00u)};
}
void WriteFpControl(FpControl control) {
  WriteMxcsr((ReadMxcsr() & ~0xE000u) | control.mxcsr_mode);
  WriteX87ControlWord(static_cast<std::uint16_t>(
      (ReadX87ControlWord() & ~0x0C00u) | control.x87_rounding));
}
// Round down + flush-to-zero; x87 round up.
constexpr FpControl kFiberFpControl = {0x2000u | 0x8000u, 0x0800u};
// Round toward zero; x87 round down.
constexpr FpControl kOtherFpControl = {0x6000u, 0x0400u};
#elif defined(__aarch64__)
// FPCR: rounding 22-23, flush-to-zero 24.
struct FpControl {
  std::uint64_t mode;
  bool operator==(const FpControl& other) const { return mode == other.mode; }
};
constexpr std::uint64_t kFpcrModeMask = std::uint64_t{7} << 22;
FpControl ReadFpControl() {
  std::uint64_t fpcr;
  asm volatile("mrs %0, fpcr" : "=r"(fpcr));
  return {fpcr & kFpcrModeMask};
}
void WriteFpControl(FpControl control) {
  std::uint64_t fpcr;
  asm volatile("mrs %0, fpcr" : "=r"(fpcr));
  fpcr = (fpcr & ~kFpcrModeMask) | control.mode;
  asm volatile("msr fpcr, %0" ::"r"(fpcr));
}
// Round toward minus infinity (RM) + flush-to-zero.
constexpr FpControl kFiberFpControl = {(std::uint64_t{2} << 22) |
                                       (std::uint64_t{1} << 24)};
// Round toward zero (RZ).
constexpr FpControl kOtherFpControl = {std::uint64_t{3} << 22};
#endif

// Called through a pointer so that the compiler emits an indirect call
// (blr / call *): the switches must be valid indirect-branch targets.
persist_switch_stack_function volatile switch_under_test = nullptr;

int fiber_fp_control_mismatches = 0;
FpControl fiber_seen_on_entry = {};
FpControl fiber_seen_after_switch = {};

void PreservingFpControlEntry(void* /*value*/, void* /*arg*/) {
  fiber_seen_on_entry = ReadFpControl();
  WriteFpControl(kFiberFpControl);
  for (;;) {
    switch_under_test(&fiber_sp, main_sp, nullptr);
    if (!(ReadFpControl() == kFiberFpControl)) ++fiber_fp_control_mismatches;
  }
}

void TestPreservedFpControl() {
  const FpControl main_control = ReadFpControl();
  switch_under_test = persist_switch_stack;
  // The new stack starts with its creator's state, not its first resumer's.
  WriteFpControl(kOtherFpControl);
  fiber_sp = persist_prepare_stack(fiber_stack + kStackSize,
                                   PreservingFpControlEntry, nullptr);
  WriteFpControl(main_control);
  for (int i = 0; i < 10; ++i) {
    switch_under_test(&main_sp, fiber_sp, nullptr);
    SELFTEST_CHECK(ReadFpControl() == main_control);
  }
  SELFTEST_CHECK(fiber_seen_on_entry == kOtherFpControl);
  SELFTEST_CHECK(fiber_fp_control_mismatches == 0);
}

void SharingFpControlEntry(void* /*value*/, void* /*arg*/) {
  fiber_seen_on_entry = ReadFpControl();
  WriteFpControl(kFiberFpControl);
  for (;;) {
    switch_under_test(&fiber_sp, main_sp, nullptr);
    fiber_seen_after_switch = ReadFpControl();
  }
}

void TestSharedFpControl() {
  const FpControl main_control = ReadFpControl();
  switch_under_test = persist_switch_stack_shared_fp_env;
  fiber_sp = persist_prepare_stack(fiber_stack + kStackSize,
                                   SharingFpControlEntry, nullptr);
  // The fiber runs with its resumer's state, and its change reaches main.
  WriteFpControl(kOtherFpControl);
  switch_under_test(&main_sp, fiber_sp, nullptr);
  SELFTEST_CHECK(fiber_seen_on_entry == kOtherFpControl);
  SELFTEST_CHECK(ReadFpControl() == kFiberFpControl);
  // And main's change reaches the fiber.
  WriteFpControl(main_control);
  switch_under_test(&main_sp, fiber_sp, nullptr);
  SELFTEST_CHECK(fiber_seen_after_switch == main_control);
  SELFTEST_CHECK(ReadFpControl() == main_control);
}

}  // namespace

int main() {
  TestPingPongAndAlignment();
  TestCalleeSavedRegisters();
  TestPreservedFpControl();
  TestSharedFpControl();
  if (failures != 0) {
    std::fprintf(stderr, "switch_stack_selftest: %d checks FAILED\n", failures);
    return 1;
  }
  std::printf("switch_stack_selftest: all checks passed\n");
  return 0;
}
