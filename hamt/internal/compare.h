// Comparing tries: structural equality, visiting every pair, and the
// difference of two tries. All three skip subtrees the two sides share (by
// pointer), so comparing a map with one derived from it by k updates costs
// O(k * levels); the canonical shape (node.h) makes equal key sets have
// equal shapes, so that a node-by-node comparison is enough.

#ifndef PERSIST_HAMT_INTERNAL_COMPARE_H_
#define PERSIST_HAMT_INTERNAL_COMPARE_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <utility>

#include "hamt/internal/bits.h"
#include "hamt/internal/key_entry.h"
#include "hamt/internal/lookup.h"
#include "hamt/internal/node.h"

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
    const int np = PopCount(a->datamap);
    // (Nodes near the root of a big map hold no pairs: no memcmp call.)
    if (np > 0 && !(kBitwiseEqual && PairBytesEqual(pa, pb, np))) {
      for (int i = 0; i < np; ++i) {
        if (!key_equal_(pa[i].first, pb[i].first) ||
            !(pa[i].second == pb[i].second)) {
          return false;
        }
      }
    }
    // Shared children (all but one in maps derived from each other) are
    // skipped four pointer comparisons at a time, not by a call each.
    return ForEachDifferentChild(a, b, PopCount(a->nodemap),
                                 [&](const Node* ca, const Node* cb) {
                                   return equal(ca, cb, depth + 1);
                                 });
  }

  template <class F>
  static void for_each(const Node* node, int depth, F&& f) {
    const Pair* p = pairs(node);
    for (int i = 0, n = Layout::pair_count(node, depth); i < n; ++i) f(p[i]);
    for (int i = 0, n = Layout::child_count(node); i < n; ++i) {
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
    if (a->datamap == b->datamap && a->nodemap == b->nodemap) {
      diff_same_shape(a, b, depth, on_added, on_removed, on_changed);
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
  // Pairs whose bytes are equal exactly when the pairs are (integers,
  // enums, pointers compared with std::equal_to; a Set's keys): a node's
  // pairs are then compared with one memcmp.
  template <class T>
  static constexpr bool kBitwise = std::is_integral<T>::value ||
                                   std::is_enum<T>::value ||
                                   std::is_pointer<T>::value;
  static constexpr bool kKeyOnly = std::is_same<V, NoValue>::value;
  static constexpr bool kBitwiseEqual =
      std::is_same<KeyEqual, std::equal_to<K>>::value && kBitwise<K> &&
      (kKeyOnly || kBitwise<V>) &&
      // no padding bytes
      sizeof(Pair) == sizeof(K) + (kKeyOnly ? 0 : sizeof(V));

  static bool PairBytesEqual(const Pair* a, const Pair* b, int count) {
    return std::memcmp(static_cast<const void*>(a),
                       static_cast<const void*>(b),
                       static_cast<size_t>(count) * sizeof(Pair)) == 0;
  }

  // diff of two nodes with the same bitmaps (b derived from a by changes
  // of values or deep below): slot i of one is slot i of the other, so
  // pairs are compared in place and only children that differ by pointer
  // are descended into.
  template <class OnAdded, class OnRemoved, class OnChanged>
  void diff_same_shape(const Node* a, const Node* b, int depth,
                       OnAdded& on_added, OnRemoved& on_removed,
                       OnChanged& on_changed) const {
    const Pair* pa = pairs(a);
    const Pair* pb = pairs(b);
    const int np = PopCount(a->datamap);
    {
      for (int i = 0; i < np; ++i) {
        if (kBitwiseEqual && PairBytesEqual(pa + i, pb + i, 1)) continue;
        if (key_equal_(pa[i].first, pb[i].first)) {
          if (!(pa[i].second == pb[i].second)) {
            on_changed(pa[i].first, pa[i].second, pb[i].second);
          }
        } else {
          on_removed(pa[i].first, pa[i].second);
          on_added(pb[i].first, pb[i].second);
        }
      }
    }
    ForEachDifferentChild(a, b, PopCount(a->nodemap),
                          [&](const Node* ca, const Node* cb) {
                            diff(ca, cb, depth + 1, on_added, on_removed,
                                 on_changed);
                            return true;
                          });
  }

  // Calls visit(child_a, child_b) in child order for each of the first
  // `count` child slots where a and b hold different children, until visit
  // returns false (then returns false).
  template <class Visit>
  static bool ForEachDifferentChild(const Node* a, const Node* b, int count,
                                    Visit&& visit) {
    Node* const* from_a = ChildSlot(a, 0);  // child i at from_a[-i]
    Node* const* from_b = ChildSlot(b, 0);
    auto differs = [&](int i) {
      return reinterpret_cast<uintptr_t>(from_a[-i]) ^
             reinterpret_cast<uintptr_t>(from_b[-i]);
    };
    int i = 0;
    for (; i + 4 <= count; i += 4) {
      if ((differs(i) | differs(i + 1) | differs(i + 2) | differs(i + 3)) ==
          0) {
        continue;
      }
      for (int j = i; j < i + 4; ++j) {
        if (differs(j) != 0 && !visit(from_a[-j], from_b[-j])) return false;
      }
    }
    for (; i < count; ++i) {
      if (differs(i) != 0 && !visit(from_a[-i], from_b[-i])) return false;
    }
    return true;
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
