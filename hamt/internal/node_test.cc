#include "hamt/internal/node.h"

#include <cstdint>
#include <cstring>
#include <utility>

#include "gtest/gtest.h"

namespace {

using hamt::internal::ChildSlot;
using hamt::internal::IsBorrowed;
using hamt::internal::IsUnique;
using hamt::internal::Node;
using hamt::internal::NodeHeader;
using hamt::internal::Retain;
using hamt::internal::SourceOf;
using Layout = hamt::internal::NodeLifetime<int64_t, int64_t,
                                            hamt::SizeClassPoolAllocator>;

// A node with `np` pairs (keys 100 + i) and `nc` leaf children.
Node* MakeNode(int np, int nc, bool borrowed = false) {
  Node* node = Layout::allocate(Layout::bytes_for(np, nc), borrowed);
  node->datamap = (uint32_t{1} << np) - 1;
  node->nodemap = ((uint32_t{1} << nc) - 1) << np;
  for (int i = 0; i < np; ++i) {
    new (Layout::pairs(node) + i) Layout::Pair(100 + i, i);
  }
  for (int i = 0; i < nc; ++i) {
    Node* leaf = Layout::allocate(Layout::bytes_for(2, 0));
    leaf->datamap = 3;
    leaf->nodemap = 0;
    new (Layout::pairs(leaf)) Layout::Pair(i, 0);
    new (Layout::pairs(leaf) + 1) Layout::Pair(i, 1);
    *ChildSlot(node, static_cast<uint32_t>(i)) = leaf;
  }
  return node;
}

// Children are the pointers counted back from the end of the capacity, and
// the slot one past the last child is still inside the node (after the
// pairs), which the branch-free lookup step relies on.
TEST(NodeTest, ChildSlotsAreCountedBackFromTheCapacity) {
  Node* node = MakeNode(3, 4);
  const char* base = reinterpret_cast<const char*>(node);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(reinterpret_cast<const char*>(ChildSlot(node, i)),
              base + node->capacity - 8 * (i + 1));
    EXPECT_EQ(Layout::child(node, static_cast<int>(i)), *ChildSlot(node, i));
  }
  EXPECT_EQ(Layout::children_begin(node, 4), ChildSlot(node, 3));
  const char* past_last = reinterpret_cast<const char*>(ChildSlot(node, 4));
  EXPECT_GE(past_last, reinterpret_cast<const char*>(Layout::pairs(node) + 3) -
                           sizeof(Node*));
  EXPECT_GE(past_last, base + sizeof(NodeHeader) - sizeof(Node*));
  EXPECT_EQ(Layout::pair_count(node, 0), 3);
  EXPECT_EQ(Layout::child_count(node), 4);
  EXPECT_EQ(Layout::pairs(node)[2].first, 102);
  Layout::release(node, 0);
}

TEST(NodeTest, BytesForRoundsToTheSizeClass) {
  EXPECT_EQ(Layout::bytes_for(0, 0), 16u);
  EXPECT_EQ(Layout::bytes_for(1, 0), 32u);
  EXPECT_EQ(Layout::bytes_for(2, 3), 16u + 32u + 24u);
  using Small = hamt::internal::NodeLayout<int8_t, int8_t>;
  EXPECT_EQ(Small::bytes_for(1, 0), 24u);  // 18 bytes rounded to 8
}

// A borrowed node owns only the children that differ from its source's;
// materializing takes references on the others, drops the source and makes
// the node an ordinary one with the same children.
TEST(NodeTest, MaterializeTurnsABorrowedNodeIntoAnOrdinaryOne) {
  Node* source = MakeNode(1, 3);
  Node* copy = Layout::allocate(Layout::bytes_for(1, 3), /*borrowed=*/true);
  copy->datamap = source->datamap;
  copy->nodemap = source->nodemap;
  new (Layout::pairs(copy)) Layout::Pair(100, 7);
  Node* own_child = MakeNode(2, 0);
  for (uint32_t i = 0; i < 3; ++i) {
    *ChildSlot(copy, i) = i == 1 ? own_child : *ChildSlot(source, i);
  }
  Retain(source);
  SourceOf(copy) = source;
  ASSERT_TRUE(IsBorrowed(copy));
  const uint32_t capacity = copy->capacity;

  Layout::materialize(copy, 0);
  EXPECT_FALSE(IsBorrowed(copy));
  EXPECT_TRUE(IsUnique(copy));
  EXPECT_EQ(copy->capacity, capacity + sizeof(Node*));
  EXPECT_EQ(Layout::child(copy, 0), Layout::child(source, 0));
  EXPECT_EQ(Layout::child(copy, 1), own_child);
  EXPECT_EQ(Layout::child(copy, 2), Layout::child(source, 2));
  EXPECT_FALSE(IsUnique(Layout::child(source, 0)));  // now shared by both
  EXPECT_TRUE(IsUnique(source));  // the copy's reference was dropped
  Layout::release(source, 0);
  EXPECT_TRUE(IsUnique(Layout::child(copy, 0)));
  EXPECT_EQ(Layout::pairs(copy)[0].second, 7);
  Layout::release(copy, 0);
}

// ---- twin slots ----

using TwinLayout =
    hamt::internal::NodeLifetime<int64_t, hamt::internal::NoValue,
                                 hamt::SizeClassPoolAllocator>;
static_assert(TwinLayout::kTwins, "a Set of int64 keys has twins");
static_assert(!Layout::kTwins, "16-byte pairs do not");

// A node at depth 3 with slot 1 an entry, slot 4 a child node, slot 6 a
// twin and slot 9 a twin: child slots 0 (node), 1 and 2 (twins).
TEST(NodeTwinTest, TwinsAreRankedAmongTheChildren) {
  Node* node = TwinLayout::allocate(TwinLayout::bytes_for(3, 3));
  node->datamap = (1u << 1) | (1u << 6) | (1u << 9);
  node->nodemap = (1u << 4) | (1u << 6) | (1u << 9);
  using Entry = TwinLayout::Pair;
  for (int i = 0; i < 3; ++i) {
    new (TwinLayout::pairs(node) + i) Entry(10 + i, {});
  }
  Node* child = TwinLayout::allocate(TwinLayout::bytes_for(3, 0));
  child->datamap = 7;
  child->nodemap = 0;
  for (int i = 0; i < 3; ++i) {
    new (TwinLayout::pairs(child) + i) Entry(20 + i, {});
  }
  *ChildSlot(node, 0) = child;
  *ChildSlot(node, 1) = TwinLayout::TwinWord(Entry(31, {}));
  *ChildSlot(node, 2) = TwinLayout::TwinWord(Entry(32, {}));
  EXPECT_EQ(TwinLayout::twin_bits(node), (1u << 6) | (1u << 9));
  EXPECT_EQ(TwinLayout::node_bits(node), 1u << 4);
  EXPECT_EQ(TwinLayout::twin_children(node), 0b110u);
  EXPECT_EQ(TwinLayout::twin_second(node, 1)->first, 31);
  EXPECT_EQ(TwinLayout::twin_second(node, 2)->first, 32);
  EXPECT_EQ(TwinLayout::count(node, 3), 8u);
  // Twins are not nodes: the subtree is two allocations, and releasing it
  // frees the child (ASan checks) without touching the twins' words.
  EXPECT_EQ(
      TwinLayout::subtree_bytes(node),
      TwinLayout::allocated_bytes(node) + TwinLayout::allocated_bytes(child));
  EXPECT_FALSE(TwinLayout::twins_at(2));
  EXPECT_TRUE(TwinLayout::twins_at(3));
  TwinLayout::release(node, 3);
}

}  // namespace
