// Finding a key in a trie: the branch-free descent step and the three
// lookup strategies chosen by map size.
//
// Lookups in small maps (size <= kBranchFreeMaxSize) take level 1 with a
// branch-free step (DescendStep): there, whether a key ends at level 1 or 2
// is random, so a branch on "pair or child here" would mispredict about once
// per lookup, and the nodes are likely in cache, where a select costs
// little. (At the root, every slot holds a child in all but the smallest
// maps, so there a branch predicts well and is cheaper.) In larger maps,
// keys end at random only at levels 3 and below, whose nodes are likely to
// miss the cache, and there branches are better: a predicted branch lets the
// CPU go on to the next levels and lookups while the miss is pending, where a
// select would wait for it (and for the child slot's line even when the key
// is a pair of this node). Measured with hamt/map_benchmark's BM_Find_Hamt:
// at 1k, 7.7 ns with two branch-free steps written with masks, 5.7 ns like
// this.

#ifndef PERSIST_HAMT_INTERNAL_LOOKUP_H_
#define PERSIST_HAMT_INTERNAL_LOOKUP_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "base/optimization.h"
#include "hamt/internal/bits.h"
#include "hamt/internal/node.h"

namespace hamt {
namespace internal {

// Largest map whose lookups take the branch-free step at level 1.
inline constexpr size_t kBranchFreeMaxSize = 8192;
// Maps above this size (~1.5 MB of nodes, beyond a typical L2) miss the
// cache below the top levels, and prefetching each node's body along with
// its header shortens a lookup's chain of misses (BM_FindChain_Hamt at 1M:
// 250-270 ns with, 345-410 without). Below it the prefetches are wasted
// instructions (BM_Find_Hamt at 10k: 10.6-11 ns with, 8.5-9.4 without).
inline constexpr size_t kPrefetchMinSize = 65536;

enum class LookupStrategy { kSmallMap, kCachedMap, kLargeMap };

// One step of a lookup without a data-dependent branch: moves `node` to its
// child in the slot of the low 5 bits of `rest` if that slot holds a child
// (and consumes those bits), and leaves everything unchanged otherwise,
// including at a collision node (nodemap 0). Not for nodes that may hold
// twins (node.h), whose slots have nodemap bits but no child. The child pointer
// is read before the test and discarded when the slot holds none: its index is
// then at most the child count, so the 8 bytes read are still inside the
// node (see ChildSlot), and they are read as an integer, never used as a
// pointer.
template <bool kHardwarePopCount>
PERSIST_BASE_ALWAYS_INLINE inline void DescendStep(const Node*& node,
                                                   uint64_t& rest, int& depth) {
  const uint32_t nodemap = node->nodemap;
  const uint32_t bit = uint32_t{1} << (rest & 31);
  uintptr_t child;
  std::memcpy(&child,
              ChildSlot(node, static_cast<uint32_t>(
                                  IndexWith<kHardwarePopCount>(nodemap, bit))),
              sizeof child);
#if defined(PERSIST_HAMT_INTERNAL_X86_ASM)
  // Conditional moves, written out: compilers turn a select on a loaded
  // value back into the branch this avoids (Clang does, and skips the load).
  // bt puts the slot's nodemap bit in the carry flag (a register bit offset
  // is taken mod 32: the low 5 bits of `rest` are the slot), and adc adds
  // it to the depth, so neither the bit nor depth + 1 needs a register of
  // its own: with them, clang -O2 ran out of registers in the benchmark
  // loop and shuffled five of them around every lookup.
  uint64_t next_rest = rest >> kBitsPerLevel;
  __asm__(
      "btl %k[rest], %[nodemap]\n\t"
      "cmovcq %[child], %[node]\n\t"
      "cmovcq %[next_rest], %[rest]\n\t"
      "adcl $0, %[depth]"
      : [node] "+r"(node), [rest] "+r"(rest), [depth] "+r"(depth)
      : [nodemap] "r"(nodemap), [child] "r"(child), [next_rest] "r"(next_rest)
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

// The pair of collision node `node` whose key equals `key`, or nullptr.
template <class Pair, class KeyEqual, class Q>
PERSIST_BASE_NOINLINE const Pair* FindInCollision(const Node* node,
                                                  const Q& key,
                                                  const KeyEqual& key_equal) {
  const Pair* p = reinterpret_cast<const Pair*>(
      reinterpret_cast<const char*>(node) + sizeof(NodeHeader));
  for (uint32_t i = 0; i < node->datamap; ++i) {
    if (key_equal(p[i].first, key)) return &p[i];
  }
  return nullptr;
}

// Finds keys in tries of std::pair<K, V> whose keys compare with KeyEqual.
template <class K, class V, class KeyEqual>
class TrieLookup {
 public:
  using Layout = NodeLayout<K, V>;
  using Pair = typename NodeLayout<K, V>::Pair;

  explicit TrieLookup(const KeyEqual& key_equal) : key_equal_(key_equal) {}

  // The pair of `key` (whose hash is `hash`) in the trie `root` of a map of
  // `map_size` pairs, or nullptr.
  template <class Q>
  PERSIST_BASE_ALWAYS_INLINE const Pair* find(const Node* root, const Q& key,
                                              uint64_t hash,
                                              size_t map_size) const {
    using S = LookupStrategy;
    // One CPU check per lookup rather than one per level.
    if (PERSIST_BASE_PREDICT_TRUE(CpuHasPopCount())) {
      if (map_size <= kBranchFreeMaxSize) {
        return find_with<true, S::kSmallMap>(root, key, hash);
      }
      return map_size < kPrefetchMinSize
                 ? find_with<true, S::kCachedMap>(root, key, hash)
                 : find_with<true, S::kLargeMap>(root, key, hash);
    }
    return find_with<false, S::kLargeMap>(root, key, hash);
  }

  template <class Q>
  const Pair* find_in_collision(const Node* node, const Q& key) const {
    return FindInCollision<Pair>(node, key, key_equal_);
  }

 private:
  template <bool kHardwarePopCount, LookupStrategy kStrategy, class Q>
  PERSIST_BASE_ALWAYS_INLINE const Pair* find_with(const Node* node,
                                                   const Q& key,
                                                   uint64_t hash) const {
    uint64_t rest = hash;  // the unused hash bits, the next 5 lowest
    int depth = 0;
    if (kStrategy == LookupStrategy::kSmallMap) {
      // In all but the smallest maps every root slot holds a child, so this
      // branch predicts well; one level down it would not (see above).
      // Neither level holds twins (node.h), whose slots have a nodemap bit
      // but no child.
      static_assert(Layout::kTwinMinDepth >= 2, "twins at the top levels");
      const uint32_t bit = uint32_t{1} << (rest & 31);
      if (node->nodemap & bit) {
        node =
            *ChildSlot(node, static_cast<uint32_t>(IndexWith<kHardwarePopCount>(
                                 node->nodemap, bit)));
        rest >>= kBitsPerLevel;
        depth = 1;
        DescendStep<kHardwarePopCount>(node, rest, depth);
      }
    }
    for (;; ++depth, rest >>= kBitsPerLevel) {
      if (PERSIST_BASE_PREDICT_FALSE(depth == kCollisionDepth)) {
        return find_in_collision(node, key);
      }
      const uint32_t bit = uint32_t{1} << (rest & 31);
      if (node->datamap & bit) {
        const Pair& p = Layout::pairs(
            node)[IndexWith<kHardwarePopCount>(node->datamap, bit)];
        if (!Layout::kTwins) return key_equal_(p.first, key) ? &p : nullptr;
        if (PERSIST_BASE_PREDICT_TRUE(key_equal_(p.first, key))) return &p;
        if (!(node->nodemap & bit)) return nullptr;
        // A twin: its second entry is in the child slot.
        const Pair* second = Layout::twin_second(
            node, IndexWith<kHardwarePopCount>(node->nodemap, bit));
        return key_equal_(second->first, key) ? second : nullptr;
      }
      if (!(node->nodemap & bit)) return nullptr;
      const uint32_t index = static_cast<uint32_t>(
          IndexWith<kHardwarePopCount>(node->nodemap, bit));
      std::memcpy(&node, ChildSlot(node, index), sizeof node);
      if (kStrategy == LookupStrategy::kLargeMap) PrefetchNodeBody(node);
    }
  }

  const KeyEqual& key_equal_;
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_LOOKUP_H_
