// Replays every input of the hamt_fuzzer seed corpus through the harness, so
// the plain test run (bazel test, ctest) keeps the fuzzer's findings fixed
// without libFuzzer. A mismatch aborts, failing the test.
//
// The corpus directory is PERSIST_HAMT_FUZZER_CORPUS if set, else the one the
// build names (CMake), else proptest/corpus/hamt_fuzzer under the current
// directory (Bazel runs tests at the root of the runfiles).

#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"
#include "proptest/internal/corpus_replay.h"

namespace {

std::filesystem::path CorpusDirectory() {
  if (const char* dir = std::getenv("PERSIST_HAMT_FUZZER_CORPUS")) return dir;
#ifdef PERSIST_HAMT_FUZZER_CORPUS
  return PERSIST_HAMT_FUZZER_CORPUS;
#else
  return "proptest/corpus/hamt_fuzzer";
#endif
}

TEST(HamtFuzzerReplayTest, ReplaysTheSeedCorpus) {
  proptest_internal::ReplayCorpus(CorpusDirectory());
}

TEST(HamtFuzzerReplayTest, EmptyAndTruncatedInputsAreFine) {
  const uint8_t program[] = {1, 4, 0, 47, 9, 6, 7, 0, 5, 0x9f};
  proptest_internal::ReplayPrefixes(program, sizeof(program));
}

}  // namespace
