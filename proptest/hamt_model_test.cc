// Stateful model test of hamt::Map against std::unordered_map.
//
// rapidcheck generates random command sequences (set, erase, find, update,
// iterate, equality, diff, transient batches), runs each on a hamt::Map and
// on an std::unordered_map model, and asserts that they agree after every
// command. Every version the sequence produced is kept with a copy of the
// model at that point and re-checked at the end: persistence means no later
// edit, in place or not, changes an old version.
//
// Each sequence runs with three hash functions: absl::Hash, one where keys
// collide in eight buckets (collision nodes) and one where hashes differ only
// in their top bits (the deepest paths of the trie). Keys come from 0..200 so
// erases and overwrites hit.
//
// 1000 sequences per hash by default; RC_PARAMS overrides, e.g.
//   RC_PARAMS="max_success=10000 max_size=200"
//   .bazel/bin/proptest/hamt_model_test

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <ostream>
#include <random>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "gtest/gtest.h"
#include "hamt/map.h"
#include "proptest/internal/rapidcheck_gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/state.h"

namespace {

constexpr int kKeyLimit = 200;  // keys are 0..kKeyLimit
constexpr int kSequences = 1000;

// Every key in one of eight buckets: whole collision nodes.
struct CollidingHash {
  size_t operator()(int key) const { return static_cast<size_t>(key % 8); }
};

// Hashes that agree in every bit but the top byte, so every pair of keys
// shares the longest possible path before the trie can tell them apart.
struct DeepPathHash {
  size_t operator()(int key) const {
    return (static_cast<size_t>(key) << (8 * sizeof(size_t) - 8)) | 0x5a5a5;
  }
};

using Entries = std::unordered_map<int, int>;

template <class Hash>
struct MapUnderTest {
  using TestMap = hamt::Map<int, int, Hash>;

  TestMap map;
  // Every earlier version kept by a command, with the model at that time.
  std::vector<std::pair<TestMap, Entries>> versions;

  void Remember(const Entries& model) { versions.emplace_back(map, model); }
};

template <class Hash>
using MapCommand = rc::state::Command<Entries, MapUnderTest<Hash>>;

int GenKey() { return *rc::gen::inRange(0, kKeyLimit + 1); }

// Half the time a key the model has, so erase and update find something.
int GenKeyIn(const Entries& model) {
  if (model.empty() || *rc::gen::arbitrary<bool>()) return GenKey();
  std::vector<int> keys;
  keys.reserve(model.size());
  for (const auto& entry : model) keys.push_back(entry.first);
  std::sort(keys.begin(), keys.end());
  return *rc::gen::elementOf(keys);
}

template <class TestMap>
Entries ContentsOf(const TestMap& map) {
  Entries contents;
  size_t visited = 0;
  for (const auto& entry : map) {
    ++visited;
    RC_ASSERT(contents.emplace(entry.first, entry.second).second);
  }
  RC_ASSERT(visited == map.size());
  return contents;
}

// The map holds exactly the model's entries, by every way of looking.
template <class TestMap>
void AssertSameAs(const TestMap& map, const Entries& model) {
  RC_ASSERT(map.size() == model.size());
  RC_ASSERT(map.empty() == model.empty());
  RC_ASSERT((map.begin() == map.end()) == model.empty());
  RC_ASSERT(ContentsOf(map) == model);
  for (const auto& [key, value] : model) {
    const int* found = map.find(key);
    RC_ASSERT(found != nullptr);
    RC_ASSERT(*found == value);
  }
}

template <class Hash>
struct Set : MapCommand<Hash> {
  int key = GenKey();
  int value = *rc::gen::arbitrary<int>();
  bool keep_old = *rc::gen::arbitrary<bool>();
  bool as_rvalue = *rc::gen::arbitrary<bool>();

  void apply(Entries& model) const override { model[key] = value; }

  void run(const Entries& model, MapUnderTest<Hash>& sut) const override {
    if (keep_old) sut.Remember(model);
    // Without a kept version, && edits the uniquely owned nodes in place.
    sut.map = as_rvalue ? std::move(sut.map).set(key, value)
                        : sut.map.set(key, value);
    const int* found = sut.map.find(key);
    RC_ASSERT(found != nullptr);
    RC_ASSERT(*found == value);
    RC_ASSERT(sut.map.size() == model.size() + (model.count(key) ? 0 : 1));
  }

  void show(std::ostream& os) const override {
    os << "set(" << key << ", " << value << ")" << (as_rvalue ? " &&" : "")
       << (keep_old ? " keeping the old version" : "");
  }
};

template <class Hash>
struct Erase : MapCommand<Hash> {
  int key;
  bool keep_old = *rc::gen::arbitrary<bool>();
  bool as_rvalue = *rc::gen::arbitrary<bool>();

  explicit Erase(const Entries& model) : key(GenKeyIn(model)) {}

  void apply(Entries& model) const override { model.erase(key); }

  void run(const Entries& model, MapUnderTest<Hash>& sut) const override {
    if (keep_old) sut.Remember(model);
    sut.map = as_rvalue ? std::move(sut.map).erase(key) : sut.map.erase(key);
    RC_ASSERT(sut.map.find(key) == nullptr);
    RC_ASSERT(sut.map.size() == model.size() - model.count(key));
  }

  void show(std::ostream& os) const override {
    os << "erase(" << key << ")" << (as_rvalue ? " &&" : "")
       << (keep_old ? " keeping the old version" : "");
  }
};

template <class Hash>
struct Update : MapCommand<Hash> {
  int key;
  int delta = *rc::gen::inRange(-1000, 1000);
  bool keep_old = *rc::gen::arbitrary<bool>();
  bool as_rvalue = *rc::gen::arbitrary<bool>();

  explicit Update(const Entries& model) : key(GenKeyIn(model)) {}

  int Updated(const int* old) const { return old ? *old + delta : delta; }

  void apply(Entries& model) const override {
    auto it = model.find(key);
    model[key] = Updated(it == model.end() ? nullptr : &it->second);
  }

  void run(const Entries& model, MapUnderTest<Hash>& sut) const override {
    if (keep_old) sut.Remember(model);
    auto it = model.find(key);
    const int* expected_old = it == model.end() ? nullptr : &it->second;
    bool called = false;
    auto add_delta = [&](const int* old) {
      RC_ASSERT((old == nullptr) == (expected_old == nullptr));
      if (old) RC_ASSERT(*old == *expected_old);
      called = true;
      return Updated(old);
    };
    sut.map = as_rvalue ? std::move(sut.map).update(key, add_delta)
                        : sut.map.update(key, add_delta);
    RC_ASSERT(called);
    RC_ASSERT(sut.map.at(key) == Updated(expected_old));
  }

  void show(std::ostream& os) const override {
    os << "update(" << key << ", +" << delta << ")" << (as_rvalue ? " &&" : "")
       << (keep_old ? " keeping the old version" : "");
  }
};

template <class Hash>
struct Find : MapCommand<Hash> {
  int key = GenKey();

  void run(const Entries& model, MapUnderTest<Hash>& sut) const override {
    auto it = model.find(key);
    const int* found = sut.map.find(key);
    if (it == model.end()) {
      RC_ASSERT(found == nullptr);
      RC_ASSERT(!sut.map.contains(key));
      RC_ASSERT(sut.map.count(key) == 0u);
      RC_ASSERT_THROWS_AS(sut.map.at(key), std::out_of_range);
    } else {
      RC_ASSERT(found != nullptr);
      RC_ASSERT(*found == it->second);
      RC_ASSERT(sut.map.contains(key));
      RC_ASSERT(sut.map.count(key) == 1u);
      RC_ASSERT(sut.map.at(key) == it->second);
    }
  }

  void show(std::ostream& os) const override { os << "find(" << key << ")"; }
};

template <class Hash>
struct Iterate : MapCommand<Hash> {
  void run(const Entries& model, MapUnderTest<Hash>& sut) const override {
    AssertSameAs(sut.map, model);
    RC_ASSERT(static_cast<size_t>(std::distance(
                  sut.map.begin(), sut.map.end())) == model.size());
  }

  void show(std::ostream& os) const override { os << "iterate"; }
};

// Maps with the same entries are equal however they were built, and a map
// that differs in one entry is not.
template <class Hash>
struct Equality : MapCommand<Hash> {
  uint32_t shuffle_seed = *rc::gen::arbitrary<uint32_t>();
  bool by_range_constructor = *rc::gen::arbitrary<bool>();
  size_t version_pick = *rc::gen::arbitrary<size_t>();

  void run(const Entries& model, MapUnderTest<Hash>& sut) const override {
    using TestMap = typename MapUnderTest<Hash>::TestMap;
    std::vector<std::pair<int, int>> entries(model.begin(), model.end());
    std::sort(entries.begin(), entries.end());
    std::shuffle(entries.begin(), entries.end(), std::mt19937(shuffle_seed));
    TestMap rebuilt;
    if (by_range_constructor) {
      rebuilt = TestMap(entries.begin(), entries.end());
    } else {
      for (const auto& [key, value] : entries) {
        rebuilt = std::move(rebuilt).set(key, value);
      }
    }
    RC_ASSERT(rebuilt == sut.map);
    RC_ASSERT(sut.map == rebuilt);
    RC_ASSERT(!(rebuilt != sut.map));
    if (!entries.empty()) {
      const auto& [key, value] = entries.front();
      RC_ASSERT(rebuilt.erase(key) != sut.map);
      RC_ASSERT(sut.map != rebuilt.set(key, value + 1));
      RC_ASSERT(sut.map.set(key, value) == sut.map);
    }
    // Against a kept version, which shares subtrees with the current map.
    if (!sut.versions.empty()) {
      const auto& [old_map, old_model] =
          sut.versions[version_pick % sut.versions.size()];
      RC_ASSERT((old_map == sut.map) == (old_model == model));
      RC_ASSERT((sut.map != old_map) == (old_model != model));
    }
  }

  void show(std::ostream& os) const override {
    os << "equality (rebuilt " << (by_range_constructor ? "by range" : "by set")
       << ", shuffle " << shuffle_seed << ", version pick " << version_pick
       << ")";
  }
};

// hamt::diff of a kept version and the current map reports exactly the
// model's differences.
template <class Hash>
struct Diff : MapCommand<Hash> {
  size_t version_pick = *rc::gen::arbitrary<size_t>();

  void run(const Entries& model, MapUnderTest<Hash>& sut) const override {
    using TestMap = typename MapUnderTest<Hash>::TestMap;
    const TestMap empty;
    const Entries no_entries;
    const TestMap* old_map = &empty;
    const Entries* old_model = &no_entries;
    if (!sut.versions.empty()) {
      const auto& version = sut.versions[version_pick % sut.versions.size()];
      old_map = &version.first;
      old_model = &version.second;
    }
    Entries added, removed;
    std::unordered_map<int, std::pair<int, int>> changed;
    hamt::diff(
        *old_map, sut.map,
        [&](const int& key, const int& value) {
          RC_ASSERT(added.emplace(key, value).second);
        },
        [&](const int& key, const int& value) {
          RC_ASSERT(removed.emplace(key, value).second);
        },
        [&](const int& key, const int& old_value, const int& new_value) {
          RC_ASSERT(changed.emplace(key, std::make_pair(old_value, new_value))
                        .second);
        });
    Entries expected_added, expected_removed;
    std::unordered_map<int, std::pair<int, int>> expected_changed;
    for (const auto& [key, value] : model) {
      auto old = old_model->find(key);
      if (old == old_model->end()) {
        expected_added.emplace(key, value);
      } else if (old->second != value) {
        expected_changed.emplace(key, std::make_pair(old->second, value));
      }
    }
    for (const auto& [key, value] : *old_model) {
      if (!model.count(key)) expected_removed.emplace(key, value);
    }
    RC_ASSERT(added == expected_added);
    RC_ASSERT(removed == expected_removed);
    RC_ASSERT(changed == expected_changed);
  }

  void show(std::ostream& os) const override {
    os << "diff against version pick " << version_pick;
  }
};

// A batch of sets and erases on a transient, checked as it goes, then made
// persistent.
template <class Hash>
struct Transient : MapCommand<Hash> {
  struct Edit {
    bool is_set;
    int key;
    int value;
  };
  std::vector<Edit> edits;
  bool keep_old = *rc::gen::arbitrary<bool>();
  bool as_rvalue = *rc::gen::arbitrary<bool>();

  explicit Transient(const Entries& model) {
    const size_t count = *rc::gen::inRange<size_t>(0, 100);
    for (size_t i = 0; i < count; ++i) {
      const bool is_set =
          *rc::gen::weightedElement<bool>({{2, true}, {1, false}});
      edits.push_back({is_set, GenKeyIn(model), *rc::gen::arbitrary<int>()});
    }
  }

  void apply(Entries& model) const override {
    for (const Edit& edit : edits) {
      if (edit.is_set) {
        model[edit.key] = edit.value;
      } else {
        model.erase(edit.key);
      }
    }
  }

  void run(const Entries& model, MapUnderTest<Hash>& sut) const override {
    if (keep_old) sut.Remember(model);
    Entries expected = model;
    auto transient =
        as_rvalue ? std::move(sut.map).transient() : sut.map.transient();
    RC_ASSERT(transient.size() == expected.size());
    for (const Edit& edit : edits) {
      if (edit.is_set) {
        transient.set(edit.key, edit.value);
        expected[edit.key] = edit.value;
      } else {
        RC_ASSERT(transient.erase(edit.key) == (expected.erase(edit.key) == 1));
      }
      RC_ASSERT(transient.size() == expected.size());
      const int* found = transient.find(edit.key);
      RC_ASSERT((found != nullptr) == (expected.count(edit.key) == 1));
      if (found) RC_ASSERT(*found == expected.at(edit.key));
    }
    sut.map = std::move(transient).persistent();
    AssertSameAs(sut.map, expected);
  }

  void show(std::ostream& os) const override {
    os << "transient" << (as_rvalue ? " &&" : "")
       << (keep_old ? " keeping the old version" : "") << ":";
    for (const Edit& edit : edits) {
      if (edit.is_set) {
        os << " set(" << edit.key << ", " << edit.value << ")";
      } else {
        os << " erase(" << edit.key << ")";
      }
    }
  }
};

// For the distribution rapidcheck prints: how big the maps grew.
const char* SizeClass(size_t size) {
  if (size == 0) return "final size 0";
  if (size < 32) return "final size 1..31";
  if (size < 100) return "final size 32..99";
  return "final size 100..201";
}

template <class Hash>
void CheckMapAgainstModel() {
  proptest_internal::CheckProperty(
      [] {
        MapUnderTest<Hash> sut;
        rc::state::check(Entries(), sut,
                         rc::state::gen::execOneOfWithArgs<
                             // Sets and transient batches twice, so maps grow
                             // past the first level of the trie.
                             Set<Hash>, Set<Hash>, Erase<Hash>, Update<Hash>,
                             Find<Hash>, Iterate<Hash>, Equality<Hash>,
                             Diff<Hash>, Transient<Hash>, Transient<Hash>>());
        // No later command, in place or not, changed a kept version.
        for (const auto& [map, model] : sut.versions) AssertSameAs(map, model);
        RC_TAG(SizeClass(sut.map.size()));
      },
      kSequences);
}

TEST(HamtModelTest, DefaultHash) { CheckMapAgainstModel<absl::Hash<int>>(); }

TEST(HamtModelTest, CollidingHash) { CheckMapAgainstModel<CollidingHash>(); }

TEST(HamtModelTest, DeepPathHash) { CheckMapAgainstModel<DeepPathHash>(); }

}  // namespace
