// The state behind fibers::Fiber and the hot path of resume() and yield(),
// inline so that the switch is called straight from the code that resumes or
// yields. That matters: returning from an out-of-line resume()/yield() after
// a stack switch always mispredicts (the CPU's return-stack buffer holds the
// other stack's return addresses), which costs more than the rest of the
// bookkeeping together. So they are PERSIST_BASE_ALWAYS_INLINE, not merely
// inline: left to the optimizer, g++ -O2 keeps Fiber::resume() out of line
// (its body, with the Context swap, is over -O2's inlining budget) and clang
// keeps SwitchInto() out of line even at -O3, and BM_Switch_Fiber took
// 18-19 ns instead of 8.1 ns (Intel Xeon; g++ -O3 happened to inline it).
// The slow paths stay out of line (declared below, defined in fiber.cc).

#ifndef PERSIST_FIBERS_INTERNAL_FIBER_CONTROL_H_
#define PERSIST_FIBERS_INTERNAL_FIBER_CONTROL_H_

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>

#include "base/optimization.h"
#include "contextvars/contextvars.h"
#include "fibers/internal/inline_switch.h"
#include "fibers/internal/sanitizers.h"
#include "fibers/internal/stack.h"
#include "fibers/internal/switch_stack.h"

namespace fibers {

struct FiberOptions;

namespace internal {

// The head of the C++ runtime's per-thread exception state (libstdc++'s and
// libc++abi's __cxa_eh_globals): the stack of exceptions being handled and
// the std::uncaught_exceptions() count. Each fiber keeps its own, so a fiber
// that yields inside a catch handler (or in a destructor during unwinding)
// finds its exception again, and other fibers do not see it. Both runtimes
// start their struct with these two fields (ARM EHABI appends one more).
struct ExceptionState {
  void* caught_exceptions = nullptr;
  unsigned int uncaught_exceptions = 0;
};

// Ordered so that "cannot be resumed" is one comparison (>= kRunning).
enum class FiberStatus { kNotStarted, kSuspended, kRunning, kFinished };

// Lives on the heap, so a Fiber can move while its stack points here.
struct FiberControl {
  FiberControl(std::function<void()> fiber_body, FiberOptions& options);
  ~FiberControl();
  FiberControl(const FiberControl&) = delete;
  FiberControl& operator=(const FiberControl&) = delete;

#if PERSIST_FIBERS_INLINE_SWITCH
  // First, so that its address is the FiberControl's (no lea per switch).
  SwitchPoints switch_points;
#endif
  std::function<void()> body;
  FiberStack stack;
  // While the fiber is suspended: its current context. While it runs: the
  // current context of whoever resumed it. Each switch swaps it with the
  // thread's current context.
  contextvars::Context context;
  // Likewise for the C++ runtime's exception state.
  ExceptionState exception_state;
  // While it runs: the fiber that resumed it (nullptr for a thread's own
  // stack), the running fiber again when it yields.
  FiberControl* resumer = nullptr;
#if !PERSIST_FIBERS_INLINE_SWITCH
  // persist_switch_stack, or persist_switch_stack_shared_fp_env for
  // FpEnv::kShared: every switch into and out of this fiber uses it.
  persist_switch_stack_function switch_stack = nullptr;
  void* fiber_sp = nullptr;    // where the fiber is suspended
  void* resumer_sp = nullptr;  // where its resumer waits while it runs
#endif
  FiberStatus status = FiberStatus::kNotStarted;
  std::exception_ptr exception;  // escaped the body, for resume() to rethrow
#if PERSIST_FIBERS_ASAN
  void* resumer_fake_stack = nullptr;
  void* fiber_fake_stack = nullptr;
  const void* resumer_stack_bottom = nullptr;
  std::size_t resumer_stack_size = 0;
#endif
#if PERSIST_FIBERS_TSAN
  void* tsan_fiber = nullptr;
  void* resumer_tsan_fiber = nullptr;
#endif
};

// The fiber running on this thread; nullptr outside fibers. Constant-
// initialized and trivially destructible, so access is a thread-pointer load.
inline thread_local FiberControl* current_fiber = nullptr;

// Cached result of __cxa_get_globals() (a call into the runtime library).
inline thread_local ExceptionState* thread_exception_state = nullptr;

ExceptionState* InitThreadExceptionState() noexcept;

// Slow paths, out of line.
void FinishSwitchInto(FiberControl* fiber) noexcept;  // releases the stack
// FinishSwitchInto, then rethrows the exception that escaped the body, if any.
void FinishResume(FiberControl* fiber);
[[noreturn]] void ThrowCannotResume(const FiberControl* fiber);
[[noreturn]] void ThrowYieldOutsideFiber();
[[noreturn]] void ThrowFiberUnwind();
// Exchanges the two states (only called when one is not empty).
void SwapExceptionState(ExceptionState& thread_state,
                        ExceptionState& slot) noexcept;

// The calling thread's runtime exception state.
PERSIST_BASE_ALWAYS_INLINE inline ExceptionState*
ThreadExceptionState() noexcept {
  ExceptionState* thread_state = thread_exception_state;
  if (PERSIST_BASE_PREDICT_FALSE(thread_state == nullptr)) {
    thread_state = InitThreadExceptionState();
  }
  return thread_state;
}

// Whether either state is not empty, in one test. Swapping two empty states
// changes nothing, so "swap when either is not empty" is right before and
// after a switch alike, and needs no flag kept across it.
PERSIST_BASE_ALWAYS_INLINE inline bool HasException(
    const ExceptionState& a, const ExceptionState& b) noexcept {
  // Field by field, not as a struct: a 16-byte load of fields just stored
  // separately stalls store forwarding.
  return (reinterpret_cast<std::uintptr_t>(a.caught_exceptions) |
          reinterpret_cast<std::uintptr_t>(b.caught_exceptions) |
          a.uncaught_exceptions | b.uncaught_exceptions) != 0;
}

// Runs `fiber` (not running, not finished) until it yields or finishes; on
// return its status says which (kSuspended or kFinished, set by the fiber
// side, so that the caller checks it once). Everything that belongs to the
// running execution (current fiber, current Context, exception state) is
// swapped in here and swapped back on return, so the fiber side only
// switches stacks. Returns `fiber`, as handed back by the fiber side in the
// switch's value register: the caller uses that instead of keeping its own
// copy across the switch, which clobbers every register (a spill and
// several reloads at -O2).
//
// Nothing this side needs after the switch is kept in its frame. The switch
// preserves only rsp and rbp, and with -fno-omit-frame-pointer (Bazel's -c
// opt) rbp is taken, so the resumer and the thread's exception state were
// stored in stack slots and reloaded through the rsp or rbp just loaded by
// the switch, a chain of two loads before the context swap could start;
// without a frame pointer (-O3 builds) one of them rode in rbp. Now the
// resumer lives in `fiber` and the state is read from its thread_local:
// a round trip is 90 instructions at g++ -O2 and -O3 alike (before: 92
// and 89; FpEnv::kShared 77 and 77, before 79 and 76), 93 with clang (94
// and 92), and FpEnv::kShared at -O2 went from 1.16x its -O3 time to
// 1.02x (g++; clang 1.04x).
PERSIST_BASE_ALWAYS_INLINE inline FiberControl* SwitchInto(
    FiberControl* fiber, void* value = nullptr) noexcept {
  fiber->resumer = current_fiber;
  fiber->status = FiberStatus::kRunning;
  current_fiber = fiber;
  contextvars::swap_current_context(fiber->context);
  // Both sides are almost always empty (no exception being handled), and
  // then there is nothing to swap. The thread's state stays where it is
  // (SwitchInto returns on the thread it was called on).
  ExceptionState& thread_state = *ThreadExceptionState();
  if (PERSIST_BASE_PREDICT_FALSE(
          HasException(thread_state, fiber->exception_state))) {
    SwapExceptionState(thread_state, fiber->exception_state);
  }
#if PERSIST_FIBERS_ASAN
  __sanitizer_start_switch_fiber(&fiber->resumer_fake_stack,
                                 fiber->stack.bottom(),
                                 fiber->stack.usable_size());
#endif
#if PERSIST_FIBERS_TSAN
  // Created on first resume and destroyed when finished: TSan's fiber
  // states are large, so only fibers that have started and not finished
  // hold one.
  if (fiber->tsan_fiber == nullptr) fiber->tsan_fiber = __tsan_create_fiber(0);
  fiber->resumer_tsan_fiber = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(fiber->tsan_fiber, 0);
#endif
#if PERSIST_FIBERS_INLINE_SWITCH
  fiber = static_cast<FiberControl*>(
      InlineSwitch<kResumerSwitchPoint, kFiberSwitchPoint>(
          &fiber->switch_points, value));
#else
  fiber = static_cast<FiberControl*>(
      fiber->switch_stack(&fiber->resumer_sp, fiber->fiber_sp, value));
#endif
#if PERSIST_FIBERS_ASAN
  __sanitizer_finish_switch_fiber(fiber->resumer_fake_stack, nullptr, nullptr);
#endif
  // From `fiber` (handed over in a register) and thread_locals, not from
  // this frame (see above).
  ExceptionState& thread_state_after = *thread_exception_state;
  if (PERSIST_BASE_PREDICT_FALSE(
          HasException(thread_state_after, fiber->exception_state))) {
    SwapExceptionState(thread_state_after, fiber->exception_state);
  }
  contextvars::swap_current_context(fiber->context);
  current_fiber = fiber->resumer;
  return fiber;
}

// Runs on the fiber's stack when it yields or finishes (the caller has set
// the status to kSuspended or kFinished): goes back to the SwitchInto() that
// ran it (handing it `fiber`, which SwitchInto returns), and returns when the
// fiber is resumed again, with the `value` that SwitchInto() passed
// (non-null: the fiber is being destroyed and must unwind).
PERSIST_BASE_ALWAYS_INLINE inline void* SwitchToResumer(
    FiberControl* fiber) noexcept {
#if PERSIST_FIBERS_ASAN
  __sanitizer_start_switch_fiber(
      fiber->status == FiberStatus::kFinished ? nullptr
                                              : &fiber->fiber_fake_stack,
      fiber->resumer_stack_bottom, fiber->resumer_stack_size);
#endif
#if PERSIST_FIBERS_TSAN
  __tsan_switch_to_fiber(fiber->resumer_tsan_fiber, 0);
#endif
#if PERSIST_FIBERS_INLINE_SWITCH
  void* value = InlineSwitch<kFiberSwitchPoint, kResumerSwitchPoint>(
      &fiber->switch_points, fiber);
#else
  void* value = fiber->switch_stack(&fiber->fiber_sp, fiber->resumer_sp, fiber);
#endif
#if PERSIST_FIBERS_ASAN
  // The next resumer may be another stack than the last one.
  __sanitizer_finish_switch_fiber(fiber->fiber_fake_stack,
                                  &fiber->resumer_stack_bottom,
                                  &fiber->resumer_stack_size);
#endif
  return value;
}

}  // namespace internal
}  // namespace fibers

#endif  // PERSIST_FIBERS_INTERNAL_FIBER_CONTROL_H_
