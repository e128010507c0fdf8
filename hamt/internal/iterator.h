// Iteration over a trie: a pre-order walk with an explicit stack, one frame
// per level, that prefetches a node's children when it enters the node. A
// twin (node.h) yields its first entry with the node's entries and its
// second in child order, as a range of one entry in the child slot.

#ifndef PERSIST_HAMT_INTERNAL_ITERATOR_H_
#define PERSIST_HAMT_INTERNAL_ITERATOR_H_

#include <cstddef>
#include <iterator>
#include <type_traits>
#include <utility>

#include "base/optimization.h"
#include "hamt/internal/bits.h"
#include "hamt/internal/node.h"

namespace hamt {
namespace internal {

// Forward iterator over the const std::pair<K, V>& of a trie. Valid while a
// map holding the same root is alive. (Map::const_iterator.)
template <class K, class V>
class TrieIterator {
  using Layout = NodeLayout<K, V>;

 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = typename Layout::Pair;  // KeyEntry<K> for a Set
  using difference_type = std::ptrdiff_t;
  using pointer = const value_type*;
  using reference = const value_type&;

  TrieIterator() = default;
  // At the first pair of the trie `root` (the end when nullptr).
  explicit TrieIterator(const Node* root) {
    if (root == nullptr) return;
    push(root);
    const int np = Layout::pair_count(root, 0);
    if (np > 0) {
      pair_ = Layout::pairs(root);
      pairs_end_ = pair_ + np;
    } else {
      next_node();
    }
  }

  PERSIST_BASE_ALWAYS_INLINE reference operator*() const { return *pair_; }
  PERSIST_BASE_ALWAYS_INLINE pointer operator->() const { return pair_; }
  PERSIST_BASE_ALWAYS_INLINE TrieIterator& operator++() {
    if (++pair_ == pairs_end_) next_node();
    return *this;
  }
  TrieIterator operator++(int) {
    TrieIterator old = *this;
    ++*this;
    return old;
  }
  PERSIST_BASE_ALWAYS_INLINE friend bool operator==(const TrieIterator& a,
                                                    const TrieIterator& b) {
    return a.pair_ == b.pair_;
  }
  PERSIST_BASE_ALWAYS_INLINE friend bool operator!=(const TrieIterator& a,
                                                    const TrieIterator& b) {
    return a.pair_ != b.pair_;
  }

 private:
  struct NoTwins {
    void set(uint32_t) {}
  };
  struct Twins {
    void set(uint32_t twins) { twin_children = twins; }
    uint32_t twin_children;  // Layout::twin_children of the node
  };
  struct Frame : std::conditional_t<Layout::kTwins, Twins, NoTwins> {
    const Node* node;
    int next_child;
    int child_count;
  };

  // Pushes `node` (at depth top_ + 1). Its children are visited next, in
  // order, and are scattered in memory: fetch them all now so that the
  // misses overlap instead of costing one after the other.
  void push(const Node* node) {
    const int children = Layout::child_count(node);
    Frame& frame = stack_[++top_];
    frame.node = node;
    frame.next_child = 0;
    frame.child_count = children;
    const uint32_t twins = Layout::twin_children(node);
    frame.set(twins);
    for (int i = 0; i < children; ++i) {
      if (!((twins >> i) & 1)) __builtin_prefetch(Layout::child(node, i));
    }
  }

  // Moves to the first pair of the next node (pre-order) that has pairs.
  void next_node() {
    while (top_ >= 0) {
      Frame& frame = stack_[top_];
      if (frame.next_child == frame.child_count) {
        --top_;
        continue;
      }
      if constexpr (Layout::kTwins) {
        if ((frame.twin_children >> frame.next_child) & 1) {
          pair_ = Layout::twin_second(frame.node, frame.next_child++);
          pairs_end_ = pair_ + 1;
          return;
        }
      }
      const Node* next = Layout::child(frame.node, frame.next_child++);
      push(next);
      const int np = Layout::pair_count(next, top_);
      if (np > 0) {
        pair_ = Layout::pairs(next);
        pairs_end_ = pair_ + np;
        return;
      }
    }
    pair_ = pairs_end_ = nullptr;
  }

  Frame stack_[kMaxDepth + 1] = {};
  int top_ = -1;
  const value_type* pair_ = nullptr;
  const value_type* pairs_end_ = nullptr;
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_ITERATOR_H_
