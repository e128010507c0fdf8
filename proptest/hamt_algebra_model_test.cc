// Model tests of hamt::Set against std::unordered_set and of every set
// algebra operation (hamt/algorithm.h) against the same computation on
// std::unordered_map.
//
// Set: rapidcheck generates a sequence of insert / erase (const& and &&) and
// transient batches, applies it to a hamt::Set and to an unordered_set, and
// checks them equal after each step; every version is re-checked at the end
// (persistence).
//
// Algebra: rapidcheck generates a map `a`, then `b` either unrelated to it
// or derived from it by a few set()/erase() calls (so that they share
// subtrees), and checks merge, merge_with, intersection, difference,
// includes, disjoint and filter (both ways round) against the model: the
// contents, the size, and == to the same map built by set() (results are
// canonical). Maps and Sets alike.
//
// Each runs with three hash functions: absl::Hash, one where keys collide in
// eight buckets (collision nodes) and one where hashes differ only in their
// top bits (the deepest paths). Keys come from 0..200.
//
// RC_PARAMS overrides the number of cases, e.g. RC_PARAMS="max_success=5000".

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "gtest/gtest.h"
#include "hamt/algorithm.h"
#include "hamt/map.h"
#include "hamt/set.h"
#include "proptest/internal/rapidcheck_gtest.h"
#include "rapidcheck.h"

namespace {

constexpr int kKeyLimit = 200;
constexpr int kCases = 500;

struct CollidingHash {
  size_t operator()(int key) const { return static_cast<size_t>(key % 8); }
};
struct DeepPathHash {
  size_t operator()(int key) const {
    return (static_cast<size_t>(key) << (8 * sizeof(size_t) - 8)) | 0x5a5a5;
  }
};

using Entries = std::unordered_map<int, int>;
using Keys = std::unordered_set<int>;

int GenKey() { return *rc::gen::inRange(0, kKeyLimit + 1); }

struct Edit {
  bool is_set;
  int key;
  int value;
};
std::vector<Edit> GenEdits(int max_count) {
  const int count = *rc::gen::inRange(0, max_count + 1);
  std::vector<Edit> edits;
  for (int i = 0; i < count; ++i) {
    edits.push_back(
        {*rc::gen::inRange(0, 4) != 0, GenKey(), *rc::gen::inRange(-3, 4)});
  }
  return edits;
}

template <class M>
void Apply(const std::vector<Edit>& edits, M& map, Entries& model) {
  for (const Edit& edit : edits) {
    if (edit.is_set) {
      map = map.set(edit.key, edit.value);
      model[edit.key] = edit.value;
    } else {
      map = map.erase(edit.key);
      model.erase(edit.key);
    }
  }
}

template <class M>
M BuiltBySet(const Entries& model) {
  M map;
  for (const auto& [k, v] : model) map = map.set(k, v);
  return map;
}

template <class M>
void AssertIs(const M& map, const Entries& model) {
  RC_ASSERT(map.size() == model.size());
  Entries contents;
  for (const auto& [k, v] : map) RC_ASSERT(contents.emplace(k, v).second);
  RC_ASSERT(contents == model);
  RC_ASSERT(map == BuiltBySet<M>(model));
}

template <class S>
void AssertIs(const S& set, const Keys& model, int) {
  RC_ASSERT(set.size() == model.size());
  Keys contents;
  for (int k : set) RC_ASSERT(contents.insert(k).second);
  RC_ASSERT(contents == model);
  RC_ASSERT(set == S(model.begin(), model.end()));
  for (int k = 0; k <= kKeyLimit; ++k) {
    RC_ASSERT(set.contains(k) == (model.count(k) == 1));
  }
}

Keys KeysOf(const Entries& entries) {
  Keys keys;
  for (const auto& entry : entries) keys.insert(entry.first);
  return keys;
}

template <class Hash>
void CheckAlgebraAgainstModel() {
  using M = hamt::Map<int, int, Hash>;
  using S = hamt::Set<int, Hash>;
  proptest_internal::CheckProperty(
      [] {
        M a;
        Entries model_a;
        Apply(GenEdits(150), a, model_a);
        M b;
        Entries model_b;
        if (*rc::gen::arbitrary<bool>()) {  // derived: shares subtrees
          b = a;
          model_b = model_a;
        }
        Apply(GenEdits(20), b, model_b);
        S set_a, set_b;
        for (const auto& entry : model_a) set_a = set_a.insert(entry.first);
        for (const auto& entry : model_b) set_b = set_b.insert(entry.first);
        for (int swap = 0; swap < 2; ++swap) {
          const M& x = swap ? b : a;
          const M& y = swap ? a : b;
          const Entries& mx = swap ? model_b : model_a;
          const Entries& my = swap ? model_a : model_b;
          Entries merged = mx, summed = mx, common, only_x, kept;
          for (const auto& [k, v] : my) {
            merged[k] = v;
            summed[k] = mx.count(k) ? 10 * mx.at(k) + v : v;
          }
          for (const auto& [k, v] : mx) {
            (my.count(k) ? common : only_x)[k] = v;
            if ((k + v) % 3 != 0) kept[k] = v;
          }
          AssertIs(hamt::merge(x, y), merged);
          AssertIs(hamt::merge_with(
                       x, y, [](int, int p, int q) { return 10 * p + q; }),
                   summed);
          AssertIs(hamt::intersection(x, y), common);
          AssertIs(hamt::difference(x, y), only_x);
          AssertIs(hamt::filter(x, [](int k, int v) { return (k + v) % 3; }),
                   kept);
          RC_ASSERT(hamt::includes(x, y) == (common.size() == my.size()));
          RC_ASSERT(hamt::disjoint(x, y) == common.empty());

          const S& sx = swap ? set_b : set_a;
          const S& sy = swap ? set_a : set_b;
          Keys odd;
          for (int k : KeysOf(mx)) {
            if (k % 2) odd.insert(k);
          }
          AssertIs(hamt::merge(sx, sy), KeysOf(merged), 0);
          AssertIs(hamt::intersection(sx, sy), KeysOf(common), 0);
          AssertIs(hamt::difference(sx, sy), KeysOf(only_x), 0);
          AssertIs(hamt::filter(sx, [](int k) { return k % 2 != 0; }), odd, 0);
          RC_ASSERT(hamt::includes(sx, sy) == (common.size() == my.size()));
          RC_ASSERT(hamt::disjoint(sx, sy) == common.empty());
        }
        // The inputs are unchanged.
        AssertIs(a, model_a);
        AssertIs(b, model_b);
      },
      kCases);
}

template <class Hash>
void CheckSetAgainstModel() {
  using S = hamt::Set<int, Hash>;
  proptest_internal::CheckProperty(
      [] {
        S set;
        Keys model;
        std::vector<std::pair<S, Keys>> versions;
        const int steps = *rc::gen::inRange(1, 40);
        for (int step = 0; step < steps; ++step) {
          const int kind = *rc::gen::inRange(0, 5);
          if (*rc::gen::arbitrary<bool>()) versions.emplace_back(set, model);
          if (kind <= 1) {  // insert, const& or &&
            const int key = GenKey();
            set = kind == 0 ? set.insert(key) : std::move(set).insert(key);
            model.insert(key);
          } else if (kind <= 3) {  // erase
            const int key = GenKey();
            set = kind == 2 ? set.erase(key) : std::move(set).erase(key);
            model.erase(key);
          } else {  // a transient batch
            auto transient = set.transient();
            for (const Edit& edit : GenEdits(30)) {
              if (edit.is_set) {
                RC_ASSERT(transient.insert(edit.key) ==
                          model.insert(edit.key).second);
              } else {
                RC_ASSERT(transient.erase(edit.key) ==
                          (model.erase(edit.key) == 1));
              }
              RC_ASSERT(transient.size() == model.size());
            }
            set = std::move(transient).persistent();
          }
          AssertIs(set, model, 0);
        }
        for (const auto& [old_set, old_model] : versions) {
          AssertIs(old_set, old_model, 0);
        }
        // diff against every kept version.
        for (const auto& [old_set, old_model] : versions) {
          Keys added, removed;
          hamt::diff(
              old_set, set, [&](int k) { RC_ASSERT(added.insert(k).second); },
              [&](int k) { RC_ASSERT(removed.insert(k).second); });
          for (int k : model) RC_ASSERT(added.count(k) == !old_model.count(k));
          for (int k : old_model)
            RC_ASSERT(removed.count(k) == !model.count(k));
        }
      },
      kCases);
}

TEST(HamtSetModelTest, DefaultHash) { CheckSetAgainstModel<absl::Hash<int>>(); }
TEST(HamtSetModelTest, CollidingHash) { CheckSetAgainstModel<CollidingHash>(); }
TEST(HamtSetModelTest, DeepPathHash) { CheckSetAgainstModel<DeepPathHash>(); }

TEST(HamtAlgebraModelTest, DefaultHash) {
  CheckAlgebraAgainstModel<absl::Hash<int>>();
}
TEST(HamtAlgebraModelTest, CollidingHash) {
  CheckAlgebraAgainstModel<CollidingHash>();
}
TEST(HamtAlgebraModelTest, DeepPathHash) {
  CheckAlgebraAgainstModel<DeepPathHash>();
}

}  // namespace
