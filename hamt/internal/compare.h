// Comparing tries: structural equality, visiting every pair, and the
// difference of two tries. All three skip subtrees the two sides share (by
// pointer), so comparing a map with one derived from it by k updates costs
// O(k * levels); the canonical shape (node.h) makes equal key sets have
// equal shapes, so that a node-by-node comparison is enough.

#ifndef PERSIST_HAMT_INTERNAL_COMPARE_H_
#define PERSIST_HAMT_INTERNAL_COMPARE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <utility>

#include "hamt/internal/bits.h"
#include "hamt/internal/key_entry.h"
#include "hamt/internal/lookup.h"
#include "hamt/internal/node.h"
#include "hamt/internal/word_diff.h"

namespace hamt {
namespace internal {

// Equality, iteration and difference of tries of std::pair<K, V> whose
// keys compare with KeyEqual (values with V's operator==).
template <class K, class V, class KeyEqual>
class TrieComparison {
 public:
  using Layout = NodeLayout<K, V>;
  using Pair = typename NodeLayout<K, V>::Pair;

  explicit TrieComparison(const KeyEqual& key_equal) : key_equal_(key_equal) {}

  bool equal(const Node* a, const Node* b, int depth) const {
    // The CPU check once, not at each popcount of the walk.
    if (PERSIST_BASE_PREDICT_TRUE(CpuHasPopCount())) {
      return equal_walk<true>(a, b, depth);
    }
    return equal_walk<false>(a, b, depth);
  }

  template <class F>
  static void for_each(const Node* node, int depth, F&& f) {
    const Pair* p = pairs(node);
    for (int i = 0, n = Layout::pair_count(node, depth); i < n; ++i) f(p[i]);
    if constexpr (Layout::kTwins) {
      const uint32_t twins = Layout::twin_children(node);
      for (int i = 0, n = Layout::child_count(node); i < n; ++i) {
        if ((twins >> i) & 1) {
          f(*Layout::twin_second(node, i));
        } else {
          for_each(child(node, i), depth + 1, f);
        }
      }
    } else {
      for (int i = 0, n = Layout::child_count(node); i < n; ++i) {
        for_each(child(node, i), depth + 1, f);
      }
    }
  }

  // Iterative along the path of the last differing child;
  // callbacks run only for real differences, in child order.
  template <class OnAdded, class OnRemoved, class OnChanged>
  void diff(const Node* a, const Node* b, int depth, OnAdded& on_added,
            OnRemoved& on_removed, OnChanged& on_changed) const {
    if (a == b) return;
    // The CPU check once, not at each popcount of the walk.
    if (PERSIST_BASE_PREDICT_TRUE(CpuHasPopCount())) {
      diff_walk<true>(a, b, depth, on_added, on_removed, on_changed);
    } else {
      diff_walk<false>(a, b, depth, on_added, on_removed, on_changed);
    }
  }

 private:
  // equal(), with PopCountWith<kHardware>.
  template <bool kHardware>
  bool equal_walk(const Node* a, const Node* b, int depth) const {
    if (a == b) return true;
    if (!SameBitmaps(a, b)) return false;
    if (depth == kCollisionDepth) return collision_equal(a, b);
    if constexpr (Layout::kTwins) {
      if (Layout::twin_bits(a) != 0) return equal_by_slot(a, b, depth);
    }
    const int np = PopCountWith<kHardware>(a->datamap);
    // (Nodes near the root of a big map hold no pairs.)
    if (np > 0 && !pairs_equal(pairs(a), pairs(b), np)) return false;
    return ForEachDifferentChild(a, b, PopCountWith<kHardware>(a->nodemap),
                                 [&](const Node* ca, const Node* cb) {
                                   return equal_walk<kHardware>(ca, cb,
                                                                depth + 1);
                                 });
  }

  // diff of a != b, with PopCountWith<kHardware>.
  template <bool kHardware, class OnAdded, class OnRemoved, class OnChanged>
  void diff_walk(const Node* a, const Node* b, int depth, OnAdded& on_added,
                 OnRemoved& on_removed, OnChanged& on_changed) const {
    for (;;) {
      if (depth == kCollisionDepth) {
        diff_collision(a, b, on_added, on_removed, on_changed);
        return;
      }
      if (!SameBitmaps(a, b) || Layout::twin_bits(a) != 0) {
        if constexpr (Layout::kTwins) {
          // Twins pair their entries in either order: compared slot by slot.
          diff_by_slot(a, b, depth, on_added, on_removed, on_changed);
        } else {
          diff_reshaped(a, b, depth, on_added, on_removed, on_changed);
        }
        return;
      }
      // Same bitmaps (b derived from a by changes of values or deep
      // below): slot i of one is slot i of the other.
      const int np = PopCountWith<kHardware>(a->datamap);
      if (np > 0) {
        diff_pairs_in_place(pairs(a), pairs(b), np, on_added, on_removed,
                            on_changed);
      }
      // The differing children are collected first: a scan that makes no
      // call keeps its values in registers (with the recursion inside the
      // scan, g++ spilled them at every level).
      const Node* different_a[32];  // (a node has at most 32 children)
      const Node* different_b[32];
      int different = 0;
      const int nc = PopCountWith<kHardware>(a->nodemap);
      // A copy borrowing the children of the other node (node.h; set()
      // makes them) holds the same children but one at most: the scan
      // stops at the first that differs. (Within 8 children, one step of
      // the scan, that saves nothing.)
      const bool one_differs =
          nc > 8 && (BorrowsFrom(b, a) || BorrowsFrom(a, b));
      ForEachDifferentChild(a, b, nc,
                            [&](const Node* ca, const Node* cb)
                                PERSIST_BASE_ALWAYS_INLINE {
                                  different_a[different] = ca;
                                  different_b[different] = cb;
                                  ++different;
                                  return !one_differs;
                                });
      if (different == 0) return;
      for (int i = 0; i + 1 < different; ++i) {
        diff_walk<kHardware>(different_a[i], different_b[i], depth + 1,
                             on_added, on_removed, on_changed);
      }
      a = different_a[different - 1];
      b = different_b[different - 1];
      ++depth;
    }
  }

  // Whether `node` is a borrowed copy whose source is `source`.
  PERSIST_BASE_ALWAYS_INLINE static bool BorrowsFrom(const Node* node,
                                                     const Node* source) {
    return IsBorrowed(node) && SourceOf(node) == source;
  }

  // Whether a and b have the same datamap and nodemap (one 8-byte compare).
  PERSIST_BASE_ALWAYS_INLINE static bool SameBitmaps(const Node* a,
                                                     const Node* b) {
    static_assert(offsetof(NodeHeader, nodemap) ==
                      offsetof(NodeHeader, datamap) + sizeof(uint32_t),
                  "bitmaps adjacent");
    return LoadWord(&a->datamap, 0) == LoadWord(&b->datamap, 0);
  }

  // ---- twins (Layout::kTwins) ----

  // What one slot of a node holds: up to two entries (a data slot or a
  // twin), or a child node.
  struct SlotContent {
    const Pair* entries[2];
    int count = 0;
    const Node* node = nullptr;
  };
  // The content of slot `bit` of `node`, whose first entry (if any) is pair
  // `*pair` and child slot `*child` (both advanced past the slot).
  static SlotContent ContentOf(const Node* node, uint32_t bit, int* next_pair,
                               int* next_child) {
    SlotContent content;
    if (node->datamap & bit) {
      content.entries[content.count++] = &pairs(node)[(*next_pair)++];
      if (node->nodemap & bit) {
        content.entries[content.count++] =
            Layout::twin_second(node, *next_child);
        ++*next_child;
      }
    } else if (node->nodemap & bit) {
      content.node = child(node, (*next_child)++);
    }
    return content;
  }

  bool entries_equal(const Pair& a, const Pair& b) const {
    return key_equal_(a.first, b.first) && a.second == b.second;
  }

  // equal() of two nodes with the same bitmaps, some slots twins.
  bool equal_by_slot(const Node* a, const Node* b, int depth) const {
    int pair_a = 0, child_a = 0, pair_b = 0, child_b = 0;
    for (uint32_t all = a->datamap | a->nodemap; all != 0; all &= all - 1) {
      const uint32_t bit = all & (~all + 1);
      const SlotContent ca = ContentOf(a, bit, &pair_a, &child_a);
      const SlotContent cb = ContentOf(b, bit, &pair_b, &child_b);
      if (ca.node != nullptr) {
        if (!equal(ca.node, cb.node, depth + 1)) return false;
      } else if (ca.count == 1) {
        if (!entries_equal(*ca.entries[0], *cb.entries[0])) return false;
      } else {
        // Two keys with equal fragments have no canonical order.
        const bool same_order = entries_equal(*ca.entries[0], *cb.entries[0]) &&
                                entries_equal(*ca.entries[1], *cb.entries[1]);
        if (!same_order && !(entries_equal(*ca.entries[0], *cb.entries[1]) &&
                             entries_equal(*ca.entries[1], *cb.entries[0]))) {
          return false;
        }
      }
    }
    return true;
  }

  // diff of `node`'s entries against the entries `list` (of the other
  // side): node_is_a tells which side `node` is.
  template <class OnAdded, class OnRemoved, class OnChanged>
  void diff_node_list(const Node* node, int depth, const SlotContent& list,
                      bool node_is_a, OnAdded& on_added, OnRemoved& on_removed,
                      OnChanged& on_changed) const {
    bool found[2] = {false, false};
    for_each(node, depth, [&](const Pair& q) {
      for (int i = 0; i < list.count; ++i) {
        const Pair& e = *list.entries[i];
        if (found[i] || !key_equal_(q.first, e.first)) continue;
        found[i] = true;
        const Pair& in_a = node_is_a ? q : e;
        const Pair& in_b = node_is_a ? e : q;
        if (!(in_a.second == in_b.second)) {
          on_changed(in_a.first, in_a.second, in_b.second);
        }
        return;
      }
      if (node_is_a) {
        on_removed(q.first, q.second);
      } else {
        on_added(q.first, q.second);
      }
    });
    for (int i = 0; i < list.count; ++i) {
      if (found[i]) continue;
      const Pair& e = *list.entries[i];
      if (node_is_a) {
        on_added(e.first, e.second);
      } else {
        on_removed(e.first, e.second);
      }
    }
  }

  // diff of two nodes slot by slot, for layouts with twins.
  template <class OnAdded, class OnRemoved, class OnChanged>
  void diff_by_slot(const Node* a, const Node* b, int depth, OnAdded& on_added,
                    OnRemoved& on_removed, OnChanged& on_changed) const {
    int pair_a = 0, child_a = 0, pair_b = 0, child_b = 0;
    uint32_t all = a->datamap | a->nodemap | b->datamap | b->nodemap;
    for (; all != 0; all &= all - 1) {
      const uint32_t bit = all & (~all + 1);
      const SlotContent ca = ContentOf(a, bit, &pair_a, &child_a);
      const SlotContent cb = ContentOf(b, bit, &pair_b, &child_b);
      if (ca.node != nullptr && cb.node != nullptr) {
        diff(ca.node, cb.node, depth + 1, on_added, on_removed, on_changed);
      } else if (ca.node != nullptr) {
        diff_node_list(ca.node, depth + 1, cb, /*node_is_a=*/true, on_added,
                       on_removed, on_changed);
      } else if (cb.node != nullptr) {
        diff_node_list(cb.node, depth + 1, ca, /*node_is_a=*/false, on_added,
                       on_removed, on_changed);
      } else {
        bool found_b[2] = {false, false};
        for (int i = 0; i < ca.count; ++i) {
          const Pair& pa = *ca.entries[i];
          bool found = false;
          for (int j = 0; j < cb.count && !found; ++j) {
            const Pair& pb = *cb.entries[j];
            if (found_b[j] || !key_equal_(pa.first, pb.first)) continue;
            found = found_b[j] = true;
            if (!(pa.second == pb.second)) {
              on_changed(pa.first, pa.second, pb.second);
            }
          }
          if (!found) on_removed(pa.first, pa.second);
        }
        for (int j = 0; j < cb.count; ++j) {
          if (!found_b[j])
            on_added(cb.entries[j]->first, cb.entries[j]->second);
        }
      }
    }
  }

  template <class OnAdded, class OnRemoved, class OnChanged>
  void diff_collision(const Node* a, const Node* b, OnAdded& on_added,
                      OnRemoved& on_removed, OnChanged& on_changed) const {
    for_each(a, kCollisionDepth, [&](const Pair& pa) {
      const Pair* pb = find_in_collision(b, pa.first);
      if (pb == nullptr) {
        on_removed(pa.first, pa.second);
      } else if (!(pa.second == pb->second)) {
        on_changed(pa.first, pa.second, pb->second);
      }
    });
    for_each(b, kCollisionDepth, [&](const Pair& pb) {
      if (find_in_collision(a, pb.first) == nullptr) {
        on_added(pb.first, pb.second);
      }
    });
  }

  // diff of two nodes whose bitmaps differ: slot by slot.
  template <class OnAdded, class OnRemoved, class OnChanged>
  void diff_reshaped(const Node* a, const Node* b, int depth, OnAdded& on_added,
                     OnRemoved& on_removed, OnChanged& on_changed) const {
    auto added = [&](const Pair& p) { on_added(p.first, p.second); };
    auto removed = [&](const Pair& p) { on_removed(p.first, p.second); };
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

  bool collision_equal(const Node* a, const Node* b) const {
    const Pair* pa = pairs(a);
    for (uint32_t i = 0; i < a->datamap; ++i) {
      const Pair* pb = find_in_collision(b, pa[i].first);
      if (pb == nullptr || !(pa[i].second == pb->second)) return false;
    }
    return true;
  }

  // Pairs whose bytes are equal exactly when the pairs are (integers,
  // enums, pointers compared with std::equal_to; a Set's keys): a node's
  // pairs are then compared as memory.
  template <class T>
  static constexpr bool kBitwise =
      std::is_integral<T>::value || std::is_enum<T>::value ||
      std::is_pointer<T>::value;
  static constexpr bool kKeyOnly = std::is_same<V, NoValue>::value;
  static constexpr bool kBitwiseEqual =
      std::is_same<KeyEqual, std::equal_to<K>>::value && kBitwise<K> &&
      (kKeyOnly || kBitwise<V>)&&
          // no padding bytes
          sizeof(Pair) == sizeof(K) + (kKeyOnly ? 0 : sizeof(V));
  // Bitwise pairs of one or two 8-byte words (int64 keys and values):
  // compared by ForEachDifferentWord, which says which pair differs.
  static constexpr int kWordsPerPair = static_cast<int>(sizeof(Pair) / 8);
  static constexpr bool kWordPairs = kBitwiseEqual && sizeof(Pair) % 8 == 0 &&
                                     (kWordsPerPair == 1 || kWordsPerPair == 2);

  // The `count` pairs of a and b are equal, slot by slot. Bitwise pairs by
  // one memcmp (glibc's vectorized one beats an inline loop from about 4
  // pairs, and 1k-entry maps have ~20 pairs per node).
  bool pairs_equal(const Pair* a, const Pair* b, int count) const {
    if (kBitwiseEqual) {
      return std::memcmp(static_cast<const void*>(a),
                         static_cast<const void*>(b),
                         static_cast<size_t>(count) * sizeof(Pair)) == 0;
    }
    for (int i = 0; i < count; ++i) {
      if (!key_equal_(a[i].first, b[i].first) ||
          !(a[i].second == b[i].second)) {
        return false;
      }
    }
    return true;
  }

  // diff of pair slot i of two nodes with the same bitmaps.
  template <class OnAdded, class OnRemoved, class OnChanged>
  void diff_pair(const Pair& a, const Pair& b, OnAdded& on_added,
                 OnRemoved& on_removed, OnChanged& on_changed) const {
    if (key_equal_(a.first, b.first)) {
      if (!(a.second == b.second)) on_changed(a.first, a.second, b.second);
    } else {
      on_removed(a.first, a.second);
      on_added(b.first, b.second);
    }
  }

  // diff of the `count` pairs of two nodes with the same bitmaps.
  template <class OnAdded, class OnRemoved, class OnChanged>
  PERSIST_BASE_ALWAYS_INLINE void diff_pairs_in_place(
      const Pair* a, const Pair* b, int count, OnAdded& on_added,
      OnRemoved& on_removed, OnChanged& on_changed) const {
    if constexpr (kWordPairs && kWordsPerPair == 2) {
      ForEachDifferentWordPair(
          a, b, count, [&](int i) PERSIST_BASE_ALWAYS_INLINE {
            diff_pair(a[i], b[i], on_added, on_removed, on_changed);
          });
    } else if constexpr (kWordPairs) {
      ForEachDifferentWord<WordOrder::kUp>(
          a, b, count, [&](int i) PERSIST_BASE_ALWAYS_INLINE {
            diff_pair(a[i], b[i], on_added, on_removed, on_changed);
            return true;
          });
    } else {
      for (int i = 0; i < count; ++i) {
        if (kBitwiseEqual &&
            std::memcmp(static_cast<const void*>(a + i),
                        static_cast<const void*>(b + i), sizeof(Pair)) == 0) {
          continue;
        }
        diff_pair(a[i], b[i], on_added, on_removed, on_changed);
      }
    }
  }

  // Calls visit(child_a, child_b) in child order for each of the first
  // `count` child slots where a and b hold different children, until visit
  // returns false (then returns false). Shared children (all but one in
  // maps derived from each other) are skipped eight at a time.
  template <class Visit>
  PERSIST_BASE_ALWAYS_INLINE static bool ForEachDifferentChild(const Node* a,
                                                               const Node* b,
                                                               int count,
                                                               Visit&& visit) {
    const auto from_a = ChildSlots(a);
    const auto from_b = ChildSlots(b);
    // Child j is the j-th word down from ChildSlot(node, 0).
    return ForEachDifferentWord<WordOrder::kDown>(
        from_a[0].address(), from_b[0].address(), count,
        [&](ptrdiff_t j) PERSIST_BASE_ALWAYS_INLINE {
          return visit(SlotRef<false>(from_a.first - j),
                       SlotRef<false>(from_b.first - j));
        });
  }

  template <class Q>
  const Pair* find_in_collision(const Node* node, const Q& key) const {
    return FindInCollision<Pair>(node, key, key_equal_);
  }
  static const Pair* pairs(const Node* node) { return Layout::pairs(node); }
  static const Node* child(const Node* node, int index) {
    return Layout::child(node, index);
  }

  const KeyEqual& key_equal_;
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_COMPARE_H_
