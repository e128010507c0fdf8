#include "hamt/internal/lookup.h"

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "absl/hash/hash.h"
#include "gtest/gtest.h"
#include "hamt/map.h"

namespace {

using hamt::internal::ChildSlot;
using hamt::internal::DescendStep;
using hamt::internal::Node;
using Layout = hamt::internal::NodeLifetime<int64_t, int64_t,
                                            hamt::SizeClassPoolAllocator>;

// Few distinct hashes: long collision lists after 13 levels.
struct Mod4Hash {
  size_t operator()(int64_t key) const { return static_cast<size_t>(key % 4); }
};

// The branch-free step descends exactly when the slot holds a child, and
// then consumes the slot's 5 bits; it stays put on a pair, an empty slot and
// a collision node.
template <bool kHardware>
void CheckDescendStep() {
  // Slot 3: a pair, slots 5 and 9: children.
  Node* node = Layout::allocate(Layout::bytes_for(1, 2));
  node->datamap = 1u << 3;
  node->nodemap = (1u << 5) | (1u << 9);
  new (Layout::pairs(node)) Layout::Pair(1, 1);
  Node* children[2];
  for (uint32_t i = 0; i < 2; ++i) {
    children[i] = Layout::allocate(Layout::bytes_for(0, 0));
    children[i]->datamap = children[i]->nodemap = 0;
    *ChildSlot(node, i) = children[i];
  }
  for (uint64_t slot = 0; slot < 32; ++slot) {
    const Node* at = node;
    uint64_t rest = slot | (uint64_t{0x1234} << 5);
    int depth = 4;
    DescendStep<kHardware>(at, rest, depth);
    if (slot == 5 || slot == 9) {
      EXPECT_EQ(at, children[slot == 5 ? 0 : 1]) << slot;
      EXPECT_EQ(rest, uint64_t{0x1234});
      EXPECT_EQ(depth, 5);
    } else {
      EXPECT_EQ(at, node) << slot;
      EXPECT_EQ(rest, slot | (uint64_t{0x1234} << 5));
      EXPECT_EQ(depth, 4);
    }
  }
  Layout::release(node, 0);
}
TEST(LookupTest, DescendStepTakesOnlyChildSlots) {
  CheckDescendStep<false>();
  if (hamt::internal::CpuHasPopCount()) CheckDescendStep<true>();
}

// Lookups take a branch-free path in small maps, a branching one in larger
// ones and add prefetches in large ones (kBranchFreeMaxSize,
// kPrefetchMinSize); each finds every key, including in collision nodes,
// and no absent key.
bool NearLimit(size_t size, size_t limit) {
  return size == limit || size == limit + 1;
}
template <class Hash>
void CheckLookupsUpTo(size_t max_size) {
  using M = hamt::Map<int64_t, int64_t, Hash>;
  std::mt19937_64 rng(7);
  std::vector<int64_t> keys;
  M map;
  for (size_t n = 0; n < max_size; ++n) {
    const int64_t key = static_cast<int64_t>(rng() >> 1);
    keys.push_back(key);
    map = std::move(map).set(key, key ^ 1);
    if (n < 70 || NearLimit(n + 1, hamt::internal::kBranchFreeMaxSize) ||
        NearLimit(n + 1, hamt::internal::kPrefetchMinSize)) {
      for (const int64_t k : keys) {
        const int64_t* value = map.find(k);
        ASSERT_NE(value, nullptr) << "size " << map.size() << " key " << k;
        ASSERT_EQ(*value, k ^ 1);
      }
      for (int i = 0; i < 200; ++i) {
        const int64_t absent = -static_cast<int64_t>(rng() >> 2) - 1;
        ASSERT_EQ(map.find(absent), nullptr) << "size " << map.size();
      }
    }
  }
}
TEST(LookupTest, LookupsAroundTheStrategyLimits) {
  CheckLookupsUpTo<absl::Hash<int64_t>>(hamt::internal::kPrefetchMinSize + 3);
  // Collision nodes of n / 4 pairs: each lookup scans one.
  CheckLookupsUpTo<Mod4Hash>(hamt::internal::kBranchFreeMaxSize + 3);
}

}  // namespace
