// Persistent and in-place updates of a trie: set and erase. They walk the
// path to the key and rebuild it bottom-up with NodeBuilder (node_builder.h):
// a node the caller solely owns (`editable`) is changed in place, any other
// is copied, so the old trie is never changed.
//
// `editable` means the caller solely owns `node` and every node above it, so
// it may be changed in place; it is only ever true when
// NodeLayout::kCanEditInPlace. All functions give the strong guarantee:
// anything that may throw (allocation, hashing, copying a pair) happens
// before the first change to an existing node.

#ifndef PERSIST_HAMT_INTERNAL_UPDATE_H_
#define PERSIST_HAMT_INTERNAL_UPDATE_H_

#include <cstdint>
#include <utility>

#include "base/optimization.h"
#include "hamt/internal/bits.h"
#include "hamt/internal/node.h"
#include "hamt/internal/node_builder.h"
#include "hamt/internal/type_traits.h"

namespace hamt {
namespace internal {

// set and erase on tries of std::pair<K, V> hashed with Hash, compared with
// KeyEqual and allocated with NodeAllocator.
template <class K, class V, class Hash, class KeyEqual, class NodeAllocator>
class TrieUpdate : private NodeBuilder<K, V, NodeAllocator> {
  using Builder = NodeBuilder<K, V, NodeAllocator>;
  using Layout = NodeLayout<K, V>;
  using Lifetime = NodeLifetime<K, V, NodeAllocator>;
  using Builder::apply;
  using Builder::child_count;
  using Builder::commit;
  using Builder::copy_same_shape;
  using Builder::free_memory;
  using Builder::make_two;
  using Builder::pair_count;
  using Builder::pairs;
  using Builder::prepare;
  using Builder::release;
  using Builder::replace_child;

 public:
  using Pair = typename NodeLayout<K, V>::Pair;
  using Edit = NodeEdit<Pair>;
  using Builder::kMaxSubtreeEntries;
  using Builder::make_single;
  using Builder::make_subtree;

  static constexpr bool kValueComparable = IsEqualityComparable<V>::value;
  static constexpr bool kTwins = NodeLayout<K, V>::kTwins;

  TrieUpdate(const Hash& hash, const KeyEqual& key_equal)
      : hash_(hash), key_equal_(key_equal) {}

  template <class Q>
  PERSIST_BASE_ALWAYS_INLINE uint64_t hash_of(const Q& key) const {
    return static_cast<uint64_t>(hash_(key));
  }

  // Sets kv.first -> kv.second in the subtree `node` at `depth`; kv may be
  // moved from. Returns `node` when nothing changed or `node` was edited in
  // place (only if editable); otherwise a new node (one reference), and then
  // an editable `node` has been freed (its contents moved over) while a
  // shared one is untouched. `added` tells whether the key was new.
  Node* set(Node* node, int depth, bool editable, uint64_t hash, Pair& kv,
            bool& added) const {
    if (editable && IsBorrowed(node)) Lifetime::materialize(node, depth);
    if (depth == kCollisionDepth) {
      return set_in_collision(node, editable, kv, added);
    }
    const uint32_t bit = FragmentBit(hash, depth);
    const int np = PopCount(node->datamap);
    const int nc = PopCount(node->nodemap);
    if (node->datamap & bit) {
      const int index = IndexOf(node->datamap, bit);
      Pair& existing = pairs(node)[index];
      if (key_equal_(existing.first, kv.first)) {
        return replace_value(node, depth, editable, index, kv, added);
      }
      if constexpr (kTwins) {
        if (node->nodemap & bit) {
          return set_in_twin(node, depth, editable, bit, index, hash, kv,
                             added);
        }
        if (Layout::twins_at(depth)) {
          // Two keys share this slot: they become a twin.
          Edit edit{node->datamap, node->nodemap | bit, np, nc + 1};
          edit.inserted_child = IndexOf(node->nodemap, bit);
          edit.inserted_child_node = Layout::TwinWord(kv);
          added = true;
          return apply(node, np, nc, edit, editable);
        }
        // Above kTwinMinDepth: a child node of the two, made below as
        // without twins unless the path down to where their hashes differ
        // reaches nodes that hold twins.
        const uint64_t existing_hash = hash_of(existing.first);
        int bottom = depth + 1;
        while (bottom < kCollisionDepth && FragmentBit(existing_hash, bottom) ==
                                               FragmentBit(hash, bottom)) {
          ++bottom;
        }
        if (Layout::twins_at(bottom - 1)) {
          const Pair* entries[2] = {&existing, &kv};
          const uint64_t hashes[2] = {existing_hash, hash};
          Node* child = make_subtree(depth + 1, entries, hashes, 2);
          Edit edit{node->datamap ^ bit, node->nodemap | bit, np - 1, nc + 1};
          edit.removed_pair = index;
          edit.inserted_child = IndexOf(node->nodemap, bit);
          edit.inserted_child_node = child;
          added = true;
          return apply_with_new_child(node, depth, np, nc, edit, editable);
        }
      }
      // Two keys share this slot: push both one level down.
      const uint64_t existing_hash = hash_of(existing.first);
      Edit edit{node->datamap ^ bit, node->nodemap | bit, np - 1, nc + 1};
      edit.removed_pair = index;
      edit.inserted_child = IndexOf(node->nodemap, bit);
      Node* target = prepare(node, edit, editable);
      Node* subtree;
      try {
        subtree =
            make_two(depth + 1, &existing, editable, existing_hash, kv, hash);
      } catch (...) {
        if (target != node) free_memory(target);
        throw;
      }
      edit.inserted_child_node = subtree;
      added = true;
      try {
        return commit(target, node, np, nc, edit, editable);
      } catch (...) {
        release(subtree, depth + 1);
        throw;
      }
    }
    if (node->nodemap & bit) {
      const int child_index = IndexOf(node->nodemap, bit);
      const auto slot = ChildSlots(node)[child_index];
      Node* old_child = slot;
      PrefetchNodeBody(old_child);
      const bool child_editable = editable && IsUnique(old_child);
      Node* new_child =
          set(old_child, depth + 1, child_editable, hash, kv, added);
      if (new_child == old_child) return node;
      if (editable) {
        slot = new_child;
        if (!child_editable) release(old_child, depth + 1);
        return node;
      }
      return replace_child(node, depth, np, nc, child_index, new_child);
    }
    Edit edit{node->datamap | bit, node->nodemap, np + 1, nc};
    edit.inserted_pair = IndexOf(node->datamap, bit);
    edit.inserted_pair_source = &kv;
    edit.move_inserted_pair = true;
    added = true;
    return apply(node, np, nc, edit, editable);
  }

  // ---- erase ----

  struct EraseResult {
    enum Kind { kNotFound, kReplaced, kSingle, kTwo };
    Kind kind;
    union {
      // kReplaced: the new subtree (the old one when edited in place);
      // nullptr when the root became empty.
      Node* node;
      // kTwo (only with twins): the subtree is left with `single` and this,
      // still stored in it; the caller makes them a twin in its own node and
      // then releases the subtree.
      Pair* second;
    };
    // kSingle: the subtree is left with just this pair, still stored in it;
    // the caller inlines it into its own node and then releases the subtree.
    Pair* single;
    bool single_movable;  // the whole path to `single` is editable
  };

  template <class Q>
  EraseResult erase(Node* node, int depth, bool editable, uint64_t hash,
                    const Q& key) const {
    if (editable && IsBorrowed(node)) Lifetime::materialize(node, depth);
    if (depth == kCollisionDepth) {
      return erase_in_collision(node, editable, key);
    }
    const uint32_t bit = FragmentBit(hash, depth);
    const int np = PopCount(node->datamap);
    const int nc = PopCount(node->nodemap);
    if (node->datamap & bit) {
      const int index = IndexOf(node->datamap, bit);
      if constexpr (kTwins) {
        return erase_in_slot(node, depth, editable, bit, index, np, nc, key);
      }
      if (!key_equal_(pairs(node)[index].first, key)) return NotFound();
      if (depth > 0 && np == 2 && nc == 0) {
        return Single(&pairs(node)[1 - index], editable);
      }
      if (np == 1 && nc == 0) return Replaced(nullptr);  // root only
      Edit edit{node->datamap ^ bit, node->nodemap, np - 1, nc};
      edit.removed_pair = index;
      return Replaced(apply(node, np, nc, edit, editable));
    }
    if (!(node->nodemap & bit)) return NotFound();
    const int child_index = IndexOf(node->nodemap, bit);
    const auto slot = ChildSlots(node)[child_index];
    Node* old_child = slot;
    PrefetchNodeBody(old_child);
    const bool child_editable = editable && IsUnique(old_child);
    EraseResult result = erase(old_child, depth + 1, child_editable, hash, key);
    if (result.kind == EraseResult::kNotFound) return result;
    if constexpr (kTwins) {
      if (result.kind == EraseResult::kTwo) {
        // Keep propagating while this node would itself hold just those two
        // (and its parent may hold twins).
        if (depth > Layout::kTwinMinDepth && np == 0 && nc == 1) return result;
        // The child becomes a twin of the two (copied before the child,
        // which holds them, may be released).
        const Pair first(*result.single);
        Edit edit{node->datamap | bit, node->nodemap, np + 1, nc};
        edit.removed_child = child_index;
        edit.inserted_child = child_index;
        edit.inserted_child_node = Layout::TwinWord(*result.second);
        edit.inserted_pair = IndexOf(node->datamap, bit);
        edit.inserted_pair_source = const_cast<Pair*>(&first);
        edit.move_inserted_pair = true;
        Node* replaced = apply(node, np, nc, edit, editable);
        if (editable) release(old_child, depth + 1);
        return Replaced(replaced);
      }
    }
    if (result.kind == EraseResult::kSingle) {
      // Keep propagating while this node would itself hold just that pair.
      if (depth > 0 && np == 0 && nc == 1) return result;
      Edit edit{node->datamap | bit, node->nodemap ^ bit, np + 1, nc - 1};
      edit.removed_child = child_index;
      edit.inserted_pair = IndexOf(node->datamap, bit);
      edit.inserted_pair_source = result.single;
      if (!editable) return Replaced(apply(node, np, nc, edit, false));
      if (result.single_movable) {
        edit.move_inserted_pair = true;
        Node* replaced = apply(node, np, nc, edit, true);
        release(old_child, depth + 1);
        return Replaced(replaced);
      }
      Pair copy(*result.single);  // may throw; nothing changed yet
      edit.inserted_pair_source = &copy;
      edit.move_inserted_pair = true;
      Node* replaced = apply(node, np, nc, edit, true);
      release(old_child, depth + 1);
      return Replaced(replaced);
    }
    Node* new_child = result.node;
    if (new_child == old_child) return Replaced(node);
    if (editable) {
      slot = new_child;
      if (!child_editable) release(old_child, depth + 1);
      return Replaced(node);
    }
    return Replaced(replace_child(node, depth, np, nc, child_index, new_child));
  }

 private:
  static EraseResult NotFound() {
    return {EraseResult::kNotFound, {nullptr}, nullptr, false};
  }
  static EraseResult Replaced(Node* node) {
    return {EraseResult::kReplaced, {node}, nullptr, false};
  }
  static EraseResult Single(Pair* pair, bool movable) {
    return {EraseResult::kSingle, {nullptr}, pair, movable};
  }
  static EraseResult Two(Pair* first, Pair* second) {
    EraseResult result{EraseResult::kTwo, {nullptr}, first, false};
    result.second = second;
    return result;
  }

  // ---- twins ----

  // set of a key that matches neither entry of the twin in slot `bit` (its
  // first entry at pair `index`) or only its second.
  Node* set_in_twin(Node* node, int depth, bool editable, uint32_t bit,
                    int index, uint64_t hash, Pair& kv, bool& added) const {
    const int np = PopCount(node->datamap);
    const int nc = PopCount(node->nodemap);
    const int child_index = IndexOf(node->nodemap, bit);
    Pair* second = Layout::twin_second(node, child_index);
    if (key_equal_(second->first, kv.first)) {
      added = false;
      if constexpr (kValueComparable) {
        if (second->second == kv.second) return node;
      }
      if (editable) {
        second->second = std::move(kv.second);
        return node;
      }
      return copy_same_shape(node, np, nc, -1, nullptr, child_index,
                             Layout::TwinWord(kv));
    }
    // A third key: the three make a child node.
    const Pair* entries[3] = {&pairs(node)[index], second, &kv};
    const uint64_t hashes[3] = {hash_of(entries[0]->first),
                                hash_of(second->first), hash};
    Node* child = make_subtree(depth + 1, entries, hashes, 3);
    Edit edit{node->datamap ^ bit, node->nodemap, np - 1, nc};
    edit.removed_pair = index;
    edit.removed_child = child_index;
    edit.inserted_child = child_index;
    edit.inserted_child_node = child;
    added = true;
    return apply_with_new_child(node, depth, np, nc, edit, editable);
  }

  // apply(edit), whose inserted_child_node is a subtree just built for it:
  // released if the edit throws.
  Node* apply_with_new_child(Node* node, int depth, int np, int nc,
                             const Edit& edit, bool editable) const {
    try {
      return apply(node, np, nc, edit, editable);
    } catch (...) {
      release(edit.inserted_child_node, depth + 1);
      throw;
    }
  }

  // The subtree `node` (at depth > 0) without `erased`, one of its entries,
  // when that leaves one entry (kSingle) or two that its parent holds as a
  // twin (kTwo); otherwise kNotFound. Only a node without child nodes can
  // be left so small.
  EraseResult FewLeft(Node* node, int depth, int np, int nc, Pair* erased,
                      bool editable) const {
    const int limit = depth > Layout::kTwinMinDepth ? 3 : 2;
    if (depth == 0 || np + nc > limit || Layout::node_bits(node) != 0) {
      return NotFound();
    }
    Pair* left[3];
    int n = 0;
    for (int i = 0; i < np; ++i) {
      if (&pairs(node)[i] != erased) left[n++] = &pairs(node)[i];
    }
    for (int j = 0; j < nc; ++j) {
      Pair* second = Layout::twin_second(node, j);
      if (second != erased) left[n++] = second;
    }
    if (n == 1) return Single(left[0], editable);
    return Two(left[0], left[1]);
  }

  // erase of `key` in slot `bit`, which holds an entry (pair `index`) or a
  // twin.
  template <class Q>
  EraseResult erase_in_slot(Node* node, int depth, bool editable, uint32_t bit,
                            int index, int np, int nc, const Q& key) const {
    Pair* first = &pairs(node)[index];
    const bool twin = (node->nodemap & bit) != 0;
    const int child_index = twin ? IndexOf(node->nodemap, bit) : -1;
    Pair* erased = nullptr;
    if (key_equal_(first->first, key)) {
      erased = first;
    } else if (twin &&
               key_equal_(Layout::twin_second(node, child_index)->first, key)) {
      erased = Layout::twin_second(node, child_index);
    } else {
      return NotFound();
    }
    const EraseResult few = FewLeft(node, depth, np, nc, erased, editable);
    if (few.kind != EraseResult::kNotFound) return few;
    if (!twin) {
      if (np == 1 && nc == 0) return Replaced(nullptr);  // root only
      Edit edit{node->datamap ^ bit, node->nodemap, np - 1, nc};
      edit.removed_pair = index;
      return Replaced(apply(node, np, nc, edit, editable));
    }
    // The twin becomes a plain entry: its other one.
    Edit edit{node->datamap, node->nodemap ^ bit, np, nc - 1};
    edit.removed_child = child_index;
    if (erased == first) {
      const Pair other(*Layout::twin_second(node, child_index));
      edit.removed_pair = index;
      edit.inserted_pair = index;
      edit.inserted_pair_source = const_cast<Pair*>(&other);
      edit.move_inserted_pair = true;
      return Replaced(apply(node, np, nc, edit, editable));
    }
    return Replaced(apply(node, np, nc, edit, editable));
  }

  PERSIST_BASE_ALWAYS_INLINE Node* replace_value(Node* node, int depth,
                                                 bool editable, int index,
                                                 Pair& kv, bool& added) const {
    added = false;
    Pair& existing = pairs(node)[index];
    if constexpr (kValueComparable) {
      if (existing.second == kv.second) return node;
    }
    if (editable) {
      existing.second = std::move(kv.second);
      return node;
    }
    return copy_same_shape(node, pair_count(node, depth), child_count(node),
                           index, &kv, -1, nullptr);
  }

  Node* set_in_collision(Node* node, bool editable, Pair& kv,
                         bool& added) const {
    const int np = static_cast<int>(node->datamap);
    Pair* p = pairs(node);
    for (int i = 0; i < np; ++i) {
      if (key_equal_(p[i].first, kv.first)) {
        return replace_value(node, kCollisionDepth, editable, i, kv, added);
      }
    }
    Edit edit{static_cast<uint32_t>(np + 1), 0, np + 1, 0};
    edit.inserted_pair = np;
    edit.inserted_pair_source = &kv;
    edit.move_inserted_pair = true;
    added = true;
    return apply(node, np, 0, edit, editable);
  }

  template <class Q>
  EraseResult erase_in_collision(Node* node, bool editable,
                                 const Q& key) const {
    const int np = static_cast<int>(node->datamap);
    Pair* p = pairs(node);
    for (int i = 0; i < np; ++i) {
      if (!key_equal_(p[i].first, key)) continue;
      if (np == 2) return Single(&p[1 - i], editable);
      static_assert(kCollisionDepth > Layout::kTwinMinDepth,
                    "a collision node's parent holds twins");
      if (kTwins && np == 3) return Two(&p[i == 0 ? 1 : 0], &p[i == 2 ? 1 : 2]);
      Edit edit{static_cast<uint32_t>(np - 1), 0, np - 1, 0};
      edit.removed_pair = i;
      return Replaced(apply(node, np, 0, edit, editable));
    }
    return NotFound();
  }

  const Hash& hash_;
  const KeyEqual& key_equal_;
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_UPDATE_H_
