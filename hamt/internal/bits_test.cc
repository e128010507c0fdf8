#include "hamt/internal/bits.h"

#include <cstdint>
#include <random>

#include "gtest/gtest.h"

namespace {

using hamt::internal::CpuHasPopCount;
using hamt::internal::FragmentBit;
using hamt::internal::IndexOf;
using hamt::internal::IndexWith;
using hamt::internal::PopCount;
using hamt::internal::PopCountByTable;
using hamt::internal::PopCountWith;

// Every popcount implementation this build can run (the popcnt instruction
// when the CPU has it, the table otherwise) agrees with the compiler's.
TEST(BitsTest, PopCountImplementationsAgree) {
  std::mt19937 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const uint32_t x = static_cast<uint32_t>(rng()) >> (i % 32);
    ASSERT_EQ(PopCount(x), __builtin_popcount(x));
    ASSERT_EQ(PopCountByTable(x), __builtin_popcount(x));
    ASSERT_EQ(PopCountWith<false>(x), __builtin_popcount(x));
    if (CpuHasPopCount()) {
      ASSERT_EQ(PopCountWith<true>(x), __builtin_popcount(x));
    }
  }
  EXPECT_EQ(PopCountByTable(0), 0);
  EXPECT_EQ(PopCountByTable(0xffffffffu), 32);
}

#if defined(PERSIST_HAMT_PORTABLE_LOOKUP)
// The portable build must not use the x86 code paths.
TEST(BitsTest, PortableBuildUsesNoX86Asm) {
#if defined(PERSIST_HAMT_INTERNAL_X86_ASM) ||        \
    defined(PERSIST_HAMT_INTERNAL_RUNTIME_POPCNT) || \
    defined(PERSIST_HAMT_INTERNAL_COMPILED_POPCNT)
  FAIL() << "x86 popcount or asm enabled in the portable build";
#endif
  EXPECT_TRUE(CpuHasPopCount());  // PopCountWith<true> is the table too
}
#endif

// Level d uses hash bits [5d, 5d + 5); level 12 has only 4 bits left.
TEST(BitsTest, FragmentBitTakesFiveBitsPerLevel) {
  const uint64_t hash = 0x8421084210842108u;  // low 5 bits: 8
  EXPECT_EQ(FragmentBit(hash, 0), uint32_t{1} << 8);
  EXPECT_EQ(FragmentBit(0x3e0u, 1), uint32_t{1} << 31);
  EXPECT_EQ(FragmentBit(uint64_t{31} << 55, 11), uint32_t{1} << 31);
  EXPECT_EQ(FragmentBit(~uint64_t{0}, 12), uint32_t{1} << 15);
  EXPECT_EQ(FragmentBit(0, 7), 1u);
}

// An entry's index is the number of entries in lower slots.
TEST(BitsTest, IndexOfCountsLowerSlots) {
  const uint32_t bitmap = 0x80000015u;  // slots 0, 2, 4, 31
  EXPECT_EQ(IndexOf(bitmap, 1u << 0), 0);
  EXPECT_EQ(IndexOf(bitmap, 1u << 2), 1);
  EXPECT_EQ(IndexOf(bitmap, 1u << 3), 2);  // where slot 3 would go
  EXPECT_EQ(IndexOf(bitmap, 1u << 4), 2);
  EXPECT_EQ(IndexOf(bitmap, 1u << 31), 3);
  EXPECT_EQ(IndexWith<false>(bitmap, 1u << 31), 3);
  if (CpuHasPopCount()) {
    EXPECT_EQ(IndexWith<true>(bitmap, 1u << 31), 3);
  }
}

}  // namespace
