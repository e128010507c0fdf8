// Context-switch cost of fibers::Fiber against Boost.Context's fcontext (the
// fastest widely used switcher, also hand-written assembly) and POSIX
// swapcontext (which makes a sigprocmask system call per switch).
//
// Unit of every BM_Switch_*: one round trip, i.e. two stack switches (into
// the other stack and back): Fiber::resume() + fibers::yield(),
// jump_fcontext() there and back, swapcontext() there and back.
//
//   BM_Switch_Fiber         the public API: also swaps the current
//                           contextvars::Context and the C++ exception state
//                           twice per round trip, and tracks the fiber chain
//   BM_Switch_FiberSharedFpEnv  the same with FiberOptions::fp_env =
//                           FpEnv::kShared: the switches skip MXCSR and the
//                           x87 control word
//   BM_Switch_FiberRaw      persist_switch_stack alone: the out-of-line
//                           switch (Fiber's on AArch64; on x86-64 Fiber
//                           switches inline, see fibers/internal/
//                           inline_switch.h, and is faster than this)
//   BM_Switch_FiberRawSharedFpEnv  persist_switch_stack_shared_fp_env alone
//   BM_Switch_BoostContext  make_fcontext / jump_fcontext (with a shared
//                           libboost_context each call also goes through
//                           the PLT: one more jump, about 5% of a round
//                           trip; linked statically it measures like
//                           BM_Switch_FiberRaw)
//   BM_Switch_Ucontext      makecontext / swapcontext
//   BM_FiberCreate          construct + run to completion of an empty fiber
//                           (default size: the stack comes from the pool)
//
//   bazel run -c opt --config=bench //fibers:fiber_benchmark

#include <ucontext.h>

#include <boost/context/detail/fcontext.hpp>
#include <cstdlib>

#include "benchmark/benchmark.h"
#include "fibers/fiber.h"
#include "fibers/internal/stack.h"
#include "fibers/internal/switch_stack.h"

namespace {

void BM_Switch_Fiber(benchmark::State& state) {
  fibers::Fiber echo([] {
    for (;;) fibers::yield();
  });
  for (auto _ : state) echo.resume();
  // ~Fiber unwinds the endless loop.
}
BENCHMARK(BM_Switch_Fiber);

void BM_Switch_FiberSharedFpEnv(benchmark::State& state) {
  fibers::FiberOptions options;
  options.fp_env = fibers::FpEnv::kShared;
  fibers::Fiber echo(
      [] {
        for (;;) fibers::yield();
      },
      options);
  for (auto _ : state) echo.resume();
}
BENCHMARK(BM_Switch_FiberSharedFpEnv);

void* raw_main_sp = nullptr;
void* raw_fiber_sp = nullptr;

void RawEchoEntry(void* value, void* /*arg*/) {
  for (;;) value = persist_switch_stack(&raw_fiber_sp, raw_main_sp, value);
}

void BM_Switch_FiberRaw(benchmark::State& state) {
  fibers::internal::FiberStack stack(fibers::kDefaultStackSize);
  raw_fiber_sp = persist_prepare_stack(stack.top(), RawEchoEntry, nullptr);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        persist_switch_stack(&raw_main_sp, raw_fiber_sp, nullptr));
  }
  // The echo loop is abandoned with its stack: nothing on it needs
  // destroying.
}
BENCHMARK(BM_Switch_FiberRaw);

void RawSharedFpEnvEchoEntry(void* value, void* /*arg*/) {
  for (;;) {
    value =
        persist_switch_stack_shared_fp_env(&raw_fiber_sp, raw_main_sp, value);
  }
}

void BM_Switch_FiberRawSharedFpEnv(benchmark::State& state) {
  fibers::internal::FiberStack stack(fibers::kDefaultStackSize);
  raw_fiber_sp =
      persist_prepare_stack(stack.top(), RawSharedFpEnvEchoEntry, nullptr);
  for (auto _ : state) {
    benchmark::DoNotOptimize(persist_switch_stack_shared_fp_env(
        &raw_main_sp, raw_fiber_sp, nullptr));
  }
}
BENCHMARK(BM_Switch_FiberRawSharedFpEnv);

namespace fcontext = boost::context::detail;

void BoostEchoEntry(fcontext::transfer_t from) {
  for (;;) from = fcontext::jump_fcontext(from.fctx, from.data);
}

void BM_Switch_BoostContext(benchmark::State& state) {
  fibers::internal::FiberStack stack(fibers::kDefaultStackSize);
  fcontext::fcontext_t echo =
      fcontext::make_fcontext(stack.top(), stack.usable_size(), BoostEchoEntry);
  for (auto _ : state) {
    fcontext::transfer_t back = fcontext::jump_fcontext(echo, nullptr);
    echo = back.fctx;
    benchmark::DoNotOptimize(back.data);
  }
}
BENCHMARK(BM_Switch_BoostContext);

ucontext_t ucontext_main;
ucontext_t ucontext_echo;

void UcontextEchoEntry() {
  for (;;) swapcontext(&ucontext_echo, &ucontext_main);
}

void BM_Switch_Ucontext(benchmark::State& state) {
  fibers::internal::FiberStack stack(fibers::kDefaultStackSize);
  if (getcontext(&ucontext_echo) != 0) std::abort();
  ucontext_echo.uc_stack.ss_sp = stack.bottom();
  ucontext_echo.uc_stack.ss_size = stack.usable_size();
  ucontext_echo.uc_link = nullptr;
  makecontext(&ucontext_echo, UcontextEchoEntry, 0);
  for (auto _ : state) swapcontext(&ucontext_main, &ucontext_echo);
}
BENCHMARK(BM_Switch_Ucontext);

void BM_FiberCreate(benchmark::State& state) {
  for (auto _ : state) {
    fibers::Fiber fiber([] {});
    fiber.resume();
  }
}
BENCHMARK(BM_FiberCreate);

}  // namespace
