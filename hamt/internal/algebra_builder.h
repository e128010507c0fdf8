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
#include <cstring>
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
template <class Pair, bool kTwins = false>
struct BuiltPart {
  Node* node = nullptr;
  const Pair* single = nullptr;
  bool owned = false;
};
// With twins (node.h), a part may also be a twin: two entries, held by
// value (they are copied as bytes) so that they outlive the builder that
// made them; its parent stores them in one slot.
template <class Pair>
struct BuiltPart<Pair, true> {
  Node* node = nullptr;
  const Pair* single = nullptr;
  bool owned = false;
  bool twin = false;
  alignas(Pair) unsigned char entries[2][sizeof(Pair)] = {};
  const Pair& entry(int i) const {
    return *reinterpret_cast<const Pair*>(entries[i]);
  }
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
  // The slots holding twins (whose has_pair and has_child are both true).
  uint32_t twins() const { return Layout::kTwins ? datamap_ & nodemap_ : 0; }
  // The next entry / child; call once for each slot bit that has one.
  const Pair* next_pair() { return pair_++; }
  const Node* next_child() { return SlotRef<false>(child_--); }
  // A twin's second entry, in place of next_child().
  const Pair* next_twin_second() {
    return reinterpret_cast<const Pair*>(child_--);
  }

 private:
  uint32_t datamap_;
  uint32_t nodemap_;
  const Pair* pair_;
  Node* const* child_;
};

// An entry a ResultBuilder will copy into its node.
template <class Pair>
struct BuilderRef {
  const Pair* pair;  // an input's entry, or nullptr for a made one
  const Pair* same;  // an equal entry of the other input, or nullptr
  int made;          // index in made_, or -1
};

// ResultBuilder's record of its twins (for layouts with twins): bit i of
// twin_children_ says child i is a twin, whose first entry is entry
// twin_first_[i] and second twin_second_[i].
template <class Pair, bool kTwins>
struct BuilderTwins {
  static constexpr uint32_t twin_children_ = 0;
};
template <class Pair>
struct BuilderTwins<Pair, true> {
  uint32_t twin_children_ = 0;
  int twin_first_[32];
  BuilderRef<Pair> twin_second_[32];
};

template <class Layout>
class ResultBuilder
    : private BuilderTwins<typename Layout::Pair, Layout::kTwins> {
  using Twins = BuilderTwins<typename Layout::Pair, Layout::kTwins>;
  using Twins::twin_children_;

 public:
  using Pair = typename Layout::Pair;
  using Part = BuiltPart<Pair, Layout::kTwins>;
  static constexpr bool kTwins = Layout::kTwins;

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
    if constexpr (kTwins) {
      if (part.twin) {
        add_twin(bit, made_ref(part.entry(0)), made_ref(part.entry(1)));
        return;
      }
    }
    if (part.node == nullptr) {
      if (part.single != nullptr) add_pair(bit, part.single);
    } else if (part.owned) {
      add_child(bit, part.node);
    } else {
      add_shared_child(bit, part.node);
    }
  }

  // ---- twins ----

  // An entry to add: an input's entry `pair`, equal to `same` of the other
  // input (or nullptr), copied when the node is built.
  using Ref = BuilderRef<Pair>;
  static Ref InputRef(const Pair* pair, const Pair* same = nullptr) {
    return Ref{pair, same, -1};
  }
  // An entry copied into the builder now.
  Ref made_ref(const Pair& entry) {
    made_.push_back(entry);
    return Ref{nullptr, nullptr, static_cast<int>(made_.size() - 1)};
  }
  void add_entry(uint32_t bit, Ref ref) {
    datamap_ |= bit;
    push(ref);
  }
  // A twin of `first` and `second` in slot `bit`.
  void add_twin(uint32_t bit, Ref first, Ref second) {
    if constexpr (kTwins) {
      this->twin_first_[child_count_] = pair_count_;
      this->twin_second_[child_count_] = second;
      this->twin_children_ |= uint32_t{1} << child_count_;
      children_[child_count_++] = nullptr;
      datamap_ |= bit;
      nodemap_ |= bit;
      push(first);
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
    uint32_t twin_firsts = 0;  // bit i: pair i is a twin's first entry
    if constexpr (kTwins) {
      for (int i = 0; i < child_count_; ++i) {
        if (!((twin_children_ >> i) & 1)) continue;
        // Either order: a twin's entries have none.
        const int first = this->twin_first_[i];
        twin_firsts |= uint32_t{1} << first;
        const Pair* in_first = pairs + first;
        const Pair* in_second = Layout::twin_second(node, i);
        const Ref a = at(first);
        const Ref b = this->twin_second_[i];
        if (!((Is(a, in_first) && Is(b, in_second)) ||
              (Is(a, in_second) && Is(b, in_first)))) {
          return false;
        }
      }
    }
    for (int i = 0; i < pair_count_; ++i) {
      if constexpr (kTwins) {
        // (Only bitmap nodes, of at most 32 pairs, have twins.)
        if (twin_firsts != 0 && ((twin_firsts >> i) & 1)) continue;
      }
      const Ref ref = at(i);
      if (ref.made >= 0) return false;
      if (ref.pair != pairs + i && ref.same != pairs + i) return false;
    }
    for (int i = 0; i < child_count_; ++i) {
      if (kTwins && ((twin_children_ >> i) & 1)) continue;
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
    if constexpr (kTwins) {
      // Two entries, with no child node (child_count_ counts twins), below
      // a parent that holds twins: a twin there.
      const bool only_twins =
          twin_children_ == (child_count_ == 32
                                 ? ~uint32_t{0}
                                 : (uint32_t{1} << child_count_) - 1);
      if (depth_ > Layout::kTwinMinDepth && only_twins &&
          pair_count_ + child_count_ == 2) {
        Part part;
        part.twin = true;
        const Ref first = at(0);
        const Ref second = child_count_ == 1 ? this->twin_second_[0] : at(1);
        std::memcpy(part.entries[0], static_cast<const void*>(&value(first)),
                    sizeof(Pair));
        std::memcpy(part.entries[1], static_cast<const void*>(&value(second)),
                    sizeof(Pair));
        return part;
      }
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
      if constexpr (kTwins) {
        if ((twin_children_ >> i) & 1) {
          ChildSlots(node)[i] = Layout::TwinWord(value(this->twin_second_[i]));
          continue;
        }
      }
      ChildSlots(node)[i] = children_[i];
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
  // `ref` is the input entry `entry` (or equal to it).
  static bool Is(const Ref& ref, const Pair* entry) {
    return ref.made < 0 && (ref.pair == entry || ref.same == entry);
  }
  const Pair& value(const Ref& ref) const {
    return ref.made >= 0 ? made_[ref.made] : *ref.pair;
  }
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
