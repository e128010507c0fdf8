// Building new CHAMP nodes slot by slot, for the set algebra
// (hamt/internal/algebra.h), and reading two nodes' slots side by side.
//
// ResultBuilder collects a node's entries (pointers to entries of the inputs,
// copied when the node is built, or entries it made itself) and children
// (references it owns) in slot order, then either builds the node or tells
// that the result is exactly an existing node (same_as), so that the caller
// reuses that node instead. It owns everything until finish() links it into
// the new node: a throw anywhere releases it all (RAII), which is how the
// algebra gives the strong exception guarantee.

#ifndef PERSIST_HAMT_INTERNAL_ALGEBRA_BUILDER_H_
#define PERSIST_HAMT_INTERNAL_ALGEBRA_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "hamt/internal/bits.h"
#include "hamt/internal/node.h"

namespace hamt {
namespace internal {

// A subtree built at some depth: empty, a single entry of an input (to be
// inlined by the parent; never at depth 0), or a node: a new one (`owned`,
// one reference) or one of the inputs' (no reference taken: a reused
// subtree costs no atomic operation unless it ends up in a new node).
template <class Pair>
struct BuiltPart {
  Node* node = nullptr;
  const Pair* single = nullptr;
  bool owned = false;
};

// Walks one node's slots in increasing bit order, handing out its entries
// and children in their storage order (no popcount per slot).
template <class Layout>
class SlotCursor {
 public:
  using Pair = typename Layout::Pair;

  explicit SlotCursor(const Node* node)
      : datamap_(node->datamap),
        nodemap_(node->nodemap),
        pair_(Layout::pairs(node)),
        child_(ChildSlot(node, 0)) {}

  uint32_t slots() const { return datamap_ | nodemap_; }
  bool has_pair(uint32_t bit) const { return (datamap_ & bit) != 0; }
  bool has_child(uint32_t bit) const { return (nodemap_ & bit) != 0; }
  // The next entry / child; call once for each slot bit that has one.
  const Pair* next_pair() { return pair_++; }
  const Node* next_child() { return *child_--; }

 private:
  uint32_t datamap_;
  uint32_t nodemap_;
  const Pair* pair_;
  Node* const* child_;
};

template <class Layout>
class ResultBuilder {
 public:
  using Pair = typename Layout::Pair;
  using Part = BuiltPart<Pair>;

  explicit ResultBuilder(int depth) : depth_(depth) {}
  ResultBuilder(const ResultBuilder&) = delete;
  ResultBuilder& operator=(const ResultBuilder&) = delete;
  ~ResultBuilder() {
    if (owned_children_ == 0) return;
    for (int i = 0; i < child_count_; ++i) {
      if (owned_children_ & (uint32_t{1} << i)) {
        Layout::release(children_[i], depth_ + 1);
      }
    }
  }

  // An entry of an input, copied by finish(). Collision nodes pass bit 0.
  void add_pair(uint32_t bit, const Pair* pair) {
    datamap_ |= bit;
    push({pair, nullptr, -1});
  }
  // `pair`, which is equal to `same` of the other input (same key, equal
  // value): the node is then the same as either input's (see same_as).
  void add_pair_equal_to(uint32_t bit, const Pair* pair, const Pair* same) {
    datamap_ |= bit;
    push({pair, same, -1});
  }
  // An entry made here from `key` and `value` (merge_with).
  template <class Key, class Value>
  void add_made_pair(uint32_t bit, const Key& key, Value&& value) {
    made_.emplace_back(key, std::forward<Value>(value));
    datamap_ |= bit;
    push({nullptr, nullptr, static_cast<int>(made_.size() - 1)});
  }
  // A new child, whose reference the builder adopts.
  void add_child(uint32_t bit, Node* child) {
    owned_children_ |= uint32_t{1} << child_count_;
    add_shared_child(bit, child);
  }
  // A child of an input, referenced only if finish() builds a node.
  void add_shared_child(uint32_t bit, const Node* child) {
    nodemap_ |= bit;
    children_[child_count_++] = const_cast<Node*>(child);
  }
  void add_part(uint32_t bit, Part part) {
    if (part.node == nullptr) {
      if (part.single != nullptr) add_pair(bit, part.single);
    } else if (part.owned) {
      add_child(bit, part.node);
    } else {
      add_shared_child(bit, part.node);
    }
  }

  // Whether the node built would be `node`: the same slots holding the same
  // entries (by address) and the same children.
  bool same_as(const Node* node) const {
    const bool collision = depth_ == kCollisionDepth;
    if (collision ? node->datamap != static_cast<uint32_t>(pair_count_)
                  : node->datamap != datamap_) {
      return false;
    }
    if (node->nodemap != nodemap_) return false;
    const Pair* pairs = Layout::pairs(node);
    for (int i = 0; i < pair_count_; ++i) {
      const Ref ref = at(i);
      if (ref.made >= 0) return false;
      if (ref.pair != pairs + i && ref.same != pairs + i) return false;
    }
    for (int i = 0; i < child_count_; ++i) {
      if (children_[i] != Layout::child(node, i)) return false;
    }
    return true;
  }

  // The canonical result: empty, a single input entry (below the root), or
  // a new node owning the children.
  Part finish() {
    if (pair_count_ + child_count_ == 0) return Part{};
    if (depth_ > 0 && child_count_ == 0 && pair_count_ == 1 && at(0).made < 0) {
      return Part{nullptr, at(0).pair};
    }
    Node* node = Layout::allocate(Layout::bytes_for(pair_count_, child_count_));
    Pair* to = Layout::pairs(node);
    int built = 0;
    try {
      for (; built < pair_count_; ++built) {
        const Ref ref = at(built);
        if (ref.made >= 0) {
          new (to + built) Pair(std::move(made_[ref.made]));
        } else {
          new (to + built) Pair(*ref.pair);
        }
      }
    } catch (...) {
      for (int i = 0; i < built; ++i) to[i].~Pair();
      Layout::free_memory(node);
      throw;
    }
    for (int i = 0; i < child_count_; ++i) {
      *ChildSlot(node, static_cast<uint32_t>(i)) = children_[i];
      if (!(owned_children_ & (uint32_t{1} << i))) Retain(children_[i]);
    }
    child_count_ = 0;  // now owned by `node`
    node->datamap = depth_ == kCollisionDepth
                        ? static_cast<uint32_t>(pair_count_)
                        : datamap_;
    node->nodemap = nodemap_;
    return Part{node, nullptr, true};
  }

 private:
  struct Ref {
    const Pair* pair;  // an input's entry, or nullptr for a made one
    const Pair* same;  // an equal entry of the other input, or nullptr
    int made;          // index in made_, or -1
  };
  static constexpr int kInline = 32;  // a bitmap node's slots

  void push(Ref ref) {
    if (pair_count_ < kInline && overflow_.empty()) {
      inline_[pair_count_++] = ref;
      return;
    }
    // Only collision nodes hold more than 32 entries.
    if (overflow_.empty()) overflow_.assign(inline_, inline_ + pair_count_);
    overflow_.push_back(ref);
    ++pair_count_;
  }
  Ref at(int i) const { return overflow_.empty() ? inline_[i] : overflow_[i]; }

  int depth_;
  uint32_t datamap_ = 0;
  uint32_t nodemap_ = 0;
  int pair_count_ = 0;
  int child_count_ = 0;
  uint32_t owned_children_ = 0;  // bit i: children_[i] holds a reference
  Ref inline_[kInline];
  std::vector<Ref> overflow_;
  Node* children_[kInline];
  std::vector<Pair> made_;
};

// Entry of `node` in slot `bit` (which must hold one).
template <class Layout>
const typename Layout::Pair& PairAt(const Node* node, uint32_t bit) {
  return Layout::pairs(node)[IndexOf(node->datamap, bit)];
}
// Child of `node` in slot `bit` (which must hold one).
template <class Layout>
const Node* ChildAt(const Node* node, uint32_t bit) {
  return Layout::child(node, IndexOf(node->nodemap, bit));
}

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_ALGEBRA_BUILDER_H_
