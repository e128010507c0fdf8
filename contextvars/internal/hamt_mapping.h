// The mapping of contextvars::Context: a persistent hash array mapped trie.
// Copy O(1); set/erase O(log32 n), editing in place the nodes the context
// owns alone (the usual case after the first set following a copy).

#ifndef PERSIST_CONTEXTVARS_INTERNAL_HAMT_MAPPING_H_
#define PERSIST_CONTEXTVARS_INTERNAL_HAMT_MAPPING_H_

#include <cstddef>
#include <utility>

#include "contextvars/internal/value_box.h"
#include "hamt/map.h"

namespace contextvars {
namespace internal {

class HamtMapping {
  using Map = hamt::Map<VarKey, ValueRef, VarKeyHash, VarKeyEqual>;

 public:
  using const_iterator = typename Map::const_iterator;

  const ValueRef* Find(const VarKey& key) const { return map_.find(key); }

  ValueRef Exchange(const VarKey& key, ValueRef value) {
    ValueRef old;
    map_ = std::move(map_).update(key, [&](const ValueRef* previous) {
      if (previous != nullptr) old = *previous;
      return std::move(value);
    });
    return old;
  }

  void Erase(const VarKey& key) { map_ = std::move(map_).erase(key); }

  size_t size() const { return map_.size(); }
  const_iterator begin() const { return map_.begin(); }
  const_iterator end() const { return map_.end(); }

  friend bool operator==(const HamtMapping& a, const HamtMapping& b) {
    return a.map_ == b.map_;
  }

 private:
  Map map_;
};

}  // namespace internal
}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_INTERNAL_HAMT_MAPPING_H_
