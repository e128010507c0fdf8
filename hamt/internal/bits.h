// Hash fragments and bitmap ranks: the arithmetic every trie path shares.
//
// Level `depth` of the trie uses hash bits [5 * depth, 5 * depth + 5):
// levels 0..12 use all 64 bits (the last level only 4), and a node at depth
// 13 is a collision node. A node's 32-bit bitmaps say which of the 32 slots
// hold a pair (datamap) or a child (nodemap); an entry's index among the
// node's pairs or children is the rank of its bit, a popcount.
//
// Ranks are on every lookup's critical path. Without -march flags,
// __builtin_popcount is a libgcc call (GCC) or a ~12-instruction bit trick;
// instead the popcnt instruction is used through inline asm when the CPU has
// it (checked once at startup), and otherwise four loads from a 256-byte
// table.
//
// PERSIST_HAMT_PORTABLE_LOOKUP (defined by the //hamt:map_portable_test
// target, never by users) compiles the code every CPU but x86-64 runs -- the
// table popcount and no inline asm -- on x86-64 too, so that it is tested
// where the tests run.

#ifndef PERSIST_HAMT_INTERNAL_BITS_H_
#define PERSIST_HAMT_INTERNAL_BITS_H_

#include <cstdint>

#include "base/optimization.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(PERSIST_HAMT_PORTABLE_LOOKUP)
// x86-64 inline asm (popcnt, cmov) may be used.
#define PERSIST_HAMT_INTERNAL_X86_ASM 1
#endif

#if defined(__POPCNT__) && !defined(PERSIST_HAMT_PORTABLE_LOOKUP)
// Compiled for a CPU with popcnt (-mpopcnt, -march=...).
#define PERSIST_HAMT_INTERNAL_COMPILED_POPCNT 1
#elif defined(PERSIST_HAMT_INTERNAL_X86_ASM)
// Checked at startup.
#define PERSIST_HAMT_INTERNAL_RUNTIME_POPCNT 1
#endif

namespace hamt {
namespace internal {

inline constexpr int kBitsPerLevel = 5;
inline constexpr int kCollisionDepth = 13;
inline constexpr int kMaxDepth = kCollisionDepth;

// Bits set in each byte value.
struct ByteBitCounts {
  constexpr ByteBitCounts() : count() {
    for (int i = 1; i < 256; ++i) {
      count[i] = static_cast<uint8_t>((i & 1) + count[i / 2]);
    }
  }
  uint8_t count[256];
};
inline constexpr ByteBitCounts kByteBitCounts{};

PERSIST_BASE_ALWAYS_INLINE inline int PopCountByTable(uint32_t x) {
  return kByteBitCounts.count[x & 0xff] +
         kByteBitCounts.count[(x >> 8) & 0xff] +
         kByteBitCounts.count[(x >> 16) & 0xff] + kByteBitCounts.count[x >> 24];
}

#if defined(PERSIST_HAMT_INTERNAL_RUNTIME_POPCNT)
// Whether the CPU has the popcnt instruction (every x86-64 since ~2008, but
// not the x86-64 baseline the code is compiled for). Dynamically
// initialized: code running before that sees false and uses the table,
// which is always correct.
inline const bool kCpuHasPopcnt = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("popcnt") != 0;
}();
#endif

// The popcnt instruction when kHardware (only after CpuHasPopCount() said
// so), else the table.
template <bool kHardware>
PERSIST_BASE_ALWAYS_INLINE inline int PopCountWith(uint32_t x) {
#if defined(PERSIST_HAMT_INTERNAL_COMPILED_POPCNT)
  return __builtin_popcount(x);
#elif defined(PERSIST_HAMT_INTERNAL_RUNTIME_POPCNT)
  if (kHardware) {
    uint32_t count;
    __asm__("popcntl %1, %0" : "=r"(count) : "r"(x) : "cc");
    return static_cast<int>(count);
  }
  return PopCountByTable(x);
#else
  return PopCountByTable(x);
#endif
}

// Whether PopCountWith<true> may be used.
PERSIST_BASE_ALWAYS_INLINE inline bool CpuHasPopCount() {
#if defined(PERSIST_HAMT_INTERNAL_RUNTIME_POPCNT)
  return kCpuHasPopcnt;
#else
  return true;  // PopCountWith ignores its argument
#endif
}

// Checks the CPU on each call (a well-predicted branch); lookups check once
// and then use PopCountWith.
PERSIST_BASE_ALWAYS_INLINE inline int PopCount(uint32_t x) {
  if (PERSIST_BASE_PREDICT_TRUE(CpuHasPopCount())) {
    return PopCountWith<true>(x);
  }
  return PopCountWith<false>(x);
}

// The bit of `hash`'s slot at level `depth`.
PERSIST_BASE_ALWAYS_INLINE inline uint32_t FragmentBit(uint64_t hash,
                                                       int depth) {
  return uint32_t{1} << ((hash >> (kBitsPerLevel * depth)) & 31);
}

// Index of `bit`'s entry among the entries of `bitmap`.
PERSIST_BASE_ALWAYS_INLINE inline int IndexOf(uint32_t bitmap, uint32_t bit) {
  return PopCount(bitmap & (bit - 1));
}
template <bool kHardware>
PERSIST_BASE_ALWAYS_INLINE inline int IndexWith(uint32_t bitmap, uint32_t bit) {
  return PopCountWith<kHardware>(bitmap & (bit - 1));
}

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_BITS_H_
