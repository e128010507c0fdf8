// The libFuzzer harnesses' assertion: libFuzzer reports a crash, so a
// harness that finds its implementation and its model disagreeing aborts
// after naming the condition and the line (what a replay test or a fuzz run
// prints before the crash report).
//
// Example:
//   PERSIST_PROPTEST_FUZZ_CHECK(map.size() == model.size());

#ifndef PERSIST_PROPTEST_INTERNAL_FUZZ_CHECK_H_
#define PERSIST_PROPTEST_INTERNAL_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define PERSIST_PROPTEST_FUZZ_CHECK(condition)                              \
  do {                                                                      \
    if (!(condition)) {                                                     \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                   #condition);                                             \
      std::abort();                                                         \
    }                                                                       \
  } while (false)

#endif  // PERSIST_PROPTEST_INTERNAL_FUZZ_CHECK_H_
