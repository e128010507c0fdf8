// Building one node of an update: the copy of a node with one pair or child
// replaced, the new subtree holding two pairs, and a node with one NodeEdit
// applied (in place, or into a new allocation, copying or stealing the old
// node's contents). The algorithms of update.h decide what to change; these
// functions change one node and own the exception guarantees of doing so:
// everything that may throw (allocation, copying a pair) happens before the
// old node or the caller's pairs are touched.

#ifndef PERSIST_HAMT_INTERNAL_NODE_BUILDER_H_
#define PERSIST_HAMT_INTERNAL_NODE_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

#include "base/optimization.h"
#include "hamt/internal/bits.h"
#include "hamt/internal/node.h"

namespace hamt {
namespace internal {

// The change a single update makes to one node: at most one pair removed and
// one inserted (a replaced pair is both), at most one child removed and one
// inserted (a replaced child is both).
template <class Pair>
struct NodeEdit {
  uint32_t datamap;  // of the result
  uint32_t nodemap;
  int pair_count;  // of the result
  int child_count;
  int removed_pair = -1;   // index in the old node
  int inserted_pair = -1;  // index in the new node
  Pair* inserted_pair_source = nullptr;
  bool move_inserted_pair = false;
  int removed_child = -1;   // index in the old node; not released here
  int inserted_child = -1;  // index in the new node
  Node* inserted_child_node = nullptr;  // reference adopted on success
};

// Builds and edits single nodes of tries of std::pair<K, V> allocated
// with NodeAllocator.
template <class K, class V, class NodeAllocator>
struct NodeBuilder : NodeLifetime<K, V, NodeAllocator> {
  using Layout = NodeLayout<K, V>;
  using Lifetime = NodeLifetime<K, V, NodeAllocator>;
  using Pair = typename NodeLayout<K, V>::Pair;
  using Edit = NodeEdit<Pair>;
  using Lifetime::allocate;
  using Lifetime::bytes_for;
  using Lifetime::child;
  using Lifetime::children_begin;
  using Lifetime::free_memory;
  using Lifetime::owned_child;
  using Lifetime::pairs;
  using Lifetime::release;

  // A root holding only `kv` (moved from).
  static Node* make_single(Pair& kv, uint64_t hash) {
    Node* node = allocate(bytes_for(1, 0));
    try {
      new (pairs(node)) Pair(std::move(kv));
    } catch (...) {
      free_memory(node);
      throw;
    }
    node->datamap = FragmentBit(hash, 0);
    node->nodemap = 0;
    return node;
  }

  // Copy of `node` with child `index` replaced by `new_child` (whose
  // reference it adopts, or releases if copying throws).
  PERSIST_BASE_ALWAYS_INLINE static Node* replace_child(Node* node, int depth,
                                                        int np, int nc,
                                                        int index,
                                                        Node* new_child) {
    try {
      return copy_same_shape(node, np, nc, -1, nullptr, index, new_child);
    } catch (...) {
      release(new_child, depth + 1);
      throw;
    }
  }

  // Copy of `node` with the same bitmaps, pair `pair_index` (if >= 0)
  // replaced by *kv (moved from) and child `child_index` (if >= 0) replaced
  // by `new_child`, whose reference it adopts on success. Borrows the
  // children of `node` (or of its source) when that saves atomics.
  static Node* copy_same_shape(Node* node, int np, int nc, int pair_index,
                               Pair* kv, int child_index, Node* new_child) {
    Node* source = node;
    int owned = -1;  // the child `node` owns apart from its source's
    // Twins hold no references (and with some, only the child nodes are
    // visited).
    const uint32_t twins = Layout::twin_bits(node);
    if (IsBorrowed(node)) {
      source = SourceOf(node);
      owned = owned_child(node, nc);
    }
    const bool borrow = Layout::kCanBorrow &&
                        nc >= Layout::kMinChildrenToBorrow &&
                        (owned < 0 || child_index < 0 || owned == child_index);
    Node* copy = allocate(bytes_for(np, nc), borrow);
    Pair* from = pairs(node);
    Pair* to = pairs(copy);
    if (Layout::kTrivialPair) {
      std::memcpy(static_cast<void*>(to), static_cast<const void*>(from),
                  static_cast<size_t>(np) * sizeof(Pair));
      if (pair_index >= 0) new (to + pair_index) Pair(std::move(*kv));
    } else {
      int built = 0;
      try {
        for (; built < np; ++built) {
          if (built == pair_index) {
            new (to + built) Pair(std::move(*kv));
          } else {
            new (to + built) Pair(from[built]);
          }
        }
      } catch (...) {
        for (int i = 0; i < built; ++i) to[i].~Pair();
        free_memory(copy);
        throw;
      }
    }
    const auto from_children = ChildSlots(static_cast<const Node*>(node));
    const auto to_children = ChildSlots(copy);
    // The block of nc children starts at slot nc - 1 (one past slot 0, the
    // end of the capacity, when nc == 0).
    std::memcpy(to_children[nc - 1].address(), from_children[nc - 1].address(),
                static_cast<size_t>(nc) * sizeof(Node*));
    if (child_index >= 0) to_children[child_index] = new_child;
    if (borrow) {
      Retain(source);
      if (owned >= 0 && owned != child_index) Retain(from_children[owned]);
      SourceOf(copy) = source;
    } else if (twins == 0) {
      for (int i = 0; i < nc; ++i) {
        if (i != child_index) Retain(from_children[i]);
      }
    } else {
      for (uint32_t bits = Layout::node_bits(node); bits != 0;
           bits &= bits - 1) {
        const int i = IndexOf(node->nodemap, bits & (~bits + 1));
        if (i != child_index) Retain(from_children[i]);
      }
    }
    copy->datamap = node->datamap;
    copy->nodemap = node->nodemap;
    return copy;
  }

  // The subtree at `depth` holding `a` (copied, or moved when move_a) and
  // `b` (moved), whose hashes differ at or below `depth` or not at all (then
  // a collision node). Allocates everything before touching a or b.
  static Node* make_two(int depth, Pair* a, bool move_a, uint64_t a_hash,
                        Pair& b, uint64_t b_hash) {
    int bottom = depth;
    while (bottom < kCollisionDepth &&
           FragmentBit(a_hash, bottom) == FragmentBit(b_hash, bottom)) {
      ++bottom;
    }
    Node* chain[kCollisionDepth + 1];
    int allocated = 0;
    try {
      for (int d = depth; d <= bottom; ++d) {
        chain[allocated] =
            allocate(d == bottom ? bytes_for(2, 0) : bytes_for(0, 1));
        ++allocated;
      }
    } catch (...) {
      for (int i = 0; i < allocated; ++i) free_memory(chain[i]);
      throw;
    }
    Node* leaf = chain[allocated - 1];
    const bool a_first =
        bottom == kCollisionDepth ||
        FragmentBit(a_hash, bottom) < FragmentBit(b_hash, bottom);
    Pair* slot_a = pairs(leaf) + (a_first ? 0 : 1);
    Pair* slot_b = pairs(leaf) + (a_first ? 1 : 0);
    try {
      if (move_a) {
        new (slot_a) Pair(std::move(*a));
      } else {
        new (slot_a) Pair(*a);
      }
      try {
        new (slot_b) Pair(std::move(b));
      } catch (...) {
        slot_a->~Pair();
        throw;
      }
    } catch (...) {
      for (int i = 0; i < allocated; ++i) free_memory(chain[i]);
      throw;
    }
    if (bottom == kCollisionDepth) {
      leaf->datamap = 2;
    } else {
      leaf->datamap = FragmentBit(a_hash, bottom) | FragmentBit(b_hash, bottom);
    }
    leaf->nodemap = 0;
    for (int i = allocated - 2; i >= 0; --i) {
      chain[i]->datamap = 0;
      chain[i]->nodemap = FragmentBit(a_hash, depth + i);
      ChildSlots(chain[i])[0] = chain[i + 1];
    }
    return chain[0];
  }

  // ---- twins (NodeLayout::kTwins: entries are copied as bytes and never
  // throw) ----

  // Most entries make_subtree takes.
  static constexpr int kMaxSubtreeEntries = 4;

  // The canonical subtree at `depth` holding the `n` (<= kMaxSubtreeEntries)
  // entries *entries[i] (copied), of hashes hashes[i], with distinct keys:
  // in each slot one entry is a data slot, two are a twin (in the order
  // given; a child node above kTwinMinDepth) and three or more a child
  // node; at kCollisionDepth, a collision node. Meant for n >= 2 below the
  // root (n >= 3 below kTwinMinDepth; a smaller subtree is inline in its
  // parent). Only allocation may throw; then nothing leaks.
  static Node* make_subtree(int depth, const Pair* const* entries,
                            const uint64_t* hashes, int n) {
    static_assert(Layout::kTwins, "only for layouts with twins");
    if (depth == kCollisionDepth) {
      Node* node = allocate(bytes_for(n, 0));
      for (int i = 0; i < n; ++i) new (pairs(node) + i) Pair(*entries[i]);
      node->datamap = static_cast<uint32_t>(n);
      node->nodemap = 0;
      return node;
    }
    // Per slot, in bit order: its entries.
    uint32_t slots = 0;
    for (int i = 0; i < n; ++i) slots |= FragmentBit(hashes[i], depth);
    uint32_t datamap = 0;
    uint32_t nodemap = 0;
    Node* children[kMaxSubtreeEntries];  // of slots that are nodes
    uint32_t child_bits = 0;
    int built = 0;
    try {
      for (uint32_t rest = slots; rest != 0; rest &= rest - 1) {
        const uint32_t bit = rest & (~rest + 1);
        const Pair* in_slot[kMaxSubtreeEntries];
        uint64_t slot_hashes[kMaxSubtreeEntries];
        int m = 0;
        for (int i = 0; i < n; ++i) {
          if (FragmentBit(hashes[i], depth) == bit) {
            in_slot[m] = entries[i];
            slot_hashes[m++] = hashes[i];
          }
        }
        const bool twin = m == 2 && Layout::twins_at(depth);
        if (m == 1 || twin) datamap |= bit;
        if (m >= 2) nodemap |= bit;
        if (m >= 2 && !twin) {
          children[built] = make_subtree(depth + 1, in_slot, slot_hashes, m);
          ++built;
          child_bits |= bit;
        }
      }
    } catch (...) {
      for (int i = 0; i < built; ++i) release(children[i], depth + 1);
      throw;
    }
    Node* node;
    try {
      node = allocate(bytes_for(PopCount(datamap), PopCount(nodemap)));
    } catch (...) {
      for (int i = 0; i < built; ++i) release(children[i], depth + 1);
      throw;
    }
    Pair* to = pairs(node);
    int child = 0;
    int next_built = 0;
    for (uint32_t rest = slots; rest != 0; rest &= rest - 1) {
      const uint32_t bit = rest & (~rest + 1);
      if (child_bits & bit) {
        ChildSlots(node)[child++] = children[next_built++];
        continue;
      }
      const Pair* in_slot[2] = {nullptr, nullptr};
      int m = 0;
      for (int i = 0; i < n && m < 2; ++i) {
        if (FragmentBit(hashes[i], depth) == bit) in_slot[m++] = entries[i];
      }
      new (to++) Pair(*in_slot[0]);
      if (m == 2) {
        ChildSlots(node)[child++] = Layout::TwinWord(*in_slot[1]);
      }
    }
    node->datamap = datamap;
    node->nodemap = nodemap;
    return node;
  }

  // The node `edit` should be written to: `node` itself when editable and
  // large enough, otherwise a new allocation (may throw).
  PERSIST_BASE_ALWAYS_INLINE static Node* prepare(Node* node, const Edit& edit,
                                                  bool editable) {
    const size_t bytes = bytes_for(edit.pair_count, edit.child_count);
    if (editable && bytes <= node->capacity) return node;
    return allocate(bytes);
  }

  // Writes `node` with `edit` applied into `target` (from prepare). Never
  // throws when editable. Otherwise copies and may throw, then frees target
  // and leaves everything unchanged.
  PERSIST_BASE_ALWAYS_INLINE static Node* commit(Node* target, Node* node,
                                                 int np, int nc,
                                                 const Edit& edit,
                                                 bool editable) {
    if (target == node) {
      edit_in_place(node, np, nc, edit);
      return node;
    }
    return rebuild(target, node, edit, editable);
  }

  PERSIST_BASE_ALWAYS_INLINE static Node* apply(Node* node, int np, int nc,
                                                const Edit& edit,
                                                bool editable) {
    return commit(prepare(node, edit, editable), node, np, nc, edit, editable);
  }

  PERSIST_BASE_ALWAYS_INLINE static void edit_in_place(Node* node, int np,
                                                       int nc,
                                                       const Edit& edit) {
    Pair* p = pairs(node);
    // Removals first, so insertions always have their final space.
    if (edit.removed_pair >= 0) {
      p[edit.removed_pair].~Pair();
      Layout::relocate(p + edit.removed_pair, p + edit.removed_pair + 1,
                       np - edit.removed_pair - 1);
      --np;
    }
    const auto children = ChildSlots(node);
    if (edit.removed_child >= 0) {
      for (int j = edit.removed_child; j < nc - 1; ++j) {
        children[j] = children[j + 1];
      }
      --nc;
    }
    if (edit.inserted_child >= 0) {
      for (int j = nc; j > edit.inserted_child; --j) {
        children[j] = children[j - 1];
      }
      children[edit.inserted_child] = edit.inserted_child_node;
    }
    if (edit.inserted_pair >= 0) {
      Layout::relocate(p + edit.inserted_pair + 1, p + edit.inserted_pair,
                       np - edit.inserted_pair);
      new (p + edit.inserted_pair) Pair(std::move(*edit.inserted_pair_source));
    }
    node->datamap = edit.datamap;
    node->nodemap = edit.nodemap;
  }

  // Builds `target` from `node` with `edit` applied. When `steal`, pairs are
  // moved, children transferred and `node`'s memory freed; otherwise pairs
  // are copied and children retained, and `node` is untouched.
  static Node* rebuild(Node* target, Node* node, const Edit& edit, bool steal) {
    Pair* from = pairs(node);
    Pair* to = pairs(target);
    // Pairs of layouts with twins are bytes: relocating them copies them,
    // leaving the source as it was (nothing to destroy).
    if (steal || Layout::kTwins) {
      // Nothrow (kCanEditInPlace): relocate the runs around the edits.
      int source = 0;
      for (int i = 0; i < edit.pair_count;) {
        if (i == edit.inserted_pair) {
          new (to + i) Pair(std::move(*edit.inserted_pair_source));
          ++i;
          continue;
        }
        if (source == edit.removed_pair) {
          from[source].~Pair();
          ++source;
          continue;
        }
        int run_end = edit.pair_count;
        if (edit.inserted_pair > i) run_end = edit.inserted_pair;
        int run = run_end - i;
        if (edit.removed_pair >= source && edit.removed_pair - source < run) {
          run = edit.removed_pair - source;
        }
        Layout::relocate(to + i, from + source, run);
        i += run;
        source += run;
      }
      if (source == edit.removed_pair) from[source].~Pair();
    } else {
      int built = 0;
      try {
        int source = 0;
        for (int i = 0; i < edit.pair_count; ++i) {
          if (i == edit.inserted_pair) {
            if (edit.move_inserted_pair) {
              new (to + i) Pair(std::move(*edit.inserted_pair_source));
            } else {
              new (to + i) Pair(*edit.inserted_pair_source);
            }
          } else {
            if (source == edit.removed_pair) ++source;
            new (to + i) Pair(from[source]);
            ++source;
          }
          built = i + 1;
        }
      } catch (...) {
        for (int i = 0; i < built; ++i) to[i].~Pair();
        free_memory(target);
        throw;
      }
    }
    const auto from_children = ChildSlots(static_cast<const Node*>(node));
    const auto to_children = ChildSlots(target);
    int source = 0;
    for (int i = 0; i < edit.child_count; ++i) {
      Node* c;
      if (i == edit.inserted_child) {
        c = edit.inserted_child_node;
      } else {
        if (source == edit.removed_child) ++source;
        c = from_children[source];
        ++source;
      }
      to_children[i] = c;
    }
    if (!steal) {
      // Twins hold no references: with some, only child nodes are visited.
      if (Layout::kTwins && (edit.datamap & edit.nodemap) != 0) {
        for (uint32_t bits = edit.nodemap & ~edit.datamap; bits != 0;
             bits &= bits - 1) {
          const int i = IndexOf(edit.nodemap, bits & (~bits + 1));
          if (i != edit.inserted_child) Retain(to_children[i]);
        }
      } else {
        for (int i = 0; i < edit.child_count; ++i) {
          if (i != edit.inserted_child) Retain(to_children[i]);
        }
      }
    }
    target->datamap = edit.datamap;
    target->nodemap = edit.nodemap;
    if (steal) free_memory(node);
    return target;
  }
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_NODE_BUILDER_H_
