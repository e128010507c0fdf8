// CHAMP node layout and lifetime (Steindorfer & Vinju, "Optimizing
// Hash-Array Mapped Tries for Fast and Lean Immutable JVM Collections", 2015).
//
// A node is one allocation:
//
//   [NodeHeader: refcount | capacity | datamap | nodemap]   16 bytes
//   [std::pair<K, V> x popcount(datamap)]                   from the front
//   [free space, only in nodes edited in place]
//   [Node* x popcount(nodemap)]                             from the back
//                                  (or a twin's second pair, see below)
//
// Child j lives at ChildSlot(node, j), the j-th pointer counted back from
// the end, so pairs and children grow towards each other and a node with
// spare capacity takes either without moving the other. Every path (lookup,
// update, comparison, iteration) reaches a child through ChildSlot, so a
// change of layout changes it in one place. A node at depth kCollisionDepth
// (bits.h) is a collision node, whose datamap holds its number of pairs (all
// with the same hash) and whose nodemap is 0.
//
// Borrowed nodes. Copying a node for a persistent update would cost one
// atomic increment per child (and one decrement when the copy dies), which
// dominates the update. So a copy that keeps the children of its original
// (a replaced child or value) *borrows* them instead: it holds one
// reference on the original (its `source`, stored in 8 extra bytes after
// the child pointers) plus a reference on at most one child of its own,
// the one that differs from the source's. Sources are never borrowed
// themselves, so a borrowed node keeps alive at most one extra node (its
// source) and the one subtree the source has in place of the copy's own
// child. A borrowed node is turned into an ordinary one ("materialized")
// before it is edited in place. The flag lives in the top bit of refcount.
// So a borrowed node's child nodes are its source's but one at most (twins,
// below, are not counted), and diff (compare.h) stops comparing the
// children of a copy without twins and of its source at the first that
// differs.
//
// Twin slots. With 32-way nodes most leaves of a big trie hold two pairs
// (1M random keys: ~71% of the ~258k nodes of the bottom level), so a
// node's 16-byte header and its 8-byte child pointer dominate for small
// pairs: a Set<int64_t> spent ~7 bytes per key on them besides the 8 of the
// key. When
// a pair fits a child slot and is trivially copyable (NodeLayout::kTwins: a
// Set of 8-byte keys, a Map<int32_t, int32_t>), a subtree of exactly two
// pairs is instead a *twin* stored in its parent: the slot has both its
// datamap and its nodemap bit, the first pair is in the pair array at the
// usual index (the rank of the bit in the datamap), and the second pair is
// in the bytes of the child slot at the usual child index (the rank in the
// nodemap, which therefore counts twins). A lookup then pays nothing on the
// common path: a key whose datamap bit is set is compared with the pair as
// before, and only when it does not match is the nodemap bit tested and the
// twin's second pair compared; descent needs the datamap bit clear, as
// before. Twins are not nodes: loops over child slots skip them
// (twin_children) when taking or dropping references. The two pairs of a
// twin are in no particular order (two keys with equal hashes have none), so
// comparisons treat a twin as an unordered pair. With kTwins false every
// twin test is a constant false, and the code is that of a trie without
// twins.
//
// Only nodes at depth kTwinMinDepth (3) or deeper hold twins. Small tries
// are then laid out as without twins, and lookups in them (which take the
// top two levels without branches, see lookup.h) pay nothing: a twin costs
// a lookup that finds its second pair a mispredicted branch or a few more
// instructions, which at 1k keys made find ~35% slower. In big tries,
// where most two-pair leaves are at depth 4 or deeper, twins remove a
// dependent cache miss from the lookups that reach them instead, and save
// almost all the memory they can (1M int64 keys: 10.7 bytes per key
// against 15.4 without twins).
//
// Invariants (canonical form): a subtree of exactly one pair is stored
// inline in its parent, and one of exactly two pairs in a slot of a node at
// depth >= kTwinMinDepth is a twin (with kTwins), so every node below the
// root holds at least two pairs in its subtree (with kTwins, three if it is
// deeper than kTwinMinDepth, a collision node included). So the shape
// depends only on the set of keys, which makes equality structural. Only
// the order of pairs in a collision node and in a twin depends on history.

#ifndef PERSIST_HAMT_INTERNAL_NODE_H_
#define PERSIST_HAMT_INTERNAL_NODE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "base/optimization.h"
#include "hamt/internal/bits.h"
#include "hamt/internal/key_entry.h"
#include "hamt/internal/node_allocator.h"
#include "hamt/internal/word_diff.h"

namespace hamt {
namespace internal {

inline constexpr uint32_t kBorrowedFlag = uint32_t{1} << 31;
inline constexpr uint32_t kCountMask = kBorrowedFlag - 1;

struct NodeHeader {
  NodeHeader(uint32_t capacity_bytes, uint32_t flags)
      : refcount(1 | flags), capacity(capacity_bytes) {}

  std::atomic<uint32_t> refcount;  // top bit: kBorrowedFlag
  // Offset of the end of the child pointers; the allocation has 8 more
  // bytes (the source) when borrowed.
  uint32_t capacity;
  uint32_t datamap;  // collision node: number of pairs
  uint32_t nodemap;  // collision node: 0
};
static_assert(sizeof(NodeHeader) == 16, "header must stay 16 bytes");

using Node = NodeHeader;

// The address of child `index`'s pointer: children are stored from the
// end of the node's capacity backwards, so the n children of a node occupy
// [ChildSlot(node, n) + 1, ChildSlot(node, 0) + 1). For index <= the child
// count the address is inside the node (ChildSlot(node, n) is the last 8
// bytes before the children: the end of a pair, the header, or free space),
// which lets a lookup read that slot before it knows whether it holds a
// child. `index` is unsigned so that no sign extension lands on a lookup's
// critical path.
PERSIST_BASE_ALWAYS_INLINE inline Node* const* ChildSlot(const Node* node,
                                                         uint32_t index) {
  return reinterpret_cast<Node* const*>(reinterpret_cast<const char*>(node) +
                                        node->capacity -
                                        sizeof(Node*) * (uintptr_t{index} + 1));
}
PERSIST_BASE_ALWAYS_INLINE inline Node** ChildSlot(Node* node, uint32_t index) {
  return const_cast<Node**>(ChildSlot(static_cast<const Node*>(node), index));
}

// One child slot, read and written as 8 bytes. In layouts with twins a
// slot holds a child pointer or the second pair of a twin, which lookups and
// iterators read as a Pair; so the edits never store a slot as a Node*
// object. A typed pointer store and a typed read of the pair in the same
// bytes would break strict aliasing, and let the compiler reorder them:
// std::memcpy accesses are allowed to alias anything, and compile to the
// same moves.
template <bool kWritable>
class SlotRef {
 public:
  using Address = std::conditional_t<kWritable, void*, const void*>;
  explicit SlotRef(Address slot) : slot_(slot) {}
  SlotRef(const SlotRef&) = default;

  // The word, as a child pointer.
  operator Node*() const {
    Node* word;
    std::memcpy(static_cast<void*>(&word), slot_, sizeof word);
    return word;
  }
  Node* operator->() const { return *this; }
  Address address() const { return slot_; }

  // Stores `word`: a child, or a twin's second pair (NodeLayout::TwinWord).
  const SlotRef& operator=(Node* word) const {
    static_assert(kWritable, "a slot of a const node");
    std::memcpy(slot_, static_cast<const void*>(&word), sizeof word);
    return *this;
  }
  // Copies the other slot's 8 bytes, whatever they hold.
  const SlotRef& operator=(const SlotRef& other) const {
    static_assert(kWritable, "a slot of a const node");
    std::memcpy(slot_, other.slot_, sizeof(Node*));
    return *this;
  }

 private:
  Address slot_;
};

// The child slots of a node for loops over its children: `slots[j]` is
// the slot at ChildSlot(node, j), with the node's capacity read once (a
// loop that calls out, to release a child say, would otherwise reload it at
// every step).
template <class NodePointer>
struct ChildSlotArray {
  static constexpr bool kWritable = !std::is_const<NodePointer>::value;
  NodePointer* first;  // ChildSlot(node, 0)
  SlotRef<kWritable> operator[](int index) const {
    return SlotRef<kWritable>(first - index);
  }
};
inline ChildSlotArray<Node*> ChildSlots(Node* node) {
  return {ChildSlot(node, 0)};
}
inline ChildSlotArray<Node* const> ChildSlots(const Node* node) {
  return {ChildSlot(node, 0)};
}

// The slot a lookup needs next is usually not in the header's cache line,
// and its address depends on the header: fetch the following lines in
// parallel with the header instead of after it (a big trie misses the cache
// at every level below the top two or three).
PERSIST_BASE_ALWAYS_INLINE inline void PrefetchNodeBody(const Node* node) {
  __builtin_prefetch(reinterpret_cast<const char*>(node) + 64);
  __builtin_prefetch(reinterpret_cast<const char*>(node) + 128);
  __builtin_prefetch(reinterpret_cast<const char*>(node) + 192);
}

PERSIST_BASE_ALWAYS_INLINE inline void Retain(Node* node) {
  node->refcount.fetch_add(1, std::memory_order_relaxed);
}

// True when the caller holds the only reference, so the node may be edited.
// Acquire pairs with the release of other owners' decrements.
PERSIST_BASE_ALWAYS_INLINE inline bool IsUnique(const Node* node) {
  return (node->refcount.load(std::memory_order_acquire) & kCountMask) == 1;
}

// Set before a node is shared and cleared only by its sole owner.
PERSIST_BASE_ALWAYS_INLINE inline bool IsBorrowed(const Node* node) {
  return node->refcount.load(std::memory_order_relaxed) & kBorrowedFlag;
}

// The node a borrowed node borrows its children from: the 8 bytes after
// the child pointers.
PERSIST_BASE_ALWAYS_INLINE inline Node*& SourceOf(Node* node) {
  return *reinterpret_cast<Node**>(reinterpret_cast<char*>(node) +
                                   node->capacity);
}
PERSIST_BASE_ALWAYS_INLINE inline const Node* SourceOf(const Node* node) {
  return *reinterpret_cast<Node* const*>(reinterpret_cast<const char*>(node) +
                                         node->capacity);
}

// Layout of nodes holding std::pair<K, V>: where pairs and children are,
// how big a node is, and moving pairs.
template <class K, class V>
struct NodeLayout {
  using Pair = typename EntryOf<K, V>::type;  // std::pair<K, V> for a Map

  static_assert(alignof(Pair) <= 16, "hamt::Map pairs aligned beyond 16");
  static constexpr bool kOverAligned = alignof(Pair) > kAllocGranule;
  // In-place edits move pairs; they must not throw, so that an exception
  // never leaves a node half edited. Other types always path-copy.
  static constexpr bool kCanEditInPlace =
      std::is_nothrow_move_constructible<K>::value &&
      std::is_nothrow_move_constructible<V>::value &&
      std::is_nothrow_move_assignable<V>::value;
  static constexpr bool kTrivialPair = std::is_trivially_copyable<Pair>::value;
  // Twin slots (see the top of this file): a subtree of exactly two entries
  // is stored in its parent, the second entry in the bytes of a child slot.
  // Only for entries that fit a slot and may be copied as bytes; for larger
  // ones every twin test below is a constant false and the code is as if
  // twins did not exist.
  static constexpr bool kTwins = kTrivialPair &&
                                 sizeof(Pair) <= sizeof(Node*) &&
                                 alignof(Pair) <= alignof(Node*);
  // Only nodes at this depth or deeper hold twins (see the top of this
  // file); a two-pair subtree in a slot of a shallower node is a node.
  static constexpr int kTwinMinDepth = 3;
  // Whether a node at `depth` stores its two-pair subtrees as twins.
  PERSIST_BASE_ALWAYS_INLINE static constexpr bool twins_at(int depth) {
    return kTwins && depth >= kTwinMinDepth;
  }
  static constexpr size_t kSourceBytes = sizeof(Node*);
  // Over-aligned pairs would need 16 bytes for the source; not worth it.
  static constexpr bool kCanBorrow = !kOverAligned;
  // Borrowing saves 2 * (children - 1) atomic operations at the price of
  // 8 bytes and a reference on the source; below this it does not pay.
  static constexpr int kMinChildrenToBorrow = 3;

  PERSIST_BASE_ALWAYS_INLINE static Pair* pairs(Node* node) {
    return reinterpret_cast<Pair*>(reinterpret_cast<char*>(node) +
                                   sizeof(NodeHeader));
  }
  PERSIST_BASE_ALWAYS_INLINE static const Pair* pairs(const Node* node) {
    return reinterpret_cast<const Pair*>(reinterpret_cast<const char*>(node) +
                                         sizeof(NodeHeader));
  }
  PERSIST_BASE_ALWAYS_INLINE static Node* child(const Node* node, int index) {
    return SlotRef<false>(ChildSlot(node, static_cast<uint32_t>(index)));
  }
  // The lowest address of a node's `count` child pointers (their block).
  static Node** children_begin(Node* node, int count) {
    return ChildSlot(node, static_cast<uint32_t>(count)) + 1;
  }
  static Node* const* children_begin(const Node* node, int count) {
    return ChildSlot(node, static_cast<uint32_t>(count)) + 1;
  }
  PERSIST_BASE_ALWAYS_INLINE static int pair_count(const Node* node,
                                                   int depth) {
    return depth == kCollisionDepth ? static_cast<int>(node->datamap)
                                    : PopCount(node->datamap);
  }
  PERSIST_BASE_ALWAYS_INLINE static int child_count(const Node* node) {
    return PopCount(node->nodemap);
  }

  // ---- twin slots ----

  // The slots of `node` holding twins (0 at a collision node, whose nodemap
  // is 0).
  PERSIST_BASE_ALWAYS_INLINE static uint32_t twin_bits(const Node* node) {
    return kTwins ? node->datamap & node->nodemap : 0;
  }
  // The slots of `node` holding child nodes.
  PERSIST_BASE_ALWAYS_INLINE static uint32_t node_bits(const Node* node) {
    return kTwins ? node->nodemap & ~node->datamap : node->nodemap;
  }
  // Bit j set when child slot j of `node` holds a twin rather than a node:
  // the twin slots ranked among the nodemap. Loops over the children use it
  // to leave twins alone (they hold no reference).
  static uint32_t twin_children(const Node* node) {
    return kTwins ? twin_children(node->datamap, node->nodemap) : 0;
  }
  static uint32_t twin_children(uint32_t datamap, uint32_t nodemap) {
    if (!kTwins) return 0;
    // A loop over the twins only: they are a minority of the slots.
    uint32_t mask = 0;
    for (uint32_t twins = datamap & nodemap; twins != 0; twins &= twins - 1) {
      mask |= uint32_t{1} << IndexOf(nodemap, twins & (~twins + 1));
    }
    return mask;
  }
  // The second entry of the twin in child slot `index`.
  PERSIST_BASE_ALWAYS_INLINE static const Pair* twin_second(const Node* node,
                                                            int index) {
    return reinterpret_cast<const Pair*>(
        ChildSlot(node, static_cast<uint32_t>(index)));
  }
  PERSIST_BASE_ALWAYS_INLINE static Pair* twin_second(Node* node, int index) {
    return reinterpret_cast<Pair*>(
        ChildSlot(node, static_cast<uint32_t>(index)));
  }
  // The child-slot word holding `entry` as a twin's second entry (unused
  // bytes zero, so that equal twins have equal words).
  static Node* TwinWord(const Pair& entry) {
    static_assert(kTwins, "only for layouts with twins");
    Node* word = nullptr;
    std::memcpy(static_cast<void*>(&word), static_cast<const void*>(&entry),
                sizeof(Pair));
    return word;
  }
  // Entries in the subtree `node` at `depth` (nodes hold no counts: this
  // walks the subtree).
  static size_t count(const Node* node, int depth) {
    size_t n = static_cast<size_t>(pair_count(node, depth));
    const uint32_t twins = twin_children(node);
    const auto children = ChildSlots(node);
    for (int i = 0, nc = child_count(node); i < nc; ++i) {
      n += (twins >> i) & 1 ? 1 : count(children[i], depth + 1);
    }
    return n;
  }

  PERSIST_BASE_ALWAYS_INLINE static size_t bytes_for(int pair_count,
                                                     int child_count) {
    const size_t bytes = sizeof(NodeHeader) +
                         static_cast<size_t>(pair_count) * sizeof(Pair) +
                         static_cast<size_t>(child_count) * sizeof(Node*);
    if (kOverAligned) return (bytes + 15) & ~size_t{15};
    return RoundToSizeClass(bytes);
  }

  PERSIST_BASE_ALWAYS_INLINE static size_t allocated_bytes(const Node* node) {
    return node->capacity + (IsBorrowed(node) ? kSourceBytes : 0);
  }

  // Moves `count` pairs from `from` to uninitialized `to` (ranges may
  // overlap when moving within one node), destroying the sources.
  static void relocate(Pair* to, Pair* from, int count) noexcept {
    if (count <= 0) return;
    if (kTrivialPair) {
      std::memmove(static_cast<void*>(to), static_cast<void*>(from),
                   static_cast<size_t>(count) * sizeof(Pair));
    } else if (to < from) {
      for (int i = 0; i < count; ++i) {
        new (&to[i]) Pair(std::move(from[i]));
        from[i].~Pair();
      }
    } else {
      for (int i = count - 1; i >= 0; --i) {
        new (&to[i]) Pair(std::move(from[i]));
        from[i].~Pair();
      }
    }
  }

  // Bytes of all nodes reachable from `node` (for memory statistics).
  static size_t subtree_bytes(const Node* node) {
    if (node == nullptr) return 0;
    size_t bytes = allocated_bytes(node);
    const uint32_t twins = twin_children(node);
    const auto children = ChildSlots(node);
    for (int i = 0, n = child_count(node); i < n; ++i) {
      if (!((twins >> i) & 1)) bytes += subtree_bytes(children[i]);
    }
    return bytes;
  }
};

// Allocation, reference counting and destruction of nodes holding
// std::pair<K, V>, whose memory comes from NodeAllocator (see hamt/map.h).
template <class K, class V, class NodeAllocator>
struct NodeLifetime : NodeLayout<K, V> {
  using Layout = NodeLayout<K, V>;
  using Pair = typename Layout::Pair;
  using Layout::allocated_bytes;
  using Layout::child;
  using Layout::child_count;
  using Layout::children_begin;
  using Layout::kSourceBytes;
  using Layout::pair_count;
  using Layout::pairs;
  // Of every node's memory.
  static constexpr size_t kAlignment =
      Layout::kOverAligned ? size_t{16} : kAllocGranule;

  // A node with refcount 1 and no contents yet; a borrowed one gets room
  // for its source after `bytes`.
  PERSIST_BASE_ALWAYS_INLINE static Node* allocate(size_t bytes,
                                                   bool borrowed = false) {
    const size_t total = bytes + (borrowed ? kSourceBytes : 0);
    void* memory = NodeAllocator::allocate(total, kAlignment);
    return new (memory)
        NodeHeader(static_cast<uint32_t>(bytes), borrowed ? kBorrowedFlag : 0);
  }
  PERSIST_BASE_ALWAYS_INLINE static void free_memory(Node* node) noexcept {
    const size_t bytes = allocated_bytes(node);
    node->~NodeHeader();
    NodeAllocator::deallocate(node, bytes, kAlignment);
  }

  // Out of line, so that every release() site (destructors, edits) is the
  // same few instructions at -O2 and -O3: with destroy() inlined at some
  // sites, g++ -O3 grew Set's ~Set by 10% of an insert's instructions.
  PERSIST_BASE_NOINLINE static void destroy(Node* node, int depth) noexcept {
    if (!std::is_trivially_destructible<Pair>::value) {
      Pair* p = pairs(node);
      for (int i = 0, n = pair_count(node, depth); i < n; ++i) p[i].~Pair();
    }
    const int nc = child_count(node);
    if (IsBorrowed(node)) {
      const int owned = owned_child(node, nc);
      if (owned >= 0) release(child(node, owned), depth + 1);
      release(SourceOf(node), depth);
    } else {
      const auto children = ChildSlots(node);
      // Twins hold no reference: with some, only the child nodes are
      // visited. (Nodes near the root, with the most children, have none.)
      if (Layout::twin_bits(node) == 0) {
        for (int i = 0; i < nc; ++i) release(children[i], depth + 1);
      } else {
        for (uint32_t bits = Layout::node_bits(node); bits != 0;
             bits &= bits - 1) {
          release(children[IndexOf(node->nodemap, bits & (~bits + 1))],
                  depth + 1);
        }
      }
    }
    free_memory(node);
  }

  // The child slot of borrowed `node` (of `nc` children) holding the one
  // child it owns apart from its source's, or -1. Found by comparing the
  // two slot arrays eight words at a time: most of the children of a
  // borrowed node (a root, say, with 32) are its source's.
  PERSIST_BASE_ALWAYS_INLINE static int owned_child(Node* node, int nc) {
    const uint32_t twin_children = Layout::twin_children(node);
    int owned = -1;
    ForEachDifferentWord<WordOrder::kDown>(
        ChildSlots(node)[0].address(), ChildSlots(SourceOf(node))[0].address(),
        nc, [&](int i) PERSIST_BASE_ALWAYS_INLINE {
          if ((twin_children >> i) & 1) return true;  // no reference
          owned = i;
          return false;
        });
    return owned;
  }

  PERSIST_BASE_ALWAYS_INLINE static void release(Node* node,
                                                 int depth) noexcept {
    // A sole owner skips the atomic read-modify-write.
    if (IsUnique(node) ||
        (node->refcount.fetch_sub(1, std::memory_order_acq_rel) & kCountMask) ==
            1) {
      destroy(node, depth);
    }
  }

  // Turns a borrowed node its caller solely owns into an ordinary one:
  // takes references on the borrowed children and drops the source. The
  // children move up by 8 bytes over the source slot, which keeps the
  // allocation size equal to the (grown) capacity.
  static void materialize(Node* node, int depth) noexcept {
    Node* source = SourceOf(node);
    const int nc = child_count(node);
    const uint32_t twins = Layout::twin_children(node);
    const auto own = ChildSlots(node);
    const auto borrowed = ChildSlots(source);
    for (int i = 0; i < nc; ++i) {
      if (!((twins >> i) & 1) && own[i] == borrowed[i]) Retain(own[i]);
    }
    release(source, depth);
    Node** begin = children_begin(node, nc);
    std::memmove(begin + 1, begin, static_cast<size_t>(nc) * sizeof(Node*));
    node->capacity += static_cast<uint32_t>(kSourceBytes);
    node->refcount.store(1, std::memory_order_relaxed);
  }
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_NODE_H_
