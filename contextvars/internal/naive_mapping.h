// The mapping of contextvars::naive::Context, done the way the Python seed
// (gevent.contextvars) does it: an immutable hash map shared by copies and
// copied whole on every set or erase. Copy O(1); set/erase O(n).

#ifndef PERSIST_CONTEXTVARS_INTERNAL_NAIVE_MAPPING_H_
#define PERSIST_CONTEXTVARS_INTERNAL_NAIVE_MAPPING_H_

#include <cstddef>
#include <memory>
#include <unordered_map>
#include <utility>

#include "contextvars/internal/value_box.h"

namespace contextvars {
namespace internal {

class NaiveMapping {
  using Map = std::unordered_map<VarKey, ValueRef, VarKeyHash, VarKeyEqual>;

 public:
  using const_iterator = typename Map::const_iterator;

  const ValueRef* Find(const VarKey& key) const {
    if (map_ == nullptr) return nullptr;
    auto it = map_->find(key);
    return it == map_->end() ? nullptr : &it->second;
  }

  // As HamtMapping::Exchange: returns the replaced value, which the old map
  // (dropped here) no longer keeps alive.
  ValueRef Exchange(const VarKey& key, ValueRef&& value) {
    auto next = std::make_shared<Map>(get());
    auto [it, inserted] = next->try_emplace(key);
    ValueRef old = inserted ? ValueRef() : std::move(it->second);
    it->second = std::move(value);
    map_ = std::move(next);
    return old;
  }

  // As HamtMapping::Erase: returns the removed value.
  ValueRef Erase(const VarKey& key) {
    const ValueRef* found = Find(key);
    if (found == nullptr) return ValueRef();
    ValueRef removed = *found;
    auto next = std::make_shared<Map>(get());
    next->erase(key);
    map_ = std::move(next);
    return removed;
  }

  size_t size() const { return get().size(); }
  const_iterator begin() const { return get().begin(); }
  const_iterator end() const { return get().end(); }

  // As HamtMapping::Equal: the values' operator== runs after the traversal,
  // on snapshots.
  static bool Equal(const NaiveMapping& a, const NaiveMapping& b) {
    if (a.map_ == b.map_) return true;
    const NaiveMapping snapshot_a = a;
    const NaiveMapping snapshot_b = b;
    const Map& map_a = snapshot_a.get();
    const Map& map_b = snapshot_b.get();
    if (map_a.size() != map_b.size()) return false;
    DeferredValueComparisons values;
    for (const auto& [key, value] : map_a) {
      auto it = map_b.find(key);
      if (it == map_b.end()) return false;
      if (it->second != value) values.Add(value, it->second);
    }
    return values.AllEqual();
  }

 private:
  const Map& get() const {
    static const Map* const kEmpty = new Map();
    return map_ != nullptr ? *map_ : *kEmpty;
  }

  std::shared_ptr<const Map> map_;  // nullptr when empty
};

}  // namespace internal
}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_INTERNAL_NAIVE_MAPPING_H_
