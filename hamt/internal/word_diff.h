// Which 8-byte words of two arrays differ: how == and diff find the one
// child (or pair) that differs between two nodes of maps that share
// structure, without a comparison and a branch per slot.
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

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "base/optimization.h"

#if defined(__SSE2__) && !defined(PERSIST_HAMT_PORTABLE_LOOKUP)
#define PERSIST_HAMT_INTERNAL_SSE2 1
#include <emmintrin.h>
#endif

namespace hamt {
namespace internal {

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

// Calls visit(j) for j = 0, 1, ... count - 1 where word j of a and of b
// differ, until visit returns false; then returns false. Word j is at
// a + 8 * j bytes (kUp) or at a - 8 * j (kDown); the 8 * count bytes of
// those words are read, nothing outside them, with no alignment.
template <WordOrder kOrder, class Visit>
PERSIST_BASE_ALWAYS_INLINE inline bool ForEachDifferentWord(const void* a,
                                                            const void* b,
                                                            int count,
                                                            Visit&& visit) {
  constexpr bool kUp = kOrder == WordOrder::kUp;
  auto word_a = [&](int j) PERSIST_BASE_ALWAYS_INLINE {
    return static_cast<const char*>(a) + (kUp ? 8 : -8) * j;
  };
  auto word_b = [&](int j) PERSIST_BASE_ALWAYS_INLINE {
    return static_cast<const char*>(b) + (kUp ? 8 : -8) * j;
  };
  // The block of words first .. first + width - 1, as DifferentHalves
  // reads it (from its lowest address), and the bit pair of word
  // first + k in that mask.
  auto block_a = [&](int first, int width) PERSIST_BASE_ALWAYS_INLINE {
    return word_a(kUp ? first : first + width - 1);
  };
  auto block_b = [&](int first, int width) PERSIST_BASE_ALWAYS_INLINE {
    return word_b(kUp ? first : first + width - 1);
  };
  // Visits the words of the block whose bits are set in `different`.
  auto visit_block = [&](int first, uint32_t different,
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
  auto unseen = [&](int first, int seen, uint32_t all) {
    const int bits = 2 * (seen - first);
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

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_WORD_DIFF_H_
