#include <cstdint>
#include <map>
#include <random>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"
#include "hamt/map.h"
#include "hamt/set.h"

namespace {

// Counts key comparisons, to check that diff and == skip shared subtrees.
struct CountingEqual {
  static inline int64_t calls = 0;
  bool operator()(int64_t a, int64_t b) const {
    ++calls;
    return a == b;
  }
};
struct Mod8Hash {
  size_t operator()(int64_t key) const { return static_cast<size_t>(key % 8); }
};

struct DiffResult {
  std::map<int64_t, int64_t> added, removed;
  std::map<int64_t, std::pair<int64_t, int64_t>> changed;
  friend bool operator==(const DiffResult& a, const DiffResult& b) {
    return std::tie(a.added, a.removed, a.changed) ==
           std::tie(b.added, b.removed, b.changed);
  }
};

template <class M>
DiffResult Diff(const M& a, const M& b) {
  DiffResult result;
  hamt::diff(
      a, b,
      [&](const int64_t& k, const int64_t& v) {
        EXPECT_TRUE(result.added.emplace(k, v).second) << "added twice " << k;
      },
      [&](const int64_t& k, const int64_t& v) {
        EXPECT_TRUE(result.removed.emplace(k, v).second) << "removed twice";
      },
      [&](const int64_t& k, const int64_t& old_value,
          const int64_t& new_value) {
        EXPECT_TRUE(
            result.changed.emplace(k, std::pair(old_value, new_value)).second);
      });
  return result;
}

DiffResult ModelDiff(const std::unordered_map<int64_t, int64_t>& a,
                     const std::unordered_map<int64_t, int64_t>& b) {
  DiffResult result;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) {
      result.removed.emplace(k, v);
    } else if (it->second != v) {
      result.changed.emplace(k, std::pair(v, it->second));
    }
  }
  for (const auto& [k, v] : b) {
    if (a.count(k) == 0) result.added.emplace(k, v);
  }
  return result;
}

template <class Hash>
void CheckRandomDiffs(int key_range, int base_size) {
  using M = hamt::Map<int64_t, int64_t, Hash>;
  std::mt19937_64 rng(5);
  M base;
  std::unordered_map<int64_t, int64_t> base_model;
  for (int i = 0; i < base_size; ++i) {
    const int64_t key = static_cast<int64_t>(rng() % key_range);
    base = base.set(key, i);
    base_model[key] = i;
  }
  for (int edits : {0, 1, 2, 5, 30, 300}) {
    M derived = base;
    auto derived_model = base_model;
    for (int i = 0; i < edits; ++i) {
      const int64_t key = static_cast<int64_t>(rng() % key_range);
      if (rng() % 3 == 0) {
        derived = derived.erase(key);
        derived_model.erase(key);
      } else {
        derived = derived.set(key, static_cast<int64_t>(rng() % 3));
        derived_model[key] = derived.at(key);
      }
    }
    EXPECT_EQ(Diff(base, derived), ModelDiff(base_model, derived_model));
    EXPECT_EQ(Diff(derived, base), ModelDiff(derived_model, base_model));
    // An independently built map with the same contents diffs the same.
    M rebuilt(derived.begin(), derived.end());
    EXPECT_EQ(Diff(base, rebuilt), ModelDiff(base_model, derived_model));
  }
  EXPECT_EQ(Diff(M(), base), ModelDiff({}, base_model));
  EXPECT_EQ(Diff(base, M()), ModelDiff(base_model, {}));
}

TEST(DiffTest, MatchesModelWithGoodHash) {
  CheckRandomDiffs<absl::Hash<int64_t>>(20000, 10000);
}
TEST(DiffTest, MatchesModelWithCollisions) {
  CheckRandomDiffs<Mod8Hash>(400, 300);
}

// set() copies the nodes on its path, and a copy borrows the children of
// its original (node.h): it differs from it in one child at most, after
// which diff stops comparing their children. Two set()s in a row change a
// pair and a child of one copy, or two of its children (then it is an
// ordinary node). The map is built by a transient (no borrowed nodes), with
// nodes of more than 8 children holding pairs.
TEST(DiffTest, CopiesBorrowingChildrenMatchModel) {
  using M = hamt::Map<int64_t, int64_t>;
  std::mt19937_64 rng(8);
  auto transient = M().transient();
  std::unordered_map<int64_t, int64_t> model;
  for (int64_t i = 0; i < 2000; ++i) {
    transient.set(i, i);
    model[i] = i;
  }
  const M base = std::move(transient).persistent();
  for (int trial = 0; trial < 300; ++trial) {
    M derived = base;
    auto derived_model = model;
    for (int edits = 1 + trial % 3; edits > 0; --edits) {
      const int64_t key = static_cast<int64_t>(rng() % 2000);
      derived = derived.set(key, -1 - trial);
      derived_model[key] = -1 - trial;
    }
    ASSERT_EQ(Diff(base, derived), ModelDiff(model, derived_model));
    ASSERT_EQ(Diff(derived, base), ModelDiff(derived_model, model));
  }
}

TEST(DiffTest, SkipsSharedSubtrees) {
  using M = hamt::Map<int64_t, int64_t, absl::Hash<int64_t>, CountingEqual>;
  M base;
  for (int i = 0; i < 100000; ++i) base = std::move(base).set(i, i);
  M derived = base.set(5, -5).erase(77).set(-1, 1);
  CountingEqual::calls = 0;
  const DiffResult result = Diff(base, derived);
  EXPECT_LT(CountingEqual::calls, 400);
  EXPECT_EQ(result.added, (std::map<int64_t, int64_t>{{-1, 1}}));
  EXPECT_EQ(result.removed, (std::map<int64_t, int64_t>{{77, 77}}));
  ASSERT_EQ(result.changed.size(), 1u);
  EXPECT_EQ(result.changed.at(5), (std::pair<int64_t, int64_t>(5, -5)));
  // Equality of related maps is just as cheap.
  CountingEqual::calls = 0;
  EXPECT_FALSE(base.set(5, -5) == base.set(5, -6));
  EXPECT_TRUE(base.set(5, -5) == base.set(5, -5));
  EXPECT_LT(CountingEqual::calls, 400);
}

// diff's callbacks run while it walks both tries: they may replace or destroy
// the maps they came from when diff was given copies (O(1)), which keep every
// node alive until it returns (see diff in map.h). Under ASan a walk that read
// a node freed by a callback fails here.
TEST(DiffTest, CallbacksMayReplaceTheOriginalsOfTheCopiesBeingDiffed) {
  using M = hamt::Map<int64_t, int64_t>;
  M a;
  for (int64_t i = 0; i < 2000; ++i) a = a.set(i, i);
  M b = a;
  for (int64_t i = 0; i < 2000; i += 7) b = b.set(i, -i);
  b = b.set(5000, 1).erase(3);
  const DiffResult expected = Diff(a, b);
  DiffResult seen;
  hamt::diff(
      M(a), M(b),
      [&](const int64_t& k, const int64_t& v) {
        seen.added.emplace(k, v);
        a = M();
      },
      [&](const int64_t& k, const int64_t& v) {
        seen.removed.emplace(k, v);
        b = b.set(k, v).erase(0);
      },
      [&](const int64_t& k, const int64_t& old_value,
          const int64_t& new_value) {
        seen.changed.emplace(k, std::make_pair(old_value, new_value));
        a = a.set(k, 0);
        b = M();
      });
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(expected.changed.size(), 285u);
}

// The same with Sets whose nodes hold twins (hamt/internal/node.h): diff
// walks those slot by slot, and calls back from there.
TEST(DiffTest, SetCallbacksMayReplaceTheOriginalsAmongTwins) {
  using S = hamt::Set<int64_t>;
  using Layout = hamt::internal::NodeLayout<int64_t, hamt::internal::NoValue>;
  S a;
  for (int64_t i = 0; i < 200000; ++i) a = std::move(a).insert(i);
  S b = a;
  for (int64_t i = 0; i < 200000; i += 7) b = std::move(b).erase(i);
  for (int64_t i = 0; i < 3000; ++i) b = std::move(b).insert(-1 - i);
  // Twins at depth >= 3: a walk down the first children finds some.
  size_t twins = 0;
  std::vector<const hamt::internal::Node*> stack = {
      hamt::internal::MapAccess::root(hamt::internal::SetAccess::map(a))};
  while (!stack.empty()) {
    const hamt::internal::Node* node = stack.back();
    stack.pop_back();
    const uint32_t twin_children = Layout::twin_children(node);
    for (int i = 0; i < Layout::child_count(node); ++i) {
      if ((twin_children >> i) & 1) {
        ++twins;
      } else {
        stack.push_back(Layout::child(node, i));
      }
    }
  }
  ASSERT_GT(twins, 1000u);
  std::map<int64_t, int> expected, seen;
  for (int64_t i = 0; i < 200000; i += 7) expected[i] = -1;
  for (int64_t i = 0; i < 3000; ++i) expected[-1 - i] = 1;
  hamt::diff(
      S(a), S(b),
      [&](const int64_t& key) {
        seen[key] += 1;
        a = S();
      },
      [&](const int64_t& key) {
        seen[key] -= 1;
        b = b.insert(key).erase(1);
      });
  EXPECT_EQ(seen, expected);
}

}  // namespace
