// The mapping of contextvars::Context: a persistent hash array mapped trie.
// Copy O(1); set/erase O(log32 n), editing in place the nodes the context
// owns alone (the usual case after the first set following a copy).
//
// No user code runs inside an edit of the HAMT (hamt/map.h, "Re-entrancy"):
// ValueRef's operator== is identity, and a value leaving the map is handed
// back to the caller, so the HAMT never drops the last reference to a box.

#ifndef PERSIST_CONTEXTVARS_INTERNAL_HAMT_MAPPING_H_
#define PERSIST_CONTEXTVARS_INTERNAL_HAMT_MAPPING_H_

#include <cstddef>
#include <utility>

#include "base/optimization.h"
#include "contextvars/internal/value_box.h"
#include "hamt/map.h"

namespace contextvars {
namespace internal {

class HamtMapping {
  using Map = hamt::Map<VarKey, ValueRef, VarKeyHash, VarKeyEqual>;

 public:
  using const_iterator = typename Map::const_iterator;

  const ValueRef* Find(const VarKey& key) const { return map_.find(key); }

  // Maps `key` to `value`; returns the value it replaced (empty when `key`
  // was absent). The mapping's reference to the replaced value is dropped
  // inside the edit, so the returned one is what keeps it alive: the caller
  // drops it once its own state is consistent (its destructor is user code).
  // Always inlined, like BasicContextVar::set() that calls it; `value` by
  // reference, so that the caller's box is the one object moved from.
  PERSIST_BASE_ALWAYS_INLINE ValueRef Exchange(const VarKey& key,
                                               ValueRef&& value) {
    ValueRef old;
    map_ = std::move(map_).update(key, [&](const ValueRef* previous) {
      if (previous != nullptr) old = *previous;
      return std::move(value);
    });
    return old;
  }

  // Removes `key`; returns the removed value (empty when `key` was absent),
  // for the caller to drop after the operation, as for Exchange().
  ValueRef Erase(const VarKey& key) {
    const ValueRef* found = map_.find(key);
    if (found == nullptr) return ValueRef();
    ValueRef removed = *found;
    map_ = std::move(map_).erase(key);
    return removed;
  }

  size_t size() const { return map_.size(); }
  const_iterator begin() const { return map_.begin(); }
  const_iterator end() const { return map_.end(); }

  // Same keys with equal values (SameValue). hamt::diff skips the subtrees
  // both share and compares the boxes by identity; the values' operator==
  // runs after the traversal, on snapshots, so it may change any context
  // (even a or b) without disturbing the comparison.
  static bool Equal(const HamtMapping& a, const HamtMapping& b) {
    if (a.map_.size() != b.map_.size()) return false;
    const Map snapshot_a = a.map_;
    const Map snapshot_b = b.map_;
    bool same_keys = true;
    DeferredValueComparisons values;
    hamt::diff(
        snapshot_a, snapshot_b,
        [&](const VarKey&, const ValueRef&) { same_keys = false; },
        [&](const VarKey&, const ValueRef&) { same_keys = false; },
        [&](const VarKey&, const ValueRef& in_a, const ValueRef& in_b) {
          values.Add(in_a, in_b);
        });
    return same_keys && values.AllEqual();
  }

 private:
  Map map_;
};

}  // namespace internal
}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_INTERNAL_HAMT_MAPPING_H_
