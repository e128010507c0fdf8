#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"
#include "hamt/map.h"

namespace {

using hamt::internal::MapAccess;
using Map = hamt::Map<int64_t, int64_t>;

TEST(TransientTest, BuildsTheSameMapAsPersistentSets) {
  std::mt19937_64 rng(3);
  Map persistent;
  hamt::TransientMap<int64_t, int64_t> transient;
  std::unordered_map<int64_t, int64_t> model;
  for (int i = 0; i < 50000; ++i) {
    const int64_t key = static_cast<int64_t>(rng() % 20000);
    if (rng() % 4 == 0) {
      const bool present = model.erase(key) == 1;
      EXPECT_EQ(transient.erase(key), present);
      persistent = persistent.erase(key);
    } else {
      transient.set(key, i);
      persistent = persistent.set(key, i);
      model[key] = i;
    }
    ASSERT_EQ(transient.size(), model.size());
  }
  for (const auto& [key, value] : model) {
    ASSERT_NE(transient.find(key), nullptr);
    EXPECT_EQ(*transient.find(key), value);
  }
  EXPECT_FALSE(transient.contains(-1));
  Map built = std::move(transient).persistent();
  EXPECT_TRUE(transient.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(built, persistent);
  EXPECT_EQ(built.size(), model.size());
  for (const auto& pair : built) EXPECT_EQ(model.at(pair.first), pair.second);
}

TEST(TransientTest, LeavesTheSourceMapUnchanged) {
  Map source;
  for (int i = 0; i < 5000; ++i) source = source.set(i, i);
  const Map snapshot = source;
  auto transient = source.transient();
  for (int i = 0; i < 5000; i += 2) transient.set(i, -i);
  for (int i = 1; i < 5000; i += 4) transient.erase(i);
  transient.update(1, [](const int64_t* old) { return old ? *old : 77; });
  Map result = std::move(transient).persistent();
  EXPECT_EQ(source, snapshot);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(source.at(i), i);
  EXPECT_EQ(result.at(0), 0);
  EXPECT_EQ(result.at(2), -2);
  EXPECT_EQ(result.at(1), 77);
  EXPECT_FALSE(result.contains(5));
  EXPECT_EQ(result.at(3), 3);
}

TEST(TransientTest, EditsOwnedNodesInPlace) {
  Map source;
  for (int i = 0; i < 1000; ++i) source = source.set(i, i);
  {
    auto transient = source.transient();
    transient.set(1, 100);  // copies the path: the root is shared with source
    const int64_t* slot = transient.find(1);
    transient.set(1, 200);  // now owned: written in place
    EXPECT_EQ(transient.find(1), slot);
    EXPECT_EQ(*slot, 200);
    EXPECT_EQ(source.at(1), 1);
  }
  // A transient from an rvalue map owns its nodes from the start.
  const int64_t* source_slot = source.find(2);
  auto owner = std::move(source).transient();
  owner.set(2, 5);
  EXPECT_EQ(owner.find(2), source_slot);
  Map result = std::move(owner).persistent();
  EXPECT_EQ(result.find(2), source_slot);
  EXPECT_EQ(result.at(2), 5);
}

TEST(TransientTest, EraseToEmptyAndRebuild) {
  hamt::TransientMap<int64_t, int64_t> transient;
  for (int i = 0; i < 3000; ++i) transient.set(i, i);
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(transient.erase(i));
  EXPECT_FALSE(transient.erase(0));
  EXPECT_TRUE(transient.empty());
  for (int i = 0; i < 10; ++i) transient.set(i, i);
  Map map = std::move(transient).persistent();
  EXPECT_EQ(map, Map({{0, 0},
                      {1, 1},
                      {2, 2},
                      {3, 3},
                      {4, 4},
                      {5, 5},
                      {6, 6},
                      {7, 7},
                      {8, 8},
                      {9, 9}}));
}

}  // namespace
