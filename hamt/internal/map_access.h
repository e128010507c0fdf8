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
