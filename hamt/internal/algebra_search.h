// The read-only half of the set algebra (hamt/internal/algebra.h): finding
// one key in a subtree below the root, counting a subtree's entries, and
// the two predicates that only look (includes, disjoint), which walk both
// tries together and skip subtrees shared by pointer. Algebra derives from
// TrieSearch for these and for set_below (one key set into a subtree).

#ifndef PERSIST_HAMT_INTERNAL_ALGEBRA_SEARCH_H_
#define PERSIST_HAMT_INTERNAL_ALGEBRA_SEARCH_H_

#include <cstddef>
#include <cstdint>

#include "hamt/internal/algebra_builder.h"
#include "hamt/internal/bits.h"
#include "hamt/internal/node.h"
#include "hamt/internal/update.h"

namespace hamt {
namespace internal {

template <class K, class V, class Hash, class KeyEqual, class NodeAllocator>
class TrieSearch {
 public:
  // Layout and allocation of nodes (what ResultBuilder needs).
  using Layout = NodeLifetime<K, V, NodeAllocator>;
  using Update = TrieUpdate<K, V, Hash, KeyEqual, NodeAllocator>;
  using Pair = typename Layout::Pair;
  using Part = BuiltPart<Pair, Layout::kTwins>;
  static constexpr bool kTwins = Layout::kTwins;

  TrieSearch(const Hash& hash, const KeyEqual& key_equal)
      : update_(hash, key_equal), key_equal_(key_equal) {}

  // ---- predicates ----

  // Every key of b is in a.
  bool includes(const Node* a, const Node* b, int depth) const {
    if (a == b) return true;
    if (depth == kCollisionDepth) {
      const Pair* p = Layout::pairs(b);
      for (uint32_t i = 0; i < b->datamap; ++i) {
        if (find_in_collision(a, p[i].first) == nullptr) return false;
      }
      return true;
    }
    const uint32_t slots_a = a->datamap | a->nodemap;
    Cursor cb(b);
    for (uint32_t all = cb.slots(); all != 0; all &= all - 1) {
      const uint32_t bit = all & (~all + 1);
      if (!(slots_a & bit)) return false;
      if constexpr (kTwins) {
        if (cb.twins() & bit) {
          const Pair* first = cb.next_pair();
          const Pair* second = cb.next_twin_second();
          if (lookup_in_slot(a, depth, bit, *first) == nullptr ||
              lookup_in_slot(a, depth, bit, *second) == nullptr) {
            return false;
          }
          continue;
        }
      }
      if (cb.has_pair(bit)) {
        if (lookup_in_slot(a, depth, bit, *cb.next_pair()) == nullptr) {
          return false;
        }
      } else {
        const Node* child_b = cb.next_child();
        // A subtree holds more keys than a single entry (or a twin).
        if (a->datamap & bit) return false;
        if (!includes(ChildAt<Layout>(a, bit), child_b, depth + 1))
          return false;
      }
    }
    return true;
  }

  // No key is in both.
  bool disjoint(const Node* a, const Node* b, int depth) const {
    if (a == b) return false;  // a subtree is never empty
    if (depth == kCollisionDepth) {
      const Pair* p = Layout::pairs(b);
      for (uint32_t i = 0; i < b->datamap; ++i) {
        if (find_in_collision(a, p[i].first) != nullptr) return false;
      }
      return true;
    }
    Cursor ca(a);
    const uint32_t slots_b = b->datamap | b->nodemap;
    for (uint32_t all = ca.slots(); all != 0; all &= all - 1) {
      const uint32_t bit = all & (~all + 1);
      const bool in_b = (slots_b & bit) != 0;
      if (ca.has_pair(bit)) {
        const Pair* pa = ca.next_pair();
        if (in_b && lookup_in_slot(b, depth, bit, *pa) != nullptr) return false;
        if (kTwins && (ca.twins() & bit)) {
          const Pair* second = ca.next_twin_second();
          if (in_b && lookup_in_slot(b, depth, bit, *second) != nullptr) {
            return false;
          }
        }
        continue;
      }
      const Node* child_a = ca.next_child();
      if (!in_b) continue;
      if (b->datamap & bit) {
        if (lookup_in_slot(a, depth, bit, PairAt<Layout>(b, bit)) != nullptr) {
          return false;
        }
        if (kTwins && (b->nodemap & bit) &&
            lookup_in_slot(a, depth, bit, TwinSecondAt(b, bit)) != nullptr) {
          return false;
        }
      } else if (!disjoint(child_a, ChildAt<Layout>(b, bit), depth + 1)) {
        return false;
      }
    }
    return true;
  }

  // The root of a result, with the reference a Map holds.
  static Node* RootOf(Part part) {
    if (part.node != nullptr && !part.owned) Retain(part.node);
    return part.node;
  }

  // Entries in the subtree `node` at `depth`.
  static size_t count(const Node* node, int depth) {
    if constexpr (kTwins) return Layout::count(node, depth);
    size_t n = static_cast<size_t>(Layout::pair_count(node, depth));
    for (int i = 0, nc = Layout::child_count(node); i < nc; ++i) {
      n += count(Layout::child(node, i), depth + 1);
    }
    return n;
  }

  // Stores up to `max` entries of the subtree `node` at `depth` in
  // `entries`; returns their number (the subtree's, if at most `max`).
  static int Collect(const Node* node, int depth, const Pair** entries,
                     int max) {
    int n = 0;
    for (int i = 0, np = Layout::pair_count(node, depth); i < np; ++i) {
      if (n < max) entries[n] = &Layout::pairs(node)[i];
      ++n;
    }
    const uint32_t twins = Layout::twin_children(node);
    for (int i = 0, nc = Layout::child_count(node); i < nc; ++i) {
      if ((twins >> i) & 1) {
        if (n < max) entries[n] = Layout::twin_second(node, i);
        ++n;
      } else {
        n += Collect(Layout::child(node, i), depth + 1,
                     entries + (n < max ? n : max), n < max ? max - n : 0);
      }
    }
    return n;
  }

  // The second entry of the twin in slot `bit` of `node`.
  static const Pair& TwinSecondAt(const Node* node, uint32_t bit) {
    return *Layout::twin_second(node, IndexOf(node->nodemap, bit));
  }

 protected:
  using Cursor = SlotCursor<Layout>;

  // `node` itself, without a reference (see BuiltPart).
  static Part Reuse(const Node* node) {
    return Part{const_cast<Node*>(node), nullptr, /*owned=*/false};
  }

  static bool SameValue(const Pair& a, const Pair& b) {
    if constexpr (Update::kValueComparable) {
      return a.second == b.second;
    } else {
      return false;
    }
  }

  // The entry with `key` in the collision node `node`, or nullptr.
  template <class Q>
  const Pair* find_in_collision(const Node* node, const Q& key) const {
    const Pair* p = Layout::pairs(node);
    for (uint32_t i = 0; i < node->datamap; ++i) {
      if (key_equal_(p[i].first, key)) return &p[i];
    }
    return nullptr;
  }

  // The entry with `key` (of hash `hash`) in the subtree `node` at `depth`.
  template <class Q>
  const Pair* find_below(const Node* node, int depth, uint64_t hash,
                         const Q& key) const {
    for (;; ++depth) {
      if (depth == kCollisionDepth) return find_in_collision(node, key);
      const uint32_t bit = FragmentBit(hash, depth);
      if (node->datamap & bit) {
        if constexpr (kTwins) return match_in_slot(node, bit, key);
        const Pair& p = PairAt<Layout>(node, bit);
        return key_equal_(p.first, key) ? &p : nullptr;
      }
      if (!(node->nodemap & bit)) return nullptr;
      node = ChildAt<Layout>(node, bit);
    }
  }

  // The entry with `key` in slot `bit` of `node`, which holds an entry or a
  // twin (datamap bit set).
  template <class Q>
  const Pair* match_in_slot(const Node* node, uint32_t bit,
                            const Q& key) const {
    const Pair& p = PairAt<Layout>(node, bit);
    if (key_equal_(p.first, key)) return &p;
    if (kTwins && (node->nodemap & bit)) {
      const Pair& second = TwinSecondAt(node, bit);
      if (key_equal_(second.first, key)) return &second;
    }
    return nullptr;
  }

  // The entry of `node`'s slot `bit` (at `depth`) with entry.first's key.
  const Pair* lookup_in_slot(const Node* node, int depth, uint32_t bit,
                             const Pair& entry) const {
    if (node->datamap & bit) {
      if constexpr (kTwins) return match_in_slot(node, bit, entry.first);
      const Pair& p = PairAt<Layout>(node, bit);
      return key_equal_(p.first, entry.first) ? &p : nullptr;
    }
    if (!(node->nodemap & bit)) return nullptr;
    return find_below(ChildAt<Layout>(node, bit), depth + 1,
                      update_.hash_of(entry.first), entry.first);
  }

  // The subtree `node` with `kv` set: path-copied, or `node` itself when kv
  // is already there with an equal value.
  Part set_below(const Node* node, int depth, uint64_t hash, Pair kv) const {
    Node* mutable_node = const_cast<Node*>(node);  // editable=false: copied
    bool added = false;
    Node* result =
        update_.set(mutable_node, depth, /*editable=*/false, hash, kv, added);
    return result == node ? Reuse(node) : Part{result, nullptr, true};
  }

  const Update update_;
  const KeyEqual& key_equal_;
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_ALGEBRA_SEARCH_H_
