// MapAccess: access to a Map's internals (root, functors, memory
// statistics) for diff, TransientMap, tests and benchmarks; Map befriends it.

#ifndef PERSIST_HAMT_INTERNAL_MAP_ACCESS_H_
#define PERSIST_HAMT_INTERNAL_MAP_ACCESS_H_

#include <cstddef>

#include "hamt/internal/node.h"

namespace hamt {
namespace internal {

struct MapAccess {
  template <class M>
  static Node* root(const M& map) {
    return map.root_;
  }
  template <class M>
  static auto comparison(const M& map) {
    return typename M::Comparison(map.key_eq());
  }
  template <class M>
  static auto lookup(const M& map) {
    return typename M::Lookup(map.key_eq());
  }
  // A map with `like`'s functors owning `root` (one reference), which holds
  // `size` entries (hamt/internal/algebra.h builds them).
  template <class M>
  static M with_root(const M& like, Node* root, size_t size) {
    return like.with_root(root, size);
  }
  // Bytes of all nodes reachable from `map`'s root (a memory statistic; the
  // sources that borrowed nodes keep alive are not counted).
  template <class M>
  static size_t node_bytes(const M& map) {
    return M::Layout::subtree_bytes(map.root_);
  }
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_MAP_ACCESS_H_
