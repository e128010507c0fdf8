// Garbage-collector traversal of a persist.Map's trie (python/map_type.cc).
//
// The trie's nodes are shared between maps and are not Python objects, so
// nothing tells the collector that two maps hold one node. Visiting a shared
// node's entries from each map would subtract one reference per map from
// objects that the node holds once; an object still referenced from outside
// could then look unreachable and be cleared. So a map visits only the
// entries of the nodes that it owns alone: the root if its reference count
// is 1, and below it every child (and a borrowed node's source, whose
// children a borrowed node shares instead of owning) whose count is 1.
// Each reference from a node is then visited by at most one map, which is
// what the collector needs. Visiting a shared node from just one of its maps
// would not do either: if that map is garbage while another holder of the
// node lives in an older generation (not traversed in this collection), the
// node's entries would look unreachable although the live map still uses
// them. Only a map that owns a node alone can vouch for its entries. A node
// shared by several maps is visited by none until all but one of them are gone,
// so a cycle through it is collected only then.

#ifndef PERSIST_PYTHON_INTERNAL_MAP_TRAVERSE_H_
#define PERSIST_PYTHON_INTERNAL_MAP_TRAVERSE_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "hamt/map.h"
#include "python/internal/map_entry.h"

namespace persist_python {
namespace internal {

using MapLayout = hamt::internal::NodeLayout<Key, Ref>;
using hamt::internal::Node;

inline int VisitOwned(const Node* node, int depth, visitproc visit, void* arg) {
  const auto* pairs = MapLayout::pairs(node);
  for (int i = 0, n = MapLayout::pair_count(node, depth); i < n; ++i) {
    Py_VISIT(pairs[i].first.object.get());
    Py_VISIT(pairs[i].second.get());
  }
  const int children = MapLayout::child_count(node);
  if (hamt::internal::IsBorrowed(node)) {
    // Children equal to the source's belong to the source.
    Node* source = hamt::internal::SourceOf(const_cast<Node*>(node));
    for (int i = 0; i < children; ++i) {
      const Node* child = MapLayout::child(node, i);
      if (child != MapLayout::child(source, i) &&
          hamt::internal::IsUnique(child)) {
        if (int r = VisitOwned(child, depth + 1, visit, arg)) return r;
      }
    }
    if (hamt::internal::IsUnique(source)) {
      return VisitOwned(source, depth, visit, arg);
    }
    return 0;
  }
  for (int i = 0; i < children; ++i) {
    const Node* child = MapLayout::child(node, i);
    if (hamt::internal::IsUnique(child)) {
      if (int r = VisitOwned(child, depth + 1, visit, arg)) return r;
    }
  }
  return 0;
}

inline int TraverseMap(const PyMap& map, visitproc visit, void* arg) {
  const Node* root = hamt::internal::MapAccess::root(map);
  if (root == nullptr || !hamt::internal::IsUnique(root)) return 0;
  return VisitOwned(root, 0, visit, arg);
}

}  // namespace internal
}  // namespace persist_python

#endif  // PERSIST_PYTHON_INTERNAL_MAP_TRAVERSE_H_
