#include "hamt/map.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace {

using hamt::internal::MapAccess;
using hamt::internal::Node;

// ---- hash functors that force structure ----

// Few distinct hashes: long collision lists after 13 levels.
struct Mod4Hash {
  size_t operator()(int64_t key) const { return static_cast<size_t>(key % 4); }
};
struct ConstantHash {
  size_t operator()(int64_t) const { return 42; }
};
// The key is its own hash, so tests choose the bits.
struct IdentityHash {
  size_t operator()(uint64_t key) const { return key; }
};

// A key whose hash is chosen independently of its identity.
struct CollidingKey {
  uint64_t hash;
  int id;
  friend bool operator==(const CollidingKey& a, const CollidingKey& b) {
    return a.hash == b.hash && a.id == b.id;
  }
};
struct CollidingKeyHash {
  size_t operator()(const CollidingKey& key) const { return key.hash; }
};

// Shape of a map: the bitmaps of every node in pre-order, with depths.
template <class K, class V>
void AppendShape(const Node* node, int depth, std::string& shape) {
  using Layout = hamt::internal::NodeLayout<K, V>;
  shape += "(" + std::to_string(depth) + ":" + std::to_string(node->datamap) +
           "/" + std::to_string(node->nodemap);
  for (int i = 0; i < Layout::child_count(node); ++i) {
    AppendShape<K, V>(Layout::child(node, i), depth + 1, shape);
  }
  shape += ")";
}
template <class M>
std::string Shape(const M& map) {
  std::string shape;
  const Node* root = MapAccess::root(map);
  if (root != nullptr) {
    AppendShape<typename M::key_type, typename M::mapped_type>(root, 0, shape);
  }
  return shape;
}

template <class K, class V>
int MaxDepth(const Node* node, int depth) {
  using Layout = hamt::internal::NodeLayout<K, V>;
  int result = depth;
  for (int i = 0; i < Layout::child_count(node); ++i) {
    result =
        std::max(result, MaxDepth<K, V>(Layout::child(node, i), depth + 1));
  }
  return result;
}

template <class M>
int MaxDepthOf(const M& map) {
  return MaxDepth<typename M::key_type, typename M::mapped_type>(
      MapAccess::root(map), 0);
}

template <class M, class Model>
void ExpectSameContents(const M& map, const Model& model) {
  ASSERT_EQ(map.size(), model.size());
  EXPECT_EQ(map.empty(), model.empty());
  size_t visited = 0;
  for (const auto& pair : map) {
    ++visited;
    auto it = model.find(pair.first);
    ASSERT_NE(it, model.end()) << pair.first;
    EXPECT_EQ(it->second, pair.second) << pair.first;
  }
  EXPECT_EQ(visited, model.size());
  EXPECT_EQ(static_cast<size_t>(std::distance(map.begin(), map.end())),
            model.size());
  for (const auto& [key, value] : model) {
    const auto* found = map.find(key);
    ASSERT_NE(found, nullptr) << key;
    EXPECT_EQ(*found, value);
    EXPECT_TRUE(map.contains(key));
    EXPECT_EQ(map.count(key), 1u);
    EXPECT_EQ(map.at(key), value);
  }
}

// ---- one randomized body, several hash configurations ----

template <class Hash, int kKeyRange, int kOperations>
struct Config {
  using HashType = Hash;
  static constexpr int key_range = kKeyRange;
  static constexpr int operations = kOperations;
};

template <class C>
class MapModelTest : public ::testing::Test {};

using Configs =
    ::testing::Types<Config<absl::Hash<int64_t>, 5000, 20000>,
                     Config<Mod4Hash, 300, 3000>, Config<ConstantHash, 60, 600>,
                     Config<absl::Hash<int64_t>, 30, 2000>>;
TYPED_TEST_SUITE(MapModelTest, Configs);

// Random set/erase/update through both const& and && forms against
// std::unordered_map; every old version is rechecked at the end.
TYPED_TEST(MapModelTest, MatchesUnorderedMapAndKeepsOldVersions) {
  using Hash = typename TypeParam::HashType;
  using M = hamt::Map<int64_t, int64_t, Hash>;
  using Model = std::unordered_map<int64_t, int64_t>;
  std::mt19937_64 rng(7);
  M map;
  Model model;
  std::vector<std::pair<M, Model>> versions;
  for (int i = 0; i < TypeParam::operations; ++i) {
    const int64_t key = static_cast<int64_t>(rng() % TypeParam::key_range);
    const int64_t value = static_cast<int64_t>(rng() % 4);
    const int op = static_cast<int>(rng() % 6);
    const bool use_rvalue = rng() % 2 == 0;
    if (op <= 2) {
      map = use_rvalue ? std::move(map).set(key, value) : map.set(key, value);
      model[key] = value;
    } else if (op <= 4) {
      map = use_rvalue ? std::move(map).erase(key) : map.erase(key);
      model.erase(key);
    } else {
      auto increment = [](const int64_t* old) { return old ? *old + 1 : 0; };
      map = use_rvalue ? std::move(map).update(key, increment)
                       : map.update(key, increment);
      auto it = model.find(key);
      model[key] = it == model.end() ? 0 : it->second + 1;
    }
    ASSERT_EQ(map.size(), model.size());
    if (i % 97 == 0) versions.emplace_back(map, model);
  }
  ExpectSameContents(map, model);
  for (const auto& [old_map, old_model] : versions) {
    ExpectSameContents(old_map, old_model);
  }
  // Erase everything, in random order, down to an empty map.
  std::vector<int64_t> keys;
  for (const auto& pair : model) keys.push_back(pair.first);
  std::shuffle(keys.begin(), keys.end(), rng);
  for (int64_t key : keys) {
    map = map.erase(key);
    model.erase(key);
    ASSERT_EQ(map.size(), model.size());
    ASSERT_FALSE(map.contains(key));
  }
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(MapAccess::root(map), nullptr);
  EXPECT_EQ(map.begin(), map.end());
}

// Updates random versions of a pool of maps, dropping random versions as it
// goes, so that copies outlive the nodes they were copied from.
TYPED_TEST(MapModelTest, RandomVersionTree) {
  using Hash = typename TypeParam::HashType;
  using M = hamt::Map<int64_t, int64_t, Hash>;
  using Model = std::unordered_map<int64_t, int64_t>;
  std::mt19937_64 rng(13);
  std::vector<std::pair<M, Model>> pool(1);
  for (int i = 0; i < TypeParam::operations; ++i) {
    const size_t from = rng() % pool.size();
    M map = pool[from].first;
    Model model = pool[from].second;
    const bool sole_owner = rng() % 3 == 0;
    if (sole_owner) {
      pool[from] = pool.back();
      pool.pop_back();
    }
    const int64_t key = static_cast<int64_t>(rng() % TypeParam::key_range);
    if (rng() % 3 == 0) {
      map = sole_owner ? std::move(map).erase(key) : map.erase(key);
      model.erase(key);
    } else {
      map = sole_owner ? std::move(map).set(key, i) : map.set(key, i);
      model[key] = i;
    }
    ASSERT_EQ(map.size(), model.size());
    pool.emplace_back(std::move(map), std::move(model));
    if (pool.size() > 12) {
      const size_t victim = rng() % pool.size();
      pool[victim] = pool.back();
      pool.pop_back();
    }
    if (i % 500 == 0) {
      for (const auto& [m, expected] : pool) ExpectSameContents(m, expected);
    }
  }
  for (const auto& [m, expected] : pool) ExpectSameContents(m, expected);
}

TYPED_TEST(MapModelTest, EqualityIsIndependentOfHistory) {
  using Hash = typename TypeParam::HashType;
  using M = hamt::Map<int64_t, int64_t, Hash>;
  std::mt19937_64 rng(11);
  std::vector<int64_t> keys;
  for (int i = 0; i < TypeParam::key_range; ++i) keys.push_back(i);
  M forward, backward, with_erasures;
  for (int64_t key : keys) forward = forward.set(key, key * 3);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    backward = std::move(backward).set(*it, *it * 3);
  }
  // Extra keys inserted, then erased: canonical form must remove all trace.
  std::shuffle(keys.begin(), keys.end(), rng);
  for (int64_t key : keys) {
    with_erasures = with_erasures.set(key + TypeParam::key_range, 1);
    with_erasures = with_erasures.set(key, key * 3);
  }
  for (int64_t key : keys) {
    with_erasures = with_erasures.erase(key + TypeParam::key_range);
  }
  EXPECT_EQ(forward, backward);
  EXPECT_EQ(forward, with_erasures);
  EXPECT_FALSE(forward != with_erasures);
  EXPECT_EQ(Shape(forward), Shape(backward));
  EXPECT_EQ(Shape(forward), Shape(with_erasures));
  EXPECT_NE(forward, forward.set(0, -1));
  EXPECT_NE(forward, forward.erase(0));
  EXPECT_NE(forward.erase(0).set(TypeParam::key_range, 0), forward);
}

// ---- construction and lookup ----

TEST(MapTest, EmptyMap) {
  hamt::Map<int, int> map;
  EXPECT_EQ(map.size(), 0u);
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.find(1), nullptr);
  EXPECT_FALSE(map.contains(1));
  EXPECT_EQ(map.count(1), 0u);
  EXPECT_EQ(map.begin(), map.end());
  EXPECT_EQ(map, (hamt::Map<int, int>()));
  EXPECT_TRUE(map.erase(1).empty());
}

TEST(MapTest, InitializerListAndRangeConstructors) {
  hamt::Map<std::string, int> map = {{"a", 1}, {"b", 2}, {"a", 3}};
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.at("a"), 3);  // later pairs win
  EXPECT_EQ(map.at("b"), 2);
  std::vector<std::pair<std::string, int>> pairs = {{"x", 1}, {"y", 2}};
  hamt::Map<std::string, int> from_range(pairs.begin(), pairs.end());
  EXPECT_EQ(from_range.size(), 2u);
  EXPECT_EQ(from_range, (hamt::Map<std::string, int>{{"y", 2}, {"x", 1}}));
}

TEST(MapTest, AtThrowsOutOfRangeNamingTheKey) {
  hamt::Map<int, int> map = {{1, 10}};
  EXPECT_EQ(map.at(1), 10);
  try {
    map.at(12345);
    FAIL() << "at() did not throw";
  } catch (const std::out_of_range& error) {
    EXPECT_NE(std::string(error.what()).find("12345"), std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("absent"), std::string::npos);
  }
  EXPECT_THROW(map.at(2), hamt::KeyNotFoundError);
}

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    return absl::Hash<std::string_view>()(s);
  }
};

TEST(MapTest, HeterogeneousLookupWithStringView) {
  hamt::Map<std::string, int, TransparentStringHash, std::equal_to<>> map;
  for (int i = 0; i < 1000; ++i) map = map.set("key" + std::to_string(i), i);
  const std::string_view view = "key123";
  ASSERT_NE(map.find(view), nullptr);
  EXPECT_EQ(*map.find(view), 123);
  EXPECT_TRUE(map.contains(view));
  EXPECT_EQ(map.count(std::string_view("nope")), 0u);
  EXPECT_EQ(map.at(view), 123);
  EXPECT_EQ(map.at("key7"), 7);
  EXPECT_THROW(map.at(std::string_view("nope")), std::out_of_range);
  auto erased = map.erase(view);
  EXPECT_EQ(erased.size(), 999u);
  EXPECT_FALSE(erased.contains(view));
  EXPECT_TRUE(map.contains(view));
}

TEST(MapTest, StringKeysAndValues) {
  hamt::Map<std::string, std::string> map;
  std::unordered_map<std::string, std::string> model;
  for (int i = 0; i < 3000; ++i) {
    std::string key = "k" + std::to_string(i % 1700);
    std::string value(static_cast<size_t>(i % 40), 'v');
    map = i % 2 ? map.set(key, value) : std::move(map).set(key, value);
    model[key] = value;
  }
  ExpectSameContents(map, model);
}

// A value without operator== (no equal-value shortcut, no ==/diff) and one
// whose move may throw (no in-place edits: rvalue forms copy the path).
struct NoEquality {
  int value;
};
struct MayThrowOnMove {
  MayThrowOnMove(int v) : value(v) {}  // NOLINT: implicit for brevity
  MayThrowOnMove(const MayThrowOnMove&) = default;
  MayThrowOnMove(MayThrowOnMove&& other) noexcept(false) : value(other.value) {}
  MayThrowOnMove& operator=(const MayThrowOnMove&) = default;
  MayThrowOnMove& operator=(MayThrowOnMove&& other) noexcept(false) {
    value = other.value;
    return *this;
  }
  int value;
};

TEST(MapTest, ValueTypesWithoutEqualityOrNothrowMove) {
  hamt::Map<int, NoEquality> plain;
  for (int i = 0; i < 500; ++i) plain = std::move(plain).set(i, {i});
  const hamt::Map<int, NoEquality> before = plain;
  plain = plain.set(7, {7});  // not comparable: always a new version
  EXPECT_NE(MapAccess::root(plain), MapAccess::root(before));
  EXPECT_EQ(plain.at(7).value, 7);
  plain = std::move(plain).erase(8);
  EXPECT_FALSE(plain.contains(8));
  EXPECT_TRUE(before.contains(8));

  static_assert(
      !hamt::internal::NodeLayout<int, MayThrowOnMove>::kCanEditInPlace);
  hamt::Map<int, MayThrowOnMove> copying;
  for (int i = 0; i < 500; ++i) copying = std::move(copying).set(i, i);
  const Node* root = MapAccess::root(copying);
  const MayThrowOnMove* slot = copying.find(3);
  copying = std::move(copying).set(3, -3);
  EXPECT_NE(MapAccess::root(copying), root);  // copied, not edited in place
  EXPECT_NE(copying.find(3), slot);
  EXPECT_EQ(copying.at(3).value, -3);
  auto transient = copying.transient();
  for (int i = 0; i < 500; i += 2) transient.erase(i);
  EXPECT_EQ(std::move(transient).persistent().size(), 250u);
  EXPECT_EQ(copying.size(), 500u);
}

// ---- structure ----

TEST(MapTest, DeepTreeDownToTheCollisionNode) {
  using M = hamt::Map<CollidingKey, int, CollidingKeyHash>;
  // Two hashes equal in all bits but the top one: the last level (4 bits).
  const uint64_t low = 0x0123456789abcdefull & ~(uint64_t{1} << 63);
  const uint64_t high = low | (uint64_t{1} << 63);
  M map;
  map = map.set({low, 0}, 0).set({high, 0}, 1);
  EXPECT_EQ(MaxDepthOf(map), 12);
  // Same full hash, different keys: a collision node at depth 13.
  map = map.set({low, 1}, 2).set({low, 2}, 3);
  EXPECT_EQ(MaxDepthOf(map), 13);
  EXPECT_EQ(map.size(), 4u);
  EXPECT_EQ(map.at({low, 0}), 0);
  EXPECT_EQ(map.at({high, 0}), 1);
  EXPECT_EQ(map.at({low, 1}), 2);
  EXPECT_EQ(map.at({low, 2}), 3);
  EXPECT_FALSE(map.contains({low, 3}));
  EXPECT_EQ(std::distance(map.begin(), map.end()), 4);
  // Collision node order depends on history, equality must not.
  M other =
      M().set({low, 2}, 3).set({high, 0}, 1).set({low, 1}, 2).set({low, 0}, 0);
  EXPECT_EQ(map, other);
  EXPECT_NE(map, other.set({low, 1}, 5));
  // Erasing collapses the chain back: canonical form.
  M collapsed = map.erase({low, 1}).erase({low, 2}).erase({high, 0});
  EXPECT_EQ(collapsed.size(), 1u);
  EXPECT_EQ(MaxDepthOf(collapsed), 0);
  EXPECT_EQ(Shape(collapsed), Shape(M().set({low, 0}, 0)));
  M only_collisions = map.erase({high, 0}).erase({low, 0});
  EXPECT_EQ(Shape(only_collisions),
            Shape(M().set({low, 1}, 2).set({low, 2}, 3)));
  EXPECT_TRUE(collapsed.erase({low, 0}).empty());
}

TEST(MapTest, ConstantHashCollisionListsEraseToEmpty) {
  hamt::Map<int64_t, int64_t, ConstantHash> map;
  for (int i = 0; i < 100; ++i) map = map.set(i, i);
  EXPECT_EQ(MaxDepthOf(map), 13);
  for (int i = 0; i < 100; i += 2) map = std::move(map).erase(i);
  EXPECT_EQ(map.size(), 50u);
  for (int i = 1; i < 100; i += 2) map = map.erase(i);
  EXPECT_TRUE(map.empty());
}

TEST(MapTest, IdentityHashSharedPrefixes) {
  // Keys sharing long hash prefixes build long single-child chains.
  hamt::Map<uint64_t, int, IdentityHash> map;
  std::unordered_map<uint64_t, int> model;
  for (int shift = 0; shift < 64; ++shift) {
    const uint64_t key = uint64_t{1} << shift;
    map = map.set(key, shift);
    model[key] = shift;
  }
  map = map.set(0, -1);
  model[0] = -1;
  ExpectSameContents(map, model);
  for (int shift = 0; shift < 64; shift += 3) {
    map = map.erase(uint64_t{1} << shift);
    model.erase(uint64_t{1} << shift);
  }
  ExpectSameContents(map, model);
}

// ---- sharing and in-place edits ----

TEST(MapTest, SettingAnEqualValueOrErasingAMissingKeySharesTheRoot) {
  hamt::Map<int, int> map;
  for (int i = 0; i < 1000; ++i) map = map.set(i, i);
  const Node* root = MapAccess::root(map);
  EXPECT_EQ(MapAccess::root(map.set(500, 500)), root);
  EXPECT_EQ(MapAccess::root(map.erase(5000)), root);
  EXPECT_NE(MapAccess::root(map.set(500, 501)), root);
  hamt::Map<int, int> copy = map;
  EXPECT_EQ(MapAccess::root(copy), root);
  EXPECT_EQ(MapAccess::root(std::move(copy).set(1, 1)), root);
}

TEST(MapTest, RvalueUpdatesEditInPlaceOnlyWhenUnique) {
  hamt::Map<int, int> map;
  for (int i = 0; i < 1000; ++i) map = std::move(map).set(i, i);
  const Node* root = MapAccess::root(map);
  const int* slot = map.find(700);
  // Unique: the same root and the same pair slot are reused.
  map = std::move(map).set(700, -700);
  EXPECT_EQ(MapAccess::root(map), root);
  EXPECT_EQ(map.find(700), slot);
  EXPECT_EQ(*slot, -700);
  map = std::move(map).update(700, [](const int* old) { return *old * 2; });
  EXPECT_EQ(map.find(700), slot);
  EXPECT_EQ(map.at(700), -1400);
  // Shared: the other owner keeps its version, nothing is edited in place.
  hamt::Map<int, int> snapshot = map;
  hamt::Map<int, int> edited = std::move(map).set(700, 1);
  EXPECT_NE(MapAccess::root(edited), root);
  EXPECT_EQ(MapAccess::root(snapshot), root);
  EXPECT_EQ(snapshot.at(700), -1400);
  EXPECT_EQ(*slot, -1400);
  EXPECT_EQ(edited.at(700), 1);
  // The edited copy is unique again: further edits reuse its nodes.
  const Node* edited_root = MapAccess::root(edited);
  const int* edited_slot = edited.find(700);
  edited = std::move(edited).set(700, 2);
  EXPECT_EQ(MapAccess::root(edited), edited_root);
  EXPECT_EQ(edited.find(700), edited_slot);
  // Erase in place keeps the root node.
  edited = std::move(edited).erase(3);
  EXPECT_EQ(MapAccess::root(edited), edited_root);
  EXPECT_FALSE(edited.contains(3));
  EXPECT_TRUE(snapshot.contains(3));
}

// Persistent copies borrow the children of their original instead of
// taking a reference on each (see hamt/internal/node.h).
TEST(MapTest, BorrowedCopiesOutliveTheirSourceAndMaterialize) {
  using M = hamt::Map<int64_t, int64_t>;
  using Layout = hamt::internal::NodeLayout<int64_t, int64_t>;
  std::unordered_map<int64_t, int64_t> model;
  auto base = std::make_unique<M>();
  for (int64_t i = 0; i < 5000; ++i) {
    *base = std::move(*base).set(i, i);
    model[i] = i;
  }
  M first = base->set(17, -17);
  model[17] = -17;
  const Node* root = MapAccess::root(first);
  ASSERT_TRUE(hamt::internal::IsBorrowed(root));
  int differing = 0;
  for (int i = 0; i < Layout::child_count(root); ++i) {
    differing +=
        Layout::child(root, i) != Layout::child(MapAccess::root(*base), i);
  }
  EXPECT_EQ(differing, 1);
  // Same child again: borrows from the same source; another child: a full
  // copy (sources are never borrowed).
  M second = first.set(17, -18);
  M third = first.set(4000, 0);
  base.reset();  // the borrowers keep the source alive
  ExpectSameContents(first, model);
  model[17] = -18;
  ExpectSameContents(second, model);
  model[17] = -17;
  model[4000] = 0;
  ExpectSameContents(third, model);
  // In-place edits materialize a borrowed root first.
  M edited = std::move(second).set(1, 100);
  EXPECT_FALSE(hamt::internal::IsBorrowed(MapAccess::root(edited)));
  edited = std::move(edited).erase(2).set(17, 0);
  model = {};
  for (const auto& pair : edited) model.insert(pair);
  EXPECT_EQ(model.size(), 4999u);
  EXPECT_EQ(model.at(1), 100);
  EXPECT_EQ(model.at(17), 0);
  EXPECT_EQ(model.count(2), 0u);
  EXPECT_EQ(first.at(1), 1);
}

// Every node comes from the map's NodeAllocator and goes back to it.
struct CountingAllocator {
  static inline int64_t live_bytes = 0;
  static inline int64_t allocations = 0;
  static void* allocate(size_t bytes, size_t alignment) {
    live_bytes += static_cast<int64_t>(bytes);
    ++allocations;
    return hamt::NewDeleteAllocator::allocate(bytes, alignment);
  }
  static void deallocate(void* memory, size_t bytes,
                         size_t alignment) noexcept {
    live_bytes -= static_cast<int64_t>(bytes);
    hamt::NewDeleteAllocator::deallocate(memory, bytes, alignment);
  }
};
TEST(MapTest, NodesComeFromTheNodeAllocator) {
  using M = hamt::Map<int64_t, int64_t, absl::Hash<int64_t>,
                      std::equal_to<int64_t>, CountingAllocator>;
  {
    M map;
    // Built in place: no borrowed nodes, so node_bytes counts every node.
    for (int64_t i = 0; i < 5000; ++i) map = std::move(map).set(i, i);
    const int64_t allocations = CountingAllocator::allocations;
    M other = map.erase(17).set(-1, 1);
    EXPECT_GT(CountingAllocator::allocations, allocations);
    EXPECT_GT(CountingAllocator::live_bytes,
              static_cast<int64_t>(MapAccess::node_bytes(map)));
    other = M();
    EXPECT_EQ(CountingAllocator::live_bytes,
              static_cast<int64_t>(MapAccess::node_bytes(map)));
    hamt::TransientMap<int64_t, int64_t, absl::Hash<int64_t>,
                       std::equal_to<int64_t>, CountingAllocator>
        transient = map.transient();
    transient.set(5001, 0);
    EXPECT_EQ(*std::move(transient).persistent().find(5001), 0);
  }
  EXPECT_EQ(CountingAllocator::live_bytes, 0);
}

TEST(MapTest, CopyAndMoveSemantics) {
  hamt::Map<int, int> a = {{1, 1}, {2, 2}};
  hamt::Map<int, int> b = a;
  hamt::Map<int, int> c = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): documented
  EXPECT_EQ(a, c);
  b = a.set(3, 3);
  a = b;
  EXPECT_EQ(a.size(), 3u);
  swap(a, c);
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(c.size(), 3u);
}

TEST(MapTest, IteratorIsAForwardIterator) {
  hamt::Map<int, int> map;
  for (int i = 0; i < 100; ++i) map = map.set(i, i * i);
  auto it = map.begin();
  auto copy = it++;
  EXPECT_NE(copy, it);
  EXPECT_EQ(copy->second, copy->first * copy->first);
  int64_t sum = 0;
  for (auto i = map.cbegin(); i != map.cend(); ++i) sum += (*i).first;
  EXPECT_EQ(sum, 99 * 100 / 2);
  static_assert(
      std::is_same<std::iterator_traits<
                       hamt::Map<int, int>::const_iterator>::iterator_category,
                   std::forward_iterator_tag>::value);
}

// ---- threads ----

TEST(MapTest, SharedAcrossThreads) {
  hamt::Map<int64_t, int64_t> base;
  for (int i = 0; i < 20000; ++i) base = base.set(i, i);
  auto work = [&base](int64_t offset) {
    for (int round = 0; round < 200; ++round) {
      hamt::Map<int64_t, int64_t> copy = base;  // concurrent refcounting
      for (int64_t i = 0; i < 50; ++i) {
        copy = std::move(copy).set((round * 50 + i) % 20000, offset);
      }
      ASSERT_EQ(copy.size(), 20000u);
      ASSERT_EQ(copy.at((round * 50) % 20000), offset);
    }
  };
  std::thread first(work, 1000000);
  std::thread second(work, 2000000);
  first.join();
  second.join();
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(base.at(i), i);
  // A map built on one thread and destroyed on another (cross-thread frees).
  hamt::Map<int64_t, int64_t> built;
  std::thread builder([&built] {
    for (int i = 0; i < 50000; ++i) built = built.set(i, i);
  });
  builder.join();
  std::thread destroyer([moved = std::move(built)]() mutable {
    EXPECT_EQ(moved.size(), 50000u);
    moved = hamt::Map<int64_t, int64_t>();
  });
  destroyer.join();
}

}  // namespace
