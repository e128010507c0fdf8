// Strong exception guarantee: when copying a value, hashing or allocating
// a node throws, every existing map is unchanged and nothing leaks. Node
// allocations fail through the maps' NodeAllocator (FailingAllocator).

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"
#include "hamt/algorithm.h"
#include "hamt/map.h"
#include "hamt/set.h"

namespace {

// Operations until the next injected failure; negative: never fail.
int64_t copies_until_failure = -1;
std::atomic<int64_t> allocations_until_failure{-1};

bool ShouldFail(int64_t& countdown) {
  if (countdown < 0) return false;
  if (countdown == 0) {
    countdown = -1;
    return true;
  }
  --countdown;
  return false;
}

struct InjectedFailure : std::runtime_error {
  InjectedFailure() : std::runtime_error("injected") {}
};

// A value whose copies may throw; counts live instances.
class Tracked {
 public:
  static inline int64_t live = 0;

  explicit Tracked(int64_t v) : value_(v) { ++live; }
  Tracked(const Tracked& other) : value_(other.value_) {
    if (ShouldFail(copies_until_failure)) throw InjectedFailure();
    ++live;
  }
  Tracked(Tracked&& other) noexcept : value_(other.value_) { ++live; }
  Tracked& operator=(const Tracked& other) {
    if (ShouldFail(copies_until_failure)) throw InjectedFailure();
    value_ = other.value_;
    return *this;
  }
  Tracked& operator=(Tracked&& other) noexcept {
    value_ = other.value_;
    return *this;
  }
  ~Tracked() { --live; }

  int64_t value() const { return value_; }
  friend bool operator==(const Tracked& a, const Tracked& b) {
    return a.value_ == b.value_;
  }

 private:
  int64_t value_;
};

// A key hash that may throw.
int64_t hashes_until_failure = -1;
struct ThrowingHash {
  size_t operator()(int64_t key) const {
    if (ShouldFail(hashes_until_failure)) throw InjectedFailure();
    return absl::Hash<int64_t>()(key) & mask;
  }
  uint64_t mask = ~uint64_t{0};
};

// A node allocator that throws std::bad_alloc once the countdown reaches 0,
// and otherwise takes nodes from ::operator new (so that each node is one
// allocation, and leaks show under ASan).
struct FailingAllocator {
  static void* allocate(size_t bytes, size_t alignment) {
    const int64_t remaining = allocations_until_failure.load();
    if (remaining >= 0) {
      if (remaining == 0) {
        allocations_until_failure = -1;
        throw std::bad_alloc();
      }
      allocations_until_failure = remaining - 1;
    }
    ++live_nodes;
    return hamt::NewDeleteAllocator::allocate(bytes, alignment);
  }
  static void deallocate(void* memory, size_t bytes,
                         size_t alignment) noexcept {
    --live_nodes;
    hamt::NewDeleteAllocator::deallocate(memory, bytes, alignment);
  }
  static inline std::atomic<int64_t> live_nodes{0};
};

// Runs op() with the allocator failing at its first allocation, then at
// its second, and so on until op() completes; calls check() after each
// attempt. Returns how many attempts threw std::bad_alloc.
template <class Op, class Check>
int64_t RunUntilNoFailure(Op op, Check check) {
  int64_t failures = 0;
  for (int64_t fail_at = 0;; ++fail_at) {
    allocations_until_failure = fail_at;
    bool threw = false;
    try {
      op();
    } catch (const std::bad_alloc&) {
      threw = true;
      ++failures;
    }
    allocations_until_failure = -1;
    check();
    if (!threw) return failures;
  }
}

using M = hamt::Map<int64_t, Tracked, ThrowingHash, std::equal_to<int64_t>,
                    FailingAllocator>;
using Model = std::unordered_map<int64_t, int64_t>;

void ExpectContents(const M& map, const Model& model) {
  ASSERT_EQ(map.size(), model.size());
  size_t visited = 0;
  for (const auto& pair : map) {
    ++visited;
    ASSERT_EQ(model.at(pair.first), pair.second.value());
  }
  ASSERT_EQ(visited, model.size());
}

// Runs `op` with a failure injected after 0, 1, 2, ... operations of the
// kind `countdown` counts, until it succeeds; after each failure `map` and
// `other` must be unchanged.
template <class Op>
void RunWithFailures(int64_t& countdown, const M& map, const Model& model,
                     const M& other, const Model& other_model, Op op) {
  for (int64_t fail_at = 0;; ++fail_at) {
    countdown = fail_at;
    bool threw = false;
    try {
      op();
    } catch (const InjectedFailure&) {
      threw = true;
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    countdown = -1;
    ExpectContents(map, model);
    ExpectContents(other, other_model);
    if (!threw) break;
    ASSERT_LT(fail_at, 100000) << "never succeeded";
  }
}

class ExceptionTest : public ::testing::TestWithParam<uint64_t> {};

// Parameter: hash mask. A narrow mask forces deep trees and collision nodes.
INSTANTIATE_TEST_SUITE_P(HashMasks, ExceptionTest,
                         ::testing::Values(~uint64_t{0}, uint64_t{0x7},
                                           uint64_t{0}));

TEST_P(ExceptionTest, FailingCopiesAndHashesLeaveMapsUnchanged) {
  const int64_t live_before = Tracked::live;
  {
    const ThrowingHash hash{GetParam()};
    const int n = GetParam() == 0 ? 40 : 400;
    M map(hash);
    Model model;
    for (int i = 0; i < n; ++i) {
      map = map.set(i * 7, Tracked(i));
      model[i * 7] = i;
    }
    M shared = map;  // shares all nodes, so && forms path-copy too
    Model shared_model = model;
    for (int key : {0, 7, 3, n * 7 - 7, 100000}) {
      for (int64_t* countdown :
           {&copies_until_failure, &hashes_until_failure}) {
        RunWithFailures(*countdown, map, model, shared, shared_model, [&] {
          M result = map.set(key, Tracked(-1));
          EXPECT_EQ(result.at(key).value(), -1);
        });
        RunWithFailures(*countdown, map, model, shared, shared_model, [&] {
          M result = map.erase(key);
          EXPECT_FALSE(result.contains(key));
        });
        RunWithFailures(*countdown, map, model, shared, shared_model, [&] {
          M copy = map;
          M result = std::move(copy).set(key, Tracked(-2));
          EXPECT_EQ(result.at(key).value(), -2);
        });
        RunWithFailures(*countdown, map, model, shared, shared_model, [&] {
          M copy = map;
          M result = std::move(copy).erase(key);
          EXPECT_FALSE(result.contains(key));
        });
      }
    }
  }
  EXPECT_EQ(Tracked::live, live_before);
}

TEST_P(ExceptionTest, FailingHashOnUniqueMapLeavesItUnchanged) {
  const int64_t live_before = Tracked::live;
  {
    M map(ThrowingHash{GetParam()});
    Model model;
    const int n = GetParam() == 0 ? 40 : 400;
    for (int i = 0; i < n; ++i) {
      map = std::move(map).set(i, Tracked(i));
      model[i] = i;
    }
    const M empty;
    for (int key : {1, n + 5}) {
      // `map` is unique here, so the rvalue form would edit in place; the
      // failure must come before any edit.
      hashes_until_failure = 0;
      EXPECT_THROW(std::move(map).set(key, Tracked(5)), InjectedFailure);
      hashes_until_failure = 1;  // the second hash: the displaced key's
      try {
        M result = std::move(map).set(n + 1000 + key, Tracked(5));
        map = std::move(result);
        model[n + 1000 + key] = 5;
      } catch (const InjectedFailure&) {
      }
      hashes_until_failure = -1;
      ExpectContents(map, model);
    }
  }
  EXPECT_EQ(Tracked::live, live_before);
}

TEST_P(ExceptionTest, FailingAllocationsLeaveMapsUnchanged) {
  const int64_t live_before = Tracked::live;
  const int64_t nodes_before = FailingAllocator::live_nodes;
  {
    M map(ThrowingHash{GetParam()});
    Model model;
    const int n = GetParam() == 0 ? 40 : 400;
    for (int i = 0; i < n; ++i) {
      map = map.set(i * 3, Tracked(i));
      model[i * 3] = i;
    }
    const M other = map.set(-1, Tracked(0));
    Model other_model = model;
    other_model[-1] = 0;
    int64_t failures = 0;
    for (int key : {0, 3, 4, n * 3 - 3, 99999}) {
      auto run = [&](auto op) {
        failures += RunUntilNoFailure(op, [&] {
          ExpectContents(map, model);
          ExpectContents(other, other_model);
        });
      };
      run([&] { M result = map.set(key, Tracked(-1)); });
      run([&] { M result = map.erase(key); });
      run([&] {
        M unique = M(map.begin(), map.end(), map.hash_function());
        M result = std::move(unique).set(key, Tracked(-1));
        result = std::move(result).erase(key + 3);
      });
    }
    EXPECT_GT(failures, 0);  // the allocator did inject failures
  }
  EXPECT_EQ(Tracked::live, live_before);
  EXPECT_EQ(FailingAllocator::live_nodes, nodes_before);  // no node leaked
}

// ---- set algebra (hamt/algorithm.h) ----

Model MergedModel(const Model& a, const Model& b) {
  Model merged = a;
  for (const auto& [k, v] : b) merged[k] = v;
  return merged;
}

// Every algebra operation on (x, y), with the size its result must have.
template <class Check>
void ForEachAlgebraOp(const M& x, const Model& mx, const M& y, const Model& my,
                      Check check) {
  size_t common = 0;
  for (const auto& entry : mx) common += my.count(entry.first);
  size_t thirds = 0;
  for (const auto& entry : mx) thirds += entry.first % 3 != 0 ? 1 : 0;
  check([&] { return hamt::merge(x, y).size(); }, MergedModel(mx, my).size());
  check(
      [&] {
        return hamt::merge_with(
                   x, y,
                   [](int64_t, const Tracked& p, const Tracked& q) {
                     if (ShouldFail(copies_until_failure)) {
                       throw InjectedFailure();
                     }
                     return Tracked(p.value() + q.value());
                   })
            .size();
      },
      MergedModel(mx, my).size());
  check([&] { return hamt::intersection(x, y).size(); }, common);
  check([&] { return hamt::difference(x, y).size(); }, mx.size() - common);
  check(
      [&] {
        return hamt::filter(x,
                            [](int64_t key, const Tracked&) {
                              if (ShouldFail(copies_until_failure)) {
                                throw InjectedFailure();
                              }
                              return key % 3 != 0;
                            })
            .size();
      },
      thirds);
}

// Two unrelated maps and one derived from the first by a few updates.
struct AlgebraInputs {
  explicit AlgebraInputs(uint64_t mask) : a(ThrowingHash{mask}), b(a) {
    const int n = mask == 0 ? 30 : 300;
    for (int i = 0; i < n; ++i) {
      a = a.set(i * 2, Tracked(i));
      model_a[i * 2] = i;
      b = b.set(i * 3, Tracked(-i));
      model_b[i * 3] = -i;
    }
    derived =
        a.set(5, Tracked(5)).set(2, Tracked(7)).erase(4).set(1001, Tracked(1));
    model_derived = model_a;
    model_derived[5] = 5;
    model_derived[2] = 7;
    model_derived.erase(4);
    model_derived[1001] = 1;
  }
  M a, b, derived;
  Model model_a, model_b, model_derived;
};

TEST_P(ExceptionTest, FailingAlgebraLeavesInputsUnchanged) {
  const int64_t live_before = Tracked::live;
  const int64_t nodes_before = FailingAllocator::live_nodes;
  {
    const AlgebraInputs in(GetParam());
    const std::vector<std::pair<const M*, const Model*>> maps = {
        {&in.a, &in.model_a},
        {&in.b, &in.model_b},
        {&in.derived, &in.model_derived}};
    // (Not structured bindings: C++17 lambdas cannot capture those.)
    for (const auto& first : maps) {
      for (const auto& second : maps) {
        const M* x = first.first;
        const Model* mx = first.second;
        const M* y = second.first;
        const Model* my = second.second;
        for (int64_t* countdown :
             {&copies_until_failure, &hashes_until_failure}) {
          ForEachAlgebraOp(*x, *mx, *y, *my, [&](auto op, size_t size) {
            RunWithFailures(*countdown, *x, *mx, *y, *my,
                            [&] { EXPECT_EQ(op(), size); });
          });
        }
      }
    }
  }
  EXPECT_EQ(Tracked::live, live_before);
  EXPECT_EQ(FailingAllocator::live_nodes, nodes_before);
}

TEST_P(ExceptionTest, FailingSetAlgebraLeavesInputsUnchanged) {
  using S = hamt::Set<int64_t, ThrowingHash>;
  const ThrowingHash hash{GetParam()};
  S a(hash), b(hash);
  for (int64_t i = 0; i < 200; ++i) {
    a = a.insert(i * 2);
    b = b.insert(i * 3);
  }
  const S a_copy = a, b_copy = b;
  const S derived = a.insert(7).erase(8);
  for (const S* y : std::vector<const S*>{&b, &derived}) {
    for (int64_t fail_at = 0;; ++fail_at) {
      hashes_until_failure = fail_at;
      bool threw = false;
      try {
        EXPECT_EQ(hamt::merge(a, *y).size() + hamt::intersection(a, *y).size(),
                  a.size() + y->size());
        EXPECT_EQ(hamt::difference(a, *y).size(),
                  a.size() - hamt::intersection(a, *y).size());
      } catch (const InjectedFailure&) {
        threw = true;
      }
      hashes_until_failure = -1;
      ASSERT_TRUE(a == a_copy && b == b_copy);
      ASSERT_EQ(a.size(), 200u);
      if (!threw) break;
    }
  }
}

TEST_P(ExceptionTest, FailingAllocationsInAlgebraLeaveInputsUnchanged) {
  const int64_t live_before = Tracked::live;
  const int64_t nodes_before = FailingAllocator::live_nodes;
  {
    const AlgebraInputs in(GetParam());
    const std::vector<std::pair<const M*, const Model*>> maps = {
        {&in.a, &in.model_a},
        {&in.b, &in.model_b},
        {&in.derived, &in.model_derived}};
    // (Not structured bindings: C++17 lambdas cannot capture those.)
    for (const auto& first : maps) {
      for (const auto& second : maps) {
        const M* x = first.first;
        const Model* mx = first.second;
        const M* y = second.first;
        const Model* my = second.second;
        ForEachAlgebraOp(*x, *mx, *y, *my, [&](auto op, size_t size) {
          RunUntilNoFailure([&] { EXPECT_EQ(op(), size); },
                            [&] {
                              ExpectContents(*x, *mx);
                              ExpectContents(*y, *my);
                            });
        });
      }
    }
  }
  EXPECT_EQ(Tracked::live, live_before);
  EXPECT_EQ(FailingAllocator::live_nodes, nodes_before);  // no node leaked
}

// ---- twin slots (hamt/internal/node.h) ----

// Twins in the subtree `node` of a Set<int64_t, ...>.
size_t TwinsIn(const hamt::internal::Node* node) {
  using Layout = hamt::internal::NodeLayout<int64_t, hamt::internal::NoValue>;
  const uint32_t twins = Layout::twin_children(node);
  size_t n = 0;
  for (int i = 0; i < Layout::child_count(node); ++i) {
    n += (twins >> i) & 1 ? 1 : TwinsIn(Layout::child(node, i));
  }
  return n;
}

// Sets of int64 keys hold twins; their entries are copied as bytes, so only
// hashing and allocation may fail. The mask leaves 8 values of the low 15
// hash bits (the slots of depths 0 to 2), so that many keys share slots down
// to depths 3 and 4, where the twins are.
TEST(ExceptionTwinTest, FailingAllocationsLeaveSetsWithTwinsUnchanged) {
  using S = hamt::Set<int64_t, ThrowingHash, std::equal_to<int64_t>,
                      FailingAllocator>;
  static_assert(
      hamt::internal::NodeLayout<int64_t, hamt::internal::NoValue>::kTwins,
      "a Set of int64 keys has twins");
  const int64_t nodes_before = FailingAllocator::live_nodes;
  {
    const ThrowingHash hash{uint64_t{0x7} | (uint64_t{0xfff} << 15)};
    S a(hash), b(hash);
    std::vector<int64_t> keys_a, keys_b;
    for (int64_t i = 0; i < 400; ++i) {
      a = a.insert(i * 2);
      b = b.insert(i * 3);
      keys_a.push_back(i * 2);
      keys_b.push_back(i * 3);
    }
    const S derived = a.insert(7).erase(8);
    using Access = hamt::internal::MapAccess;
    using SetAccess = hamt::internal::SetAccess;
    ASSERT_GT(TwinsIn(Access::root(SetAccess::map(a))), 20u);
    auto expect_unchanged = [&] {
      ASSERT_EQ(a.size(), keys_a.size());
      ASSERT_EQ(b.size(), keys_b.size());
      for (int64_t key : keys_a) ASSERT_TRUE(a.contains(key)) << key;
      for (int64_t key : keys_b) ASSERT_TRUE(b.contains(key)) << key;
      ASSERT_EQ(derived.size(), keys_a.size());
      ASSERT_TRUE(derived.contains(7) && !derived.contains(8));
    };
    int64_t failures = 0;
    auto run = [&](auto op) {
      failures += RunUntilNoFailure(op, expect_unchanged);
    };
    for (int64_t key : {int64_t{0}, int64_t{1}, int64_t{2}, int64_t{797},
                        int64_t{798}, int64_t{99999}}) {
      run([&] { S result = a.insert(key); });
      run([&] { S result = a.erase(key); });
      run([&] {
        S unique(a.begin(), a.end(), a.hash_function());
        S result = std::move(unique).insert(key).insert(key + 1 + (1 << 15));
        result = std::move(result).erase(key + 2).erase(key);
      });
      run([&] {
        auto transient = a.transient();
        transient.insert(key);
        transient.erase(key + 2);
        transient.erase(key + 4);
        S result = std::move(transient).persistent();
      });
    }
    for (const S* y : std::vector<const S*>{&b, &derived}) {
      run([&] {
        EXPECT_EQ(hamt::merge(a, *y).size() + hamt::intersection(a, *y).size(),
                  a.size() + y->size());
      });
      run([&] {
        EXPECT_EQ(
            hamt::difference(a, *y).size() + hamt::intersection(a, *y).size(),
            a.size());
      });
      run([&] {
        const S odd = hamt::filter(*y, [](int64_t key) { return key % 2; });
        EXPECT_TRUE(hamt::includes(*y, odd));
      });
    }
    EXPECT_GT(failures, 0);  // the allocator did inject failures
  }
  EXPECT_EQ(FailingAllocator::live_nodes, nodes_before);  // no node leaked
}

}  // namespace
