// The entry a Set's nodes store: just the key.
//
// A Set is a Map whose value slot holds nothing: its nodes are built by the
// same trie code (hamt/internal/node.h), which stores one `Pair` per entry
// and reads `.first` (the key) and `.second` (the value). For V = NoValue,
// EntryOf picks KeyEntry<K>, whose `second` is a static empty member, so an
// entry is exactly as large as a K (8 bytes for int64 keys instead of the 16
// of std::pair<int64_t, Empty>) and value comparisons compile to nothing.

#ifndef PERSIST_HAMT_INTERNAL_KEY_ENTRY_H_
#define PERSIST_HAMT_INTERNAL_KEY_ENTRY_H_

#include <type_traits>
#include <utility>

namespace hamt {
namespace internal {

// The value type of a Set's underlying Map: all values are equal.
struct NoValue {
  friend bool operator==(NoValue, NoValue) { return true; }
  friend bool operator!=(NoValue, NoValue) { return false; }
  template <class H>
  friend H AbslHashValue(H h, NoValue) {
    return h;
  }
};

// A Set entry: the key, with the `first`/`second` interface of std::pair.
template <class K>
struct KeyEntry {
  using first_type = K;
  using second_type = NoValue;

  KeyEntry(K key,
           NoValue) noexcept(std::is_nothrow_move_constructible<K>::value)
      : first(std::move(key)) {}
  KeyEntry(const KeyEntry&) = default;
  KeyEntry(KeyEntry&&) = default;
  KeyEntry& operator=(const KeyEntry&) = default;
  KeyEntry& operator=(KeyEntry&&) = default;

  K first;
  // Static: takes no space. Never written (NoValue has no state).
  static inline NoValue second{};
};

// The entry type nodes store for a Map<K, V>.
template <class K, class V>
struct EntryOf {
  using type = std::pair<K, V>;
};
template <class K>
struct EntryOf<K, NoValue> {
  using type = KeyEntry<K>;
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_KEY_ENTRY_H_
