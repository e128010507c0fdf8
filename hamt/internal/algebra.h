// Set algebra on CHAMP tries: merge, intersection, difference and filter,
// walking both tries together level by level (the lookups and the
// predicates includes and disjoint are in algebra_search.h, the node
// building in algebra_builder.h).
//
// A subtree both inputs share by pointer is reused (one reference) or
// skipped without being visited, and so is a subtree of one input where the
// other has nothing in that slot (merge reuses it, intersection drops it,
// difference keeps it). Where one side has a single entry and the other a
// subtree, the entry is looked up in, set into or erased from that subtree
// with the ordinary update code (hamt/internal/update.h), which path-copies.
// Results are canonical: a subtree left with one entry is inlined into its
// parent, and one left with two becomes a twin where the parent holds
// twins (node.h; ResultBuilder::finish), so a result has the shape set()
// would have built and == works. A slot where either input holds a twin is
// combined as a list of (up to two) entries against the other side's slot
// (the *_twin_slot functions): a twin is too small to have shared
// structure worth skipping.
// A result equal slot for slot to one of its inputs is that input (the same
// node, one more reference): merge(a, a), filter keeping everything and
// intersection(a, superset of a) return a's root.
//
// Sizes: nodes do not record how many entries they hold, so a result's size
// is computed from what the walk sees. Each operation counts the entries of
// the one-sided subtrees it needs (merge: b's subtrees where a has at most a
// single entry; intersection: a's subtrees it drops; difference: a's
// subtrees it keeps), never the shared ones, which are the bulk when the
// inputs derive from each other. Counting reads a subtree without copying it.
//
// Exceptions: inputs are never changed; everything built is owned by a
// ResultBuilder on the stack until it is linked into the result, so a throw
// from hashing, copying an entry, allocating or a user callback releases
// it all and leaves every existing map unchanged.

#ifndef PERSIST_HAMT_INTERNAL_ALGEBRA_H_
#define PERSIST_HAMT_INTERNAL_ALGEBRA_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "hamt/internal/algebra_builder.h"
#include "hamt/internal/algebra_search.h"
#include "hamt/internal/bits.h"
#include "hamt/internal/node.h"
#include "hamt/internal/node_builder.h"
#include "hamt/internal/update.h"

namespace hamt {
namespace internal {

template <class K, class V, class Hash, class KeyEqual, class NodeAllocator>
class Algebra : public TrieSearch<K, V, Hash, KeyEqual, NodeAllocator> {
  using Search = TrieSearch<K, V, Hash, KeyEqual, NodeAllocator>;
  using Search::count;
  using Search::find_below;
  using Search::find_in_collision;
  using Search::key_equal_;
  using Search::lookup_in_slot;
  using Search::Reuse;
  using Search::SameValue;
  using Search::set_below;
  using Search::update_;
  using typename Search::Cursor;

 public:
  using typename Search::Layout;
  using typename Search::Pair;
  using typename Search::Part;
  using typename Search::Update;
  // merge's `combine` when b's value simply wins.
  struct NoCombine {};

  using Search::Search;

  // ---- merge: the keys of both; b's value wins ----
  //
  // `combine` is NoCombine for merge, else merge_with's f(key, in_a, in_b),
  // which is called for every key in both, also in shared subtrees.
  // `added` counts the keys of b not in a (the result has |a| + added).
  template <class Combine>
  Part merge(const Node* a, const Node* b, int depth, Combine& combine,
             size_t& added) const {
    constexpr bool kPlain = std::is_same<Combine, NoCombine>::value;
    if (kPlain && a == b) return Reuse(a);
    if (depth == kCollisionDepth) return merge_collision(a, b, combine, added);
    if constexpr (kPlain) {
      if (a->datamap == b->datamap && a->nodemap == b->nodemap &&
          Layout::twin_bits(a) == 0) {
        if (Part part; merge_same_shape(a, b, depth, added, part)) return part;
      }
    }
    Builder out(depth);
    Cursor ca(a);
    Cursor cb(b);
    for (uint32_t all = ca.slots() | cb.slots(); all != 0; all &= all - 1) {
      const uint32_t bit = all & (~all + 1);
      if constexpr (kTwins) {
        if ((ca.twins() | cb.twins()) & bit) {
          merge_twin_slot(out, bit, depth, Take(ca, bit), Take(cb, bit),
                          combine, added);
          continue;
        }
      }
      if (ca.has_pair(bit)) {
        const Pair* pa = ca.next_pair();
        if (cb.has_pair(bit)) {
          const Pair* pb = cb.next_pair();
          if constexpr (kTwins) {
            if (!key_equal_(pa->first, pb->first)) {
              ++added;
              if (Layout::twins_at(depth)) {
                out.add_twin(bit, Builder::InputRef(pa), Builder::InputRef(pb));
              } else {
                const Pair* entries[2] = {pa, pb};
                const uint64_t hashes[2] = {update_.hash_of(pa->first),
                                            update_.hash_of(pb->first)};
                out.add_child(
                    bit, Update::make_subtree(depth + 1, entries, hashes, 2));
              }
              continue;
            }
          }
          if (key_equal_(pa->first, pb->first)) {
            if constexpr (kPlain) {
              if (SameValue(*pa, *pb)) {
                out.add_pair_equal_to(bit, pb, pa);
              } else {
                out.add_pair(bit, pb);
              }
            } else {
              out.add_made_pair(bit, pa->first,
                                combine(pa->first, pa->second, pb->second));
            }
          } else {
            ++added;
            Pair moved_b(*pb);  // make_two moves its second pair
            out.add_child(bit, NodeBuilder<K, V, NodeAllocator>::make_two(
                                   depth + 1, const_cast<Pair*>(pa),
                                   /*move_a=*/false, update_.hash_of(pa->first),
                                   moved_b, update_.hash_of(pb->first)));
          }
        } else if (cb.has_child(bit)) {
          const Node* child_b = cb.next_child();
          const uint64_t hash = update_.hash_of(pa->first);
          const Pair* found = find_below(child_b, depth + 1, hash, pa->first);
          added += count(child_b, depth + 1) - (found != nullptr ? 1 : 0);
          if (found == nullptr) {
            out.add_part(bit, set_below(child_b, depth + 1, hash, Pair(*pa)));
          } else if constexpr (kPlain) {
            out.add_shared_child(bit, child_b);
          } else {
            out.add_part(bit, set_below(child_b, depth + 1, hash,
                                        Pair(found->first,
                                             combine(found->first, pa->second,
                                                     found->second))));
          }
        } else {
          out.add_pair(bit, pa);
        }
      } else if (ca.has_child(bit)) {
        const Node* child_a = ca.next_child();
        if (cb.has_pair(bit)) {
          const Pair* pb = cb.next_pair();
          const uint64_t hash = update_.hash_of(pb->first);
          const Pair* found = find_below(child_a, depth + 1, hash, pb->first);
          if (found == nullptr) ++added;
          if constexpr (!kPlain) {
            if (found != nullptr) {
              out.add_part(bit,
                           set_below(child_a, depth + 1, hash,
                                     Pair(found->first,
                                          combine(found->first, found->second,
                                                  pb->second))));
              continue;
            }
          }
          out.add_part(bit, set_below(child_a, depth + 1, hash, Pair(*pb)));
        } else if (cb.has_child(bit)) {
          const Node* child_b = cb.next_child();
          if (kPlain && child_a == child_b) {
            out.add_shared_child(bit, child_a);  // shared: not visited
          } else {
            out.add_part(bit,
                         merge(child_a, child_b, depth + 1, combine, added));
          }
        } else {
          out.add_shared_child(bit, child_a);
        }
      } else if (cb.has_pair(bit)) {
        ++added;
        out.add_pair(bit, cb.next_pair());
      } else {
        const Node* child_b = cb.next_child();
        added += count(child_b, depth + 1);
        out.add_shared_child(bit, child_b);
      }
    }
    if (out.same_as(a)) return Reuse(a);
    if (out.same_as(b)) return Reuse(b);
    return out.finish();
  }

  // merge of two nodes with the same bitmaps, the common case when b derives
  // from a: when their entries have the same keys too, the result has b's
  // shape and each child slot is either shared (skipped at the cost of a
  // pointer comparison) or merged. Returns false, having done nothing, when
  // some entry's keys differ.
  bool merge_same_shape(const Node* a, const Node* b, int depth, size_t& added,
                        Part& result) const {
    const Pair* pa = Layout::pairs(a);
    const Pair* pb = Layout::pairs(b);
    const int np = PopCount(a->datamap);
    for (int i = 0; i < np; ++i) {
      if (!key_equal_(pa[i].first, pb[i].first)) return false;
    }
    Builder out(depth);
    bool like_b = true;  // the result is b (whose values win)
    bool like_a = true;
    int i = 0;
    for (uint32_t bits = a->datamap; bits != 0; bits &= bits - 1, ++i) {
      const uint32_t bit = bits & (~bits + 1);
      if (SameValue(pa[i], pb[i])) {
        out.add_pair_equal_to(bit, pb + i, pa + i);
      } else {
        like_a = false;
        out.add_pair(bit, pb + i);
      }
    }
    i = 0;
    NoCombine plain;
    for (uint32_t bits = a->nodemap; bits != 0; bits &= bits - 1, ++i) {
      const uint32_t bit = bits & (~bits + 1);
      const Node* child_a = Layout::child(a, i);
      const Node* child_b = Layout::child(b, i);
      if (child_a == child_b) {
        out.add_shared_child(bit, child_a);
        continue;
      }
      const Part part = merge(child_a, child_b, depth + 1, plain, added);
      like_b = like_b && part.node == child_b;
      like_a = like_a && part.node == child_a;
      out.add_part(bit, part);
    }
    result = like_b ? Reuse(b) : like_a ? Reuse(a) : out.finish();
    return true;
  }

  // ---- intersection: keys in both, with a's values ----
  //
  // `dropped` counts a's keys not in b (the result has |a| - dropped).
  Part intersection(const Node* a, const Node* b, int depth,
                    size_t& dropped) const {
    if (a == b) return Reuse(a);
    if (depth == kCollisionDepth) return intersect_collision(a, b, dropped);
    Builder out(depth);
    Cursor ca(a);
    for (uint32_t all = ca.slots(); all != 0; all &= all - 1) {
      const uint32_t bit = all & (~all + 1);
      const bool in_b = ((b->datamap | b->nodemap) & bit) != 0;
      if constexpr (kTwins) {
        if ((ca.twins() | Layout::twin_bits(b)) & bit) {
          intersect_twin_slot(out, bit, depth, Take(ca, bit), ContentAt(b, bit),
                              dropped);
          continue;
        }
      }
      if (ca.has_pair(bit)) {
        const Pair* pa = ca.next_pair();
        if (in_b && lookup_in_slot(b, depth, bit, *pa) != nullptr) {
          out.add_pair(bit, pa);
        } else {
          ++dropped;
        }
        continue;
      }
      const Node* child_a = ca.next_child();
      if (!in_b) {
        dropped += count(child_a, depth + 1);
      } else if (b->datamap & bit) {
        const Pair& pb = PairAt<Layout>(b, bit);
        const Pair* found =
            find_below(child_a, depth + 1, update_.hash_of(pb.first), pb.first);
        dropped += count(child_a, depth + 1) - (found != nullptr ? 1 : 0);
        if (found != nullptr) out.add_pair(bit, found);
      } else {
        const Node* child_b = ChildAt<Layout>(b, bit);
        if (child_a == child_b) {
          out.add_shared_child(bit, child_a);  // shared: not visited
        } else {
          out.add_part(bit, intersection(child_a, child_b, depth + 1, dropped));
        }
      }
    }
    if (out.same_as(a)) return Reuse(a);
    return out.finish();
  }

  // ---- difference: keys of a not in b ----
  //
  // `kept` counts the keys of the result.
  Part difference(const Node* a, const Node* b, int depth, size_t& kept) const {
    if (a == b) return Part{};
    if (depth == kCollisionDepth) return subtract_collision(a, b, kept);
    Builder out(depth);
    Cursor ca(a);
    for (uint32_t all = ca.slots(); all != 0; all &= all - 1) {
      const uint32_t bit = all & (~all + 1);
      const bool in_b = ((b->datamap | b->nodemap) & bit) != 0;
      if constexpr (kTwins) {
        if ((ca.twins() | Layout::twin_bits(b)) & bit) {
          subtract_twin_slot(out, bit, depth, Take(ca, bit), ContentAt(b, bit),
                             kept);
          continue;
        }
      }
      if (ca.has_pair(bit)) {
        const Pair* pa = ca.next_pair();
        if (!in_b || lookup_in_slot(b, depth, bit, *pa) == nullptr) {
          ++kept;
          out.add_pair(bit, pa);
        }
        continue;
      }
      const Node* child_a = ca.next_child();
      if (!in_b) {
        kept += count(child_a, depth + 1);
        out.add_shared_child(bit, child_a);
      } else if (b->datamap & bit) {
        const Pair& pb = PairAt<Layout>(b, bit);
        // Not edited (editable=false): the erase path-copies.
        Node* child = const_cast<Node*>(child_a);
        const auto erased = update_.erase(child, depth + 1, /*editable=*/false,
                                          update_.hash_of(pb.first), pb.first);
        using Erase = typename Update::EraseResult;
        const size_t before = count(child_a, depth + 1);
        if (erased.kind == Erase::kNotFound) {
          kept += before;
          out.add_shared_child(bit, child_a);
        } else if (erased.kind == Erase::kSingle) {
          kept += 1;
          out.add_pair(bit, erased.single);
        } else if (kTwins && erased.kind == Erase::kTwo) {
          kept += 2;
          out.add_twin(bit, Builder::InputRef(erased.single),
                       Builder::InputRef(erased.second));
        } else {
          kept += before - 1;
          if (erased.node == child) {
            out.add_shared_child(bit, child);
          } else {
            out.add_child(bit, erased.node);
          }
        }
      } else {
        const Node* child_b = ChildAt<Layout>(b, bit);
        if (child_a != child_b) {  // a shared subtree is dropped unvisited
          out.add_part(bit, difference(child_a, child_b, depth + 1, kept));
        }
      }
    }
    if (out.same_as(a)) return Reuse(a);
    return out.finish();
  }

  // ---- filter: the entries for which pred(entry) holds ----
  template <class Pred>
  Part filter(const Node* node, int depth, Pred& pred, size_t& kept) const {
    Builder out(depth);
    if (depth == kCollisionDepth) {
      const Pair* p = Layout::pairs(node);
      for (uint32_t i = 0; i < node->datamap; ++i) {
        if (pred(p[i])) {  // user code; partial results are owned
          ++kept;
          out.add_pair(0, &p[i]);
        }
      }
    } else {
      Cursor cursor(node);
      for (uint32_t all = cursor.slots(); all != 0; all &= all - 1) {
        const uint32_t bit = all & (~all + 1);
        if constexpr (kTwins) {
          if (cursor.twins() & bit) {
            const Content twin = Take(cursor, bit);
            Ref left[2];
            int n = 0;
            for (int i = 0; i < 2; ++i) {
              if (pred(*twin.entries[i])) {  // user code
                left[n++] = Builder::InputRef(twin.entries[i]);
              }
            }
            kept += static_cast<size_t>(n);
            AddEntries(out, bit, left, n);
            continue;
          }
        }
        if (cursor.has_pair(bit)) {
          const Pair* p = cursor.next_pair();
          if (pred(*p)) {
            ++kept;
            out.add_pair(bit, p);
          }
        } else {
          out.add_part(bit, filter(cursor.next_child(), depth + 1, pred, kept));
        }
      }
    }
    if (out.same_as(node)) return Reuse(node);
    return out.finish();
  }

 private:
  using Builder = ResultBuilder<Layout>;
  using Ref = typename Builder::Ref;
  using Search::Collect;
  using Search::kTwins;

  // ---- twins (Layout::kTwins): slots where a side holds a twin ----

  // What one slot holds: up to two entries (an entry or a twin) or a child.
  struct Content {
    const Pair* entries[2];
    int count = 0;
    const Node* node = nullptr;
  };
  // The content of slot `bit`, taken from `cursor`.
  static Content Take(Cursor& cursor, uint32_t bit) {
    Content content;
    if (cursor.has_pair(bit)) {
      content.entries[content.count++] = cursor.next_pair();
      if (cursor.has_child(bit)) {
        content.entries[content.count++] = cursor.next_twin_second();
      }
    } else if (cursor.has_child(bit)) {
      content.node = cursor.next_child();
    }
    return content;
  }
  // The content of slot `bit` of `node`.
  static Content ContentAt(const Node* node, uint32_t bit) {
    Content content;
    if (node->datamap & bit) {
      content.entries[content.count++] = &PairAt<Layout>(node, bit);
      if (node->nodemap & bit) {
        content.entries[content.count++] = &Search::TwinSecondAt(node, bit);
      }
    } else if (node->nodemap & bit) {
      content.node = ChildAt<Layout>(node, bit);
    }
    return content;
  }
  // The entry of `content` (in a slot at `depth`) with `entry`'s key.
  const Pair* find_in_content(const Content& content, int depth,
                              const Pair& entry) const {
    if (content.node != nullptr) {
      return find_below(content.node, depth + 1, update_.hash_of(entry.first),
                        entry.first);
    }
    for (int i = 0; i < content.count; ++i) {
      if (key_equal_(content.entries[i]->first, entry.first)) {
        return content.entries[i];
      }
    }
    return nullptr;
  }
  // Adds `n` <= 2 entries in slot `bit`: nothing, an entry or a twin.
  static void AddEntries(Builder& out, uint32_t bit, const Ref* refs, int n) {
    if (n == 1) out.add_entry(bit, refs[0]);
    if (n == 2) out.add_twin(bit, refs[0], refs[1]);
  }

  // A part the algebra owns for a while (released if it still owns it when
  // an exception passes).
  struct HeldPart {
    Part part;
    int depth;
    ~HeldPart() {
      if (part.owned) Layout::release(part.node, depth);
    }
    Part take() {
      Part taken = part;
      part.owned = false;
      return taken;
    }
    // Replaces the part with `next`, derived from it.
    void replace(const Part& next) {
      if (part.owned && next.node != part.node) {
        Layout::release(part.node, depth);
      }
      if (!(part.owned && next.node == part.node)) part = next;
    }
  };

  template <class Combine>
  void merge_twin_slot(Builder& out, uint32_t bit, int depth, const Content& xa,
                       const Content& xb, Combine& combine,
                       size_t& added) const {
    constexpr bool kPlain = std::is_same<Combine, NoCombine>::value;
    if (xa.node == nullptr && xb.node == nullptr) {
      // At most four entries: b's (combined with a's for keys in both),
      // then a's not in b.
      alignas(Pair) unsigned char made[2][sizeof(Pair)];
      const Pair* entries[4];
      Ref refs[4];
      int n = 0;
      bool in_b[2] = {false, false};
      for (int j = 0; j < xb.count; ++j) {
        const Pair* pb = xb.entries[j];
        const Pair* pa = nullptr;
        for (int i = 0; i < xa.count; ++i) {
          if (key_equal_(xa.entries[i]->first, pb->first)) {
            pa = xa.entries[i];
            in_b[i] = true;
          }
        }
        if (pa == nullptr) {
          ++added;
          refs[n] = Builder::InputRef(pb);
          entries[n++] = pb;
        } else if constexpr (kPlain) {
          refs[n] = Builder::InputRef(pb, SameValue(*pa, *pb) ? pa : nullptr);
          entries[n++] = pb;
        } else {
          // Trivially destructible: nothing to destroy.
          const Pair* value = new (made[j])
              Pair(pa->first, combine(pa->first, pa->second, pb->second));
          refs[n] = out.made_ref(*value);
          entries[n++] = value;
        }
      }
      for (int i = 0; i < xa.count; ++i) {
        if (in_b[i]) continue;
        refs[n] = Builder::InputRef(xa.entries[i]);
        entries[n++] = xa.entries[i];
      }
      if (n <= 2) {
        AddEntries(out, bit, refs, n);
        return;
      }
      uint64_t hashes[4];
      for (int i = 0; i < n; ++i)
        hashes[i] = update_.hash_of(entries[i]->first);
      out.add_child(bit, Update::make_subtree(depth + 1, entries, hashes, n));
      return;
    }
    if (xa.node == nullptr) {
      // a's entries into b's subtree; b's values win.
      HeldPart result{Reuse(xb.node), depth + 1};
      int found_count = 0;
      for (int i = 0; i < xa.count; ++i) {
        const Pair* pa = xa.entries[i];
        const uint64_t hash = update_.hash_of(pa->first);
        const Pair* found = find_below(xb.node, depth + 1, hash, pa->first);
        if (found == nullptr) {
          result.replace(
              set_below(result.part.node, depth + 1, hash, Pair(*pa)));
          continue;
        }
        ++found_count;
        if constexpr (!kPlain) {
          result.replace(set_below(
              result.part.node, depth + 1, hash,
              Pair(found->first,
                   combine(found->first, pa->second, found->second))));
        }
      }
      added += count(xb.node, depth + 1) - static_cast<size_t>(found_count);
      out.add_part(bit, result.take());
      return;
    }
    // b's entries into a's subtree.
    HeldPart result{Reuse(xa.node), depth + 1};
    for (int j = 0; j < xb.count; ++j) {
      const Pair* pb = xb.entries[j];
      const uint64_t hash = update_.hash_of(pb->first);
      const Pair* found = find_below(xa.node, depth + 1, hash, pb->first);
      if (found == nullptr) ++added;
      if constexpr (!kPlain) {
        if (found != nullptr) {
          result.replace(set_below(
              result.part.node, depth + 1, hash,
              Pair(found->first,
                   combine(found->first, found->second, pb->second))));
          continue;
        }
      }
      result.replace(set_below(result.part.node, depth + 1, hash, Pair(*pb)));
    }
    out.add_part(bit, result.take());
  }

  void intersect_twin_slot(Builder& out, uint32_t bit, int depth,
                           const Content& xa, const Content& xb,
                           size_t& dropped) const {
    Ref left[2];
    int n = 0;
    if (xa.node == nullptr) {
      for (int i = 0; i < xa.count; ++i) {
        if (find_in_content(xb, depth, *xa.entries[i]) != nullptr) {
          left[n++] = Builder::InputRef(xa.entries[i]);
        } else {
          ++dropped;
        }
      }
    } else {
      // b holds a twin: at most its two keys are left, with a's values.
      for (int j = 0; j < xb.count; ++j) {
        const Pair* found = find_in_content(xa, depth, *xb.entries[j]);
        if (found != nullptr) left[n++] = Builder::InputRef(found);
      }
      dropped += count(xa.node, depth + 1) - static_cast<size_t>(n);
    }
    AddEntries(out, bit, left, n);
  }

  void subtract_twin_slot(Builder& out, uint32_t bit, int depth,
                          const Content& xa, const Content& xb,
                          size_t& kept) const {
    if (xa.node == nullptr) {
      Ref left[2];
      int n = 0;
      for (int i = 0; i < xa.count; ++i) {
        if (xb.count + (xb.node != nullptr) == 0 ||
            find_in_content(xb, depth, *xa.entries[i]) == nullptr) {
          left[n++] = Builder::InputRef(xa.entries[i]);
        }
      }
      kept += static_cast<size_t>(n);
      AddEntries(out, bit, left, n);
      return;
    }
    // b holds a twin: erase its keys from a's subtree.
    const Pair* found[2];
    int found_count = 0;
    for (int j = 0; j < xb.count; ++j) {
      const Pair* in_a = find_in_content(xa, depth, *xb.entries[j]);
      if (in_a != nullptr) found[found_count++] = in_a;
    }
    const size_t before = count(xa.node, depth + 1);
    const size_t left = before - static_cast<size_t>(found_count);
    kept += left;
    if (found_count == 0) {
      out.add_shared_child(bit, xa.node);
      return;
    }
    if (left <= 2) {
      // A tiny subtree (at most four entries): keep the others.
      const Pair* entries[Update::kMaxSubtreeEntries];
      const int n =
          Collect(xa.node, depth + 1, entries, Update::kMaxSubtreeEntries);
      Ref refs[2];
      int m = 0;
      for (int i = 0; i < n; ++i) {
        if (entries[i] != found[0] &&
            (found_count < 2 || entries[i] != found[1])) {
          refs[m++] = Builder::InputRef(entries[i]);
        }
      }
      AddEntries(out, bit, refs, m);
      return;
    }
    HeldPart result{Reuse(xa.node), depth + 1};
    for (int j = 0; j < found_count; ++j) {
      Node* node = result.part.node;  // editable=false: copied
      const auto erased =
          update_.erase(node, depth + 1, /*editable=*/false,
                        update_.hash_of(found[j]->first), found[j]->first);
      // At least three entries are left: the subtree is replaced.
      result.replace(Part{erased.node, nullptr, true});
    }
    out.add_part(bit, result.take());
  }

  // ---- collision nodes (depth kCollisionDepth): lists of entries ----

  template <class Combine>
  Part merge_collision(const Node* a, const Node* b, Combine& combine,
                       size_t& added) const {
    constexpr bool kPlain = std::is_same<Combine, NoCombine>::value;
    const Pair* pa = Layout::pairs(a);
    if constexpr (kPlain) {
      // Every key of a in b: the result is b (whose values win), in b's order.
      uint32_t found = 0;
      while (found < a->datamap &&
             find_in_collision(b, pa[found].first) != nullptr) {
        ++found;
      }
      if (found == a->datamap) {
        added += b->datamap - a->datamap;
        return Reuse(b);
      }
    }
    Builder out(kCollisionDepth);
    for (uint32_t i = 0; i < a->datamap; ++i) {
      const Pair* found = find_in_collision(b, pa[i].first);
      if (found == nullptr) {
        out.add_pair(0, &pa[i]);
      } else if constexpr (kPlain) {
        if (SameValue(pa[i], *found)) {
          out.add_pair_equal_to(0, found, &pa[i]);
        } else {
          out.add_pair(0, found);
        }
      } else {
        out.add_made_pair(0, pa[i].first,
                          combine(pa[i].first, pa[i].second, found->second));
      }
    }
    const Pair* pb = Layout::pairs(b);
    for (uint32_t i = 0; i < b->datamap; ++i) {
      if (find_in_collision(a, pb[i].first) == nullptr) {
        ++added;
        out.add_pair(0, &pb[i]);
      }
    }
    if (out.same_as(a)) return Reuse(a);
    return out.finish();
  }

  Part intersect_collision(const Node* a, const Node* b,
                           size_t& dropped) const {
    Builder out(kCollisionDepth);
    const Pair* pa = Layout::pairs(a);
    for (uint32_t i = 0; i < a->datamap; ++i) {
      if (find_in_collision(b, pa[i].first) != nullptr) {
        out.add_pair(0, &pa[i]);
      } else {
        ++dropped;
      }
    }
    if (out.same_as(a)) return Reuse(a);
    return out.finish();
  }

  Part subtract_collision(const Node* a, const Node* b, size_t& kept) const {
    Builder out(kCollisionDepth);
    const Pair* pa = Layout::pairs(a);
    for (uint32_t i = 0; i < a->datamap; ++i) {
      if (find_in_collision(b, pa[i].first) == nullptr) {
        ++kept;
        out.add_pair(0, &pa[i]);
      }
    }
    if (out.same_as(a)) return Reuse(a);
    return out.finish();
  }
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_ALGEBRA_H_
