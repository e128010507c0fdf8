// Replays every input of the contextvars_fuzzer seed corpus through the
// harness, so the plain test run (bazel test, ctest) keeps the fuzzer's
// findings fixed without libFuzzer. A mismatch aborts, failing the test.
//
// The corpus directory is PERSIST_CONTEXTVARS_FUZZER_CORPUS if set, else the
// one the build names (CMake), else proptest/corpus/contextvars_fuzzer under
// the current directory (Bazel runs tests at the root of the runfiles).

#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"
#include "proptest/internal/corpus_replay.h"

namespace {

std::filesystem::path CorpusDirectory() {
  if (const char* dir = std::getenv("PERSIST_CONTEXTVARS_FUZZER_CORPUS")) {
    return dir;
  }
#ifdef PERSIST_CONTEXTVARS_FUZZER_CORPUS
  return PERSIST_CONTEXTVARS_FUZZER_CORPUS;
#else
  return "proptest/corpus/contextvars_fuzzer";
#endif
}

TEST(ContextvarsFuzzerReplayTest, ReplaysTheSeedCorpus) {
  proptest_internal::ReplayCorpus(CorpusDirectory());
}

TEST(ContextvarsFuzzerReplayTest, EmptyAndTruncatedInputsAreFine) {
  // set, run (set, yield-less fiber resume, end), ==, reset, truncated.
  const uint8_t program[] = {0,  2, 3, 9, 0x41, 4, 1, 0, 1, 1, 5,
                             13, 0, 2, 1, 7,    0, 1, 1, 3, 2};
  proptest_internal::ReplayPrefixes(program, sizeof(program));
}

}  // namespace
