#include "hamt/algorithm.h"

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "gtest/gtest.h"
#include "hamt/map.h"
#include "hamt/set.h"

namespace {

using hamt::internal::MapAccess;
using hamt::internal::SetAccess;

// Keys collide in all 64 bits (collision nodes), or differ only in the top
// byte (the deepest paths).
struct CollidingHash {
  size_t operator()(int key) const { return static_cast<size_t>(key % 8); }
};
struct DeepHash {
  size_t operator()(int key) const {
    return (static_cast<size_t>(key) << (8 * sizeof(size_t) - 8)) | 0x5a5a5;
  }
};

using Model = std::map<int, int>;

template <class M>
Model ContentsOf(const M& map) {
  Model contents;
  size_t visited = 0;
  for (const auto& [key, value] : map) {
    EXPECT_TRUE(contents.emplace(key, value).second);
    ++visited;
  }
  EXPECT_EQ(visited, map.size());
  return contents;
}

// The same contents built by set() one key at a time.
template <class M>
M BuiltBySet(const Model& model) {
  M map;
  for (const auto& [key, value] : model) map = map.set(key, value);
  return map;
}

// Checks `result` against the model: contents, size and canonical shape.
template <class M>
void ExpectIs(const M& result, const Model& expected) {
  EXPECT_EQ(ContentsOf(result), expected);
  EXPECT_EQ(result.size(), expected.size());
  // == compares shapes first, so a non-canonical result would differ.
  EXPECT_TRUE(result == BuiltBySet<M>(expected));
}

template <class Hash>
class AlgorithmTest : public ::testing::Test {};
using Hashes = ::testing::Types<absl::Hash<int>, CollidingHash, DeepHash>;
TYPED_TEST_SUITE(AlgorithmTest, Hashes);

// Pairs of maps: random with some keys in common, one derived from the
// other by a few updates, empty ones, equal ones.
template <class M>
std::vector<std::pair<Model, Model>> Cases() {
  std::vector<std::pair<Model, Model>> cases;
  std::mt19937 rng(42);
  for (int n : {0, 1, 2, 3, 10, 40, 300, 2000}) {
    for (int overlap : {0, 50, 100}) {
      Model a, b;
      for (int i = 0; i < n; ++i) {
        const int key = static_cast<int>(rng() % (4 * n + 1));
        a[key] = static_cast<int>(rng() % 5);
        const bool common = static_cast<int>(rng() % 100) < overlap;
        const int other = common ? key : static_cast<int>(rng() % (4 * n + 1));
        b[other] = static_cast<int>(rng() % 5);
      }
      cases.emplace_back(a, b);
    }
  }
  return cases;
}

template <class Op, class Expected>
void ForEachCase(Op op, Expected expected) {
  for (const auto& [model_a, model_b] : Cases<void>()) {
    op(model_a, model_b, expected(model_a, model_b));
  }
}

Model ModelMerge(const Model& a, const Model& b) {
  Model result = a;
  for (const auto& [k, v] : b) result[k] = v;
  return result;
}
Model ModelIntersection(const Model& a, const Model& b) {
  Model result;
  for (const auto& [k, v] : a) {
    if (b.count(k)) result[k] = v;
  }
  return result;
}
Model ModelDifference(const Model& a, const Model& b) {
  Model result;
  for (const auto& [k, v] : a) {
    if (!b.count(k)) result[k] = v;
  }
  return result;
}

TYPED_TEST(AlgorithmTest, MapOperationsMatchTheModel) {
  using M = hamt::Map<int, int, TypeParam>;
  for (const auto& [model_a, model_b] : Cases<M>()) {
    const M a = BuiltBySet<M>(model_a);
    const M b = BuiltBySet<M>(model_b);
    ExpectIs(hamt::merge(a, b), ModelMerge(model_a, model_b));
    ExpectIs(hamt::intersection(a, b), ModelIntersection(model_a, model_b));
    ExpectIs(hamt::difference(a, b), ModelDifference(model_a, model_b));
    Model sums = ModelMerge(model_a, model_b);
    for (const auto& [k, v] : model_a) {
      if (model_b.count(k)) sums[k] = 100 * v + model_b.at(k);
    }
    ExpectIs(
        hamt::merge_with(a, b, [](int, int x, int y) { return 100 * x + y; }),
        sums);
    const bool includes = ModelDifference(model_b, model_a).empty();
    EXPECT_EQ(hamt::includes(a, b), includes);
    EXPECT_EQ(hamt::disjoint(a, b),
              ModelIntersection(model_a, model_b).empty());
    Model even;
    for (const auto& [k, v] : model_a) {
      if ((k + v) % 2 == 0) even[k] = v;
    }
    ExpectIs(hamt::filter(a, [](int k, int v) { return (k + v) % 2 == 0; }),
             even);
    // The inputs are unchanged.
    EXPECT_EQ(ContentsOf(a), model_a);
    EXPECT_EQ(ContentsOf(b), model_b);
  }
}

TYPED_TEST(AlgorithmTest, OperationsOnDerivedMapsMatchTheModel) {
  using M = hamt::Map<int, int, TypeParam>;
  std::mt19937 rng(7);
  for (int n : {5, 100, 3000}) {
    Model model_a;
    for (int i = 0; i < n; ++i) model_a[static_cast<int>(rng() % (2 * n))] = i;
    const M a = BuiltBySet<M>(model_a);
    for (int edits : {1, 3, n / 10 + 1}) {
      M b = a;
      Model model_b = model_a;
      for (int e = 0; e < edits; ++e) {
        const int key = static_cast<int>(rng() % (2 * n + 10));
        if (rng() % 3 == 0) {
          b = b.erase(key);
          model_b.erase(key);
        } else {
          b = b.set(key, -e);
          model_b[key] = -e;
        }
      }
      for (int swap = 0; swap < 2; ++swap) {
        const M& x = swap ? b : a;
        const M& y = swap ? a : b;
        const Model& mx = swap ? model_b : model_a;
        const Model& my = swap ? model_a : model_b;
        ExpectIs(hamt::merge(x, y), ModelMerge(mx, my));
        ExpectIs(hamt::intersection(x, y), ModelIntersection(mx, my));
        ExpectIs(hamt::difference(x, y), ModelDifference(mx, my));
        EXPECT_EQ(hamt::includes(x, y), ModelDifference(my, mx).empty());
        EXPECT_EQ(hamt::disjoint(x, y), ModelIntersection(mx, my).empty());
      }
    }
  }
}

TYPED_TEST(AlgorithmTest, ResultsEqualToAnInputShareItsRoot) {
  using M = hamt::Map<int, int, TypeParam>;
  M a;
  for (int i = 0; i < 1000; ++i) a = a.set(i * 3, i);
  const auto* root = MapAccess::root(a);
  EXPECT_EQ(MapAccess::root(hamt::merge(a, a)), root);
  EXPECT_EQ(MapAccess::root(hamt::intersection(a, a)), root);
  EXPECT_EQ(MapAccess::root(hamt::filter(a, [](int, int) { return true; })),
            root);
  EXPECT_TRUE(hamt::difference(a, a).empty());
  EXPECT_EQ(MapAccess::root(hamt::difference(a, M())), root);
  EXPECT_EQ(MapAccess::root(hamt::merge(a, M())), root);
  EXPECT_EQ(MapAccess::root(hamt::merge(M(), a)), root);
  // b a subset of a with a's values: merge(a, b) is a; a superset with a's
  // values: intersection(a, superset) is a.
  const M subset = a.erase(3).erase(300).erase(2997);
  EXPECT_EQ(MapAccess::root(hamt::merge(a, subset)), root);
  EXPECT_EQ(MapAccess::root(hamt::intersection(a, a.set(-1, 0))), root);
  EXPECT_EQ(MapAccess::root(hamt::difference(a, M{{-5, 0}})), root);
  // b derived from a by updates wins everywhere: merge(a, b) is b.
  const M derived = a.set(3, -1).set(5000, 1);
  EXPECT_EQ(MapAccess::root(hamt::merge(a, derived)), MapAccess::root(derived));
}

TYPED_TEST(AlgorithmTest, SetOperationsMatchTheModel) {
  using S = hamt::Set<int, TypeParam>;
  for (const auto& [model_a, model_b] : Cases<S>()) {
    S a, b;
    std::set<int> keys_a, keys_b;
    for (const auto& entry : model_a) {
      a = a.insert(entry.first);
      keys_a.insert(entry.first);
    }
    for (const auto& entry : model_b) {
      b = b.insert(entry.first);
      keys_b.insert(entry.first);
    }
    std::set<int> merged = keys_a, common, only_a, odd;
    merged.insert(keys_b.begin(), keys_b.end());
    for (int k : keys_a) (keys_b.count(k) ? common : only_a).insert(k);
    for (int k : keys_a) {
      if (k % 2) odd.insert(k);
    }
    auto expect_is = [](const S& result, const std::set<int>& expected) {
      std::set<int> contents(result.begin(), result.end());
      EXPECT_EQ(contents, expected);
      EXPECT_EQ(result.size(), expected.size());
      EXPECT_TRUE(result == S(expected.begin(), expected.end()));
    };
    expect_is(hamt::merge(a, b), merged);
    expect_is(hamt::intersection(a, b), common);
    expect_is(hamt::difference(a, b), only_a);
    expect_is(hamt::filter(a, [](int k) { return k % 2 != 0; }), odd);
    EXPECT_EQ(hamt::includes(a, b), common.size() == keys_b.size());
    EXPECT_EQ(hamt::disjoint(a, b), common.empty());
    const auto* root = hamt::internal::MapAccess::root(SetAccess::map(a));
    EXPECT_EQ(MapAccess::root(SetAccess::map(hamt::merge(a, a))), root);
    EXPECT_EQ(MapAccess::root(
                  SetAccess::map(hamt::filter(a, [](int) { return true; }))),
              root);
  }
}

TEST(AlgorithmTest, MergeWithSeesBothValues) {
  const hamt::Map<int, int> a = {{1, 10}, {2, 20}};
  const hamt::Map<int, int> b = {{2, 21}, {3, 30}};
  std::vector<std::tuple<int, int, int>> calls;
  const auto sum = hamt::merge_with(a, b, [&](int k, int x, int y) {
    calls.emplace_back(k, x, y);
    return x + y;
  });
  EXPECT_EQ(ContentsOf(sum), (Model{{1, 10}, {2, 41}, {3, 30}}));
  EXPECT_EQ(calls, (std::vector<std::tuple<int, int, int>>{{2, 20, 21}}));
  // Shared subtrees are visited too: f may change every common value.
  hamt::Map<int, int> big;
  for (int i = 0; i < 500; ++i) big = big.set(i, i);
  const auto doubled =
      hamt::merge_with(big, big, [](int, int x, int y) { return x + y; });
  for (int i = 0; i < 500; ++i) ASSERT_EQ(doubled.at(i), 2 * i);
}

}  // namespace
