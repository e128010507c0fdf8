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

  ValueRef Exchange(const VarKey& key, ValueRef value) {
    auto next = std::make_shared<Map>(get());
    auto [it, inserted] = next->try_emplace(key);
    ValueRef old = inserted ? ValueRef() : std::move(it->second);
    it->second = std::move(value);
    map_ = std::move(next);
    return old;
  }

  void Erase(const VarKey& key) {
    auto next = std::make_shared<Map>(get());
    next->erase(key);
    map_ = std::move(next);
  }

  size_t size() const { return get().size(); }
  const_iterator begin() const { return get().begin(); }
  const_iterator end() const { return get().end(); }

  friend bool operator==(const NaiveMapping& a, const NaiveMapping& b) {
    return a.map_ == b.map_ || a.get() == b.get();
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
