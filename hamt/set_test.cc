#include "hamt/set.h"

#include <cstdint>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
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

}  // namespace
