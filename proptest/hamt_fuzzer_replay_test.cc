// Replays every input of the hamt_fuzzer seed corpus through the harness, so
// the plain test run (bazel test, ctest) keeps the fuzzer's findings fixed
// without libFuzzer. A mismatch aborts, failing the test.
//
// The corpus directory is PERSIST_HAMT_FUZZER_CORPUS if set, else the one the build
// names (CMake), else proptest/corpus/hamt_fuzzer under the current
// directory (Bazel runs tests at the root of the runfiles).

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
  if (const char* dir = std::getenv("PERSIST_HAMT_FUZZER_CORPUS")) return dir;
#ifdef PERSIST_HAMT_FUZZER_CORPUS
  return PERSIST_HAMT_FUZZER_CORPUS;
#else
  return "proptest/corpus/hamt_fuzzer";
#endif
}

TEST(HamtFuzzerReplayTest, ReplaysTheSeedCorpus) {
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

TEST(HamtFuzzerReplayTest, EmptyAndTruncatedInputsAreFine) {
  const uint8_t program[] = {1, 4, 0, 47, 9, 6, 7, 0, 5, 0x9f};
  for (size_t size = 0; size <= sizeof(program); ++size) {
    LLVMFuzzerTestOneInput(program, size);
  }
}

}  // namespace
