// Benchmarks of hamt::Map against its baselines, int64 -> int64, keys drawn
// from a fixed-seed std::mt19937_64. Names: BM_<Op>_<Impl>/<n>.
//
// Impl:
//   Hamt            persistent hamt::Map (const& updates, the base is kept)
//   HamtTransient   hamt::TransientMap, edited in place
//   Naive           what a persistent map without structure sharing does on
//                   every update: copy an absl::flat_hash_map, then edit it
//   FlatHashMap     mutable absl::flat_hash_map
//   StdUnorderedMap mutable std::unordered_map
//
// Op (per iteration):
//   Set      set a new value for an existing random key of a map of size n
//            (the key sequence of Find below).
//            Hamt keeps the base and drops the result (path copy + free);
//            Naive copies the base and assigns; mutable maps assign in place.
//   Find     look up an existing random key. Iteration i looks up
//            Probes(n)[i mod 65536], the same sequence for every Impl: keys
//            drawn uniformly, with repetition, from the n keys (so neither
//            in insertion nor in memory order). The lookups are independent
//            of each other, so the CPU overlaps consecutive ones: this is
//            throughput, not latency, and it favours short chains of
//            dependent loads (a control byte then a slot for FlatHashMap,
//            one node per level for Hamt). At n = 1M the 65536 probes touch
//            a few MB of FlatHashMap and about three times that of Hamt, so
//            those results depend on how much of the shared L3 is free.
//   FindChain  Find, but each key depends on the previous lookup's result,
//            so lookups cannot overlap: the latency of one lookup (Hamt and
//            FlatHashMap).
//   Erase    remove an existing random key. Hamt and Naive keep the base
//            and drop the result; mutable maps (and HamtTransient) erase it
//            and insert it back so the size stays n (both costs measured).
//   Iterate  sum the values of all n entries (items_per_second = entries).
//   Build    insert n random keys into an empty map (Hamt: m = m.set(...);
//            Naive stops at 10k since it is quadratic).
//
// Baseline of the machine: BM_Chase_Memory/<n>, one dependent load in a
// buffer the size of an n-entry Hamt (see there); counter buffer_bytes is
// that buffer's size.
//
// Counter bytes_per_entry: bytes of live memory for the n-entry map divided
// by n. Hamt: node bytes of its size-class allocator (exact, no malloc
// overhead, as nodes are carved from chunks). Others: bytes requested from a
// counting allocator (malloc's own per-block overhead not included, which
// understates std::unordered_map by ~8-16 bytes per entry).
//
// Run: bazel run --config=bench //hamt:map_benchmark -- --benchmark_filter=...
// (--benchmark_min_time=0.1 for a quicker pass.)

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "benchmark/benchmark.h"
#include "hamt/map.h"

namespace {

// ---- memory accounting for the baselines ----

int64_t live_baseline_bytes = 0;

template <class T>
struct CountingAllocator {
  using value_type = T;
  CountingAllocator() = default;
  template <class U>
  CountingAllocator(const CountingAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(size_t count) {
    live_baseline_bytes += static_cast<int64_t>(count * sizeof(T));
    return std::allocator<T>().allocate(count);
  }
  void deallocate(T* pointer, size_t count) {
    live_baseline_bytes -= static_cast<int64_t>(count * sizeof(T));
    std::allocator<T>().deallocate(pointer, count);
  }
  friend bool operator==(const CountingAllocator&, const CountingAllocator&) {
    return true;
  }
  friend bool operator!=(const CountingAllocator&, const CountingAllocator&) {
    return false;
  }
};

using HamtMap = hamt::Map<int64_t, int64_t>;
using HamtTransient = hamt::TransientMap<int64_t, int64_t>;
using FlatMap =
    absl::flat_hash_map<int64_t, int64_t, absl::Hash<int64_t>,
                        std::equal_to<int64_t>,
                        CountingAllocator<std::pair<const int64_t, int64_t>>>;
using StdMap =
    std::unordered_map<int64_t, int64_t, std::hash<int64_t>,
                       std::equal_to<int64_t>,
                       CountingAllocator<std::pair<const int64_t, int64_t>>>;

constexpr int64_t kMaxSize = 1000000;
constexpr size_t kProbeCount = size_t{1} << 16;

// kMaxSize distinct random keys; a map of size n holds the first n.
const std::vector<int64_t>& Keys() {
  static const std::vector<int64_t>* const keys = [] {
    auto* result = new std::vector<int64_t>;
    std::mt19937_64 rng(20240601);
    absl::flat_hash_map<int64_t, bool> seen;
    while (result->size() < static_cast<size_t>(kMaxSize)) {
      const int64_t key = static_cast<int64_t>(rng());
      if (seen.emplace(key, true).second) result->push_back(key);
    }
    return result;
  }();
  return *keys;
}

// kProbeCount keys drawn at random (with repetition) from the first n.
const std::vector<int64_t>& Probes(int64_t n) {
  static std::map<int64_t, std::vector<int64_t>> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    std::mt19937_64 rng(static_cast<uint64_t>(n) * 7919);
    std::vector<int64_t> probes(kProbeCount);
    for (auto& probe : probes) {
      probe = Keys()[rng() % static_cast<uint64_t>(n)];
    }
    it = cache.emplace(n, std::move(probes)).first;
  }
  return it->second;
}

// Cycles through Probes(n), the same sequence for every implementation.
class ProbeCycle {
 public:
  explicit ProbeCycle(int64_t n) : probes_(Probes(n)) {}
  int64_t next() { return probes_[next_++ & (kProbeCount - 1)]; }
  // The next probe, or the one after it when `previous_value` is odd: the
  // key depends on the previous lookup's result (values are key indices).
  int64_t next_after(int64_t previous_value) {
    next_ += static_cast<size_t>(previous_value & 1);
    return next();
  }

 private:
  const std::vector<int64_t>& probes_;
  size_t next_ = 0;
};

// Maps of size n, built once per process and kept for reuse.
template <class M>
M BuildMap(int64_t n) {
  M map;
  for (int64_t i = 0; i < n; ++i) map[Keys()[i]] = i;
  return map;
}
template <>
HamtMap BuildMap<HamtMap>(int64_t n) {
  HamtTransient transient;
  for (int64_t i = 0; i < n; ++i) transient.set(Keys()[i], i);
  return std::move(transient).persistent();
}

template <class M>
const M& CachedMap(int64_t n) {
  static std::map<int64_t, std::unique_ptr<M>> cache;
  auto& slot = cache[n];
  if (!slot) slot = std::make_unique<M>(BuildMap<M>(n));
  return *slot;
}

double BytesPerEntry(const HamtMap& map) {
  return static_cast<double>(hamt::internal::MapAccess::node_bytes(map)) /
         static_cast<double>(map.size());
}

// Baseline bytes of a map built from scratch.
template <class M>
double BaselineBytesPerEntry(int64_t n) {
  const int64_t before = live_baseline_bytes;
  M map = BuildMap<M>(n);
  return static_cast<double>(live_baseline_bytes - before) /
         static_cast<double>(n);
}

void SetBytesCounter(benchmark::State& state, double bytes_per_entry) {
  state.counters["bytes_per_entry"] = bytes_per_entry;
}

// ---- Set ----

void BM_Set_Hamt(benchmark::State& state) {
  const int64_t n = state.range(0);
  const HamtMap& base = CachedMap<HamtMap>(n);
  ProbeCycle probes(n);
  int64_t value = -1;
  for (auto _ : state) {
    HamtMap updated = base.set(probes.next(), value--);
    benchmark::DoNotOptimize(updated);
  }
  SetBytesCounter(state, BytesPerEntry(base));
}

void BM_Set_HamtTransient(benchmark::State& state) {
  const int64_t n = state.range(0);
  // A map of its own: every node unique, so sets write in place.
  HamtTransient transient = BuildMap<HamtMap>(n).transient();
  ProbeCycle probes(n);
  int64_t value = -1;
  for (auto _ : state) {
    transient.set(probes.next(), value--);
  }
  HamtMap result = std::move(transient).persistent();
  benchmark::DoNotOptimize(result);
}

void BM_Set_Naive(benchmark::State& state) {
  const int64_t n = state.range(0);
  const FlatMap& base = CachedMap<FlatMap>(n);
  ProbeCycle probes(n);
  int64_t value = -1;
  for (auto _ : state) {
    FlatMap copy = base;
    copy[probes.next()] = value--;
    benchmark::DoNotOptimize(copy);
  }
  SetBytesCounter(state, BaselineBytesPerEntry<FlatMap>(n));
}

template <class M>
void BM_Set_Mutable(benchmark::State& state) {
  const int64_t n = state.range(0);
  M map = CachedMap<M>(n);
  ProbeCycle probes(n);
  int64_t value = -1;
  for (auto _ : state) {
    map[probes.next()] = value--;
  }
  benchmark::DoNotOptimize(map);
  SetBytesCounter(state, BaselineBytesPerEntry<M>(n));
}
void BM_Set_FlatHashMap(benchmark::State& state) {
  BM_Set_Mutable<FlatMap>(state);
}
void BM_Set_StdUnorderedMap(benchmark::State& state) {
  BM_Set_Mutable<StdMap>(state);
}

// ---- Find ----

void BM_Find_Hamt(benchmark::State& state) {
  const int64_t n = state.range(0);
  const HamtMap& map = CachedMap<HamtMap>(n);
  ProbeCycle probes(n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(map.find(probes.next()));
  }
  SetBytesCounter(state, BytesPerEntry(map));
}

template <class M>
void BM_Find_Mutable(benchmark::State& state) {
  const int64_t n = state.range(0);
  const M& map = CachedMap<M>(n);
  ProbeCycle probes(n);
  for (auto _ : state) {
    auto it = map.find(probes.next());
    benchmark::DoNotOptimize(&it->second);
  }
  SetBytesCounter(state, BaselineBytesPerEntry<M>(n));
}
void BM_Find_FlatHashMap(benchmark::State& state) {
  BM_Find_Mutable<FlatMap>(state);
}
void BM_Find_StdUnorderedMap(benchmark::State& state) {
  BM_Find_Mutable<StdMap>(state);
}

// ---- FindChain: latency ----

void BM_FindChain_Hamt(benchmark::State& state) {
  const int64_t n = state.range(0);
  const HamtMap& map = CachedMap<HamtMap>(n);
  ProbeCycle probes(n);
  int64_t value = 0;
  for (auto _ : state) value = *map.find(probes.next_after(value));
  benchmark::DoNotOptimize(value);
}

void BM_FindChain_FlatHashMap(benchmark::State& state) {
  const int64_t n = state.range(0);
  const FlatMap& map = CachedMap<FlatMap>(n);
  ProbeCycle probes(n);
  int64_t value = 0;
  for (auto _ : state) value = map.find(probes.next_after(value))->second;
  benchmark::DoNotOptimize(value);
}

// ---- Chase: the machine's memory latency ----

// Follows a random cycle of pointers, one per 64-byte line, through a
// buffer as big as the n-entry Hamt (24 bytes per entry), allocated like
// its nodes (2 MiB aligned, transparent huge pages where the kernel allows
// them). Each load waits for the one before: the latency of one cache or
// DRAM access at that working-set size. A lookup or an update at n = 1M
// needs at least two such dependent accesses below the cached top levels.
void BM_Chase_Memory(benchmark::State& state) {
  constexpr size_t kLine = 64;
  constexpr size_t kAlign = size_t{2} << 20;
  const size_t lines =
      std::max<size_t>(2, static_cast<size_t>(state.range(0)) * 24 / kLine);
  const size_t bytes = (lines * kLine + kAlign - 1) / kAlign * kAlign;
  std::unique_ptr<char, decltype(&std::free)> buffer(
      static_cast<char*>(std::aligned_alloc(kAlign, bytes)), &std::free);
  if (buffer == nullptr) {
    state.SkipWithError("out of memory");
    return;
  }
#if defined(MADV_HUGEPAGE)
  madvise(buffer.get(), bytes, MADV_HUGEPAGE);
#endif
  // Sattolo's shuffle: a permutation with a single cycle through all lines.
  std::vector<size_t> order(lines);
  for (size_t i = 0; i < lines; ++i) order[i] = i;
  std::mt19937_64 rng(lines);
  for (size_t i = lines - 1; i > 0; --i) std::swap(order[i], order[rng() % i]);
  for (size_t i = 0; i < lines; ++i) {
    char* next = buffer.get() + order[(i + 1) % lines] * kLine;
    std::memcpy(buffer.get() + order[i] * kLine, &next, sizeof next);
  }
  char* position = buffer.get() + order[0] * kLine;
  for (auto _ : state) {
    std::memcpy(&position, static_cast<const void*>(position), sizeof(char*));
  }
  benchmark::DoNotOptimize(position);
  // The report's latency table shows the working-set size from here.
  state.counters["buffer_bytes"] = static_cast<double>(lines * kLine);
}

// ---- Erase ----

void BM_Erase_Hamt(benchmark::State& state) {
  const int64_t n = state.range(0);
  const HamtMap& base = CachedMap<HamtMap>(n);
  ProbeCycle probes(n);
  for (auto _ : state) {
    HamtMap erased = base.erase(probes.next());
    benchmark::DoNotOptimize(erased);
  }
}

void BM_Erase_HamtTransient(benchmark::State& state) {
  const int64_t n = state.range(0);
  // A map of its own: every node unique, so sets write in place.
  HamtTransient transient = BuildMap<HamtMap>(n).transient();
  ProbeCycle probes(n);
  for (auto _ : state) {
    const int64_t key = probes.next();
    transient.erase(key);
    transient.set(key, key);
  }
  HamtMap result = std::move(transient).persistent();
  benchmark::DoNotOptimize(result);
}

void BM_Erase_Naive(benchmark::State& state) {
  const int64_t n = state.range(0);
  const FlatMap& base = CachedMap<FlatMap>(n);
  ProbeCycle probes(n);
  for (auto _ : state) {
    FlatMap copy = base;
    copy.erase(probes.next());
    benchmark::DoNotOptimize(copy);
  }
}

template <class M>
void BM_Erase_Mutable(benchmark::State& state) {
  const int64_t n = state.range(0);
  M map = CachedMap<M>(n);
  ProbeCycle probes(n);
  for (auto _ : state) {
    const int64_t key = probes.next();
    map.erase(key);
    map.emplace(key, key);
  }
  benchmark::DoNotOptimize(map);
}
void BM_Erase_FlatHashMap(benchmark::State& state) {
  BM_Erase_Mutable<FlatMap>(state);
}
void BM_Erase_StdUnorderedMap(benchmark::State& state) {
  BM_Erase_Mutable<StdMap>(state);
}

// ---- Iterate ----

template <class M>
void BM_Iterate(benchmark::State& state) {
  const int64_t n = state.range(0);
  const M& map = CachedMap<M>(n);
  for (auto _ : state) {
    int64_t sum = 0;
    for (const auto& pair : map) sum += pair.second;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * n);
}
void BM_Iterate_Hamt(benchmark::State& state) { BM_Iterate<HamtMap>(state); }
void BM_Iterate_FlatHashMap(benchmark::State& state) {
  BM_Iterate<FlatMap>(state);
}
void BM_Iterate_StdUnorderedMap(benchmark::State& state) {
  BM_Iterate<StdMap>(state);
}

// ---- Build ----

void BM_Build_Hamt(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto& keys = Keys();
  double bytes = 0;
  for (auto _ : state) {
    HamtMap map;
    for (int64_t i = 0; i < n; ++i) map = map.set(keys[i], i);
    bytes = BytesPerEntry(map);
    benchmark::DoNotOptimize(map);
  }
  state.SetItemsProcessed(state.iterations() * n);
  SetBytesCounter(state, bytes);
}

void BM_Build_HamtTransient(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto& keys = Keys();
  double bytes = 0;
  for (auto _ : state) {
    HamtTransient transient;
    for (int64_t i = 0; i < n; ++i) transient.set(keys[i], i);
    HamtMap map = std::move(transient).persistent();
    bytes = BytesPerEntry(map);
    benchmark::DoNotOptimize(map);
  }
  state.SetItemsProcessed(state.iterations() * n);
  SetBytesCounter(state, bytes);
}

void BM_Build_Naive(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto& keys = Keys();
  for (auto _ : state) {
    FlatMap map;
    for (int64_t i = 0; i < n; ++i) {
      FlatMap next = map;
      next[keys[i]] = i;
      map = std::move(next);
    }
    benchmark::DoNotOptimize(map);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

template <class M>
void BM_Build_Mutable(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto& keys = Keys();
  double bytes = 0;
  for (auto _ : state) {
    const int64_t before = live_baseline_bytes;
    M map;
    for (int64_t i = 0; i < n; ++i) map[keys[i]] = i;
    bytes = static_cast<double>(live_baseline_bytes - before) /
            static_cast<double>(n);
    benchmark::DoNotOptimize(map);
  }
  state.SetItemsProcessed(state.iterations() * n);
  SetBytesCounter(state, bytes);
}
void BM_Build_FlatHashMap(benchmark::State& state) {
  BM_Build_Mutable<FlatMap>(state);
}
void BM_Build_StdUnorderedMap(benchmark::State& state) {
  BM_Build_Mutable<StdMap>(state);
}

// MinTime is left to --benchmark_min_time (a per-benchmark MinTime would
// override the flag).
#define PERSIST_HAMT_BENCHMARK(name, max_n) \
  BENCHMARK(name)                           \
      ->Unit(benchmark::kNanosecond)        \
      ->RangeMultiplier(10)                 \
      ->Range(1, max_n)

PERSIST_HAMT_BENCHMARK(BM_Set_Hamt, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Set_HamtTransient, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Set_Naive, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Set_FlatHashMap, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Set_StdUnorderedMap, kMaxSize);

PERSIST_HAMT_BENCHMARK(BM_Find_Hamt, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Find_FlatHashMap, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Find_StdUnorderedMap, kMaxSize);

PERSIST_HAMT_BENCHMARK(BM_FindChain_Hamt, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_FindChain_FlatHashMap, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Chase_Memory, kMaxSize);

PERSIST_HAMT_BENCHMARK(BM_Erase_Hamt, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Erase_HamtTransient, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Erase_Naive, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Erase_FlatHashMap, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Erase_StdUnorderedMap, kMaxSize);

PERSIST_HAMT_BENCHMARK(BM_Iterate_Hamt, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Iterate_FlatHashMap, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Iterate_StdUnorderedMap, kMaxSize);

PERSIST_HAMT_BENCHMARK(BM_Build_Hamt, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Build_HamtTransient, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Build_Naive, 10000);
PERSIST_HAMT_BENCHMARK(BM_Build_FlatHashMap, kMaxSize);
PERSIST_HAMT_BENCHMARK(BM_Build_StdUnorderedMap, kMaxSize);

}  // namespace
