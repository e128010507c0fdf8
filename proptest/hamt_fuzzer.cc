// libFuzzer harness for hamt::Map: the input bytes are a program of map
// operations, run on a hamt::Map and on an std::unordered_map model; any
// disagreement aborts.
//
// Input layout: byte 0 picks the hash (absl::Hash, all keys in 8 buckets,
// all keys in 2 buckets, or hashes differing only in their top bits); every
// following byte is an opcode, followed by its operands (a missing operand
// reads as 0). Keys are 0..127, so erases and overwrites hit.
//
// Built and run by tools/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined);
// hamt_fuzzer_replay_test replays the corpus in proptest/corpus/hamt_fuzzer
// under `bazel test` and ctest.

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "hamt/map.h"
#include "proptest/internal/fuzz_check.h"

namespace {

constexpr int kKeySpace = 128;
constexpr size_t kMaxVersions = 16;

struct EightBucketHash {
  size_t operator()(int key) const { return static_cast<size_t>(key % 8); }
};

struct TwoBucketHash {
  size_t operator()(int key) const { return static_cast<size_t>(key & 1); }
};

struct DeepPathHash {
  size_t operator()(int key) const {
    return (static_cast<size_t>(key) << (8 * sizeof(size_t) - 8)) | 0x5a5a5;
  }
};

using Entries = std::unordered_map<int, int>;

// Reads the program; past the end every byte is 0.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return position_ >= size_; }
  uint8_t Next() { return position_ < size_ ? data_[position_++] : 0; }
  int Key() { return Next() % kKeySpace; }
  int Value() { return static_cast<int8_t>(Next()); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
};

template <class TestMap>
void CheckSame(const TestMap& map, const Entries& model) {
  PERSIST_PROPTEST_FUZZ_CHECK(map.size() == model.size());
  PERSIST_PROPTEST_FUZZ_CHECK(map.empty() == model.empty());
  Entries contents;
  for (const auto& entry : map) {
    PERSIST_PROPTEST_FUZZ_CHECK(
        contents.emplace(entry.first, entry.second).second);
  }
  PERSIST_PROPTEST_FUZZ_CHECK(contents == model);
}

template <class TestMap>
void CheckFind(const TestMap& map, const Entries& model, int key) {
  const int* found = map.find(key);
  auto it = model.find(key);
  if (it == model.end()) {
    PERSIST_PROPTEST_FUZZ_CHECK(found == nullptr);
    PERSIST_PROPTEST_FUZZ_CHECK(!map.contains(key));
  } else {
    PERSIST_PROPTEST_FUZZ_CHECK(found != nullptr && *found == it->second);
    PERSIST_PROPTEST_FUZZ_CHECK(map.count(key) == 1);
  }
}

template <class Hash>
void RunProgram(ByteReader& in) {
  using TestMap = hamt::Map<int, int, Hash>;
  TestMap map;
  Entries model;
  std::vector<std::pair<TestMap, Entries>> versions;

  while (!in.done()) {
    switch (in.Next() % 10) {
      case 0: {  // set, const&
        const int key = in.Key(), value = in.Value();
        map = map.set(key, value);
        model[key] = value;
        CheckFind(map, model, key);
        break;
      }
      case 1: {  // set, && (in place when not shared)
        const int key = in.Key(), value = in.Value();
        map = std::move(map).set(key, value);
        model[key] = value;
        CheckFind(map, model, key);
        break;
      }
      case 2: {  // erase, const& or &&
        const uint8_t how = in.Next();
        const int key = in.Key();
        map = (how & 1) ? std::move(map).erase(key) : map.erase(key);
        model.erase(key);
        CheckFind(map, model, key);
        PERSIST_PROPTEST_FUZZ_CHECK(map.size() == model.size());
        break;
      }
      case 3:  // find
        CheckFind(map, model, in.Key());
        break;
      case 4: {  // fill a run of keys, to grow deep tries fast
        const int first = in.Key(), count = in.Next() % 48, value = in.Value();
        for (int i = 0; i < count; ++i) {
          const int key = (first + i) % kKeySpace;
          map = std::move(map).set(key, value + i);
          model[key] = value + i;
        }
        PERSIST_PROPTEST_FUZZ_CHECK(map.size() == model.size());
        break;
      }
      case 5: {  // a transient batch, from a shared or unique map
        const uint8_t how = in.Next();
        const int count = how % 32;
        auto transient =
            (how & 0x80) ? std::move(map).transient() : map.transient();
        for (int i = 0; i < count; ++i) {
          const uint8_t edit = in.Next();
          const int key = in.Key();
          if (edit & 1) {
            const int value = in.Value();
            transient.set(key, value);
            model[key] = value;
          } else {
            PERSIST_PROPTEST_FUZZ_CHECK(transient.erase(key) ==
                                        (model.erase(key) == 1));
          }
          const int* found = transient.find(key);
          PERSIST_PROPTEST_FUZZ_CHECK((found != nullptr) ==
                                      (model.count(key) == 1));
          PERSIST_PROPTEST_FUZZ_CHECK(transient.size() == model.size());
        }
        map = std::move(transient).persistent();
        CheckSame(map, model);
        break;
      }
      case 6:  // snapshot: keep this version
        if (versions.size() == kMaxVersions) {
          versions.erase(versions.begin() + in.Next() % kMaxVersions);
        }
        versions.emplace_back(map, model);
        break;
      case 7: {  // equality with a kept version and with a rebuilt map
        if (!versions.empty()) {
          const auto& [old_map, old_model] =
              versions[in.Next() % versions.size()];
          PERSIST_PROPTEST_FUZZ_CHECK((old_map == map) == (old_model == model));
          PERSIST_PROPTEST_FUZZ_CHECK((old_map != map) == (old_model != model));
        }
        const TestMap rebuilt(model.begin(), model.end());
        PERSIST_PROPTEST_FUZZ_CHECK(rebuilt == map && !(map != rebuilt));
        break;
      }
      case 8:  // iterate
        CheckSame(map, model);
        break;
      case 9: {  // update
        const int key = in.Key(), delta = in.Value();
        auto it = model.find(key);
        const int expected = it == model.end() ? delta : it->second + delta;
        map = map.update(key, [delta](const int* old) {
          return old ? *old + delta : delta;
        });
        model[key] = expected;
        CheckFind(map, model, key);
        break;
      }
    }
  }
  CheckSame(map, model);
  for (const auto& [old_map, old_model] : versions)
    CheckSame(old_map, old_model);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader in(data, size);
  switch (in.Next() % 4) {
    case 0:
      RunProgram<absl::Hash<int>>(in);
      break;
    case 1:
      RunProgram<EightBucketHash>(in);
      break;
    case 2:
      RunProgram<TwoBucketHash>(in);
      break;
    case 3:
      RunProgram<DeepPathHash>(in);
      break;
  }
  return 0;
}
