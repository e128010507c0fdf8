#include "fibers/fiber.h"

#include <execinfo.h>

#include <cfenv>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "contextvars/contextvars.h"
#include "fibers/internal/sanitizers.h"
#include "fibers/internal/stack.h"
#include "gtest/gtest.h"

namespace fibers {
namespace {

// ThreadSanitizer gives every started fiber a thread-sized state from a
// bounded region, so it cannot hold 10,000 suspended fibers at once.
constexpr int kManyFibers = PERSIST_FIBERS_TSAN ? 1000 : 10000;

TEST(FiberTest, RunsUntilYieldThenUntilDone) {
  std::vector<int> events;
  Fiber fiber([&] {
    events.push_back(1);
    yield();
    events.push_back(2);
  });
  EXPECT_FALSE(fiber.done());
  EXPECT_TRUE(events.empty());  // nothing runs before resume()
  fiber.resume();
  EXPECT_EQ(events, std::vector<int>({1}));
  EXPECT_FALSE(fiber.done());
  fiber.resume();
  EXPECT_EQ(events, std::vector<int>({1, 2}));
  EXPECT_TRUE(fiber.done());
}

TEST(FiberTest, PingPongsValues) {
  int to_fiber = 0;
  int from_fiber = 0;
  Fiber doubler([&] {
    for (;;) {
      from_fiber = 2 * to_fiber;
      yield();
    }
  });
  for (int i = 0; i < 1000; ++i) {
    to_fiber = i;
    doubler.resume();
    ASSERT_EQ(from_fiber, 2 * i);
  }
}

TEST(FiberTest, InFiber) {
  EXPECT_FALSE(in_fiber());
  bool inside = false;
  Fiber fiber([&] { inside = in_fiber(); });
  fiber.resume();
  EXPECT_TRUE(inside);
  EXPECT_FALSE(in_fiber());
}

// A value the optimizer cannot precompute.
std::uint64_t Opaque(std::uint64_t value) {
  asm volatile("" : "+r"(value));
  return value;
}

// Many integer and floating-point values updated every round, so most of
// them stay in registers (callee-saved ones across the pause() call).
template <class Pause>
std::uint64_t ManyLocalsWorkload(std::uint64_t seed, int rounds, Pause pause) {
  std::uint64_t a = Opaque(seed + 1), b = Opaque(seed + 2);
  std::uint64_t c = Opaque(seed + 3), d = Opaque(seed + 4);
  std::uint64_t e = Opaque(seed + 5), f = Opaque(seed + 6);
  std::uint64_t g = Opaque(seed + 7), h = Opaque(seed + 8);
  double x = static_cast<double>(Opaque(seed)), y = 0.5, z = 0.25;
  for (int round = 0; round < rounds; ++round) {
    pause();
    a += b * 3;
    b ^= c >> 1;
    c += d * 5;
    d ^= e << 2;
    e += f * 7;
    f ^= g >> 3;
    g += h * 11;
    h ^= a << 4;
    x = x * 0.5 + 1.0;
    y = y * 0.25 + x;
    z = z * 0.125 + y;
  }
  return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^
         static_cast<std::uint64_t>((x + y + z) * 1e6);
}

TEST(FiberTest, ManyLiveLocalsSurviveYields) {
  constexpr int kRounds = 100;
  std::uint64_t fiber_result = 0;
  Fiber fiber(
      [&] { fiber_result = ManyLocalsWorkload(1, kRounds, [] { yield(); }); });
  const std::uint64_t main_result =
      ManyLocalsWorkload(2, kRounds + 1, [&] { fiber.resume(); });
  EXPECT_TRUE(fiber.done());
  EXPECT_EQ(fiber_result, ManyLocalsWorkload(1, kRounds, [] {}));
  EXPECT_EQ(main_result, ManyLocalsWorkload(2, kRounds + 1, [] {}));
}

// The same through the shared-FP-env switch (on x86-64 a separate inline
// asm statement), with x87 values live across it too.
TEST(FiberTest, ManyLiveLocalsSurviveSharedFpEnvYields) {
  constexpr int kRounds = 100;
  std::uint64_t fiber_result = 0;
  long double fiber_x87 = 0;
  FiberOptions options;
  options.fp_env = FpEnv::kShared;
  Fiber fiber(
      [&] {
        long double w = static_cast<long double>(Opaque(3));
        fiber_result = ManyLocalsWorkload(1, kRounds, [&] {
          w = w * 0.5L + 1;
          yield();
        });
        fiber_x87 = w;
      },
      options);
  long double main_w = static_cast<long double>(Opaque(4));
  const std::uint64_t main_result = ManyLocalsWorkload(2, kRounds + 1, [&] {
    main_w = main_w * 0.25L + 1;
    fiber.resume();
  });
  EXPECT_TRUE(fiber.done());
  EXPECT_EQ(fiber_result, ManyLocalsWorkload(1, kRounds, [] {}));
  EXPECT_EQ(main_result, ManyLocalsWorkload(2, kRounds + 1, [] {}));
  long double expected_fiber_w = 3, expected_main_w = 4;
  for (int i = 0; i < kRounds; ++i)
    expected_fiber_w = expected_fiber_w * 0.5L + 1;
  for (int i = 0; i < kRounds + 1; ++i)
    expected_main_w = expected_main_w * 0.25L + 1;
  EXPECT_EQ(fiber_x87, expected_fiber_w);
  EXPECT_EQ(main_w, expected_main_w);
}

#if defined(__x86_64__)
TEST(FiberTest, RoundingModeBelongsToEachSide) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  const unsigned main_mxcsr_rounding = _mm_getcsr() & 0x6000u;
  int fiber_mismatches = 0;
  Fiber fiber([&] {
    std::fesetround(FE_DOWNWARD);  // both MXCSR and the x87 control word
    for (int i = 0; i < 3; ++i) {
      yield();
      if (std::fegetround() != FE_DOWNWARD) ++fiber_mismatches;
      if ((_mm_getcsr() & 0x6000u) != 0x2000u) ++fiber_mismatches;
    }
  });
  while (!fiber.done()) {
    fiber.resume();
    EXPECT_EQ(std::fegetround(), FE_TONEAREST);
    EXPECT_EQ(_mm_getcsr() & 0x6000u, main_mxcsr_rounding);
  }
  EXPECT_EQ(fiber_mismatches, 0);
}

TEST(FiberTest, NewFiberStartsWithCreatorsRoundingMode) {
  std::fesetround(FE_UPWARD);
  int fiber_rounding = -1;
  Fiber fiber([&] { fiber_rounding = std::fegetround(); });
  std::fesetround(FE_TONEAREST);
  fiber.resume();
  EXPECT_EQ(fiber_rounding, FE_UPWARD);
  EXPECT_EQ(std::fegetround(), FE_TONEAREST);
}
#endif

// Flush-to-zero: MXCSR bit 15 on x86-64, FPCR bit 24 on AArch64 (part of
// the control state FpEnv is about; <cfenv> has no portable accessor).
#if defined(__x86_64__)
bool FlushToZero() { return (_mm_getcsr() & 0x8000u) != 0; }
void SetFlushToZero(bool on) {
  _mm_setcsr(on ? (_mm_getcsr() | 0x8000u) : (_mm_getcsr() & ~0x8000u));
}
#elif defined(__aarch64__)
bool FlushToZero() {
  std::uint64_t fpcr;
  asm volatile("mrs %0, fpcr" : "=r"(fpcr));
  return (fpcr & (std::uint64_t{1} << 24)) != 0;
}
void SetFlushToZero(bool on) {
  std::uint64_t fpcr;
  asm volatile("mrs %0, fpcr" : "=r"(fpcr));
  fpcr = on ? (fpcr | (std::uint64_t{1} << 24))
            : (fpcr & ~(std::uint64_t{1} << 24));
  asm volatile("msr fpcr, %0" ::"r"(fpcr));
}
#endif

FiberOptions WithFpEnv(FpEnv fp_env) {
  FiberOptions options;
  options.fp_env = fp_env;
  return options;
}

TEST(FiberFpEnvTest, PreserveIsTheDefault) {
  EXPECT_EQ(FiberOptions().fp_env, FpEnv::kPreserve);
}

TEST(FiberFpEnvTest, PreservedRoundingModeAndFlushToZeroStayWithTheFiber) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  ASSERT_FALSE(FlushToZero());
  int fiber_mismatches = 0;
  Fiber fiber(
      [&] {
        std::fesetround(FE_UPWARD);
        SetFlushToZero(true);
        for (int i = 0; i < 3; ++i) {
          yield();
          if (std::fegetround() != FE_UPWARD) ++fiber_mismatches;
          if (!FlushToZero()) ++fiber_mismatches;
        }
      },
      WithFpEnv(FpEnv::kPreserve));
  while (!fiber.done()) {
    fiber.resume();
    EXPECT_EQ(std::fegetround(), FE_TONEAREST);
    EXPECT_FALSE(FlushToZero());
  }
  EXPECT_EQ(fiber_mismatches, 0);
}

TEST(FiberFpEnvTest, SharedFiberChangesAreSeenByTheResumer) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  ASSERT_FALSE(FlushToZero());
  Fiber fiber(
      [&] {
        std::fesetround(FE_DOWNWARD);
        SetFlushToZero(true);
        yield();
        std::fesetround(FE_TONEAREST);
        SetFlushToZero(false);
      },
      WithFpEnv(FpEnv::kShared));
  fiber.resume();
  const int rounding_after_first_resume = std::fegetround();
  const bool flush_to_zero_after_first_resume = FlushToZero();
  fiber.resume();
  EXPECT_TRUE(fiber.done());
  EXPECT_EQ(rounding_after_first_resume, FE_DOWNWARD);
  EXPECT_TRUE(flush_to_zero_after_first_resume);
  EXPECT_EQ(std::fegetround(), FE_TONEAREST);
  EXPECT_FALSE(FlushToZero());
}

TEST(FiberFpEnvTest, SharedFiberRunsWithItsResumersMode) {
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  std::vector<int> seen;
  std::vector<bool> seen_flush_to_zero;
  // Created in one mode, first resumed in another: a shared fiber does not
  // even keep its creator's mode.
  std::fesetround(FE_UPWARD);
  Fiber fiber(
      [&] {
        for (;;) {
          seen.push_back(std::fegetround());
          seen_flush_to_zero.push_back(FlushToZero());
          yield();
        }
      },
      WithFpEnv(FpEnv::kShared));
  std::fesetround(FE_TOWARDZERO);
  fiber.resume();
  std::fesetround(FE_DOWNWARD);
  SetFlushToZero(true);
  fiber.resume();
  std::fesetround(FE_TONEAREST);
  SetFlushToZero(false);
  fiber.resume();
  EXPECT_EQ(seen, std::vector<int>({FE_TOWARDZERO, FE_DOWNWARD, FE_TONEAREST}));
  EXPECT_EQ(seen_flush_to_zero, std::vector<bool>({false, true, false}));
}

TEST(FiberFpEnvTest, PreservedFiberResumedBySharedFiberKeepsItsOwnMode) {
  // A shared fiber B resumes a preserving fiber A: A's mode stays A's, and
  // B (and so main) never sees it.
  ASSERT_EQ(std::fegetround(), FE_TONEAREST);
  int inner_mismatches = 0;
  Fiber inner(
      [&] {
        std::fesetround(FE_UPWARD);
        for (;;) {
          yield();
          if (std::fegetround() != FE_UPWARD) ++inner_mismatches;
        }
      },
      WithFpEnv(FpEnv::kPreserve));
  std::vector<int> outer_seen;
  Fiber outer(
      [&] {
        for (int i = 0; i < 3; ++i) {
          inner.resume();
          outer_seen.push_back(std::fegetround());
          yield();
        }
      },
      WithFpEnv(FpEnv::kShared));
  while (!outer.done()) {
    outer.resume();
    EXPECT_EQ(std::fegetround(), FE_TONEAREST);
  }
  EXPECT_EQ(outer_seen,
            std::vector<int>({FE_TONEAREST, FE_TONEAREST, FE_TONEAREST}));
  EXPECT_EQ(inner_mismatches, 0);
}

// --- The fiber's stack ends at its entry frame for unwinders. ---

int fiber_backtrace_depth = 0;

// Resumes `fiber` from `depth` extra frames down the resumer's stack.
PERSIST_BASE_NOINLINE int ResumeFromDepth(Fiber& fiber, int depth) {
  if (depth == 0) {
    fiber.resume();
    return 0;
  }
  const int below = ResumeFromDepth(fiber, depth - 1);
  asm volatile("" ::: "memory");  // not a tail call: this frame stays
  return below + 1;
}

TEST(FiberTest, BacktraceStopsAtTheFibersEntry) {
  Fiber fiber([] {
    for (;;) {
      void* frames[256];
      fiber_backtrace_depth = backtrace(frames, 256);
      yield();
    }
  });
  // Under the fiber's frames, backtrace() must find its entry frame and
  // stop, whatever the resumer's stack holds: if it went on into the
  // resumer's stack, the depth would grow with the resumer's.
  EXPECT_EQ(ResumeFromDepth(fiber, 0), 0);
  const int depth_resumed_from_shallow = fiber_backtrace_depth;
  EXPECT_EQ(ResumeFromDepth(fiber, 100), 100);
  const int depth_resumed_from_deep = fiber_backtrace_depth;
  EXPECT_GT(depth_resumed_from_shallow, 1);
  EXPECT_LT(depth_resumed_from_shallow, 32);
  EXPECT_EQ(depth_resumed_from_deep, depth_resumed_from_shallow);
  // The resumer's own backtrace does go down its stack.
  void* frames[256];
  EXPECT_GT(backtrace(frames, 256), 2);
}

TEST(FiberTest, ExceptionPropagatesToResume) {
  Fiber fiber([] {
    yield();
    throw std::runtime_error("boom");
  });
  fiber.resume();
  EXPECT_FALSE(fiber.done());
  try {
    fiber.resume();
    FAIL() << "resume() did not rethrow";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "boom");
  }
  EXPECT_TRUE(fiber.done());
  EXPECT_THROW(fiber.resume(), std::logic_error);
}

TEST(FiberTest, YieldOutsideFiberThrowsLogicError) {
  EXPECT_THROW(yield(), std::logic_error);
}

TEST(FiberTest, ResumingFinishedFiberThrowsLogicError) {
  Fiber fiber([] {});
  fiber.resume();
  EXPECT_TRUE(fiber.done());
  EXPECT_THROW(fiber.resume(), std::logic_error);
}

TEST(FiberTest, ResumingRunningFiberThrowsLogicError) {
  Fiber* self = nullptr;
  bool threw = false;
  Fiber fiber([&] {
    try {
      self->resume();
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  self = &fiber;
  fiber.resume();
  EXPECT_TRUE(threw);
}

TEST(FiberTest, EmptyBodyThrowsInvalidArgument) {
  EXPECT_THROW(Fiber(std::function<void()>()), std::invalid_argument);
}

TEST(FiberTest, MovedFiberKeepsRunning) {
  int steps = 0;
  Fiber original([&] {
    ++steps;
    yield();
    ++steps;
  });
  original.resume();
  Fiber moved(std::move(original));
  EXPECT_TRUE(original.done());  // NOLINT(bugprone-use-after-move)
  moved.resume();
  EXPECT_EQ(steps, 2);
  EXPECT_TRUE(moved.done());
}

struct LiveCounter {
  explicit LiveCounter(int& live) : live(live) { ++live; }
  ~LiveCounter() { --live; }
  int& live;
};

TEST(FiberTest, DestroyingSuspendedFiberUnwindsItsStack) {
  int live = 0;
  bool reached_end = false;
  {
    Fiber fiber([&] {
      LiveCounter first(live);
      yield();
      LiveCounter second(live);
      yield();
      reached_end = true;
    });
    fiber.resume();
    fiber.resume();
    EXPECT_EQ(live, 2);
  }
  EXPECT_EQ(live, 0);
  EXPECT_FALSE(reached_end);
}

TEST(FiberTest, UnwindPassesCatchAllThatRethrows) {
  int live = 0;
  int caught = 0;
  {
    Fiber fiber([&] {
      LiveCounter outer(live);
      try {
        LiveCounter inner(live);
        yield();
      } catch (...) {
        ++caught;
        throw;
      }
    });
    fiber.resume();
    EXPECT_EQ(live, 2);
  }
  EXPECT_EQ(live, 0);
  EXPECT_EQ(caught, 1);
}

TEST(FiberTest, UnwindPassesCatchOfStdException) {
  bool caught = false;
  {
    Fiber fiber([&] {
      try {
        yield();
      } catch (const std::exception&) {
        caught = true;
      }
    });
    fiber.resume();
  }
  EXPECT_FALSE(caught);
}

TEST(FiberTest, DestroyingUnstartedFiberDoesNotRunIt) {
  bool ran = false;
  {
    Fiber fiber([&] { ran = true; });
  }
  EXPECT_FALSE(ran);
}

TEST(FiberTest, MoveAssignmentUnwindsTheOverwrittenFiber) {
  int live = 0;
  Fiber fiber([&] {
    LiveCounter counter(live);
    yield();
  });
  fiber.resume();
  EXPECT_EQ(live, 1);
  fiber = Fiber([] {});
  EXPECT_EQ(live, 0);
}

TEST(FiberDeathTest, SwallowingTheUnwindTerminates) {
  EXPECT_DEATH(
      {
        Fiber fiber([] {
          for (;;) {
            try {
              yield();
            } catch (...) {
            }
          }
        });
        fiber.resume();
      },
      "swallowed the unwind exception");
}

int Recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  if (depth == 0) return frame[0];
  return Recurse(depth - 1) + frame[0];
}

TEST(FiberDeathTest, StackOverflowHitsTheGuardPage) {
  // Deep recursion within the stack is fine...
  int result = -1;
  Fiber shallow([&] { result = Recurse(50); });
  shallow.resume();
  EXPECT_GE(result, 0);
  // ...and overflowing it faults on the guard page.
  EXPECT_DEATH(
      {
        Fiber fiber([] { Recurse(1 << 20); });
        fiber.resume();
      },
      "");
}

TEST(FiberTest, LargeStackHoldsDeepRecursion) {
  FiberOptions options;
  options.stack_size = 4 * 1024 * 1024;
  int result = -1;
  Fiber fiber([&] { result = Recurse(2000); }, std::move(options));
  fiber.resume();
  EXPECT_GE(result, 0);
}

TEST(FiberTest, StacksOfDefaultSizeAreReused) {
  std::uintptr_t first_stack = 0;
  std::uintptr_t second_stack = 0;
  {
    Fiber fiber([&] {
      int local = 0;
      first_stack = reinterpret_cast<std::uintptr_t>(&local);
    });
    fiber.resume();
  }
  const std::size_t pooled = internal::PooledStackCount();
  EXPECT_GE(pooled, 1u);
  {
    Fiber fiber([&] {
      int local = 0;
      second_stack = reinterpret_cast<std::uintptr_t>(&local);
    });
    EXPECT_EQ(internal::PooledStackCount(), pooled - 1);
    fiber.resume();
    // A finished fiber's stack goes back to the pool at once.
    EXPECT_EQ(internal::PooledStackCount(), pooled);
  }
  EXPECT_EQ(first_stack, second_stack);
}

TEST(FiberTest, StacksOfOtherSizesAreNotPooled) {
  const std::size_t pooled = internal::PooledStackCount();
  FiberOptions options;
  options.stack_size = 64 * 1024;
  Fiber fiber([] {}, std::move(options));
  fiber.resume();
  EXPECT_EQ(internal::PooledStackCount(), pooled);
}

TEST(FiberTest, NestedFibers) {
  std::vector<std::string> events;
  Fiber outer([&] {
    Fiber inner([&] {
      events.push_back("inner 1");
      yield();  // back into outer
      events.push_back("inner 2");
    });
    events.push_back("outer 1");
    inner.resume();
    events.push_back("outer 2");
    yield();  // back into main
    events.push_back("outer 3");
    inner.resume();
    events.push_back("outer 4");
  });
  outer.resume();
  events.push_back("main");
  outer.resume();
  EXPECT_TRUE(outer.done());
  EXPECT_EQ(events,
            std::vector<std::string>({"outer 1", "inner 1", "outer 2", "main",
                                      "outer 3", "inner 2", "outer 4"}));
}

TEST(FiberTest, NestedFiberExceptionReachesItsResumer) {
  std::string seen;
  Fiber outer([&] {
    Fiber inner([] { throw std::runtime_error("inner failed"); });
    try {
      inner.resume();
    } catch (const std::runtime_error& error) {
      seen = error.what();
    }
  });
  outer.resume();
  EXPECT_EQ(seen, "inner failed");
  EXPECT_TRUE(outer.done());
}

TEST(FiberTest, ManyFibers) {
  constexpr int kFibers = kManyFibers;
  constexpr int kRounds = 3;
  std::vector<Fiber> all;
  all.reserve(kFibers);
  std::vector<int> progress(kFibers, 0);
  for (int i = 0; i < kFibers; ++i) {
    all.emplace_back([&progress, i] {
      for (int round = 0; round < kRounds; ++round) {
        ++progress[i];
        yield();
      }
    });
  }
  for (int round = 0; round <= kRounds; ++round) {
    for (Fiber& fiber : all) fiber.resume();
  }
  for (int i = 0; i < kFibers; ++i) {
    ASSERT_TRUE(all[i].done()) << i;
    ASSERT_EQ(progress[i], kRounds) << i;
  }
}

TEST(FiberTest, CaughtExceptionStaysWithItsFiber) {
  // Each fiber has its own "exception being handled", so a fiber suspended
  // inside a catch handler rethrows its own exception later.
  std::string a_rethrew;
  std::string b_rethrew;
  auto handler_that_yields = [](const char* message, std::string& rethrew) {
    return [message, &rethrew] {
      try {
        throw std::runtime_error(message);
      } catch (const std::runtime_error&) {
        yield();
        try {
          throw;
        } catch (const std::runtime_error& error) {
          rethrew = error.what();
        }
      }
    };
  };
  Fiber a(handler_that_yields("from a", a_rethrew));
  Fiber b(handler_that_yields("from b", b_rethrew));
  a.resume();
  EXPECT_EQ(std::current_exception(), nullptr);
  EXPECT_EQ(std::uncaught_exceptions(), 0);
  b.resume();
  try {
    throw std::logic_error("from main");
  } catch (const std::logic_error&) {
    a.resume();
    EXPECT_NE(std::current_exception(), nullptr);
  }
  b.resume();
  EXPECT_EQ(a_rethrew, "from a");
  EXPECT_EQ(b_rethrew, "from b");
}

TEST(FiberTest, HandlerOfTheResumerIsInvisibleInTheFiber) {
  // The resumer is inside a catch handler and the fiber is not: on every
  // switch the fiber sees no exception and the resumer gets its own back.
  std::exception_ptr seen_inside = std::make_exception_ptr(0);
  Fiber fiber([&seen_inside] {
    for (;;) {
      seen_inside = std::current_exception();
      yield();
    }
  });
  try {
    throw std::runtime_error("outer");
  } catch (const std::runtime_error&) {
    for (int i = 0; i < 2; ++i) {
      fiber.resume();
      EXPECT_EQ(seen_inside, nullptr) << i;
      EXPECT_NE(std::current_exception(), nullptr) << i;
    }
  }
  seen_inside = std::make_exception_ptr(0);
  fiber.resume();
  EXPECT_EQ(seen_inside, nullptr);
  EXPECT_EQ(std::current_exception(), nullptr);
}

int uncaught_seen_in_destructor = -1;

struct YieldsInDestructor {
  ~YieldsInDestructor() {
    uncaught_seen_in_destructor = std::uncaught_exceptions();
    yield();
  }
};

TEST(FiberTest, UncaughtExceptionCountIsPerFiber) {
  Fiber fiber([] {
    YieldsInDestructor yields_while_unwinding;
    throw std::runtime_error("unwinding");
  });
  fiber.resume();  // suspended in the destructor, mid-unwinding
  EXPECT_EQ(uncaught_seen_in_destructor, 1);
  EXPECT_EQ(std::uncaught_exceptions(), 0);
  EXPECT_THROW(fiber.resume(), std::runtime_error);  // unwinding completes
  EXPECT_EQ(std::uncaught_exceptions(), 0);
}

TEST(FiberTest, FibersOnSeveralThreads) {
  constexpr int kThreads = 4;
  std::vector<long> sums(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&sums, t] {
      std::vector<Fiber> local;
      for (int i = 0; i < 50; ++i) {
        local.emplace_back([&sums, t, i] {
          for (int round = 0; round < 10; ++round) {
            sums[t] += i;
            yield();
          }
        });
      }
      bool any_running = true;
      while (any_running) {
        any_running = false;
        for (Fiber& fiber : local) {
          if (!fiber.done()) {
            fiber.resume();
            any_running = true;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (long sum : sums) EXPECT_EQ(sum, 10 * (49 * 50 / 2));
}

// --- Each fiber has its own current contextvars::Context. ---

contextvars::ContextVar<std::string> request_id("request_id", "none");

TEST(FiberContextTest, NewFiberStartsWithAnEmptyContext) {
  auto outer = request_id.scoped_set("main");
  std::string seen;
  Fiber fiber([&] { seen = request_id.get(); });
  fiber.resume();
  EXPECT_EQ(seen, "none");  // the default: nothing inherited
  EXPECT_EQ(request_id.get(), "main");
}

TEST(FiberContextTest, SetsAreIsolatedBetweenFibersAndMain) {
  std::vector<std::string> seen;
  Fiber a([&] {
    request_id.set("a");
    yield();
    seen.push_back("a sees " + request_id.get());
  });
  Fiber b([&] {
    seen.push_back("b sees " + request_id.get());
    request_id.set("b");
    yield();
    seen.push_back("b sees " + request_id.get());
  });
  a.resume();
  EXPECT_EQ(request_id.get(), "none");
  b.resume();
  EXPECT_EQ(request_id.get(), "none");
  a.resume();
  b.resume();
  EXPECT_EQ(seen,
            std::vector<std::string>({"b sees none", "a sees a", "b sees b"}));
  EXPECT_EQ(request_id.get(), "none");
}

TEST(FiberContextTest, CopyContextInheritsButDoesNotLeakBack) {
  auto outer = request_id.scoped_set("parent");
  std::string seen_at_start;
  std::string seen_after_set;
  FiberOptions options;
  options.context = contextvars::copy_context();
  Fiber fiber(
      [&] {
        seen_at_start = request_id.get();
        request_id.set("child");
        yield();
        seen_after_set = request_id.get();
      },
      std::move(options));
  fiber.resume();
  EXPECT_EQ(seen_at_start, "parent");
  EXPECT_EQ(request_id.get(), "parent");
  request_id.set("parent 2");  // not seen by the fiber's copy either
  fiber.resume();
  EXPECT_EQ(seen_after_set, "child");
  EXPECT_EQ(request_id.get(), "parent 2");
}

TEST(FiberContextTest, NestedFibersEachHaveTheirOwnContext) {
  std::vector<std::string> seen;
  Fiber outer([&] {
    request_id.set("outer");
    Fiber inner([&] {
      seen.push_back("inner sees " + request_id.get());
      request_id.set("inner");
      yield();
      seen.push_back("inner sees " + request_id.get());
    });
    inner.resume();
    seen.push_back("outer sees " + request_id.get());
    yield();
    inner.resume();
    seen.push_back("outer sees " + request_id.get());
  });
  outer.resume();
  seen.push_back("main sees " + request_id.get());
  outer.resume();
  EXPECT_EQ(seen, std::vector<std::string>(
                      {"inner sees none", "outer sees outer", "main sees none",
                       "inner sees inner", "outer sees outer"}));
}

TEST(FiberContextTest, ContextRestoredWhenFiberThrows) {
  auto outer = request_id.scoped_set("main");
  Fiber fiber([] {
    request_id.set("fiber");
    throw std::runtime_error("fails");
  });
  EXPECT_THROW(fiber.resume(), std::runtime_error);
  EXPECT_EQ(request_id.get(), "main");
}

TEST(FiberContextTest, ContextRunInsideFiberSurvivesYield) {
  contextvars::Context shared;
  std::string seen;
  Fiber fiber([&] {
    shared.run([&] {
      request_id.set("in shared");
      yield();
      seen = request_id.get();
    });
    seen += ", then " + request_id.get();
  });
  fiber.resume();
  EXPECT_EQ(request_id.get(), "none");
  fiber.resume();
  EXPECT_EQ(seen, "in shared, then none");
  EXPECT_EQ(shared.get(request_id), std::optional<std::string>("in shared"));
}

}  // namespace
}  // namespace fibers
