#include "hamt/internal/word_diff.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace hamt {
namespace internal {
namespace {

uint64_t NaiveDifferentWords(const std::vector<uint64_t>& a,
                             const std::vector<uint64_t>& b, int offset,
                             int count) {
  uint64_t mask = 0;
  for (int i = 0; i < count; ++i) {
    if (a[offset + i] != b[offset + i]) mask |= uint64_t{1} << i;
  }
  return mask;
}

// Every count, every offset into the arrays (so no alignment is assumed),
// with no, one, two and random differing words; the arrays are exactly as
// long as the words compared (ASan would see a read past them).
template <class Different>
void CheckAgainstNaive(Different different) {
  std::mt19937_64 rng(14);
  for (int count = 0; count <= kMaxDiffWords; ++count) {
    for (int offset = 0; offset < 3; ++offset) {
      std::vector<uint64_t> a(offset + count);
      for (auto& word : a) word = rng();
      std::vector<uint64_t> b = a;
      const uint64_t* pa = a.data() + offset;
      EXPECT_EQ(different(pa, b.data() + offset, count), 0u) << count;
      for (int i = 0; i < count; ++i) {
        for (int j = i; j < count; ++j) {
          b = a;
          b[offset + i] ^= uint64_t{1} << (rng() % 64);
          if (j != i) b[offset + j] ^= uint64_t{1} << 63;
          ASSERT_EQ(different(pa, b.data() + offset, count),
                    NaiveDifferentWords(a, b, offset, count))
              << "count " << count << " words " << i << ", " << j;
        }
      }
      for (int trial = 0; trial < 20; ++trial) {
        b = a;
        for (int i = 0; i < count; ++i) {
          if (rng() % 3 == 0) b[offset + i] = rng();
        }
        ASSERT_EQ(different(pa, b.data() + offset, count),
                  NaiveDifferentWords(a, b, offset, count))
            << count;
      }
    }
  }
}

TEST(WordDiffTest, DifferentWordsMatchesNaive) {
  CheckAgainstNaive([](const void* a, const void* b, int count) {
    return DifferentWords(a, b, count);
  });
}

TEST(WordDiffTest, ScalarMatchesNaive) {
  CheckAgainstNaive([](const void* a, const void* b, int count) {
    return DifferentWordsScalar(a, b, count);
  });
}

#if defined(PERSIST_HAMT_INTERNAL_RUNTIME_AVX2) || \
    defined(PERSIST_HAMT_INTERNAL_COMPILED_AVX2)
TEST(WordDiffTest, Avx2MatchesNaive) {
  if (!DifferentWordsUsesAvx2(8)) GTEST_SKIP() << "no AVX2 on this CPU";
  CheckAgainstNaive([](const void* a, const void* b, int count) {
    if (count < 8) return DifferentWordsScalar(a, b, count);
    return DifferentWordsAvx2(a, b, count);
  });
}
#endif

TEST(WordDiffTest, DifferenceInAnyBitOfAWordCounts) {
  for (int bit = 0; bit < 64; ++bit) {
    for (int word = 0; word < 32; ++word) {
      uint64_t a[32] = {};
      uint64_t b[32] = {};
      b[word] = uint64_t{1} << bit;
      ASSERT_EQ(DifferentWords(a, b, 32), uint64_t{1} << word)
          << "bit " << bit << " word " << word;
    }
  }
}

TEST(WordDiffTest, BitIndices) {
  EXPECT_EQ(LowestBitIndex(1), 0);
  EXPECT_EQ(HighestBitIndex(1), 0);
  EXPECT_EQ(LowestBitIndex(uint64_t{1} << 63), 63);
  EXPECT_EQ(HighestBitIndex(uint64_t{1} << 63), 63);
  EXPECT_EQ(LowestBitIndex(0x8000'0000'0001'0100u), 8);
  EXPECT_EQ(HighestBitIndex(0x0000'0000'0001'0100u), 16);
}

}  // namespace
}  // namespace internal
}  // namespace hamt
