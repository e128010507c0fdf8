// Benchmarks of contextvars (HAMT) against contextvars::naive (a whole map
// copied on every set, as gevent.contextvars), with <vars> variables already
// set in the current context, and a thread_local read as the floor of get().
//
//   bazel run --config=bench //contextvars:contextvars_benchmark
//
// Naive stops at 10k variables: building its context sets one variable at a
// time, O(n) each, O(n^2) in all.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/optimization.h"
#include "benchmark/benchmark.h"
#include "contextvars/contextvars.h"
#include "contextvars/naive/contextvars.h"

namespace {

struct Hamt {
  using Context = contextvars::Context;
  using IntVar = contextvars::ContextVar<int>;
  static Context copy_context() { return contextvars::copy_context(); }
};

struct Naive {
  using Context = contextvars::naive::Context;
  using IntVar = contextvars::naive::ContextVar<int>;
  static Context copy_context() { return contextvars::naive::copy_context(); }
};

// Makes the compiler compute `value` into a register on every call.
template <class T>
inline void Consume(T value) {
  asm volatile("" : : "r"(value) : "memory");
}

// get() and its floor, a thread_local read, are a few instructions each,
// so their loops are unrolled eight times and run from functions of their
// own that start at a 64-byte boundary: a loop of one get() ran at 0.5 or
// 1.0 ns per get, the same instructions, depending on whether it straddled
// a 64-byte line, which changed from build to build (-O2 to -O3, g++ to
// clang). kLoopBatch iterations a call.
constexpr benchmark::IterationCount kLoopBatch = 1024;

template <class Body>
PERSIST_BASE_ALWAYS_INLINE inline void RunBatch(const Body& body) {
  for (benchmark::IterationCount n = 0; n < kLoopBatch; n += 8) {
    body();
    body();
    body();
    body();
    body();
    body();
    body();
    body();
  }
}

template <class Var>
PERSIST_BASE_NOINLINE PERSIST_BASE_CODE_ALIGNED void GetBatch(const Var& var) {
  RunBatch([&]() PERSIST_BASE_ALWAYS_INLINE { Consume(var.get()); });
}

// A context holding `n` variables, built once per implementation and size
// (the benchmark functions are called several times) and never freed.
template <class Impl>
struct Populated {
  std::vector<std::unique_ptr<typename Impl::IntVar>> vars;
  typename Impl::Context context;

  static const Populated& Get(int64_t n) {
    static auto* const cache = new std::map<int64_t, Populated*>();
    Populated*& entry = (*cache)[n];
    if (entry == nullptr) {
      entry = new Populated();
      entry->context.run([&] {
        for (int64_t i = 0; i < n; ++i) {
          entry->vars.push_back(std::make_unique<typename Impl::IntVar>(
              "var" + std::to_string(i)));
          entry->vars.back()->set(static_cast<int>(i));
        }
      });
    }
    return *entry;
  }
};

// Runs `body(var)` in a fresh copy of the populated context, `var` being one
// of its variables.
template <class Impl, class Body>
void InPopulatedContext(benchmark::State& state, Body body) {
  const Populated<Impl>& populated = Populated<Impl>::Get(state.range(0));
  const auto& var = *populated.vars[populated.vars.size() / 2];
  populated.context.copy().run([&] { body(var); });
}

template <class Impl>
void BM_VarGet(benchmark::State& state) {
  InPopulatedContext<Impl>(state, [&](const typename Impl::IntVar& var) {
    while (state.KeepRunningBatch(kLoopBatch)) GetBatch(var);
  });
}

template <class Impl>
void BM_VarSet(benchmark::State& state) {
  InPopulatedContext<Impl>(state, [&](const typename Impl::IntVar& var) {
    int i = 0;
    for (auto _ : state) {
      auto token = var.set(++i);
      benchmark::DoNotOptimize(token);
    }
  });
}

template <class Impl>
void BM_VarSetReset(benchmark::State& state) {
  InPopulatedContext<Impl>(state, [&](const typename Impl::IntVar& var) {
    int i = 0;
    for (auto _ : state) {
      auto token = var.set(++i);
      var.reset(token);
    }
  });
}

template <class Impl>
void BM_CopyContext(benchmark::State& state) {
  InPopulatedContext<Impl>(state, [&](const typename Impl::IntVar&) {
    for (auto _ : state) {
      auto context = Impl::copy_context();
      benchmark::DoNotOptimize(context);
    }
  });
}

template <class Impl>
void BM_ContextRun(benchmark::State& state) {
  const Populated<Impl>& populated = Populated<Impl>::Get(state.range(0));
  const typename Impl::Context context = populated.context.copy();
  for (auto _ : state) {
    int result = context.run([] { return 1; });
    benchmark::DoNotOptimize(result);
  }
}

}  // namespace

// External linkage, so the compiler cannot fold it into a constant.
// Read through Consume(), not benchmark::DoNotOptimize(): GCC satisfies
// DoNotOptimize's "m" alternative with the thread_local's own address, and
// the read disappears from the loop.
thread_local int thread_local_value = 1;

namespace {

PERSIST_BASE_NOINLINE PERSIST_BASE_CODE_ALIGNED void ThreadLocalReadBatch() {
  RunBatch([]() PERSIST_BASE_ALWAYS_INLINE { Consume(thread_local_value); });
}

// The floor of VarGet: one thread_local read per iteration.
void BM_ThreadLocalRead(benchmark::State& state) {
  while (state.KeepRunningBatch(kLoopBatch)) ThreadLocalReadBatch();
}
BENCHMARK(BM_ThreadLocalRead);

void HamtSizes(benchmark::internal::Benchmark* b) {
  for (int n = 1; n <= 100000; n *= 10) b->Arg(n);
}
void NaiveSizes(benchmark::internal::Benchmark* b) {
  for (int n = 1; n <= 10000; n *= 10) b->Arg(n);
}

#define PERSIST_CONTEXTVARS_BENCHMARK(op) \
  BENCHMARK_TEMPLATE(BM_##op, Hamt)       \
      ->Name("BM_" #op "_Hamt")           \
      ->Apply(HamtSizes);                 \
  BENCHMARK_TEMPLATE(BM_##op, Naive)      \
      ->Name("BM_" #op "_Naive")          \
      ->Apply(NaiveSizes)

PERSIST_CONTEXTVARS_BENCHMARK(VarGet);
PERSIST_CONTEXTVARS_BENCHMARK(VarSet);
PERSIST_CONTEXTVARS_BENCHMARK(VarSetReset);
PERSIST_CONTEXTVARS_BENCHMARK(CopyContext);
PERSIST_CONTEXTVARS_BENCHMARK(ContextRun);

}  // namespace
