// hamt::Map: a persistent (immutable, value-semantic) hash map.
//
// A Map never changes after construction: set(), erase() and update() return
// a new map that shares all unchanged structure with the old one, and copying
// a Map copies one pointer (O(1)). It is a CHAMP trie (Compressed Hash-Array
// Mapped Prefix tree, Steindorfer & Vinju 2015): 32-way nodes indexed by 5
// bits of the 64-bit hash per level, key/value pairs stored inline in the
// nodes, collision nodes once all 64 bits are used, and a canonical shape (it
// depends only on the keys), so equal maps have equal shapes.
//
// Use it where many versions of a map must coexist cheaply: snapshots,
// undo, copy-on-write configuration, per-task contexts.
//
// Complexity (n = size(), levels ~ log32(n), at most 13 + a collision scan):
//   copy, size, empty              O(1)
//   find, contains, count, at      O(levels)
//   set, erase, update             O(levels * 32): the path to the key is
//                                  copied; O(levels) allocations, none when
//                                  nothing changes (same value, missing key)
//   set/erase/update on an rvalue  in place (no allocation unless a node must
//   (`std::move(m).set(k, v)`),    grow) along the part of the path this map
//   TransientMap                   solely owns; the rest is copied. Needs
//                                  nothrow moves of K and V (else copies).
//   iteration                      O(n), in an unspecified but deterministic
//                                  order (equal maps iterate alike, except
//                                  for keys with equal 64-bit hashes)
//   ==, !=, diff                   O(size of the difference * levels) for
//                                  maps derived from each other (shared
//                                  subtrees are skipped by pointer), O(n)
//                                  otherwise
//
// Memory: 16 bytes of node header per node plus the pairs and 8 bytes per
// child pointer; about 24 bytes per entry for int64 -> int64 at 1M entries.
// Pairs of at most 8 bytes that are trivially copyable (int32 -> int32, the
// keys of a hamt::Set<int64_t>) save most leaf nodes of big maps: two pairs
// sharing a slot of a node at depth 3 or more are kept in that node, the
// second in a child pointer's bytes ("twin slots", hamt/internal/node.h).
// A node copied by an update that keeps its children "borrows" them: it
// references the original node (8 more bytes) instead of each child, which
// saves one atomic operation per child; the original, and the one child
// the copy replaced, then live as long as the copy (at most one extra node
// per copied node; see hamt/internal/node.h).
//
// Node memory: the NodeAllocator parameter (a memory policy). The default,
// hamt::SizeClassPoolAllocator, is a size-class pool
// (hamt/internal/node_allocator.h: per-thread free lists, 2 MiB chunks, huge
// pages where the kernel allows) that keeps freed memory for reuse and never
// returns it to the system; hamt::NewDeleteAllocator takes every node from
// ::operator new. A NodeAllocator is a class with two static member
// functions, called from any thread (a node may be freed on another thread
// than the one that allocated it):
//   static void* allocate(size_t bytes, size_t alignment);
//       `bytes` > 0 is a multiple of 8 and `alignment` is 8, or 16 for pairs
//       aligned to 16; returns memory of at least `bytes` bytes aligned to
//       `alignment`, or throws (a map then stays unchanged, see Exceptions).
//   static void deallocate(void* memory, size_t bytes,
//                          size_t alignment) noexcept;
//       frees what allocate(bytes, alignment) returned.
// Maps with different allocators are different types; nodes never move
// between them.
//
// Speed (int64 -> int64, g++ -O3, AMD EPYC; bench/REPORT.md has the rest):
// find about 6 ns at 1k entries (2x absl::flat_hash_map, which needs fewer
// instructions per lookup); one lookup's latency at 1M entries is that of
// flat_hash_map (both need two dependent memory accesses, ~150 ns each),
// though flat_hash_map overlaps more independent lookups. set keeping the
// old map: about 0.1 us at 1k entries, 0.5 us at 1M (the path's bottom two
// nodes come from memory), against 9 us and 28 ms for copying a
// flat_hash_map and inserting.
//
// Exceptions: if hashing, copying or moving a K or V, or an allocation
// throws, the operation has no effect (every existing map is unchanged) and
// nothing leaks. at() throws hamt::KeyNotFoundError (a std::out_of_range).
//
// Re-entrancy: an update on an rvalue (`m = std::move(m).set(k, v)`, and
// erase and update likewise) edits the nodes of `m` in place, and the
// destructors of the K and V it replaces or removes run in the middle of
// that edit. Such a destructor must not access `m` (read, update, assign or
// destroy it, directly or through other calls); other Map objects, even ones
// sharing nodes with `m`, are fine. The same holds for V's operator==, which
// set() calls on the old and new value, for any update of `m` (a const& one
// reads `m`'s nodes while it runs). To run code that may touch `m`, keep a
// copy of the value that leaves the map (find() first), so that the last
// reference is dropped after the update. contextvars
// (contextvars/internal/hamt_mapping.h) does so: its values compare by
// identity, and the value a set or erase takes out is handed back to the
// caller, which drops it once the update is committed.
//
// Thread-safety: const member functions may be called concurrently, and maps
// sharing structure may be used, copied and destroyed on different threads
// (reference counts are atomic). Like any value, one Map object must not be
// assigned or used as an rvalue (std::move(m).set(...)) while other threads
// read that same object. TransientMap is not thread-safe.
//
// Requirements: K and V copy constructible; Hash(const K&) returns size_t and
// KeyEqual is an equivalence consistent with it. When V has operator==, set()
// of an equal value returns a map sharing the same root. operator== and diff
// require V's operator==. Heterogeneous find/contains/count/at/erase are
// enabled when both Hash and KeyEqual declare `is_transparent`.
//
// Example:
//   hamt::Map<std::string, int> a = {{"x", 1}, {"y", 2}};
//   hamt::Map<std::string, int> b = a.set("z", 3).erase("x");  // a unchanged
//   assert(a.size() == 2 && b.size() == 2 && *b.find("z") == 3);
//   auto t = b.transient();          // batch edits in place
//   for (int i = 0; i < 1000; ++i) t.set(std::to_string(i), i);
//   hamt::Map<std::string, int> c = std::move(t).persistent();
//   hamt::diff(a, b, [](auto& k, auto& v) { /* added */ },
//              [](auto& k, auto& v) { /* removed */ },
//              [](auto& k, auto& old_v, auto& new_v) { /* changed */ });

#ifndef PERSIST_HAMT_MAP_H_
#define PERSIST_HAMT_MAP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/hash/hash.h"
#include "base/optimization.h"
#include "hamt/internal/compare.h"
#include "hamt/internal/functor_holder.h"
#include "hamt/internal/iterator.h"
#include "hamt/internal/lookup.h"
#include "hamt/internal/map_access.h"
#include "hamt/internal/node.h"
#include "hamt/internal/type_traits.h"
#include "hamt/internal/update.h"

namespace hamt {

// Thrown by Map::at for a key the map does not contain.
class KeyNotFoundError : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

template <class K, class V, class Hash, class KeyEqual, class NodeAllocator>
class Map;
template <class K, class V, class Hash, class KeyEqual, class NodeAllocator>
class TransientMap;

namespace internal {

template <class Q>
std::string KeyNotFoundMessage(const char* function, const Q& key) {
  std::ostringstream message;
  message << "hamt::Map::" << function << ": key ";
  if constexpr (IsStreamable<Q>::value) message << "'" << key << "' ";
  message << "is absent";
  return message.str();
}

}  // namespace internal

template <class K, class V, class Hash = absl::Hash<K>,
          class KeyEqual = std::equal_to<K>,
          class NodeAllocator = SizeClassPoolAllocator>
class Map : private internal::FunctorHolder<Hash, 0>,
            private internal::FunctorHolder<KeyEqual, 1> {
  using HashHolder = internal::FunctorHolder<Hash, 0>;
  using KeyEqualHolder = internal::FunctorHolder<KeyEqual, 1>;
  using Layout = internal::NodeLayout<K, V>;
  using Lookup = internal::TrieLookup<K, V, KeyEqual>;
  using Lifetime = internal::NodeLifetime<K, V, NodeAllocator>;
  using Update = internal::TrieUpdate<K, V, Hash, KeyEqual, NodeAllocator>;
  using Comparison = internal::TrieComparison<K, V, KeyEqual>;
  using Node = internal::Node;
  static constexpr bool kTransparent = internal::IsTransparent<Hash>::value &&
                                       internal::IsTransparent<KeyEqual>::value;
  template <class Q>
  using EnableIfTransparent =
      std::enable_if_t<kTransparent && !std::is_same<Q, K>::value, int>;

 public:
  using key_type = K;
  using mapped_type = V;
  using value_type = std::pair<K, V>;
  using size_type = size_t;
  using difference_type = std::ptrdiff_t;
  using hasher = Hash;
  using key_equal = KeyEqual;
  using reference = const value_type&;
  using const_reference = const value_type&;
  // Forward iterator over const std::pair<K, V>&. Valid while a map holding
  // the same root is alive.
  using const_iterator = internal::TrieIterator<K, V>;
  using iterator = const_iterator;

  Map() = default;
  explicit Map(const Hash& hash, const KeyEqual& key_equal = KeyEqual())
      : HashHolder(hash), KeyEqualHolder(key_equal) {}
  // Later pairs overwrite earlier pairs with the same key.
  Map(std::initializer_list<value_type> pairs, const Hash& hash = Hash(),
      const KeyEqual& key_equal = KeyEqual())
      : Map(pairs.begin(), pairs.end(), hash, key_equal) {}
  template <class InputIt>
  Map(InputIt first, InputIt last, const Hash& hash = Hash(),
      const KeyEqual& key_equal = KeyEqual())
      : HashHolder(hash), KeyEqualHolder(key_equal) {
    // Built in a local so that a throw releases the partial map (a
    // constructor that throws does not run ~Map).
    Map built(hash, key_equal);
    for (; first != last; ++first) {
      built.assign_set(first->first, first->second);
    }
    root_ = std::exchange(built.root_, nullptr);
    size_ = std::exchange(built.size_, 0);
  }

  Map(const Map& other) noexcept
      : HashHolder(other),
        KeyEqualHolder(other),
        root_(other.root_),
        size_(other.size_) {
    if (root_ != nullptr) internal::Retain(root_);
  }
  Map(Map&& other) noexcept
      : HashHolder(other),
        KeyEqualHolder(other),
        root_(std::exchange(other.root_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  Map& operator=(const Map& other) noexcept {
    Map(other).swap(*this);
    return *this;
  }
  Map& operator=(Map&& other) noexcept {
    Map(std::move(other)).swap(*this);
    return *this;
  }
  PERSIST_BASE_ALWAYS_INLINE ~Map() {
    if (root_ != nullptr) Lifetime::release(root_, 0);
  }

  void swap(Map& other) noexcept {
    using std::swap;
    swap(static_cast<HashHolder&>(*this), static_cast<HashHolder&>(other));
    swap(static_cast<KeyEqualHolder&>(*this),
         static_cast<KeyEqualHolder&>(other));
    swap(root_, other.root_);
    swap(size_, other.size_);
  }
  friend void swap(Map& a, Map& b) noexcept { a.swap(b); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Hash& hash_function() const { return HashHolder::get(); }
  const KeyEqual& key_eq() const { return KeyEqualHolder::get(); }

  // ---- lookup ----

  PERSIST_BASE_ALWAYS_INLINE const V* find(const K& key) const {
    return find_value(key);
  }
  template <class Q, EnableIfTransparent<Q> = 0>
  const V* find(const Q& key) const {
    return find_value(key);
  }
  PERSIST_BASE_ALWAYS_INLINE bool contains(const K& key) const {
    return find_value(key) != nullptr;
  }
  template <class Q, EnableIfTransparent<Q> = 0>
  bool contains(const Q& key) const {
    return find_value(key) != nullptr;
  }
  size_t count(const K& key) const { return contains(key) ? 1 : 0; }
  template <class Q, EnableIfTransparent<Q> = 0>
  size_t count(const Q& key) const {
    return contains(key) ? 1 : 0;
  }
  // Throws KeyNotFoundError (a std::out_of_range) when `key` is absent.
  const V& at(const K& key) const { return at_value(key); }
  template <class Q, EnableIfTransparent<Q> = 0>
  const V& at(const Q& key) const {
    return at_value(key);
  }

  // ---- updates (the old map is never changed) ----

  // The map with `key` mapped to `value`. Returns a map sharing this root
  // (no allocation) when `key` already maps to an equal value.
  PERSIST_BASE_ALWAYS_INLINE Map set(K key, V value) const& {
    typename Update::Pair kv(std::move(key), std::move(value));
    const Update update = this->update();
    const uint64_t hash = update.hash_of(kv.first);
    if (root_ == nullptr) return with_root(Update::make_single(kv, hash), 1);
    bool added = false;
    Node* root = update.set(root_, 0, /*editable=*/false, hash, kv, added);
    if (root == root_) return *this;
    return with_root(root, size_ + (added ? 1 : 0));
  }
  // Edits in place the nodes this map solely owns; `*this` is left empty.
  Map set(K key, V value) && {
    assign_set(std::move(key), std::move(value));
    return std::move(*this);
  }

  // The map without `key`; shares this root when `key` is absent.
  PERSIST_BASE_ALWAYS_INLINE Map erase(const K& key) const& {
    return erased(key);
  }
  Map erase(const K& key) && {
    assign_erase(key);
    return std::move(*this);
  }
  template <class Q, EnableIfTransparent<Q> = 0>
  Map erase(const Q& key) const& {
    return erased(key);
  }
  template <class Q, EnableIfTransparent<Q> = 0>
  Map erase(const Q& key) && {
    assign_erase(key);
    return std::move(*this);
  }

  // The map with `key` mapped to `f(old)`, where `old` is a `const V*` to the
  // current value or nullptr when `key` is absent.
  template <class F>
  Map update(K key, F f) const& {
    V value = f(find_value(key));
    return set(std::move(key), std::move(value));
  }
  template <class F>
  Map update(K key, F f) && {
    V value = f(find_value(key));
    assign_set(std::move(key), std::move(value));
    return std::move(*this);
  }

  // A mutable builder starting from this map's contents.
  TransientMap<K, V, Hash, KeyEqual, NodeAllocator> transient() const& {
    return TransientMap<K, V, Hash, KeyEqual, NodeAllocator>(*this);
  }
  TransientMap<K, V, Hash, KeyEqual, NodeAllocator> transient() && {
    return TransientMap<K, V, Hash, KeyEqual, NodeAllocator>(std::move(*this));
  }

  // ---- iteration ----

  const_iterator begin() const { return const_iterator(root_); }
  const_iterator end() const { return const_iterator(); }
  const_iterator cbegin() const { return begin(); }
  const_iterator cend() const { return end(); }

  // ---- comparison ----

  // Same keys with equal values. Shared subtrees are skipped by pointer.
  friend bool operator==(const Map& a, const Map& b) {
    if (a.size_ != b.size_) return false;
    if (a.root_ == b.root_) return true;
    return Comparison(a.key_eq()).equal(a.root_, b.root_, 0);
  }
  friend bool operator!=(const Map& a, const Map& b) { return !(a == b); }

 private:
  friend struct internal::MapAccess;
  friend class TransientMap<K, V, Hash, KeyEqual, NodeAllocator>;

  Update update() const { return Update(hash_function(), key_eq()); }

  // A map with this map's functors owning `root`.
  Map with_root(Node* root, size_t size) const {
    Map map(hash_function(), key_eq());
    map.root_ = root;
    map.size_ = size;
    return map;
  }

  template <class Q>
  PERSIST_BASE_ALWAYS_INLINE Map erased(const Q& key) const {
    if (root_ == nullptr) return *this;
    const Update update = this->update();
    const auto result =
        update.erase(root_, 0, /*editable=*/false, update.hash_of(key), key);
    if (result.kind == Update::EraseResult::kNotFound) return *this;
    return with_root(result.node, size_ - 1);
  }

  template <class Q>
  PERSIST_BASE_ALWAYS_INLINE const V* find_value(const Q& key) const {
    if (root_ == nullptr) return nullptr;
    const auto* pair = Lookup(key_eq()).find(
        root_, key, static_cast<uint64_t>(hash_function()(key)), size_);
    return pair == nullptr ? nullptr : &pair->second;
  }

  template <class Q>
  const V& at_value(const Q& key) const {
    const V* value = find_value(key);
    if (value == nullptr) {
      throw KeyNotFoundError(internal::KeyNotFoundMessage("at", key));
    }
    return *value;
  }

  // Makes this map `root`, the result of an update of root_. An editable
  // update already freed root_ if it replaced it, except when the map became
  // empty.
  void adopt(Node* root, bool editable) {
    if (root == root_) return;
    if (!editable || root == nullptr) Lifetime::release(root_, 0);
    root_ = root;
  }

  bool can_edit_root() const {
    return Layout::kCanEditInPlace && internal::IsUnique(root_);
  }

  // Returns true when `key` was added.
  bool assign_set(K key, V value) {
    typename Update::Pair kv(std::move(key), std::move(value));
    const Update update = this->update();
    const uint64_t hash = update.hash_of(kv.first);
    if (root_ == nullptr) {
      root_ = Update::make_single(kv, hash);
      size_ = 1;
      return true;
    }
    const bool editable = can_edit_root();
    bool added = false;
    Node* root = update.set(root_, 0, editable, hash, kv, added);
    adopt(root, editable);
    size_ += added ? 1 : 0;
    return added;
  }

  // Returns true when `key` was removed.
  template <class Q>
  bool assign_erase(const Q& key) {
    if (root_ == nullptr) return false;
    const Update update = this->update();
    const uint64_t hash = update.hash_of(key);
    const bool editable = can_edit_root();
    const auto result = update.erase(root_, 0, editable, hash, key);
    if (result.kind == Update::EraseResult::kNotFound) return false;
    adopt(result.node, editable);
    --size_;
    return true;
  }

  Node* root_ = nullptr;
  size_t size_ = 0;
};

// A mutable builder for Map: set() and erase() edit in place the nodes it
// solely owns (those it created or received from an rvalue Map), and copy a
// node only the first time it is changed while shared with a Map. Not
// thread-safe; persistent() ends the build in O(1).
template <class K, class V, class Hash = absl::Hash<K>,
          class KeyEqual = std::equal_to<K>,
          class NodeAllocator = SizeClassPoolAllocator>
class TransientMap {
 public:
  using MapType = Map<K, V, Hash, KeyEqual, NodeAllocator>;

  TransientMap() = default;
  explicit TransientMap(MapType map) : map_(std::move(map)) {}

  void set(K key, V value) {
    map_.assign_set(std::move(key), std::move(value));
  }
  // Returns true when `key` was present.
  bool erase(const K& key) { return map_.assign_erase(key); }
  template <class F>
  void update(K key, F f) {
    V value = f(map_.find_value(key));
    map_.assign_set(std::move(key), std::move(value));
  }

  const V* find(const K& key) const { return map_.find(key); }
  bool contains(const K& key) const { return map_.contains(key); }
  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }

  // The built map; this builder is left empty.
  MapType persistent() && { return std::move(map_); }

 private:
  MapType map_;
};

// Calls on_added(key, value) for each pair of `b` whose key is not in `a`,
// on_removed(key, value) for each pair of `a` whose key is not in `b`, and
// on_changed(key, value_in_a, value_in_b) for keys in both with unequal
// values. Subtrees shared by `a` and `b` are skipped, so diffing a map
// against one derived from it by k updates costs O(k * levels).
//
// The callbacks (and V's operator==) run during the walk, with references
// into the nodes of `a` and `b`: they must not destroy or assign to the maps
// passed as `a` or `b`. To change those variables from a callback, pass
// copies, `hamt::diff(Map(x), Map(y), ...)` (O(1)), which keep every node
// alive until diff returns. (diff does not copy them itself: two atomic
// increments and decrements would cost about a third of a small diff.)
template <class K, class V, class H, class E, class A, class OnAdded,
          class OnRemoved, class OnChanged>
void diff(const Map<K, V, H, E, A>& a, const Map<K, V, H, E, A>& b,
          OnAdded on_added, OnRemoved on_removed, OnChanged on_changed) {
  using Access = internal::MapAccess;
  const internal::Node* root_a = Access::root(a);
  const internal::Node* root_b = Access::root(b);
  if (root_a == root_b) return;
  const auto comparison = Access::comparison(a);
  using Pair = typename internal::NodeLayout<K, V>::Pair;
  if (root_a == nullptr) {
    comparison.for_each(root_b, 0,
                        [&](const Pair& p) { on_added(p.first, p.second); });
  } else if (root_b == nullptr) {
    comparison.for_each(root_a, 0,
                        [&](const Pair& p) { on_removed(p.first, p.second); });
  } else {
    comparison.diff(root_a, root_b, 0, on_added, on_removed, on_changed);
  }
}

// A hash of the contents, for Maps as keys of hash containers (both
// absl::Hash and std::hash work; see the std::hash specialization below).
// Independent of insertion order: the sum over the entries of a hash of the
// key (by the map's Hash, so that keys KeyEqual deems equal hash alike) and
// the value (by absl::Hash<V>), so equal maps hash alike. O(n); requires
// absl::Hash<V> consistent with V's operator==.
template <class H, class K, class V, class Hs, class E, class A>
H AbslHashValue(H state, const Map<K, V, Hs, E, A>& map) {
  uint64_t sum = 0;
  const Hs& hash = map.hash_function();
  for (const auto& entry : map) {
    sum += absl::HashOf(static_cast<size_t>(hash(entry.first)), entry.second);
  }
  return H::combine(std::move(state), sum, map.size());
}

}  // namespace hamt

namespace std {
template <class K, class V, class H, class E, class A>
struct hash<hamt::Map<K, V, H, E, A>> {
  size_t operator()(const hamt::Map<K, V, H, E, A>& map) const {
    return absl::Hash<hamt::Map<K, V, H, E, A>>()(map);
  }
};
}  // namespace std

#endif  // PERSIST_HAMT_MAP_H_
