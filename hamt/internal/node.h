// CHAMP node layout and the algorithms on it (Steindorfer & Vinju, "Optimizing
// Hash-Array Mapped Tries for Fast and Lean Immutable JVM Collections", 2015).
//
// A node is one allocation:
//
//   [NodeHeader: refcount | capacity | datamap | nodemap]   16 bytes
//   [std::pair<K, V> x popcount(datamap)]                   from the front
//   [free space, only in nodes edited in place]
//   [Node* x popcount(nodemap)]                             from the back
//
// Child j lives at child_end[-1 - j], so pairs and children grow towards each
// other and a node with spare capacity takes either without moving the other.
// Level `depth` uses hash bits [5 * depth, 5 * depth + 5): levels 0..12 use
// all 64 bits (the last level only 4), and a node at depth 13 is a collision
// node, whose datamap holds its number of pairs (all with the same hash) and
// whose nodemap is 0.
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
//
// Invariants (canonical form): every node below the root holds at least two
// pairs in its subtree, and a subtree of exactly one pair is always stored
// inline in its parent. So the shape depends only on the set of keys, which
// makes equality structural. Only the order of pairs in a collision node
// depends on history.

#ifndef PERSIST_HAMT_INTERNAL_NODE_H_
#define PERSIST_HAMT_INTERNAL_NODE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "hamt/internal/key_entry.h"
#include "hamt/internal/node_allocator.h"

namespace hamt {
namespace internal {

inline constexpr int kBitsPerLevel = 5;
inline constexpr int kCollisionDepth = 13;
inline constexpr int kMaxDepth = kCollisionDepth;

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

// Bits set in each byte value.
struct ByteBitCounts {
  constexpr ByteBitCounts() : count() {
    for (int i = 1; i < 256; ++i) {
      count[i] = static_cast<uint8_t>((i & 1) + count[i / 2]);
    }
  }
  uint8_t count[256];
};
inline constexpr ByteBitCounts kByteBitCounts{};

inline int PopCountByTable(uint32_t x) {
  return kByteBitCounts.count[x & 0xff] +
         kByteBitCounts.count[(x >> 8) & 0xff] +
         kByteBitCounts.count[(x >> 16) & 0xff] + kByteBitCounts.count[x >> 24];
}

#if defined(__x86_64__) && !defined(__POPCNT__) && \
    (defined(__GNUC__) || defined(__clang__))
#define PERSIST_HAMT_INTERNAL_RUNTIME_POPCNT 1
// Whether the CPU has the popcnt instruction (every x86-64 since ~2008, but
// not the x86-64 baseline the code is compiled for). Dynamically
// initialized: code running before that sees false and uses the table,
// which is always correct.
inline const bool kCpuHasPopcnt = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("popcnt") != 0;
}();
#endif

// Ranks in the bitmaps are on every lookup's critical path. Without -march
// flags, __builtin_popcount is a libgcc call (GCC) or a ~12-instruction
// bit trick; instead this uses the popcnt instruction through inline asm
// when the CPU has it (kHardware, checked once at startup), and otherwise
// four loads from a 256-byte table.
template <bool kHardware>
inline int PopCountWith(uint32_t x) {
#if defined(__POPCNT__)
  return __builtin_popcount(x);
#elif defined(PERSIST_HAMT_INTERNAL_RUNTIME_POPCNT)
  if (kHardware) {
    uint32_t count;
    __asm__("popcntl %1, %0" : "=r"(count) : "r"(x) : "cc");
    return static_cast<int>(count);
  }
  return PopCountByTable(x);
#else
  return PopCountByTable(x);
#endif
}

// Whether PopCountWith<true> may be used.
inline bool CpuHasPopCount() {
#if defined(PERSIST_HAMT_INTERNAL_RUNTIME_POPCNT)
  return kCpuHasPopcnt;
#else
  return true;  // PopCountWith ignores its argument
#endif
}

// Checks the CPU on each call (a well-predicted branch); lookups check once
// and then use PopCountWith.
inline int PopCount(uint32_t x) {
  if (__builtin_expect(CpuHasPopCount(), 1)) return PopCountWith<true>(x);
  return PopCountWith<false>(x);
}

inline uint32_t FragmentBit(uint64_t hash, int depth) {
  return uint32_t{1} << ((hash >> (kBitsPerLevel * depth)) & 31);
}

// Index of `bit`'s entry among the entries of `bitmap`.
inline int IndexOf(uint32_t bitmap, uint32_t bit) {
  return PopCount(bitmap & (bit - 1));
}
template <bool kHardware>
inline int IndexWith(uint32_t bitmap, uint32_t bit) {
  return PopCountWith<kHardware>(bitmap & (bit - 1));
}

// The slot a lookup needs next is usually not in the header's cache line,
// and its address depends on the header: fetch the following lines in
// parallel with the header instead of after it (a big trie misses the cache
// at every level below the top two or three).
inline void PrefetchNodeBody(const Node* node) {
  __builtin_prefetch(reinterpret_cast<const char*>(node) + 64);
  __builtin_prefetch(reinterpret_cast<const char*>(node) + 128);
  __builtin_prefetch(reinterpret_cast<const char*>(node) + 192);
}

inline void Retain(Node* node) {
  node->refcount.fetch_add(1, std::memory_order_relaxed);
}

// True when the caller holds the only reference, so the node may be edited.
// Acquire pairs with the release of other owners' decrements.
inline bool IsUnique(const Node* node) {
  return (node->refcount.load(std::memory_order_acquire) & kCountMask) == 1;
}

// Set before a node is shared and cleared only by its sole owner.
inline bool IsBorrowed(const Node* node) {
  return node->refcount.load(std::memory_order_relaxed) & kBorrowedFlag;
}

inline Node*& SourceOf(Node* node) {
  return *reinterpret_cast<Node**>(reinterpret_cast<char*>(node) +
                                   node->capacity);
}

// One step of a lookup without a data-dependent branch: moves `node` to its
// child in the slot of the low 5 bits of `rest` if that slot holds a child
// (and consumes those bits), and leaves everything unchanged otherwise,
// including at a collision node (nodemap 0). The child pointer is read
// before the test and discarded when the slot holds none: its index is
// then at most the child count, so the 8 bytes read are still inside the
// node (the end of a pair, the header, or stale free space), and they are
// read as an integer, never used as a pointer.
template <bool kHardwarePopCount>
inline void DescendStep(const Node*& node, uint64_t& rest, int& depth) {
  const uint32_t nodemap = node->nodemap;
  const uint32_t bit = uint32_t{1} << (rest & 31);
  const char* slot =
      reinterpret_cast<const char*>(node) + node->capacity -
      sizeof(Node*) * (1 + IndexWith<kHardwarePopCount>(nodemap, bit));
  uintptr_t child;
  std::memcpy(&child, slot, sizeof child);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // Conditional moves, written out: compilers turn a select on a loaded
  // value back into the branch this avoids (Clang does, and skips the load).
  uint64_t next_rest = rest >> kBitsPerLevel;
  int next_depth = depth + 1;
  __asm__(
      "testl %[bit], %[nodemap]\n\t"
      "cmovneq %[child], %[node]\n\t"
      "cmovneq %[next_rest], %[rest]\n\t"
      "cmovnel %[next_depth], %[depth]"
      : [node] "+r"(node), [rest] "+r"(rest), [depth] "+r"(depth)
      : [bit] "r"(bit), [nodemap] "r"(nodemap), [child] "r"(child),
        [next_rest] "r"(next_rest), [next_depth] "r"(next_depth)
      : "cc");
#else
  // All-ones when descending. Masks rather than `?:`, hidden from the
  // optimizer for the same reason.
  uintptr_t take = uintptr_t{0} - ((nodemap & bit) != 0);
#if defined(__GNUC__) || defined(__clang__)
  __asm__("" : "+r"(take));
#endif
  node = reinterpret_cast<const Node*>(
      (child & take) | (reinterpret_cast<uintptr_t>(node) & ~take));
  rest >>= kBitsPerLevel & take;
  depth += static_cast<int>(take & 1);
#endif
}

template <class T, class = void>
struct IsEqualityComparable : std::false_type {};
template <class T>
struct IsEqualityComparable<T, std::void_t<decltype(std::declval<const T&>() ==
                                                    std::declval<const T&>())>>
    : std::true_type {};

// Layout and lifetime of nodes holding std::pair<K, V>.
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
  static constexpr size_t kSourceBytes = sizeof(Node*);
  // Over-aligned pairs would need 16 bytes for the source; not worth it.
  static constexpr bool kCanBorrow = !kOverAligned;
  // Borrowing saves 2 * (children - 1) atomic operations at the price of
  // 8 bytes and a reference on the source; below this it does not pay.
  static constexpr int kMinChildrenToBorrow = 3;

  static Pair* pairs(Node* node) {
    return reinterpret_cast<Pair*>(reinterpret_cast<char*>(node) +
                                   sizeof(NodeHeader));
  }
  static const Pair* pairs(const Node* node) {
    return reinterpret_cast<const Pair*>(reinterpret_cast<const char*>(node) +
                                         sizeof(NodeHeader));
  }
  static Node** child_end(Node* node) {
    return reinterpret_cast<Node**>(reinterpret_cast<char*>(node) +
                                    node->capacity);
  }
  static Node* const* child_end(const Node* node) {
    return reinterpret_cast<Node* const*>(reinterpret_cast<const char*>(node) +
                                          node->capacity);
  }
  static Node* child(const Node* node, int index) {
    return child_end(node)[-1 - index];
  }
  static int pair_count(const Node* node, int depth) {
    return depth == kCollisionDepth ? static_cast<int>(node->datamap)
                                    : PopCount(node->datamap);
  }
  static int child_count(const Node* node) { return PopCount(node->nodemap); }

  static size_t bytes_for(int pair_count, int child_count) {
    const size_t bytes = sizeof(NodeHeader) +
                         static_cast<size_t>(pair_count) * sizeof(Pair) +
                         static_cast<size_t>(child_count) * sizeof(Node*);
    if (kOverAligned) return (bytes + 15) & ~size_t{15};
    return RoundToSizeClass(bytes);
  }

  // A node with refcount 1 and no contents yet; a borrowed one gets room
  // for its source after `bytes`.
  static Node* allocate(size_t bytes, bool borrowed = false) {
    const size_t total = bytes + (borrowed ? kSourceBytes : 0);
    void* memory;
    if (kOverAligned) {
      memory = ::operator new (total, std::align_val_t{16});
    } else {
      memory = AllocateNodeMemory(total);
    }
    return new (memory)
        NodeHeader(static_cast<uint32_t>(bytes), borrowed ? kBorrowedFlag : 0);
  }
  static size_t allocated_bytes(const Node* node) {
    return node->capacity + (IsBorrowed(node) ? kSourceBytes : 0);
  }
  static void free_memory(Node* node) noexcept {
    const size_t bytes = allocated_bytes(node);
    node->~NodeHeader();
    if (kOverAligned) {
      ::operator delete (node, std::align_val_t{16});
    } else {
      FreeNodeMemory(node, bytes);
    }
  }

  static void destroy(Node* node, int depth) noexcept {
    if (!std::is_trivially_destructible<Pair>::value) {
      Pair* p = pairs(node);
      for (int i = 0, n = pair_count(node, depth); i < n; ++i) p[i].~Pair();
    }
    const int nc = child_count(node);
    if (IsBorrowed(node)) {
      // Only children that differ from the source's are owned.
      Node* source = SourceOf(node);
      Node* const* own = child_end(node);
      Node* const* borrowed = child_end(source);
      for (int i = 0; i < nc; ++i) {
        if (own[-1 - i] != borrowed[-1 - i]) release(own[-1 - i], depth + 1);
      }
      release(source, depth);
    } else {
      for (int i = 0; i < nc; ++i) release(child(node, i), depth + 1);
    }
    free_memory(node);
  }

  static void release(Node* node, int depth) noexcept {
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
    Node** own = child_end(node);
    Node* const* borrowed = child_end(source);
    for (int i = 0; i < nc; ++i) {
      if (own[-1 - i] == borrowed[-1 - i]) Retain(own[-1 - i]);
    }
    release(source, depth);
    std::memmove(own - nc + 1, own - nc,
                 static_cast<size_t>(nc) * sizeof(Node*));
    node->capacity += static_cast<uint32_t>(kSourceBytes);
    node->refcount.store(1, std::memory_order_relaxed);
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
    for (int i = 0, n = child_count(node); i < n; ++i) {
      bytes += subtree_bytes(child(node, i));
    }
    return bytes;
  }
};

// The change a single update makes to one node: at most one pair removed and
// one inserted (a replaced pair is both), at most one child removed and one
// inserted (a replaced child is both).
template <class Pair>
struct NodeEdit {
  uint32_t datamap;  // of the result
  uint32_t nodemap;
  int pair_count;  // of the result
  int child_count;
  int removed_pair = -1;   // index in the old node
  int inserted_pair = -1;  // index in the new node
  Pair* inserted_pair_source = nullptr;
  bool move_inserted_pair = false;
  int removed_child = -1;   // index in the old node; not released here
  int inserted_child = -1;  // index in the new node
  Node* inserted_child_node = nullptr;  // reference adopted on success
};

// The update algorithms. `editable` means the caller solely owns `node` and
// every node above it, so it may be changed in place; it is only ever true
// when NodeLayout::kCanEditInPlace. All functions give the strong guarantee:
// anything that may throw (allocation, hashing, copying a pair) happens before
// the first change to an existing node.
template <class K, class V, class Hash, class KeyEqual>
class NodeOps : public NodeLayout<K, V> {
 public:
  using Layout = NodeLayout<K, V>;
  using Pair = typename Layout::Pair;
  using Edit = NodeEdit<Pair>;
  using Layout::allocate;
  using Layout::bytes_for;
  using Layout::child;
  using Layout::child_count;
  using Layout::child_end;
  using Layout::free_memory;
  using Layout::kCanEditInPlace;
  using Layout::pair_count;
  using Layout::pairs;
  using Layout::release;

  static constexpr bool kValueComparable = IsEqualityComparable<V>::value;

  NodeOps(const Hash& hash, const KeyEqual& key_equal)
      : hash_(hash), key_equal_(key_equal) {}

  template <class Q>
  uint64_t hash_of(const Q& key) const {
    return static_cast<uint64_t>(hash_(key));
  }

  // ---- lookup ----

  // Lookups in small maps (`map_size` <= kBranchFreeMaxSize) take level 1
  // with a branch-free step (DescendStep): there, whether a key ends at
  // level 1 or 2 is random, so a branch on "pair or child here" would
  // mispredict about once per lookup, and the nodes are likely in cache,
  // where a select costs little. (At the root, every slot holds a child in
  // all but the smallest maps, so there a branch predicts well and is
  // cheaper.) In larger maps, keys end at random only at levels 3 and below,
  // whose nodes are likely to miss the cache, and there branches are better:
  // a predicted branch lets the CPU go on to the next levels and lookups
  // while the miss is pending, where a select would wait for it (and for the
  // child slot's line even when the key is a pair of this node). Measured
  // with hamt/map_benchmark's BM_Find_Hamt: at 1k, 7.7 ns with two
  // branch-free steps written with masks, 5.7 ns like this.
  static constexpr size_t kBranchFreeMaxSize = 8192;
  // Maps above this size (~1.5 MB of nodes, beyond a typical L2) miss the
  // cache below the top levels, and prefetching each node's body along with
  // its header shortens a lookup's chain of misses (BM_FindChain_Hamt at
  // 1M: 250-270 ns with, 345-410 without). Below it the prefetches are
  // wasted instructions (BM_Find_Hamt at 10k: 10.6-11 ns with, 8.5-9.4
  // without).
  static constexpr size_t kPrefetchMinSize = 65536;

  enum class LookupStrategy { kSmallMap, kCachedMap, kLargeMap };

  template <class Q>
  const Pair* find(const Node* node, const Q& key, uint64_t hash,
                   size_t map_size) const {
    using S = LookupStrategy;
    // One CPU check per lookup rather than one per level.
    if (__builtin_expect(CpuHasPopCount(), 1)) {
      if (map_size <= kBranchFreeMaxSize) {
        return find_with<true, S::kSmallMap>(node, key, hash);
      }
      return map_size < kPrefetchMinSize
                 ? find_with<true, S::kCachedMap>(node, key, hash)
                 : find_with<true, S::kLargeMap>(node, key, hash);
    }
    return find_with<false, LookupStrategy::kLargeMap>(node, key, hash);
  }

  // ---- set ----

  // A root holding only `kv` (moved from).
  static Node* make_single(Pair& kv, uint64_t hash) {
    Node* node = allocate(bytes_for(1, 0));
    try {
      new (pairs(node)) Pair(std::move(kv));
    } catch (...) {
      free_memory(node);
      throw;
    }
    node->datamap = FragmentBit(hash, 0);
    node->nodemap = 0;
    return node;
  }

  // Sets kv.first -> kv.second in the subtree `node` at `depth`; kv may be
  // moved from. Returns `node` when nothing changed or `node` was edited in
  // place (only if editable); otherwise a new node (one reference), and then
  // an editable `node` has been freed (its contents moved over) while a
  // shared one is untouched. `added` tells whether the key was new.
  Node* set(Node* node, int depth, bool editable, uint64_t hash, Pair& kv,
            bool& added) const {
    if (editable && IsBorrowed(node)) Layout::materialize(node, depth);
    if (depth == kCollisionDepth) {
      return set_in_collision(node, editable, kv, added);
    }
    const uint32_t bit = FragmentBit(hash, depth);
    const int np = PopCount(node->datamap);
    const int nc = PopCount(node->nodemap);
    if (node->datamap & bit) {
      const int index = IndexOf(node->datamap, bit);
      Pair& existing = pairs(node)[index];
      if (key_equal_(existing.first, kv.first)) {
        return replace_value(node, depth, editable, index, kv, added);
      }
      // Two keys share this slot: push both one level down.
      const uint64_t existing_hash = hash_of(existing.first);
      Edit edit{node->datamap ^ bit, node->nodemap | bit, np - 1, nc + 1};
      edit.removed_pair = index;
      edit.inserted_child = IndexOf(node->nodemap, bit);
      Node* target = prepare(node, edit, editable);
      Node* subtree;
      try {
        subtree =
            make_two(depth + 1, &existing, editable, existing_hash, kv, hash);
      } catch (...) {
        if (target != node) free_memory(target);
        throw;
      }
      edit.inserted_child_node = subtree;
      added = true;
      try {
        return commit(target, node, np, nc, edit, editable);
      } catch (...) {
        release(subtree, depth + 1);
        throw;
      }
    }
    if (node->nodemap & bit) {
      const int child_index = IndexOf(node->nodemap, bit);
      Node** slot = &child_end(node)[-1 - child_index];
      Node* old_child = *slot;
      PrefetchNodeBody(old_child);
      const bool child_editable = editable && IsUnique(old_child);
      Node* new_child =
          set(old_child, depth + 1, child_editable, hash, kv, added);
      if (new_child == old_child) return node;
      if (editable) {
        *slot = new_child;
        if (!child_editable) release(old_child, depth + 1);
        return node;
      }
      return replace_child(node, depth, np, nc, child_index, new_child);
    }
    Edit edit{node->datamap | bit, node->nodemap, np + 1, nc};
    edit.inserted_pair = IndexOf(node->datamap, bit);
    edit.inserted_pair_source = &kv;
    edit.move_inserted_pair = true;
    added = true;
    return apply(node, np, nc, edit, editable);
  }

  // ---- erase ----

  struct EraseResult {
    enum Kind { kNotFound, kReplaced, kSingle };
    Kind kind;
    // kReplaced: the new subtree (the old one when edited in place); nullptr
    // when the root became empty.
    Node* node;
    // kSingle: the subtree is left with just this pair, still stored in it;
    // the caller inlines it into its own node and then releases the subtree.
    Pair* single;
    bool single_movable;  // the whole path to `single` is editable
  };

  template <class Q>
  EraseResult erase(Node* node, int depth, bool editable, uint64_t hash,
                    const Q& key) const {
    if (editable && IsBorrowed(node)) Layout::materialize(node, depth);
    if (depth == kCollisionDepth) {
      return erase_in_collision(node, editable, key);
    }
    const uint32_t bit = FragmentBit(hash, depth);
    const int np = PopCount(node->datamap);
    const int nc = PopCount(node->nodemap);
    if (node->datamap & bit) {
      const int index = IndexOf(node->datamap, bit);
      if (!key_equal_(pairs(node)[index].first, key)) return NotFound();
      if (depth > 0 && np == 2 && nc == 0) {
        return Single(&pairs(node)[1 - index], editable);
      }
      if (np == 1 && nc == 0) return Replaced(nullptr);  // root only
      Edit edit{node->datamap ^ bit, node->nodemap, np - 1, nc};
      edit.removed_pair = index;
      return Replaced(apply(node, np, nc, edit, editable));
    }
    if (!(node->nodemap & bit)) return NotFound();
    const int child_index = IndexOf(node->nodemap, bit);
    Node** slot = &child_end(node)[-1 - child_index];
    Node* old_child = *slot;
    PrefetchNodeBody(old_child);
    const bool child_editable = editable && IsUnique(old_child);
    EraseResult result = erase(old_child, depth + 1, child_editable, hash, key);
    if (result.kind == EraseResult::kNotFound) return result;
    if (result.kind == EraseResult::kSingle) {
      // Keep propagating while this node would itself hold just that pair.
      if (depth > 0 && np == 0 && nc == 1) return result;
      Edit edit{node->datamap | bit, node->nodemap ^ bit, np + 1, nc - 1};
      edit.removed_child = child_index;
      edit.inserted_pair = IndexOf(node->datamap, bit);
      edit.inserted_pair_source = result.single;
      if (!editable) return Replaced(apply(node, np, nc, edit, false));
      if (result.single_movable) {
        edit.move_inserted_pair = true;
        Node* replaced = apply(node, np, nc, edit, true);
        release(old_child, depth + 1);
        return Replaced(replaced);
      }
      Pair copy(*result.single);  // may throw; nothing changed yet
      edit.inserted_pair_source = &copy;
      edit.move_inserted_pair = true;
      Node* replaced = apply(node, np, nc, edit, true);
      release(old_child, depth + 1);
      return Replaced(replaced);
    }
    Node* new_child = result.node;
    if (new_child == old_child) return Replaced(node);
    if (editable) {
      *slot = new_child;
      if (!child_editable) release(old_child, depth + 1);
      return Replaced(node);
    }
    return Replaced(replace_child(node, depth, np, nc, child_index, new_child));
  }

  // ---- comparison ----

  bool equal(const Node* a, const Node* b, int depth) const {
    if (a == b) return true;
    if (a->datamap != b->datamap || a->nodemap != b->nodemap) return false;
    const Pair* pa = pairs(a);
    if (depth == kCollisionDepth) {
      for (uint32_t i = 0; i < a->datamap; ++i) {
        const Pair* pb = find_in_collision(b, pa[i].first);
        if (pb == nullptr || !(pa[i].second == pb->second)) return false;
      }
      return true;
    }
    const Pair* pb = pairs(b);
    for (int i = 0, n = PopCount(a->datamap); i < n; ++i) {
      if (!key_equal_(pa[i].first, pb[i].first) ||
          !(pa[i].second == pb[i].second)) {
        return false;
      }
    }
    for (int i = 0, n = PopCount(a->nodemap); i < n; ++i) {
      if (!equal(child(a, i), child(b, i), depth + 1)) return false;
    }
    return true;
  }

  template <class F>
  static void for_each(const Node* node, int depth, F&& f) {
    const Pair* p = pairs(node);
    for (int i = 0, n = pair_count(node, depth); i < n; ++i) f(p[i]);
    for (int i = 0, n = child_count(node); i < n; ++i) {
      for_each(child(node, i), depth + 1, f);
    }
  }

  template <class OnAdded, class OnRemoved, class OnChanged>
  void diff(const Node* a, const Node* b, int depth, OnAdded& on_added,
            OnRemoved& on_removed, OnChanged& on_changed) const {
    if (a == b) return;
    auto added = [&](const Pair& p) { on_added(p.first, p.second); };
    auto removed = [&](const Pair& p) { on_removed(p.first, p.second); };
    if (depth == kCollisionDepth) {
      for_each(a, depth, [&](const Pair& pa) {
        const Pair* pb = find_in_collision(b, pa.first);
        if (pb == nullptr) {
          removed(pa);
        } else if (!(pa.second == pb->second)) {
          on_changed(pa.first, pa.second, pb->second);
        }
      });
      for_each(b, depth, [&](const Pair& pb) {
        if (find_in_collision(a, pb.first) == nullptr) added(pb);
      });
      return;
    }
    uint32_t all = a->datamap | a->nodemap | b->datamap | b->nodemap;
    while (all != 0) {
      const uint32_t bit = all & (~all + 1);
      all ^= bit;
      const bool a_pair = a->datamap & bit, b_pair = b->datamap & bit;
      const bool a_node = a->nodemap & bit, b_node = b->nodemap & bit;
      const Pair* pa = a_pair ? &pairs(a)[IndexOf(a->datamap, bit)] : nullptr;
      const Pair* pb = b_pair ? &pairs(b)[IndexOf(b->datamap, bit)] : nullptr;
      const Node* ca = a_node ? child(a, IndexOf(a->nodemap, bit)) : nullptr;
      const Node* cb = b_node ? child(b, IndexOf(b->nodemap, bit)) : nullptr;
      if (pa && pb) {
        if (key_equal_(pa->first, pb->first)) {
          if (!(pa->second == pb->second)) {
            on_changed(pa->first, pa->second, pb->second);
          }
        } else {
          removed(*pa);
          added(*pb);
        }
      } else if (pa && cb) {
        bool found = false;
        for_each(cb, depth + 1, [&](const Pair& q) {
          if (!found && key_equal_(q.first, pa->first)) {
            found = true;
            if (!(pa->second == q.second)) {
              on_changed(pa->first, pa->second, q.second);
            }
          } else {
            added(q);
          }
        });
        if (!found) removed(*pa);
      } else if (ca && pb) {
        bool found = false;
        for_each(ca, depth + 1, [&](const Pair& q) {
          if (!found && key_equal_(q.first, pb->first)) {
            found = true;
            if (!(q.second == pb->second)) {
              on_changed(q.first, q.second, pb->second);
            }
          } else {
            removed(q);
          }
        });
        if (!found) added(*pb);
      } else if (ca && cb) {
        diff(ca, cb, depth + 1, on_added, on_removed, on_changed);
      } else if (pa) {
        removed(*pa);
      } else if (ca) {
        for_each(ca, depth + 1, removed);
      } else if (pb) {
        added(*pb);
      } else {
        for_each(cb, depth + 1, added);
      }
    }
  }

 private:
  static EraseResult NotFound() {
    return {EraseResult::kNotFound, nullptr, nullptr, false};
  }
  static EraseResult Replaced(Node* node) {
    return {EraseResult::kReplaced, node, nullptr, false};
  }
  static EraseResult Single(Pair* pair, bool movable) {
    return {EraseResult::kSingle, nullptr, pair, movable};
  }

  template <bool kHardwarePopCount, LookupStrategy kStrategy, class Q>
  const Pair* find_with(const Node* node, const Q& key, uint64_t hash) const {
    uint64_t rest = hash;  // the unused hash bits, the next 5 lowest
    int depth = 0;
    if (kStrategy == LookupStrategy::kSmallMap) {
      // In all but the smallest maps every root slot holds a child, so this
      // branch predicts well; one level down it would not (see find()).
      const uint32_t bit = uint32_t{1} << (rest & 31);
      if (node->nodemap & bit) {
        node = child(node, IndexWith<kHardwarePopCount>(node->nodemap, bit));
        rest >>= kBitsPerLevel;
        depth = 1;
        DescendStep<kHardwarePopCount>(node, rest, depth);
      }
    }
    for (;; ++depth, rest >>= kBitsPerLevel) {
      if (__builtin_expect(depth == kCollisionDepth, 0)) {
        return find_in_collision(node, key);
      }
      const uint32_t bit = uint32_t{1} << (rest & 31);
      if (node->datamap & bit) {
        const Pair& p =
            pairs(node)[IndexWith<kHardwarePopCount>(node->datamap, bit)];
        return key_equal_(p.first, key) ? &p : nullptr;
      }
      if (!(node->nodemap & bit)) return nullptr;
      const uintptr_t index = static_cast<uint32_t>(
          IndexWith<kHardwarePopCount>(node->nodemap, bit));
      std::memcpy(&node,
                  reinterpret_cast<const char*>(node) + node->capacity -
                      sizeof(Node*) * (index + 1),
                  sizeof node);
      if (kStrategy == LookupStrategy::kLargeMap) PrefetchNodeBody(node);
    }
  }

  template <class Q>
  const Pair* find_in_collision(const Node* node, const Q& key) const {
    const Pair* p = pairs(node);
    for (uint32_t i = 0; i < node->datamap; ++i) {
      if (key_equal_(p[i].first, key)) return &p[i];
    }
    return nullptr;
  }

  Node* replace_value(Node* node, int depth, bool editable, int index, Pair& kv,
                      bool& added) const {
    added = false;
    Pair& existing = pairs(node)[index];
    if constexpr (kValueComparable) {
      if (existing.second == kv.second) return node;
    }
    if (editable) {
      existing.second = std::move(kv.second);
      return node;
    }
    return copy_same_shape(node, pair_count(node, depth), child_count(node),
                           index, &kv, -1, nullptr);
  }

  // Copy of `node` with child `index` replaced by `new_child` (whose
  // reference it adopts, or releases if copying throws).
  static Node* replace_child(Node* node, int depth, int np, int nc, int index,
                             Node* new_child) {
    try {
      return copy_same_shape(node, np, nc, -1, nullptr, index, new_child);
    } catch (...) {
      release(new_child, depth + 1);
      throw;
    }
  }

  // Copy of `node` with the same bitmaps, pair `pair_index` (if >= 0)
  // replaced by *kv (moved from) and child `child_index` (if >= 0) replaced
  // by `new_child`, whose reference it adopts on success. Borrows the
  // children of `node` (or of its source) when that saves atomics.
  static Node* copy_same_shape(Node* node, int np, int nc, int pair_index,
                               Pair* kv, int child_index, Node* new_child) {
    Node* source = node;
    int owned = -1;  // the child `node` owns apart from its source's
    if (IsBorrowed(node)) {
      source = SourceOf(node);
      Node* const* own = child_end(node);
      Node* const* theirs = child_end(source);
      for (int i = 0; i < nc; ++i) {
        if (own[-1 - i] != theirs[-1 - i]) {
          owned = i;
          break;
        }
      }
    }
    const bool borrow = Layout::kCanBorrow &&
                        nc >= Layout::kMinChildrenToBorrow &&
                        (owned < 0 || child_index < 0 || owned == child_index);
    Node* copy = allocate(bytes_for(np, nc), borrow);
    Pair* from = pairs(node);
    Pair* to = pairs(copy);
    if (Layout::kTrivialPair) {
      std::memcpy(static_cast<void*>(to), static_cast<const void*>(from),
                  static_cast<size_t>(np) * sizeof(Pair));
      if (pair_index >= 0) new (to + pair_index) Pair(std::move(*kv));
    } else {
      int built = 0;
      try {
        for (; built < np; ++built) {
          if (built == pair_index) {
            new (to + built) Pair(std::move(*kv));
          } else {
            new (to + built) Pair(from[built]);
          }
        }
      } catch (...) {
        for (int i = 0; i < built; ++i) to[i].~Pair();
        free_memory(copy);
        throw;
      }
    }
    Node* const* from_children = child_end(node);
    Node** to_children = child_end(copy);
    std::memcpy(to_children - nc, from_children - nc,
                static_cast<size_t>(nc) * sizeof(Node*));
    if (child_index >= 0) to_children[-1 - child_index] = new_child;
    if (borrow) {
      Retain(source);
      if (owned >= 0 && owned != child_index) Retain(from_children[-1 - owned]);
      SourceOf(copy) = source;
    } else {
      for (int i = 0; i < nc; ++i) {
        if (i != child_index) Retain(from_children[-1 - i]);
      }
    }
    copy->datamap = node->datamap;
    copy->nodemap = node->nodemap;
    return copy;
  }

  Node* set_in_collision(Node* node, bool editable, Pair& kv,
                         bool& added) const {
    const int np = static_cast<int>(node->datamap);
    Pair* p = pairs(node);
    for (int i = 0; i < np; ++i) {
      if (key_equal_(p[i].first, kv.first)) {
        return replace_value(node, kCollisionDepth, editable, i, kv, added);
      }
    }
    Edit edit{static_cast<uint32_t>(np + 1), 0, np + 1, 0};
    edit.inserted_pair = np;
    edit.inserted_pair_source = &kv;
    edit.move_inserted_pair = true;
    added = true;
    return apply(node, np, 0, edit, editable);
  }

  template <class Q>
  EraseResult erase_in_collision(Node* node, bool editable,
                                 const Q& key) const {
    const int np = static_cast<int>(node->datamap);
    Pair* p = pairs(node);
    for (int i = 0; i < np; ++i) {
      if (!key_equal_(p[i].first, key)) continue;
      if (np == 2) return Single(&p[1 - i], editable);
      Edit edit{static_cast<uint32_t>(np - 1), 0, np - 1, 0};
      edit.removed_pair = i;
      return Replaced(apply(node, np, 0, edit, editable));
    }
    return NotFound();
  }

  // The subtree at `depth` holding `a` (copied, or moved when move_a) and
  // `b` (moved), whose hashes differ at or below `depth` or not at all (then
  // a collision node). Allocates everything before touching a or b.
  static Node* make_two(int depth, Pair* a, bool move_a, uint64_t a_hash,
                        Pair& b, uint64_t b_hash) {
    int bottom = depth;
    while (bottom < kCollisionDepth &&
           FragmentBit(a_hash, bottom) == FragmentBit(b_hash, bottom)) {
      ++bottom;
    }
    Node* chain[kCollisionDepth + 1];
    int allocated = 0;
    try {
      for (int d = depth; d <= bottom; ++d) {
        chain[allocated] =
            allocate(d == bottom ? bytes_for(2, 0) : bytes_for(0, 1));
        ++allocated;
      }
    } catch (...) {
      for (int i = 0; i < allocated; ++i) free_memory(chain[i]);
      throw;
    }
    Node* leaf = chain[allocated - 1];
    const bool a_first =
        bottom == kCollisionDepth ||
        FragmentBit(a_hash, bottom) < FragmentBit(b_hash, bottom);
    Pair* slot_a = pairs(leaf) + (a_first ? 0 : 1);
    Pair* slot_b = pairs(leaf) + (a_first ? 1 : 0);
    try {
      if (move_a) {
        new (slot_a) Pair(std::move(*a));
      } else {
        new (slot_a) Pair(*a);
      }
      try {
        new (slot_b) Pair(std::move(b));
      } catch (...) {
        slot_a->~Pair();
        throw;
      }
    } catch (...) {
      for (int i = 0; i < allocated; ++i) free_memory(chain[i]);
      throw;
    }
    if (bottom == kCollisionDepth) {
      leaf->datamap = 2;
    } else {
      leaf->datamap = FragmentBit(a_hash, bottom) | FragmentBit(b_hash, bottom);
    }
    leaf->nodemap = 0;
    for (int i = allocated - 2; i >= 0; --i) {
      chain[i]->datamap = 0;
      chain[i]->nodemap = FragmentBit(a_hash, depth + i);
      child_end(chain[i])[-1] = chain[i + 1];
    }
    return chain[0];
  }

  // The node `edit` should be written to: `node` itself when editable and
  // large enough, otherwise a new allocation (may throw).
  static Node* prepare(Node* node, const Edit& edit, bool editable) {
    const size_t bytes = bytes_for(edit.pair_count, edit.child_count);
    if (editable && bytes <= node->capacity) return node;
    return allocate(bytes);
  }

  // Writes `node` with `edit` applied into `target` (from prepare). Never
  // throws when editable. Otherwise copies and may throw, then frees target
  // and leaves everything unchanged.
  static Node* commit(Node* target, Node* node, int np, int nc,
                      const Edit& edit, bool editable) {
    if (target == node) {
      edit_in_place(node, np, nc, edit);
      return node;
    }
    return rebuild(target, node, edit, editable);
  }

  static Node* apply(Node* node, int np, int nc, const Edit& edit,
                     bool editable) {
    return commit(prepare(node, edit, editable), node, np, nc, edit, editable);
  }

  static void edit_in_place(Node* node, int np, int nc, const Edit& edit) {
    Pair* p = pairs(node);
    // Removals first, so insertions always have their final space.
    if (edit.removed_pair >= 0) {
      p[edit.removed_pair].~Pair();
      Layout::relocate(p + edit.removed_pair, p + edit.removed_pair + 1,
                       np - edit.removed_pair - 1);
      --np;
    }
    Node** end = child_end(node);
    if (edit.removed_child >= 0) {
      for (int j = edit.removed_child; j < nc - 1; ++j)
        end[-1 - j] = end[-2 - j];
      --nc;
    }
    if (edit.inserted_child >= 0) {
      for (int j = nc; j > edit.inserted_child; --j) end[-1 - j] = end[-j];
      end[-1 - edit.inserted_child] = edit.inserted_child_node;
    }
    if (edit.inserted_pair >= 0) {
      Layout::relocate(p + edit.inserted_pair + 1, p + edit.inserted_pair,
                       np - edit.inserted_pair);
      new (p + edit.inserted_pair) Pair(std::move(*edit.inserted_pair_source));
    }
    node->datamap = edit.datamap;
    node->nodemap = edit.nodemap;
  }

  // Builds `target` from `node` with `edit` applied. When `steal`, pairs are
  // moved, children transferred and `node`'s memory freed; otherwise pairs
  // are copied and children retained, and `node` is untouched.
  static Node* rebuild(Node* target, Node* node, const Edit& edit, bool steal) {
    Pair* from = pairs(node);
    Pair* to = pairs(target);
    if (steal) {
      // Nothrow (kCanEditInPlace): relocate the runs around the edits.
      int source = 0;
      for (int i = 0; i < edit.pair_count;) {
        if (i == edit.inserted_pair) {
          new (to + i) Pair(std::move(*edit.inserted_pair_source));
          ++i;
          continue;
        }
        if (source == edit.removed_pair) {
          from[source].~Pair();
          ++source;
          continue;
        }
        int run_end = edit.pair_count;
        if (edit.inserted_pair > i) run_end = edit.inserted_pair;
        int run = run_end - i;
        if (edit.removed_pair >= source && edit.removed_pair - source < run) {
          run = edit.removed_pair - source;
        }
        Layout::relocate(to + i, from + source, run);
        i += run;
        source += run;
      }
      if (source == edit.removed_pair) from[source].~Pair();
    } else {
      int built = 0;
      try {
        int source = 0;
        for (int i = 0; i < edit.pair_count; ++i) {
          if (i == edit.inserted_pair) {
            if (edit.move_inserted_pair) {
              new (to + i) Pair(std::move(*edit.inserted_pair_source));
            } else {
              new (to + i) Pair(*edit.inserted_pair_source);
            }
          } else {
            if (source == edit.removed_pair) ++source;
            new (to + i) Pair(from[source]);
            ++source;
          }
          built = i + 1;
        }
      } catch (...) {
        for (int i = 0; i < built; ++i) to[i].~Pair();
        free_memory(target);
        throw;
      }
    }
    Node* const* from_children = child_end(node);
    Node** to_children = child_end(target);
    int source = 0;
    for (int i = 0; i < edit.child_count; ++i) {
      Node* c;
      if (i == edit.inserted_child) {
        c = edit.inserted_child_node;
      } else {
        if (source == edit.removed_child) ++source;
        c = from_children[-1 - source];
        ++source;
      }
      to_children[-1 - i] = c;
    }
    if (!steal) {
      for (int i = 0; i < edit.child_count; ++i) {
        if (i != edit.inserted_child) Retain(to_children[-1 - i]);
      }
    }
    target->datamap = edit.datamap;
    target->nodemap = edit.nodemap;
    if (steal) free_memory(node);
    return target;
  }

  const Hash& hash_;
  const KeyEqual& key_equal_;
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_NODE_H_
