// fibers::Fiber: a stackful coroutine on its own mmap'd stack, switched by
// hand-written assembly (fibers/internal/switch_stack_*.S), with its own
// current contextvars::Context.
//
// A Fiber runs `body` on a separate stack. resume() runs it until it calls
// fibers::yield() or returns; yield() returns to whoever called resume().
// Fibers nest: a fiber may resume another fiber, and that one's yield()
// returns into the first. An exception escaping `body` is caught at the
// bottom of the fiber's stack and rethrown by the resume() that ran it.
//
// Each fiber has its own current Context (PEP 567 semantics, as in
// greenlet): ContextVar::set() inside a fiber is invisible to the resumer and
// to other fibers. A fiber starts with a new empty Context unless
// FiberOptions::context gives one, e.g. contextvars::copy_context() to start
// with the creator's values (sets inside still do not leak back).
//
// Destroying a suspended fiber unwinds its stack so destructors run: the
// destructor resumes it once more and the pending yield() throws a private
// unwind exception that is caught at the fiber's entry. Bodies must let that
// exception pass: a catch (...) that does not rethrow swallows it, and if the
// body then yields again the process is terminated (std::terminate) rather
// than leaking the stack's objects. A fiber that never started is destroyed
// without running.
//
// Each fiber also has its own C++ exception-handling state, so a fiber may
// yield inside a catch handler and still `throw;` its own exception later.
//
// Cost: a resume()+yield() round trip is two stack switches (on x86-64
// inline assembly that saves only the stack pointer, resume address, frame
// pointer, MXCSR and x87 control word: the compiler keeps whatever else is
// live; see fibers/internal/inline_switch.h), two O(1) Context swaps and no
// allocation: 6.9-7.2 ns on AMD EPYC at -O2 and -O3, 0.9x a bare
// Boost.Context jump_fcontext round trip (which saves every callee-saved
// register and swaps no Context; both are bounded by the slow stmxcsr and
// ldmxcsr) and over 30x faster than swapcontext (see fiber_benchmark.cc).
// With FiberOptions::fp_env = FpEnv::kShared the switches skip the
// floating-point control state (see FpEnv for when that is safe):
// 4.1-4.2 ns, 0.55x Boost.Context. resume() and yield() are always inlined,
// at -O2 too, so the switch runs in the caller's own frame.
//
// Linking: the switch is assembly with hidden symbols, called from the
// inline resume()/yield(), so the fibers library is always a static library
// (PIC, so it may go into a shared object) and is linked into the module
// that uses it. x86-64 CET: the switch is IBT-compatible (marked in its
// .note.gnu.property) but does not support shadow stacks (SHSTK) and does not
// claim to, so a program using fibers never runs with shadow stacks; see the
// README. AArch64: BTI-compatible and marked so.
//
// Debuggers and unwinders: a fiber's stack ends at its entry frame (the
// return address there is marked undefined), so glibc's backtrace() and
// gdb's bt inside a fiber stop at the fiber's entry instead of wandering
// into the resumer's stack.
// Creating a fiber takes one allocation for its control block (plus
// std::function's and the new Context's) and, for the default stack size, a
// stack from a per-thread pool (else mmap + mprotect).
//
// Stacks: kDefaultStackSize usable bytes unless FiberOptions::stack_size says
// otherwise, with a PROT_NONE guard page below, so an overflow dies with
// SIGSEGV instead of corrupting memory (a single frame larger than a page
// could jump over the guard unless compiled with -fstack-clash-protection).
// Pages are committed on first touch, so an idle fiber costs a few KiB.
//
// Sanitizers: switches are annotated for AddressSanitizer and
// ThreadSanitizer when the code is built with them (ThreadSanitizer gives
// each started fiber a thread-sized state, so keep thousands of suspended
// fibers out of TSan runs).
//
// Thread-safety: a Fiber is thread-compatible; it runs on the thread that
// resumes it. Resume a given fiber from one thread only (code in the body may
// cache thread-locals across a yield()).
//
// Example:
//
//   fibers::Fiber counter([] {
//     for (int i = 0; i < 3; ++i) {
//       std::printf("%d\n", i);
//       fibers::yield();
//     }
//   });
//   while (!counter.done()) counter.resume();  // prints 0, 1, 2

#ifndef PERSIST_FIBERS_FIBER_H_
#define PERSIST_FIBERS_FIBER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include "contextvars/contextvars.h"
#include "fibers/internal/fiber_control.h"
#include "fibers/internal/stack.h"

namespace fibers {

// Usable bytes of a fiber stack unless FiberOptions::stack_size says
// otherwise. Only stacks of exactly this size are pooled.
inline constexpr std::size_t kDefaultStackSize = internal::kDefaultStackSize;

// What a fiber's switches do with the floating-point control state: x86-64's
// MXCSR (SSE rounding mode, flush-to-zero, denormals-are-zero, exception
// masks) and x87 control word, AArch64's FPCR (rounding mode, flush-to-zero,
// default NaN). The status flags (MXCSR's exception flags, FPSR) are never
// switched.
enum class FpEnv {
  // Each fiber keeps its own control state: it starts with its creator's,
  // and std::fesetround() or a flush-to-zero change inside the fiber affects
  // only the fiber, as if it were a thread. Saving and restoring it costs
  // about half of a switch on x86-64 (stmxcsr/ldmxcsr are microcoded).
  kPreserve,
  // Switches into and out of the fiber neither save nor restore it: the
  // fiber runs with its resumer's control state, and changes the fiber makes
  // are seen by the resumer after resume() returns (and changes the resumer
  // makes between resumes are seen by the fiber). Safe when the fiber body
  // does not change the control state, or changes it only for a scope that
  // contains no yield() and restores it before yielding; that is most code
  // (std::fesetround, _MM_SET_FLUSH_ZERO_MODE and fesetenv calls are rare).
  // Not safe when the fiber relies on a mode it set before a yield(), or
  // when it may be resumed from code that runs with another mode (a library
  // that enables flush-to-zero for its callbacks) and must not see it.
  kShared,
};

struct FiberOptions {
  // Usable stack bytes, rounded up to whole pages (at least 16 KiB).
  std::size_t stack_size = kDefaultStackSize;
  // FpEnv::kShared makes switches cheaper (BM_Switch_FiberSharedFpEnv) when
  // the body keeps the floating-point control state alone; see FpEnv.
  FpEnv fp_env = FpEnv::kPreserve;
  // The Context the fiber starts in; a new empty Context when absent. A
  // Context is a handle: pass contextvars::copy_context() for a snapshot of
  // the current values.
  std::optional<contextvars::Context> context;
};

class Fiber {
 public:
  // Prepares `body` to run on a new stack; nothing runs until resume().
  // Throws std::invalid_argument if `body` is empty, std::system_error if no
  // stack can be mapped.
  explicit Fiber(std::function<void()> body, FiberOptions options = {});

  // Moving transfers the fiber (its control block does not move, so a
  // running fiber may even be moved); the moved-from Fiber is done().
  Fiber(Fiber&& other) noexcept;
  // Destroys the current fiber (see ~Fiber) and takes over `other`.
  Fiber& operator=(Fiber&& other) noexcept;
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // A suspended fiber is unwound (destructors on its stack run); its stack
  // goes back to the pool. Destroying a running fiber (from inside itself or
  // one it resumed) terminates the process.
  ~Fiber();

  // Runs the fiber on the calling thread until it yields or returns. If the
  // body ended with an exception, rethrows it (once). Throws
  // std::logic_error when the fiber is done() or already running (resuming
  // itself or a fiber up the resume chain).
  PERSIST_BASE_ALWAYS_INLINE void resume();

  // True once the body has returned or thrown (or for a moved-from Fiber).
  bool done() const noexcept;

 private:
  std::unique_ptr<internal::FiberControl> control_;
};

// Suspends the calling fiber and returns from the resume() that ran it; the
// next resume() continues after this call. Throws std::logic_error outside a
// fiber.
PERSIST_BASE_ALWAYS_INLINE void yield();

// True when called from inside a fiber's body.
bool in_fiber() noexcept;

// Implementation details follow: the hot paths are always inlined, at -O2
// too (see fibers/internal/fiber_control.h for why).

inline void Fiber::resume() {
  internal::FiberControl* fiber = control_.get();
  if (PERSIST_BASE_PREDICT_FALSE(fiber == nullptr ||
                                 fiber->status >=
                                     internal::FiberStatus::kRunning)) {
    internal::ThrowCannotResume(fiber);
  }
  fiber = internal::SwitchInto(fiber);
  // Only a finished fiber can have an exception to rethrow.
  if (PERSIST_BASE_PREDICT_FALSE(fiber->status ==
                                 internal::FiberStatus::kFinished)) {
    internal::FinishResume(fiber);
  }
}

inline bool Fiber::done() const noexcept {
  return control_ == nullptr ||
         control_->status == internal::FiberStatus::kFinished;
}

inline void yield() {
  internal::FiberControl* const fiber = internal::current_fiber;
  if (PERSIST_BASE_PREDICT_FALSE(fiber == nullptr)) {
    internal::ThrowYieldOutsideFiber();
  }
  // (A fiber that yields while ~Fiber unwinds it goes back to ~Fiber, which
  // sees it suspended and terminates: no check needed here.)
  fiber->status = internal::FiberStatus::kSuspended;
  // Non-null when resumed by ~Fiber to unwind.
  if (PERSIST_BASE_PREDICT_FALSE(internal::SwitchToResumer(fiber) != nullptr)) {
    internal::ThrowFiberUnwind();
  }
}

inline bool in_fiber() noexcept { return internal::current_fiber != nullptr; }

}  // namespace fibers

#endif  // PERSIST_FIBERS_FIBER_H_
