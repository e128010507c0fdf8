#include "fibers/scheduler.h"

#include <stdexcept>
#include <string>
#include <vector>

#include "contextvars/contextvars.h"
#include "fibers/fiber.h"
#include "fibers/internal/sanitizers.h"
#include "gtest/gtest.h"

namespace fibers {
namespace {

// ThreadSanitizer gives every started fiber a thread-sized state from a
// bounded region, so it cannot hold 10,000 suspended fibers at once.
constexpr int kManyFibers = PERSIST_FIBERS_TSAN ? 1000 : 10000;

TEST(SchedulerTest, RunsFibersRoundRobinUntilAllAreDone) {
  std::vector<std::string> events;
  Scheduler scheduler;
  for (const char* name : {"a", "b", "c"}) {
    scheduler.spawn([&events, name] {
      for (int round = 0; round < 2; ++round) {
        events.push_back(name + std::to_string(round));
        yield();
      }
    });
  }
  EXPECT_EQ(scheduler.size(), 3u);
  scheduler.run();
  EXPECT_EQ(scheduler.size(), 0u);
  EXPECT_EQ(events,
            std::vector<std::string>({"a0", "b0", "c0", "a1", "b1", "c1"}));
}

TEST(SchedulerTest, FibersMaySpawnFibers) {
  Scheduler scheduler;
  std::vector<std::string> events;
  scheduler.spawn([&] {
    events.push_back("parent");
    scheduler.spawn([&] { events.push_back("child"); });
    yield();
    events.push_back("parent again");
  });
  scheduler.run();
  EXPECT_EQ(events,
            std::vector<std::string>({"parent", "child", "parent again"}));
}

TEST(SchedulerTest, ExceptionStopsRunAndOthersStayQueued) {
  Scheduler scheduler;
  int finished = 0;
  scheduler.spawn([] {
    yield();
    throw std::runtime_error("request failed");
  });
  scheduler.spawn([&] {
    yield();
    yield();
    ++finished;
  });
  EXPECT_THROW(scheduler.run(), std::runtime_error);
  EXPECT_EQ(scheduler.size(), 1u);
  scheduler.run();
  EXPECT_EQ(finished, 1);
}

TEST(SchedulerTest, DestroyingSchedulerUnwindsQueuedFibers) {
  int live = 0;
  struct Counter {
    explicit Counter(int& live) : live(live) { ++live; }
    ~Counter() { --live; }
    int& live;
  };
  {
    Scheduler scheduler;
    scheduler.spawn([&] {
      Counter counter(live);
      yield();
      throw std::runtime_error("stop here");
    });
    scheduler.spawn([&] {
      Counter counter(live);
      yield();
      yield();
    });
    EXPECT_THROW(scheduler.run(), std::runtime_error);
    EXPECT_EQ(live, 1);  // the second fiber is suspended
  }
  EXPECT_EQ(live, 0);
}

// What request_id_example.cc shows, asserted (10,000 fibers).
TEST(SchedulerTest, ManyFibersEachKeepTheirOwnRequestId) {
  contextvars::ContextVar<int> request_id("request_id", -1);
  constexpr int kFibers = kManyFibers;
  int mismatches = 0;
  int completed = 0;
  Scheduler scheduler;
  for (int i = 0; i < kFibers; ++i) {
    scheduler.spawn([&, i] {
      request_id.set(i);
      yield();
      if (request_id.get() != i) ++mismatches;
      yield();
      if (request_id.get() != i) ++mismatches;
      ++completed;
    });
  }
  scheduler.run();
  EXPECT_EQ(completed, kFibers);
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(request_id.get(), -1);
}

}  // namespace
}  // namespace fibers
