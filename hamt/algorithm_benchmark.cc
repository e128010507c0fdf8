// Benchmarks of the set algebra (hamt/algorithm.h) and of == and diff on
// maps that share structure. int64 -> int64, keys from a fixed-seed
// std::mt19937_64. Names: BM_<Op>_<Impl>/<n>.
//
// Op (one call per iteration; the result is dropped, which frees it):
//   Merge, Intersection, Difference   of a and b, two maps of n random keys
//            of which n/2 are in both (b's values differ from a's).
//   Includes  whether u (all keys of a and b, built on its own, so it
//            shares nothing with b) includes b: true, so every key is seen.
//   MergeShared, IntersectionShared, DifferenceShared   of a and b derived
//            from a by n/100 set() calls (half new keys, half new values
//            for existing keys): what the algebra is for, as the two maps
//            share all but n/100 paths.
//   EqualShared, DiffShared   a == b and diff(a, b) for b = a after one
//            set() of an existing key to a new value (64 such b, used in
//            turn, so the changed key's position varies).
//
// Impl:
//   Hamt         hamt::merge / intersection / difference / includes
//   HamtFold     the best a user can write without them: a transient of a,
//                then one set() or erase() per key of b (Merge, Difference),
//                one erase() per key of a missing from b (Intersection), or
//                one lookup per key of b (Includes)
//   FlatHashMap  absl::flat_hash_map: copy a, then insert or erase
//
// Run: bazel run --config=bench //hamt:algorithm_benchmark --
//        --benchmark_filter=Shared

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "benchmark/benchmark.h"
#include "hamt/algorithm.h"
#include "hamt/map.h"

namespace {

using HamtMap = hamt::Map<int64_t, int64_t>;
using FlatMap = absl::flat_hash_map<int64_t, int64_t>;

constexpr int64_t kMaxSize = 1000000;

// 2 * kMaxSize distinct random keys.
const std::vector<int64_t>& Keys() {
  static const std::vector<int64_t>* const keys = [] {
    auto* result = new std::vector<int64_t>;
    std::mt19937_64 rng(20241201);
    absl::flat_hash_set<int64_t> seen;
    while (result->size() < static_cast<size_t>(2 * kMaxSize)) {
      const int64_t key = static_cast<int64_t>(rng());
      if (seen.insert(key).second) result->push_back(key);
    }
    return result;
  }();
  return *keys;
}

HamtMap BuildHamt(int64_t first, int64_t count, int64_t value_offset) {
  hamt::TransientMap<int64_t, int64_t> transient;
  for (int64_t i = first; i < first + count; ++i) {
    transient.set(Keys()[i], i + value_offset);
  }
  return std::move(transient).persistent();
}

FlatMap ToFlat(const HamtMap& map) {
  FlatMap flat;
  flat.reserve(map.size());
  for (const auto& [k, v] : map) flat.emplace(k, v);
  return flat;
}

// The inputs for one n, built once per process.
struct Inputs {
  HamtMap a, b;                  // n keys each, n/2 in common
  HamtMap u;                     // the keys of both, built independently
  HamtMap shared;                // a after n/100 set() calls
  std::vector<HamtMap> one_set;  // a after one set(), 64 of them
  FlatMap flat_a, flat_b, flat_u, flat_shared;
};

const Inputs& InputsFor(int64_t n) {
  static std::map<int64_t, std::unique_ptr<Inputs>> cache;
  auto& slot = cache[n];
  if (slot) return *slot;
  slot = std::make_unique<Inputs>();
  Inputs& in = *slot;
  in.a = BuildHamt(0, n, 0);
  in.b = BuildHamt(n / 2, n, 1);
  in.u = BuildHamt(0, n / 2 + n, 0);
  std::mt19937_64 rng(static_cast<uint64_t>(n));
  in.shared = in.a;
  for (int64_t i = 0; i < std::max<int64_t>(1, n / 100); ++i) {
    const int64_t key = i % 2 == 0 ? Keys()[rng() % static_cast<uint64_t>(n)]
                                   : Keys()[2 * kMaxSize - 1 - i];
    in.shared = in.shared.set(key, -i);
  }
  for (int i = 0; i < 64; ++i) {
    in.one_set.push_back(
        in.a.set(Keys()[rng() % static_cast<uint64_t>(n)], -1 - i));
  }
  in.flat_a = ToFlat(in.a);
  in.flat_b = ToFlat(in.b);
  in.flat_u = ToFlat(in.u);
  in.flat_shared = ToFlat(in.shared);
  return in;
}

const HamtMap& OtherOf(const Inputs& in, bool shared) {
  return shared ? in.shared : in.b;
}
const FlatMap& FlatOtherOf(const Inputs& in, bool shared) {
  return shared ? in.flat_shared : in.flat_b;
}

// ---- Merge ----

template <bool kShared>
void BM_MergeHamt(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  const HamtMap& b = OtherOf(in, kShared);
  for (auto _ : state) {
    HamtMap result = hamt::merge(in.a, b);
    benchmark::DoNotOptimize(result);
  }
}
template <bool kShared>
void BM_MergeHamtFold(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  const HamtMap& b = OtherOf(in, kShared);
  for (auto _ : state) {
    auto transient = in.a.transient();
    for (const auto& [k, v] : b) transient.set(k, v);
    HamtMap result = std::move(transient).persistent();
    benchmark::DoNotOptimize(result);
  }
}
template <bool kShared>
void BM_MergeFlatHashMap(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  const FlatMap& b = FlatOtherOf(in, kShared);
  for (auto _ : state) {
    FlatMap result = in.flat_a;
    for (const auto& [k, v] : b) result.insert_or_assign(k, v);
    benchmark::DoNotOptimize(result);
  }
}

// ---- Intersection ----

template <bool kShared>
void BM_IntersectionHamt(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  const HamtMap& b = OtherOf(in, kShared);
  for (auto _ : state) {
    HamtMap result = hamt::intersection(in.a, b);
    benchmark::DoNotOptimize(result);
  }
}
template <bool kShared>
void BM_IntersectionHamtFold(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  const HamtMap& b = OtherOf(in, kShared);
  for (auto _ : state) {
    auto transient = in.a.transient();
    for (const auto& entry : in.a) {
      if (!b.contains(entry.first)) transient.erase(entry.first);
    }
    HamtMap result = std::move(transient).persistent();
    benchmark::DoNotOptimize(result);
  }
}
template <bool kShared>
void BM_IntersectionFlatHashMap(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  const FlatMap& b = FlatOtherOf(in, kShared);
  for (auto _ : state) {
    FlatMap result = in.flat_a;
    absl::erase_if(result, [&](const auto& e) { return !b.contains(e.first); });
    benchmark::DoNotOptimize(result);
  }
}

// ---- Difference ----

template <bool kShared>
void BM_DifferenceHamt(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  const HamtMap& b = OtherOf(in, kShared);
  for (auto _ : state) {
    HamtMap result = hamt::difference(in.a, b);
    benchmark::DoNotOptimize(result);
  }
}
template <bool kShared>
void BM_DifferenceHamtFold(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  const HamtMap& b = OtherOf(in, kShared);
  for (auto _ : state) {
    auto transient = in.a.transient();
    for (const auto& entry : b) transient.erase(entry.first);
    HamtMap result = std::move(transient).persistent();
    benchmark::DoNotOptimize(result);
  }
}
template <bool kShared>
void BM_DifferenceFlatHashMap(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  const FlatMap& b = FlatOtherOf(in, kShared);
  for (auto _ : state) {
    FlatMap result = in.flat_a;
    for (const auto& entry : b) result.erase(entry.first);
    benchmark::DoNotOptimize(result);
  }
}

// ---- Includes ----

void BM_Includes_Hamt(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(hamt::includes(in.u, in.b));
}
void BM_Includes_HamtFold(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  for (auto _ : state) {
    bool all = true;
    for (const auto& entry : in.b) {
      if (!in.u.contains(entry.first)) {
        all = false;
        break;
      }
    }
    benchmark::DoNotOptimize(all);
  }
}
void BM_Includes_FlatHashMap(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  for (auto _ : state) {
    bool all = true;
    for (const auto& entry : in.flat_b) {
      if (!in.flat_u.contains(entry.first)) {
        all = false;
        break;
      }
    }
    benchmark::DoNotOptimize(all);
  }
}

// ---- == and diff of maps sharing all but one path ----

void BM_EqualShared_Hamt(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(in.a == in.one_set[i++ & 63]);
  }
}
void BM_DiffShared_Hamt(benchmark::State& state) {
  const Inputs& in = InputsFor(state.range(0));
  size_t i = 0;
  int64_t changes = 0;
  for (auto _ : state) {
    hamt::diff(
        in.a, in.one_set[i++ & 63], [&](int64_t, int64_t) { ++changes; },
        [&](int64_t, int64_t) { ++changes; },
        [&](int64_t, int64_t, int64_t) { ++changes; });
  }
  benchmark::DoNotOptimize(changes);
}

// The report's Merge and MergeShared targets (at 100k, Hamt against
// HamtFold) compare benchmarks whose repetitions vary by up to 20% (cv) on
// a shared 2-core host: with 3 repetitions, Merge came out 1.26x faster in
// one report run and 1.66x in the one before; two by-hand runs of 10 gave
// 1.70x and 1.77x. Both sides of those targets run this many repetitions,
// overriding --benchmark_repetitions (about 20 s more).
constexpr int kTargetRepetitions = 10;

#define PERSIST_HAMT_ALGEBRA_BENCHMARK(op, impl, shared) \
  void BM_##op##_##impl(benchmark::State& state) {       \
    BM_##op##impl<shared>(state);                        \
  }                                                      \
  BENCHMARK(BM_##op##_##impl)                            \
      ->Unit(benchmark::kMicrosecond)                    \
      ->Arg(1000)                                        \
      ->Arg(100000)                                      \
      ->Arg(kMaxSize)

PERSIST_HAMT_ALGEBRA_BENCHMARK(Merge, Hamt, false)
    ->Repetitions(kTargetRepetitions);
PERSIST_HAMT_ALGEBRA_BENCHMARK(Merge, HamtFold, false)
    ->Repetitions(kTargetRepetitions);
PERSIST_HAMT_ALGEBRA_BENCHMARK(Merge, FlatHashMap, false);
PERSIST_HAMT_ALGEBRA_BENCHMARK(Intersection, Hamt, false);
PERSIST_HAMT_ALGEBRA_BENCHMARK(Intersection, HamtFold, false);
PERSIST_HAMT_ALGEBRA_BENCHMARK(Intersection, FlatHashMap, false);
PERSIST_HAMT_ALGEBRA_BENCHMARK(Difference, Hamt, false);
PERSIST_HAMT_ALGEBRA_BENCHMARK(Difference, HamtFold, false);
PERSIST_HAMT_ALGEBRA_BENCHMARK(Difference, FlatHashMap, false);

#define PERSIST_HAMT_SHARED_BENCHMARK(op, impl)          \
  void BM_##op##Shared_##impl(benchmark::State& state) { \
    BM_##op##impl<true>(state);                          \
  }                                                      \
  BENCHMARK(BM_##op##Shared_##impl)                      \
      ->Unit(benchmark::kMicrosecond)                    \
      ->Arg(1000)                                        \
      ->Arg(100000)                                      \
      ->Arg(kMaxSize)

PERSIST_HAMT_SHARED_BENCHMARK(Merge, Hamt)->Repetitions(kTargetRepetitions);
PERSIST_HAMT_SHARED_BENCHMARK(Merge, HamtFold)->Repetitions(kTargetRepetitions);
PERSIST_HAMT_SHARED_BENCHMARK(Merge, FlatHashMap);
PERSIST_HAMT_SHARED_BENCHMARK(Intersection, Hamt);
PERSIST_HAMT_SHARED_BENCHMARK(Intersection, HamtFold);
PERSIST_HAMT_SHARED_BENCHMARK(Intersection, FlatHashMap);
PERSIST_HAMT_SHARED_BENCHMARK(Difference, Hamt);
PERSIST_HAMT_SHARED_BENCHMARK(Difference, HamtFold);
PERSIST_HAMT_SHARED_BENCHMARK(Difference, FlatHashMap);

BENCHMARK(BM_Includes_Hamt)
    ->Unit(benchmark::kMicrosecond)
    ->Arg(1000)
    ->Arg(100000)
    ->Arg(kMaxSize);
BENCHMARK(BM_Includes_HamtFold)
    ->Unit(benchmark::kMicrosecond)
    ->Arg(1000)
    ->Arg(100000)
    ->Arg(kMaxSize);
BENCHMARK(BM_Includes_FlatHashMap)
    ->Unit(benchmark::kMicrosecond)
    ->Arg(1000)
    ->Arg(100000)
    ->Arg(kMaxSize);

// The targets against immer::map's == take the ratios of a by-hand binary
// that compiles this file and runs immer's as many times
// (bench/immer_by_hand.json); the report shows this run's times beside
// them. On a shared 2-core host one process's median of these ~30-90 ns
// benchmarks moves by up to 2x from one minute to the next (with 3
// repetitions, DiffShared/1000 took 52 ns in a report run and 35 ns by
// hand): 30 interleaved repetitions spread each over the whole run. This
// overrides --benchmark_repetitions (about 30 s more).
constexpr int kSharedCompareRepetitions = 30;
BENCHMARK(BM_EqualShared_Hamt)
    ->Unit(benchmark::kNanosecond)
    ->Arg(1000)
    ->Arg(100000)
    ->Repetitions(kSharedCompareRepetitions);
BENCHMARK(BM_DiffShared_Hamt)
    ->Unit(benchmark::kNanosecond)
    ->Arg(1000)
    ->Arg(100000)
    ->Repetitions(kSharedCompareRepetitions);

}  // namespace
