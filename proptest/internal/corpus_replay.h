// Replays a libFuzzer seed corpus through the harness linked into the test
// (LLVMFuzzerTestOneInput), so the plain test run (bazel test, ctest) keeps
// each fuzzer's findings fixed without libFuzzer. A harness reports a
// mismatch by aborting, which fails the test.

#ifndef PERSIST_PROPTEST_INTERNAL_CORPUS_REPLAY_H_
#define PERSIST_PROPTEST_INTERNAL_CORPUS_REPLAY_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace proptest_internal {

// Runs every regular file of `dir` through the harness; expects a corpus of
// more than ten inputs (a missing corpus must not pass silently).
inline void ReplayCorpus(const std::filesystem::path& dir) {
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  size_t replayed = 0;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    if (!file.is_regular_file()) continue;
    std::ifstream in(file.path(), std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    SCOPED_TRACE(file.path().string());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size());
    ++replayed;
  }
  EXPECT_GT(replayed, 10u) << "the seed corpus in " << dir << " is missing";
}

// Runs every prefix of `program`, the empty one included.
inline void ReplayPrefixes(const uint8_t* program, size_t size) {
  for (size_t prefix = 0; prefix <= size; ++prefix) {
    LLVMFuzzerTestOneInput(program, prefix);
  }
}

}  // namespace proptest_internal

#endif  // PERSIST_PROPTEST_INTERNAL_CORPUS_REPLAY_H_
