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

// DifferentHalves<kWords>: bit pair k is word k's, and no other bit is set.
template <int kWords>
void CheckHalves() {
  std::mt19937_64 rng(kWords);
  for (int offset = 0; offset < 3; ++offset) {
    std::vector<uint64_t> a(offset + kWords);
    for (auto& word : a) word = rng();
    std::vector<uint64_t> b = a;
    const uint64_t* pa = a.data() + offset;
    const uint64_t* pb = b.data() + offset;
    EXPECT_EQ(DifferentHalves<kWords>(pa, pb), 0u);
    // One word differing in one bit: bit 0, 31 (its lower half), 32, 63
    // (the upper half only, as pointers that differ only in high bits).
    for (int k = 0; k < kWords; ++k) {
      for (int bit : {0, 31, 32, 63}) {
        b = a;
        b[offset + k] ^= uint64_t{1} << bit;
        const uint32_t mask = DifferentHalves<kWords>(pa, pb);
        EXPECT_NE(mask >> (2 * k) & 3, 0u) << "word " << k << " bit " << bit;
        EXPECT_EQ(mask & ~(uint32_t{3} << (2 * k)), 0u)
            << "word " << k << " bit " << bit;
      }
    }
    for (int trial = 0; trial < 200; ++trial) {
      b = a;
      for (int k = 0; k < kWords; ++k) {
        if (rng() % 3 == 0) b[offset + k] ^= uint64_t{1} << (rng() % 64);
      }
      const uint32_t mask = DifferentHalves<kWords>(pa, pb);
      for (int k = 0; k < kWords; ++k) {
        EXPECT_EQ((mask >> (2 * k) & 3) != 0, a[offset + k] != b[offset + k])
            << "word " << k;
      }
      EXPECT_EQ(mask >> (2 * kWords), 0u);
    }
  }
}

TEST(WordDiffTest, DifferentHalvesOfFour) { CheckHalves<4>(); }
TEST(WordDiffTest, DifferentHalvesOfEight) { CheckHalves<8>(); }

// Word j of the arrays ForEachDifferentWord<kOrder> scans: up from the
// first word, or down from the last (as a node's children are stored).
int IndexOf(WordOrder order, int offset, int count, int j) {
  return order == WordOrder::kUp ? offset + j : offset + count - 1 - j;
}

// The words ForEachDifferentWord visits in arrays of `count` words (after
// `offset` others), stopping after `stop_after` visits; *result is what it
// returned.
template <WordOrder kOrder>
std::vector<int> Visited(const std::vector<uint64_t>& a,
                         const std::vector<uint64_t>& b, int offset, int count,
                         size_t stop_after, bool* result) {
  std::vector<int> visited;
  // (A count of 0 reads nothing.)
  const int start = count == 0 ? offset : IndexOf(kOrder, offset, count, 0);
  *result = ForEachDifferentWord<kOrder>(a.data() + start, b.data() + start,
                                         count, [&](int j) {
                                           visited.push_back(j);
                                           return visited.size() < stop_after;
                                         });
  return visited;
}

// Every count from 0 to 40 (blocks of 8, the overlapping last block, the
// blocks of 4 and single words), at three alignments, both orders; arrays
// exactly as long as the words read (ASan sees a read past them).
template <WordOrder kOrder>
void CheckForEachDifferentWord() {
  std::mt19937_64 rng(32);
  const size_t kAll = ~size_t{0};
  for (int count = 0; count <= 40; ++count) {
    auto at = [&](int offset, int j) {
      return IndexOf(kOrder, offset, count, j);
    };
    for (int offset = 0; offset < 3; ++offset) {
      std::vector<uint64_t> a(offset + count);
      for (auto& word : a) word = rng();
      std::vector<uint64_t> b = a;
      bool result = false;
      EXPECT_TRUE(Visited<kOrder>(a, b, offset, count, kAll, &result).empty());
      EXPECT_TRUE(result);
      for (int i = 0; i < count; ++i) {
        // One difference, in the lowest, a middle and the highest bit
        // (pointers differing only in high bits).
        for (int bit : {0, 40, 63}) {
          b = a;
          b[at(offset, i)] ^= uint64_t{1} << bit;
          ASSERT_EQ(Visited<kOrder>(a, b, offset, count, kAll, &result),
                    std::vector<int>{i})
              << "count " << count << " word " << i << " bit " << bit;
          EXPECT_TRUE(result);
          ASSERT_EQ(Visited<kOrder>(a, b, offset, count, 1, &result),
                    std::vector<int>{i});
          EXPECT_FALSE(result) << "count " << count << " word " << i;
        }
        // Two differences: both visited, in order; stopping after the
        // first visits the first only.
        for (int j = i + 1; j < count; ++j) {
          b = a;
          b[at(offset, i)] ^= uint64_t{1} << 63;
          b[at(offset, j)] ^= uint64_t{1} << (rng() % 64);
          ASSERT_EQ(Visited<kOrder>(a, b, offset, count, kAll, &result),
                    (std::vector<int>{i, j}))
              << "count " << count << " words " << i << ", " << j;
          EXPECT_TRUE(result);
          ASSERT_EQ(Visited<kOrder>(a, b, offset, count, 1, &result),
                    std::vector<int>{i});
          EXPECT_FALSE(result);
        }
      }
      for (int trial = 0; trial < 20; ++trial) {
        b = a;
        std::vector<int> expected;
        for (int j = 0; j < count; ++j) {
          if (rng() % 3 == 0) {
            b[at(offset, j)] ^= uint64_t{1} << (rng() % 64);
            expected.push_back(j);
          }
        }
        ASSERT_EQ(Visited<kOrder>(a, b, offset, count, kAll, &result), expected)
            << "count " << count;
        EXPECT_TRUE(result);
        if (expected.size() >= 2) {
          ASSERT_EQ(Visited<kOrder>(a, b, offset, count, 2, &result),
                    (std::vector<int>{expected[0], expected[1]}));
          EXPECT_FALSE(result);
        }
      }
    }
  }
}

TEST(WordDiffTest, ForEachDifferentWordUp) {
  CheckForEachDifferentWord<WordOrder::kUp>();
}
TEST(WordDiffTest, ForEachDifferentWordDown) {
  CheckForEachDifferentWord<WordOrder::kDown>();
}

// The pairs ForEachDifferentWordPair visits in arrays of `count` pairs of
// words (after `offset` words).
std::vector<int> VisitedPairs(const std::vector<uint64_t>& a,
                              const std::vector<uint64_t>& b, int offset,
                              int count) {
  std::vector<int> visited;
  ForEachDifferentWordPair(a.data() + offset, b.data() + offset, count,
                           [&](int i) { visited.push_back(i); });
  return visited;
}

// Every count from 0 to 20 (steps of four pairs and the pairs after them),
// at three alignments, with each word of each pair differing, two pairs,
// and random ones; arrays exactly as long as the pairs read.
TEST(WordDiffTest, ForEachDifferentWordPair) {
  std::mt19937_64 rng(16);
  for (int count = 0; count <= 20; ++count) {
    for (int offset = 0; offset < 3; ++offset) {
      std::vector<uint64_t> a(offset + 2 * count);
      for (auto& word : a) word = rng();
      std::vector<uint64_t> b = a;
      EXPECT_TRUE(VisitedPairs(a, b, offset, count).empty());
      for (int i = 0; i < count; ++i) {
        for (int word : {0, 1}) {
          for (int bit : {0, 31, 32, 63}) {
            b = a;
            b[offset + 2 * i + word] ^= uint64_t{1} << bit;
            ASSERT_EQ(VisitedPairs(a, b, offset, count), std::vector<int>{i})
                << "count " << count << " pair " << i << " word " << word;
          }
        }
        for (int j = i + 1; j < count; ++j) {
          b = a;
          b[offset + 2 * i + 1] ^= uint64_t{1} << 63;
          b[offset + 2 * j + rng() % 2] ^= uint64_t{1} << (rng() % 64);
          ASSERT_EQ(VisitedPairs(a, b, offset, count), (std::vector<int>{i, j}))
              << "count " << count << " pairs " << i << ", " << j;
        }
      }
      for (int trial = 0; trial < 20; ++trial) {
        b = a;
        std::vector<int> expected;
        for (int i = 0; i < count; ++i) {
          if (rng() % 3 == 0) {
            b[offset + 2 * i + rng() % 2] ^= uint64_t{1} << (rng() % 64);
            expected.push_back(i);
          }
        }
        ASSERT_EQ(VisitedPairs(a, b, offset, count), expected)
            << "count " << count;
      }
    }
  }
}

}  // namespace
}  // namespace internal
}  // namespace hamt
