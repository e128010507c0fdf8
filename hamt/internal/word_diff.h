// Which 8-byte words of two arrays differ: how == and diff find the one
// child (or pair) that differs between two nodes of maps that share
// structure, without a comparison and a branch per slot. DifferentWords
// gives them as a bitmask (AVX2 when the CPU has it, checked once at
// startup as bits.h does for popcnt; a scalar loop elsewhere and for short
// arrays); ForEachDifferentWord visits them, and is what diff uses for a
// node's children (and pairs of one word), ForEachDifferentWordPair for
// pairs of two words.
//
// Two nodes on the path one set() changed hold the same 32 child pointers
// but one; scanning them word by word costs ~4 instructions a word, which
// was most of comparing two 100k-entry maps. ForEachDifferentWord compares
// eight words by four SSE2 compares (baseline x86-64, inline) and skips
// them by one well-predicted branch; in a block that differs, the words
// that do are found by branches on constant bits, not by a bit index
// computed from the comparison. The index handed to the caller, and so the
// address of the next node it loads, then depends on predicted branches
// only: the next level's loads start before the comparison is done. With
// the index taken from a mask (by bsf, after an AVX2 compare of all the
// words), diffing two 100k-entry maps took 25% longer.
//
// PERSIST_HAMT_PORTABLE_LOOKUP (see bits.h) compiles the scalar code only.

#ifndef PERSIST_HAMT_INTERNAL_WORD_DIFF_H_
#define PERSIST_HAMT_INTERNAL_WORD_DIFF_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "base/optimization.h"
#include "hamt/internal/bits.h"

#if defined(__SSE2__) && !defined(PERSIST_HAMT_PORTABLE_LOOKUP)
#define PERSIST_HAMT_INTERNAL_SSE2 1
#include <emmintrin.h>
#endif

#if defined(PERSIST_HAMT_INTERNAL_X86_ASM) && !defined(__AVX2__)
// AVX2 code in functions of their own, chosen at run time.
#define PERSIST_HAMT_INTERNAL_RUNTIME_AVX2 1
#include <immintrin.h>
#elif defined(__AVX2__) && !defined(PERSIST_HAMT_PORTABLE_LOOKUP)
// Compiled for an AVX2 CPU (-mavx2, -march=...).
#define PERSIST_HAMT_INTERNAL_COMPILED_AVX2 1
#include <immintrin.h>
#endif

namespace hamt {
namespace internal {

// Arrays of at most this many words.
inline constexpr int kMaxDiffWords = 64;

// Index of the lowest and of the highest set bit of mask != 0.
PERSIST_BASE_ALWAYS_INLINE inline int LowestBitIndex(uint64_t mask) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_ctzll(mask);
#else
  int i = 0;
  while ((mask & 1) == 0) mask >>= 1, ++i;
  return i;
#endif
}
PERSIST_BASE_ALWAYS_INLINE inline int HighestBitIndex(uint64_t mask) {
#if defined(__GNUC__) || defined(__clang__)
  return 63 - __builtin_clzll(mask);
#else
  int i = 0;
  while (mask >>= 1) ++i;
  return i;
#endif
}

// Word i of an array, read without breaking aliasing rules (the arrays hold
// pointers or pairs, not uint64_t); compiles to one load.
PERSIST_BASE_ALWAYS_INLINE inline uint64_t LoadWord(const void* words, int i) {
  uint64_t word;
  std::memcpy(&word, static_cast<const char*>(words) + 8 * i, sizeof(word));
  return word;
}

// Which 4-byte halves of the words a[0 .. kWords) and b[0 .. kWords)
// differ, kWords 4 or 8: bits 2k and 2k + 1 for word k (its lower and upper
// addresses), so word k differs exactly when (mask >> 2 * k & 3) != 0.
// Inline, without a branch; reads 8 * kWords bytes of each array, with no
// alignment.
template <int kWords>
PERSIST_BASE_ALWAYS_INLINE inline uint32_t DifferentHalves(const void* a,
                                                           const void* b) {
  static_assert(kWords == 4 || kWords == 8, "4 or 8 words");
#if defined(PERSIST_HAMT_INTERNAL_SSE2)
  // pcmpeqd per 4 bytes (SSE2 has no 8-byte compare), then the 32-bit
  // lanes saturated down to bytes for one pmovmskb.
  const char* pa = static_cast<const char*>(a);
  const char* pb = static_cast<const char*>(b);
  auto equal = [&](int offset) PERSIST_BASE_ALWAYS_INLINE {
    return _mm_cmpeq_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(pa + offset)),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(pb + offset)));
  };
  const __m128i low = _mm_packs_epi32(equal(0), equal(16));
  if constexpr (kWords == 4) {
    return static_cast<uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(low, low)) &
                                 0xff) ^
           0xff;
  } else {
    const __m128i high = _mm_packs_epi32(equal(32), equal(48));
    return static_cast<uint32_t>(
               _mm_movemask_epi8(_mm_packs_epi16(low, high))) ^
           0xffff;
  }
#else
  uint32_t mask = 0;
  for (int k = 0; k < kWords; ++k) {
    uint32_t low, high, other_low, other_high;
    std::memcpy(&low, static_cast<const char*>(a) + 8 * k, 4);
    std::memcpy(&high, static_cast<const char*>(a) + 8 * k + 4, 4);
    std::memcpy(&other_low, static_cast<const char*>(b) + 8 * k, 4);
    std::memcpy(&other_high, static_cast<const char*>(b) + 8 * k + 4, 4);
    mask |= (uint32_t{low != other_low} | uint32_t{high != other_high} << 1)
            << (2 * k);
  }
  return mask;
#endif
}

// Where word j of the arrays ForEachDifferentWord scans is: 8 * j bytes up
// from the address given (a node's pairs), or down from it (its children,
// stored backwards).
enum class WordOrder { kUp, kDown };

// Calls visit(j) for j = 0, 1, ... count - 1 (a ptrdiff_t) where word j of
// a and of b differ, until visit returns false; then returns false. Word j
// is at a + 8 * j bytes (kUp) or at a - 8 * j (kDown); the 8 * count bytes
// of those words are read, nothing outside them, with no alignment.
template <WordOrder kOrder, class Visit>
PERSIST_BASE_ALWAYS_INLINE inline bool ForEachDifferentWord(const void* a,
                                                            const void* b,
                                                            int count,
                                                            Visit&& visit) {
  constexpr bool kUp = kOrder == WordOrder::kUp;
  // Addresses come from pointer-sized indexes (from int ones clang
  // sign-extended each); the loop counts in an int (a ptrdiff_t cost g++
  // instructions here and in the edits' owned-child scan).
  auto word_a = [&](ptrdiff_t j) PERSIST_BASE_ALWAYS_INLINE {
    return static_cast<const char*>(a) + (kUp ? 8 : -8) * j;
  };
  auto word_b = [&](ptrdiff_t j) PERSIST_BASE_ALWAYS_INLINE {
    return static_cast<const char*>(b) + (kUp ? 8 : -8) * j;
  };
  // The block of words first .. first + width - 1, as DifferentHalves
  // reads it (from its lowest address), and the bit pair of word
  // first + k in that mask.
  auto block_a = [&](ptrdiff_t first, int width) PERSIST_BASE_ALWAYS_INLINE {
    return word_a(kUp ? first : first + width - 1);
  };
  auto block_b = [&](ptrdiff_t first, int width) PERSIST_BASE_ALWAYS_INLINE {
    return word_b(kUp ? first : first + width - 1);
  };
  // Visits the words of the block whose bits are set in `different`.
  auto visit_block = [&](ptrdiff_t first, uint32_t different,
                         auto width) PERSIST_BASE_ALWAYS_INLINE {
    constexpr int kWidth = decltype(width)::value;
    auto at = [&](auto k) PERSIST_BASE_ALWAYS_INLINE {
      constexpr int kK = decltype(k)::value;
      if constexpr (kK >= kWidth) {
        return true;
      } else {
        constexpr uint32_t kBits = uint32_t{3}
                                   << (2 * (kUp ? kK : kWidth - 1 - kK));
        return (different & kBits) == 0 || visit(first + kK);
      }
    };
    return at(std::integral_constant<int, 0>{}) &&
           at(std::integral_constant<int, 1>{}) &&
           at(std::integral_constant<int, 2>{}) &&
           at(std::integral_constant<int, 3>{}) &&
           at(std::integral_constant<int, 4>{}) &&
           at(std::integral_constant<int, 5>{}) &&
           at(std::integral_constant<int, 6>{}) &&
           at(std::integral_constant<int, 7>{});
  };
  // The bits of the words first .. seen - 1 of a block (already visited by
  // the block before, which this one overlaps).
  auto unseen = [&](ptrdiff_t first, ptrdiff_t seen, uint32_t all) {
    const int bits = static_cast<int>(2 * (seen - first));
    return kUp ? (all << bits) & all : all >> bits;
  };
  constexpr std::integral_constant<int, 8> kEight;
  constexpr std::integral_constant<int, 4> kFour;
  int i = 0;
  for (; i + 8 <= count; i += 8) {
    const uint32_t different = DifferentHalves<8>(block_a(i, 8), block_b(i, 8));
    if (PERSIST_BASE_PREDICT_TRUE(different == 0)) continue;
    if (!visit_block(i, different, kEight)) return false;
  }
  if (i == count) return true;
  // The rest as one block of 8 overlapping the one before; below 8 words,
  // as one or two blocks of 4, the same way.
  if (count >= 8) {
    const int first = count - 8;
    const uint32_t different =
        DifferentHalves<8>(block_a(first, 8), block_b(first, 8)) &
        unseen(first, i, 0xffff);
    return different == 0 || visit_block(first, different, kEight);
  }
  if (count >= 4) {
    uint32_t different = DifferentHalves<4>(block_a(0, 4), block_b(0, 4));
    if (different != 0 && !visit_block(0, different, kFour)) return false;
    const int first = count - 4;
    different = DifferentHalves<4>(block_a(first, 4), block_b(first, 4)) &
                unseen(first, 4, 0xff);
    return different == 0 || visit_block(first, different, kFour);
  }
  for (; i < count; ++i) {
    if (LoadWord(word_a(i), 0) != LoadWord(word_b(i), 0) && !visit(i)) {
      return false;
    }
  }
  return true;
}

// Calls visit(i) for i = 0, 1, ... count - 1 where the 16-byte elements
// a[i] and b[i] (pairs of words, a node's pairs of 8-byte keys and values)
// differ; reads their 16 * count bytes, with no alignment. Four elements are
// compared per step, with one branch, and the elements of a step that
// differs are compared again one by one (visit may be a call, which every
// SSE register would have to survive). Diffing the ~12 pairs of a node of
// a 1k-entry map by ForEachDifferentWord (over twice as many words) took
// ~35% more instructions: its last block overlaps the one before unless
// the count of pairs is a multiple of four, and each differing word was
// mapped back to its pair.
template <class Visit>
PERSIST_BASE_ALWAYS_INLINE inline void ForEachDifferentWordPair(const void* a,
                                                                const void* b,
                                                                int count,
                                                                Visit&& visit) {
  const char* pa = static_cast<const char*>(a);
  const char* pb = static_cast<const char*>(b);
  // Element i is at byte 16 * i: one offset steps through both arrays.
  const size_t bytes = 16 * static_cast<size_t>(count);
#if defined(PERSIST_HAMT_INTERNAL_SSE2)
  auto equal = [&](size_t offset) PERSIST_BASE_ALWAYS_INLINE {
    return _mm_cmpeq_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(pa + offset)),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(pb + offset)));
  };
  auto differs = [&](size_t offset) PERSIST_BASE_ALWAYS_INLINE {
    return _mm_movemask_epi8(equal(offset)) != 0xffff;
  };
  size_t offset = 0;
  for (; offset + 64 <= bytes; offset += 64) {
    const __m128i all =
        _mm_and_si128(_mm_and_si128(equal(offset), equal(offset + 16)),
                      _mm_and_si128(equal(offset + 32), equal(offset + 48)));
    if (PERSIST_BASE_PREDICT_TRUE(_mm_movemask_epi8(all) == 0xffff)) continue;
    for (size_t k = offset; k < offset + 64; k += 16) {
      if (differs(k)) visit(static_cast<int>(k / 16));
    }
  }
  for (; offset < bytes; offset += 16) {
    if (differs(offset)) visit(static_cast<int>(offset / 16));
  }
#else
  for (size_t offset = 0; offset < bytes; offset += 16) {
    if (LoadWord(pa + offset, 0) != LoadWord(pb + offset, 0) ||
        LoadWord(pa + offset, 1) != LoadWord(pb + offset, 1)) {
      visit(static_cast<int>(offset / 16));
    }
  }
#endif
}

// Bit i set when word i of a and of b differ, for 0 <= count <= 64.
PERSIST_BASE_ALWAYS_INLINE inline uint64_t DifferentWordsScalar(const void* a,
                                                                const void* b,
                                                                int count) {
  uint64_t mask = 0;
  int i = 0;
  for (; i + 4 <= count; i += 4) {
    const uint64_t x0 = LoadWord(a, i) ^ LoadWord(b, i);
    const uint64_t x1 = LoadWord(a, i + 1) ^ LoadWord(b, i + 1);
    const uint64_t x2 = LoadWord(a, i + 2) ^ LoadWord(b, i + 2);
    const uint64_t x3 = LoadWord(a, i + 3) ^ LoadWord(b, i + 3);
    if (PERSIST_BASE_PREDICT_TRUE((x0 | x1 | x2 | x3) == 0)) continue;
    const uint64_t bits = uint64_t{x0 != 0} | uint64_t{x1 != 0} << 1 |
                          uint64_t{x2 != 0} << 2 | uint64_t{x3 != 0} << 3;
    mask |= bits << i;
  }
  for (; i < count; ++i) {
    mask |= uint64_t{LoadWord(a, i) != LoadWord(b, i)} << i;
  }
  return mask;
}

#if defined(PERSIST_HAMT_INTERNAL_RUNTIME_AVX2) || \
    defined(PERSIST_HAMT_INTERNAL_COMPILED_AVX2)
#if defined(PERSIST_HAMT_INTERNAL_RUNTIME_AVX2)
#define PERSIST_HAMT_INTERNAL_AVX2_FUNCTION __attribute__((target("avx2")))
#else
#define PERSIST_HAMT_INTERNAL_AVX2_FUNCTION
#endif

// Bits 0..7: which of the 8 words at a and b differ. One well-predicted
// branch when all are equal (the common case: all children but one are
// shared).
PERSIST_HAMT_INTERNAL_AVX2_FUNCTION inline uint64_t DifferentInEight(
    const char* a, const char* b) {
  const __m256i low = _mm256_cmpeq_epi64(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)));
  const __m256i high = _mm256_cmpeq_epi64(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 32)),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 32)));
  const int all =
      _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_and_si256(low, high)));
  if (PERSIST_BASE_PREDICT_TRUE(all == 15)) return 0;
  const int equal = _mm256_movemask_pd(_mm256_castsi256_pd(low)) |
                    _mm256_movemask_pd(_mm256_castsi256_pd(high)) << 4;
  return static_cast<uint64_t>(equal ^ 0xff);
}

// DifferentWordsScalar for 8 <= count <= 64. The last eight words are
// read at count - 8, overlapping the block before when count is not a
// multiple of 8 (a word's bit is then set twice, harmlessly), so that no
// byte outside the arrays is read.
PERSIST_HAMT_INTERNAL_AVX2_FUNCTION inline uint64_t DifferentWordsAvx2(
    const void* a, const void* b, int count) {
  const char* pa = static_cast<const char*>(a);
  const char* pb = static_cast<const char*>(b);
  uint64_t mask = 0;
  for (int i = 0; i + 8 < count; i += 8) {
    mask |= DifferentInEight(pa + 8 * i, pb + 8 * i) << i;
  }
  const int last = count - 8;
  return mask | DifferentInEight(pa + 8 * last, pb + 8 * last) << last;
}
#endif

#if defined(PERSIST_HAMT_INTERNAL_RUNTIME_AVX2)
// Whether the CPU has AVX2. Dynamically initialized: code running before
// that sees false and uses the scalar loop, which is always correct.
inline const bool kCpuHasAvx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();

// Out of line: the caller's code stays free of AVX state.
PERSIST_BASE_NOINLINE PERSIST_HAMT_INTERNAL_AVX2_FUNCTION inline uint64_t
DifferentWordsAvx2Call(const void* a, const void* b, int count) {
  return DifferentWordsAvx2(a, b, count);
}
#endif

// Whether DifferentWords uses AVX2 for `count` words (for tests).
inline bool DifferentWordsUsesAvx2(int count) {
#if defined(PERSIST_HAMT_INTERNAL_RUNTIME_AVX2)
  return count >= 8 && kCpuHasAvx2;
#elif defined(PERSIST_HAMT_INTERNAL_COMPILED_AVX2)
  return count >= 8;
#else
  (void)count;
  return false;
#endif
}

// Bit i set when the 8-byte words a[i] and b[i] differ, for
// 0 <= count <= kMaxDiffWords. Reads exactly the 8 * count bytes of each
// array; they need no alignment.
PERSIST_BASE_ALWAYS_INLINE inline uint64_t DifferentWords(const void* a,
                                                          const void* b,
                                                          int count) {
#if defined(PERSIST_HAMT_INTERNAL_RUNTIME_AVX2)
  // Below 8 words the call costs more than the scalar loop.
  if (count >= 8 && PERSIST_BASE_PREDICT_TRUE(kCpuHasAvx2)) {
    return DifferentWordsAvx2Call(a, b, count);
  }
#elif defined(PERSIST_HAMT_INTERNAL_COMPILED_AVX2)
  if (count >= 8) return DifferentWordsAvx2(a, b, count);
#endif
  return DifferentWordsScalar(a, b, count);
}

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_WORD_DIFF_H_
