// Maps and Sets as keys: absl::Hash and std::hash of their contents.

#include "absl/hash/hash.h"

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"
#include "hamt/map.h"
#include "hamt/set.h"

namespace {

using IntMap = hamt::Map<int, int>;
using IntSet = hamt::Set<int>;

IntMap Forward(int n) {
  IntMap map;
  for (int i = 0; i < n; ++i) map = map.set(i, i * 10);
  return map;
}
IntMap Backward(int n) {
  IntMap map;
  for (int i = n - 1; i >= 0; --i) map = map.set(i, i * 10);
  return map;
}

TEST(HashTest, EqualMapsHashAlikeWhateverTheInsertionOrder) {
  for (int n : {0, 1, 2, 33, 1000}) {
    const IntMap a = Forward(n), b = Backward(n);
    ASSERT_EQ(a, b);
    EXPECT_EQ(absl::Hash<IntMap>()(a), absl::Hash<IntMap>()(b)) << n;
    EXPECT_EQ(std::hash<IntMap>()(a), std::hash<IntMap>()(b)) << n;
  }
}

TEST(HashTest, MapHashCoversValues) {
  const IntMap a = Forward(100);
  EXPECT_NE(absl::Hash<IntMap>()(a), absl::Hash<IntMap>()(a.set(5, -1)));
  EXPECT_NE(absl::Hash<IntMap>()(a), absl::Hash<IntMap>()(a.erase(5)));
  EXPECT_NE(absl::Hash<IntMap>()(IntMap{{1, 2}}),
            absl::Hash<IntMap>()(IntMap{{2, 1}}));
}

TEST(HashTest, EqualSetsHashAlike) {
  IntSet a, b;
  for (int i = 0; i < 500; ++i) a = a.insert(i);
  for (int i = 499; i >= 0; --i) b = b.insert(i);
  EXPECT_EQ(absl::Hash<IntSet>()(a), absl::Hash<IntSet>()(b));
  EXPECT_EQ(std::hash<IntSet>()(a), std::hash<IntSet>()(b));
  EXPECT_NE(absl::Hash<IntSet>()(a), absl::Hash<IntSet>()(a.erase(3)));
  EXPECT_NE(absl::Hash<IntSet>()(IntSet{}), absl::Hash<IntSet>()(IntSet{0}));
}

TEST(HashTest, MapsAndSetsAreKeysOfFlatHashMap) {
  absl::flat_hash_map<IntMap, std::string> by_map;
  by_map[Forward(50)] = "fifty";
  by_map[Forward(3)] = "three";
  // (find, not at(): at() needs absl's throw_delegate library.)
  ASSERT_NE(by_map.find(Backward(50)), by_map.end());
  EXPECT_EQ(by_map.find(Backward(50))->second, "fifty");
  EXPECT_EQ(by_map.count(Forward(4)), 0u);
  absl::flat_hash_map<IntSet, int> by_set;
  by_set[IntSet{1, 2, 3}] = 6;
  ASSERT_NE(by_set.find(IntSet{3, 2, 1}), by_set.end());
  EXPECT_EQ(by_set.find(IntSet{3, 2, 1})->second, 6);
  std::unordered_set<IntSet> std_set = {IntSet{1}, IntSet{1, 2}};
  EXPECT_EQ(std_set.count(IntSet{2, 1}), 1u);
}

TEST(HashTest, MapsAndSetsAreKeysOfHamtMap) {
  hamt::Map<IntMap, int> by_map;
  by_map = by_map.set(Forward(20), 20).set(Forward(21), 21);
  ASSERT_NE(by_map.find(Backward(20)), nullptr);
  EXPECT_EQ(*by_map.find(Backward(20)), 20);
  hamt::Map<IntSet, int> by_set;
  by_set = by_set.set(IntSet{1, 2}, 3);
  EXPECT_EQ(by_set.at(IntSet{2, 1}), 3);
  hamt::Set<IntSet> set_of_sets = {IntSet{1}, IntSet{1, 2}, IntSet{2, 1}};
  EXPECT_EQ(set_of_sets.size(), 2u);
}

}  // namespace
