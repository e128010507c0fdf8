#include "hamt/set.h"

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "hamt/algorithm.h"
#include "hamt/internal/node.h"

namespace {

using hamt::Set;

template <class S>
std::set<typename S::key_type> Contents(const S& set) {
  std::set<typename S::key_type> keys;
  size_t visited = 0;
  for (const auto& key : set) {
    keys.insert(key);
    ++visited;
  }
  EXPECT_EQ(visited, set.size());
  return keys;
}

template <class S>
const hamt::internal::Node* RootOf(const S& set) {
  return hamt::internal::MapAccess::root(hamt::internal::SetAccess::map(set));
}

TEST(SetTest, EmptySet) {
  const Set<int> set;
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.size(), 0u);
  EXPECT_FALSE(set.contains(1));
  EXPECT_EQ(set.find(1), nullptr);
  EXPECT_EQ(set.begin(), set.end());
}

TEST(SetTest, InsertKeepsTheOldSet) {
  const Set<std::string> a = {"x", "y"};
  const Set<std::string> b = a.insert("z").erase("x");
  EXPECT_EQ(Contents(a), (std::set<std::string>{"x", "y"}));
  EXPECT_EQ(Contents(b), (std::set<std::string>{"y", "z"}));
  ASSERT_NE(b.find("y"), nullptr);
  EXPECT_EQ(*b.find("y"), "y");
  EXPECT_EQ(b.count("x"), 0u);
  EXPECT_EQ(b.count("z"), 1u);
}

TEST(SetTest, InsertOfPresentKeyAndEraseOfAbsentKeyShareTheRoot) {
  Set<int> set;
  for (int i = 0; i < 1000; ++i) set = set.insert(i);
  EXPECT_EQ(RootOf(set.insert(5)), RootOf(set));
  EXPECT_EQ(RootOf(set.erase(5000)), RootOf(set));
  EXPECT_NE(RootOf(set.insert(5000)), RootOf(set));
}

TEST(SetTest, ManyKeysAgainstStdSet) {
  Set<int64_t> set;
  std::unordered_set<int64_t> model;
  std::vector<Set<int64_t>> versions;
  for (int64_t i = 0; i < 5000; ++i) {
    const int64_t key = (i * 7919) % 3001;
    if (i % 3 == 0) {
      set = set.erase(key);
      model.erase(key);
    } else {
      set = i % 2 ? set.insert(key) : std::move(set).insert(key);
      model.insert(key);
    }
    if (i % 500 == 0) versions.push_back(set);
  }
  ASSERT_EQ(set.size(), model.size());
  for (int64_t key = 0; key < 3001; ++key) {
    ASSERT_EQ(set.contains(key), model.count(key) == 1) << key;
  }
  EXPECT_EQ(Contents(set).size(), model.size());
}

TEST(SetTest, TransientBuildsInPlace) {
  const Set<int> base = {1, 2, 3};
  auto transient = base.transient();
  EXPECT_TRUE(transient.insert(4));
  EXPECT_FALSE(transient.insert(4));
  EXPECT_TRUE(transient.erase(1));
  EXPECT_FALSE(transient.erase(1));
  EXPECT_TRUE(transient.contains(4));
  EXPECT_EQ(transient.size(), 3u);
  for (int i = 10; i < 1000; ++i) transient.insert(i);
  const Set<int> built = std::move(transient).persistent();
  EXPECT_EQ(built.size(), 993u);
  EXPECT_EQ(Contents(base), (std::set<int>{1, 2, 3}));
}

TEST(SetTest, EqualityIgnoresInsertionOrder) {
  Set<int> a, b;
  for (int i = 0; i < 2000; ++i) a = a.insert(i);
  for (int i = 1999; i >= 0; --i) b = b.insert(i);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, b.erase(7));
  EXPECT_NE(a.insert(-1), b.insert(-2));
}

TEST(SetTest, DiffReportsAddedAndRemoved) {
  Set<int> a;
  for (int i = 0; i < 1000; ++i) a = a.insert(i);
  const Set<int> b = a.erase(3).erase(500).insert(2000);
  std::set<int> added, removed;
  hamt::diff(
      a, b, [&](int key) { added.insert(key); },
      [&](int key) { removed.insert(key); });
  EXPECT_EQ(added, (std::set<int>{2000}));
  EXPECT_EQ(removed, (std::set<int>{3, 500}));
}

// Keys colliding in all 64 bits, and keys differing only in the top bits.
struct CollidingHash {
  size_t operator()(int key) const { return static_cast<size_t>(key % 4); }
};
struct DeepHash {
  size_t operator()(int key) const {
    return static_cast<size_t>(key) << (8 * sizeof(size_t) - 8);
  }
};

template <class Hash>
void CheckSetWithHash() {
  Set<int, Hash> set;
  for (int i = 0; i < 200; ++i) set = set.insert(i);
  for (int i = 0; i < 200; i += 2) set = set.erase(i);
  EXPECT_EQ(set.size(), 100u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(set.contains(i), i % 2 == 1) << i;
  Set<int, Hash> rebuilt;
  for (int i = 199; i > 0; i -= 2) rebuilt = rebuilt.insert(i);
  EXPECT_EQ(set, rebuilt);
}
TEST(SetTest, CollidingHashes) { CheckSetWithHash<CollidingHash>(); }
TEST(SetTest, DeepHashes) { CheckSetWithHash<DeepHash>(); }

// A set stores keys only: half the node bytes of a map with int64 values.
TEST(SetTest, NodesHoldOnlyKeys) {
  Set<int64_t> set;
  hamt::Map<int64_t, int64_t> map;
  for (int64_t i = 0; i < 10000; ++i) {
    set = std::move(set).insert(i * 31);
    map = std::move(map).set(i * 31, i);
  }
  const size_t set_bytes = hamt::internal::MapAccess::node_bytes(
      hamt::internal::SetAccess::map(set));
  const size_t map_bytes = hamt::internal::MapAccess::node_bytes(map);
  EXPECT_LT(set_bytes * 10, map_bytes * 7);
}

// ---- twin slots (hamt/internal/node.h) ----

// The key is its own hash, so tests choose the bits.
struct IdentityHash {
  size_t operator()(uint64_t key) const { return static_cast<size_t>(key); }
};
using IdentitySet = Set<uint64_t, IdentityHash>;
using IdentityLayout =
    hamt::internal::NodeLayout<uint64_t, hamt::internal::NoValue>;
static_assert(IdentityLayout::kTwins, "8-byte keys are stored in twins");
static_assert(!hamt::internal::NodeLayout<int64_t, int64_t>::kTwins,
              "16-byte pairs are not");

// Statistics of a trie, checking its canonical form on the way: every child
// node holds at least three entries (two are a twin, one an entry).
struct TrieStats {
  size_t nodes = 0;
  size_t twins = 0;
  size_t entries = 0;
};
template <class Layout>
size_t CheckCanonical(const hamt::internal::Node* node, int depth,
                      TrieStats& stats) {
  ++stats.nodes;
  size_t entries = static_cast<size_t>(Layout::pair_count(node, depth));
  const uint32_t twins = Layout::twin_children(node);
  for (int i = 0; i < Layout::child_count(node); ++i) {
    if ((twins >> i) & 1) {
      ++stats.twins;
      ++entries;
      continue;
    }
    const size_t below =
        CheckCanonical<Layout>(Layout::child(node, i), depth + 1, stats);
    // Two entries are a twin in a node that may hold twins.
    EXPECT_GE(below, Layout::twins_at(depth) ? 3u : 2u)
        << "a child node at depth " << depth + 1;
    entries += below;
  }
  if (twins != 0) {
    EXPECT_TRUE(Layout::twins_at(depth)) << "a twin at depth " << depth;
  }
  if (depth == 0) stats.entries = entries;
  return entries;
}
template <class S>
TrieStats StatsOf(const S& set) {
  using Layout =
      hamt::internal::NodeLayout<typename S::key_type, hamt::internal::NoValue>;
  TrieStats stats;
  if (RootOf(set) != nullptr) CheckCanonical<Layout>(RootOf(set), 0, stats);
  EXPECT_EQ(stats.entries, set.size());
  return stats;
}

// The bitmaps of every node in pre-order, twins marked "t".
template <class Layout>
void AppendShape(const hamt::internal::Node* node, int depth,
                 std::string& shape) {
  shape +=
      "(" + std::to_string(node->datamap) + "/" + std::to_string(node->nodemap);
  const uint32_t twins = Layout::twin_children(node);
  for (int i = 0; i < Layout::child_count(node); ++i) {
    if ((twins >> i) & 1) {
      shape += "t";
    } else {
      AppendShape<Layout>(Layout::child(node, i), depth + 1, shape);
    }
  }
  shape += ")";
}
std::string ShapeOf(const IdentitySet& set) {
  std::string shape;
  if (RootOf(set) != nullptr)
    AppendShape<IdentityLayout>(RootOf(set), 0, shape);
  return shape;
}

TEST(SetTwinTest, TwoKeysInOneSlotAreATwinNotANode) {
  static_assert(IdentityLayout::kTwinMinDepth == 3, "the keys below");
  // Equal in the low 20 bits: the same slot at depths 0 to 3. Nodes at
  // depths 0 to 2 hold no twins, so the path is three nodes down to the one
  // at depth 3, whose slot 0 holds the twin.
  const uint64_t a = 7, b = 7 + (uint64_t{1} << 20);
  const IdentitySet set = IdentitySet().insert(a).insert(b);
  const TrieStats stats = StatsOf(set);
  EXPECT_EQ(stats.nodes, 4u);
  EXPECT_EQ(stats.twins, 1u);
  EXPECT_EQ(ShapeOf(set), "(0/128(0/1(0/1(1/1t))))");
  EXPECT_TRUE(set.contains(a));
  EXPECT_TRUE(set.contains(b));
  EXPECT_FALSE(set.contains(7 + (uint64_t{1} << 21)));
  EXPECT_EQ(*set.find(b), b);
  EXPECT_EQ(Contents(set), (std::set<uint64_t>{a, b}));
  // Two keys sharing only shallower slots are a node, as without twins.
  const IdentitySet shallow = IdentitySet().insert(7).insert(7 + 32);
  EXPECT_EQ(ShapeOf(shallow), "(0/128(3/0))");
}

TEST(SetTwinTest, KeysWithEqualHashesAreATwin) {
  struct Colliding {
    size_t operator()(int) const { return 5; }
  };
  using CollidingSet = Set<int, Colliding>;
  const CollidingSet two = CollidingSet().insert(1).insert(2);
  TrieStats stats = StatsOf(two);
  EXPECT_EQ(stats.nodes, 4u);  // depths 0 to 3
  EXPECT_EQ(stats.twins, 1u);
  // A third makes a chain down to a collision node of three.
  const CollidingSet three = two.insert(3);
  stats = StatsOf(three);
  EXPECT_EQ(stats.nodes, 14u);  // depths 0 to 12, collision node
  EXPECT_EQ(stats.twins, 0u);
  // Erasing one collapses the chain into a twin again.
  const CollidingSet back = three.erase(1);
  stats = StatsOf(back);
  EXPECT_EQ(stats.nodes, 4u);
  EXPECT_EQ(stats.twins, 1u);
  EXPECT_EQ(back, CollidingSet({2, 3}));
  EXPECT_EQ(CollidingSet({3, 2}), CollidingSet({2, 3}));
  EXPECT_TRUE(back.contains(2) && back.contains(3) && !back.contains(1));
  EXPECT_EQ(back.erase(2), CollidingSet({3}));
  EXPECT_EQ(StatsOf(back.erase(3)).nodes, 1u);
}

TEST(SetTwinTest, AThirdKeyMakesANodeAndErasingItRestoresTheTwin) {
  const uint64_t deep = uint64_t{1} << 20;  // beyond the slots of depth 3
  const IdentitySet base = IdentitySet().insert(1).insert(2).insert(1 + deep);
  const std::string before = ShapeOf(base);
  EXPECT_EQ(StatsOf(base).twins, 1u);
  const IdentitySet grown = base.insert(1 + 2 * deep);
  TrieStats stats = StatsOf(grown);
  EXPECT_EQ(stats.nodes, 5u);  // depths 0 to 4
  EXPECT_EQ(stats.twins, 0u);
  const IdentitySet back = grown.erase(1 + 2 * deep);
  EXPECT_EQ(back, base);
  EXPECT_EQ(ShapeOf(back), before);
  // Erasing the twin's first or second entry leaves the other, inline in
  // the root.
  for (uint64_t key : {uint64_t{1}, 1 + deep}) {
    const IdentitySet one = base.erase(key);
    stats = StatsOf(one);
    EXPECT_EQ(stats.nodes, 1u);
    EXPECT_EQ(stats.twins, 0u);
    const uint64_t other = key == 1 ? 1 + deep : 1;
    EXPECT_EQ(one, IdentitySet({2, other}));
    EXPECT_EQ(ShapeOf(one), ShapeOf(IdentitySet({2, other})));
  }
}

TEST(SetTwinTest, SetThenEraseGivesTheStructureBuiltDirectly) {
  std::mt19937_64 random(14);
  std::vector<uint64_t> keys;
  // Eight distinct values of the low 15 bits (the slots of depths 0 to 2):
  // many keys share slots down to depths 3 and 4, where twins are.
  for (int i = 0; i < 3000; ++i) {
    keys.push_back((random() % 8) | ((random() & 0xfff) << 15));
  }
  IdentitySet all;
  for (uint64_t key : keys) all = all.insert(key);
  IdentitySet half;
  for (size_t i = 0; i < keys.size(); i += 2) half = half.insert(keys[i]);
  IdentitySet erased = all;
  auto transient = all.transient();
  for (size_t i = 1; i < keys.size(); i += 2) {
    if (half.contains(keys[i])) continue;
    erased = erased.erase(keys[i]);
    transient.erase(keys[i]);
  }
  const IdentitySet erased_in_place = std::move(transient).persistent();
  EXPECT_EQ(erased, half);
  EXPECT_EQ(erased_in_place, half);
  EXPECT_EQ(ShapeOf(erased), ShapeOf(half));
  EXPECT_EQ(ShapeOf(erased_in_place), ShapeOf(half));
  EXPECT_GT(StatsOf(half).twins, 0u);
  StatsOf(erased);
  StatsOf(erased_in_place);
  // The algebra builds the same canonical shapes.
  IdentitySet odd;
  for (size_t i = 1; i < keys.size(); i += 2) odd = odd.insert(keys[i]);
  const IdentitySet merged = hamt::merge(half, odd);
  EXPECT_EQ(merged, all);
  EXPECT_EQ(ShapeOf(merged), ShapeOf(all));
  const IdentitySet subtracted = hamt::difference(all, odd);
  IdentitySet expected;
  for (uint64_t key : all) {
    if (!odd.contains(key)) expected = expected.insert(key);
  }
  EXPECT_EQ(subtracted, expected);
  EXPECT_EQ(ShapeOf(subtracted), ShapeOf(expected));
  EXPECT_EQ(ShapeOf(hamt::intersection(all, half)), ShapeOf(half));
  const IdentitySet filtered =
      hamt::filter(all, [&](uint64_t key) { return half.contains(key); });
  EXPECT_EQ(ShapeOf(filtered), ShapeOf(half));
  StatsOf(subtracted);
}

// Node counts (deterministic: the keys are their own hashes) of a set of
// 100k random keys: the nodes are canonical (StatsOf checks), and each twin
// replaces a node. (At 100k most two-key subtrees are at depth 3, in slots
// of nodes at depth 2, which hold no twins; at 1M they are one level
// deeper.)
TEST(SetTwinTest, TwinsReplaceNodes) {
  std::mt19937_64 random(1);
  IdentitySet set;
  for (int i = 0; i < 100000; ++i) set = std::move(set).insert(random());
  const TrieStats stats = StatsOf(set);
  EXPECT_EQ(stats.nodes, 27585u);
  EXPECT_EQ(stats.twins, 4430u);  // without twins: 32015 nodes
}

}  // namespace
