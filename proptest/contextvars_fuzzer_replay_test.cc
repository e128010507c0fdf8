// Replays every input of the contextvars_fuzzer seed corpus through the
// harness, so the plain test run (bazel test, ctest) keeps the fuzzer's
// findings fixed without libFuzzer. A mismatch aborts, failing the test.
//
// The corpus directory is PERSIST_CONTEXTVARS_FUZZER_CORPUS if set, else the
// one the build names (CMake), else proptest/corpus/contextvars_fuzzer under
// the current directory (Bazel runs tests at the root of the runfiles).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

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
  const std::filesystem::path dir = CorpusDirectory();
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

TEST(ContextvarsFuzzerReplayTest, EmptyAndTruncatedInputsAreFine) {
  // set, run (set, yield-less fiber resume, end), ==, reset, truncated.
  const uint8_t program[] = {0,  2, 3, 9, 0x41, 4, 1, 0, 1, 1, 5,
                             13, 0, 2, 1, 7,    0, 1, 1, 3, 2};
  for (size_t size = 0; size <= sizeof(program); ++size) {
    LLVMFuzzerTestOneInput(program, size);
  }
}

}  // namespace
