// Branch hints and inlining control shared by every directory of persist.
//
// The hot paths decide what is inlined themselves, so that a consumer's -O2
// (Bazel's -c opt, CMake's RelWithDebInfo) gets the code the benchmarks
// measure at -O3.
//
//   if (PERSIST_BASE_PREDICT_FALSE(node == nullptr)) return SlowPath();
//   PERSIST_BASE_ALWAYS_INLINE inline int Step(int x) { ... }
//   PERSIST_BASE_NOINLINE void SlowPath();  // kept out of the caller
//   PERSIST_BASE_NOINLINE PERSIST_BASE_CODE_ALIGNED void MeasuredLoop();

#ifndef PERSIST_BASE_OPTIMIZATION_H_
#define PERSIST_BASE_OPTIMIZATION_H_

#if defined(__GNUC__) || defined(__clang__)
#define PERSIST_BASE_PREDICT_TRUE(x) (__builtin_expect(!!(x), 1))
#define PERSIST_BASE_PREDICT_FALSE(x) (__builtin_expect(!!(x), 0))
#define PERSIST_BASE_ALWAYS_INLINE __attribute__((always_inline))
#define PERSIST_BASE_NOINLINE __attribute__((noinline))
// Starts a function's code at a 64-byte boundary. For the benchmarks'
// measured loops: a loop of a few instructions runs at half speed when it
// straddles a 64-byte line (AMD EPYC: get() 0.5 against 1.0 ns, the same
// instructions), and where a loop inlined into a benchmark function falls
// changes from build to build, -O2 to -O3 say.
#define PERSIST_BASE_CODE_ALIGNED __attribute__((aligned(64)))
#else
#define PERSIST_BASE_PREDICT_TRUE(x) (x)
#define PERSIST_BASE_PREDICT_FALSE(x) (x)
#define PERSIST_BASE_ALWAYS_INLINE
#define PERSIST_BASE_NOINLINE
#define PERSIST_BASE_CODE_ALIGNED
#endif

#endif  // PERSIST_BASE_OPTIMIZATION_H_
