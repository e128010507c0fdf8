#include "fibers/fiber.h"

#include <cxxabi.h>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <utility>

#include "fibers/internal/sanitizers.h"
#include "fibers/internal/switch_stack.h"

namespace fibers {
namespace internal {
namespace {

// Thrown by yield() in a fiber that is being destroyed, caught at the fiber's
// entry. Deliberately not a std::exception, so `catch (const
// std::exception&)` in a body lets it pass.
struct FiberUnwind {};

[[noreturn]] void Die(const char* message) noexcept {
  std::fprintf(stderr, "fibers: %s\n", message);
  std::fflush(stderr);
  std::terminate();
}

// The bottom frame of every fiber (below it only the assembly trampoline,
// where unwinding stops): no exception may leave it.
void FiberEntry(void* /*value*/, void* arg) noexcept {
  auto* fiber = static_cast<FiberControl*>(arg);
#if PERSIST_FIBERS_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &fiber->resumer_stack_bottom,
                                  &fiber->resumer_stack_size);
#endif
  try {
    fiber->body();
  } catch (const FiberUnwind&) {
    // ~Fiber unwound the stack; nothing to report.
  } catch (...) {
    fiber->exception = std::current_exception();
  }
  // The body's captures die here, in the fiber's own context.
  fiber->body = nullptr;
  fiber->status = FiberStatus::kFinished;
  SwitchToResumer(fiber);
  Die("a finished fiber was resumed");
}

void Destroy(FiberControl* fiber) noexcept {
  switch (fiber->status) {
    case FiberStatus::kRunning:
      Die("a running fiber was destroyed (from inside itself or from a fiber "
          "it resumed)");
    case FiberStatus::kSuspended:
      SwitchInto(fiber, /*value=*/fiber);
      // An unwinding fiber that yields again comes back here suspended: it
      // cannot be finished, and letting it go would leak its stack's objects.
      if (fiber->status != FiberStatus::kFinished) {
        Die("a fiber being destroyed yielded: its body swallowed the unwind "
            "exception (catch (...) without rethrow)");
      }
      FinishSwitchInto(fiber);
      break;
    case FiberStatus::kNotStarted:
    case FiberStatus::kFinished:
      break;
  }
  delete fiber;
}

}  // namespace

FiberControl::FiberControl(std::function<void()> fiber_body,
                           FiberOptions& options)
    : body(std::move(fiber_body)),
      stack(AcquireStack(options.stack_size)),
      context(options.context ? std::move(*options.context)
                              : contextvars::Context()) {
#if PERSIST_FIBERS_INLINE_SWITCH
  switch_points.shared_fp_env = options.fp_env == FpEnv::kShared;
  PrepareSwitchPoint(switch_points.fiber, stack.top(), &FiberEntry, this);
#else
  switch_stack = options.fp_env == FpEnv::kShared
                     ? &persist_switch_stack_shared_fp_env
                     : &persist_switch_stack;
  fiber_sp = persist_prepare_stack(stack.top(), &FiberEntry, this);
#endif
}

FiberControl::~FiberControl() {
  ReleaseStack(std::move(stack));
#if PERSIST_FIBERS_TSAN
  if (tsan_fiber != nullptr) __tsan_destroy_fiber(tsan_fiber);
#endif
}

ExceptionState* InitThreadExceptionState() noexcept {
  thread_exception_state =
      reinterpret_cast<ExceptionState*>(abi::__cxa_get_globals());
  return thread_exception_state;
}

void FinishSwitchInto(FiberControl* fiber) noexcept {
  // Nothing runs on the stack any more: recycle it right away.
  ReleaseStack(std::move(fiber->stack));
#if PERSIST_FIBERS_TSAN
  __tsan_destroy_fiber(fiber->tsan_fiber);
  fiber->tsan_fiber = nullptr;
#endif
}

void ThrowCannotResume(const FiberControl* fiber) {
  if (fiber == nullptr) {
    throw std::logic_error("fibers::Fiber::resume: the Fiber was moved from");
  }
  if (fiber->status == FiberStatus::kFinished) {
    throw std::logic_error(
        "fibers::Fiber::resume: the fiber is done (its body returned or "
        "threw)");
  }
  throw std::logic_error(
      "fibers::Fiber::resume: the fiber is already running (it is the "
      "calling fiber or one that resumed it)");
}

void FinishResume(FiberControl* fiber) {
  FinishSwitchInto(fiber);
  if (fiber->exception != nullptr) {
    std::rethrow_exception(std::exchange(fiber->exception, nullptr));
  }
}

void ThrowYieldOutsideFiber() {
  throw std::logic_error("fibers::yield: called outside a fiber");
}

void ThrowFiberUnwind() { throw FiberUnwind{}; }

void SwapExceptionState(ExceptionState& thread_state,
                        ExceptionState& slot) noexcept {
  void* const caught = thread_state.caught_exceptions;
  const unsigned int uncaught = thread_state.uncaught_exceptions;
  thread_state.caught_exceptions = slot.caught_exceptions;
  thread_state.uncaught_exceptions = slot.uncaught_exceptions;
  slot.caught_exceptions = caught;
  slot.uncaught_exceptions = uncaught;
}

}  // namespace internal

Fiber::Fiber(std::function<void()> body, FiberOptions options) {
  if (!body) {
    throw std::invalid_argument("fibers::Fiber: `body` is empty");
  }
  control_ = std::make_unique<internal::FiberControl>(std::move(body), options);
}

Fiber::Fiber(Fiber&& other) noexcept = default;

Fiber& Fiber::operator=(Fiber&& other) noexcept {
  if (this != &other) {
    if (control_ != nullptr) internal::Destroy(control_.release());
    control_ = std::move(other.control_);
  }
  return *this;
}

Fiber::~Fiber() {
  if (control_ != nullptr) internal::Destroy(control_.release());
}

}  // namespace fibers
