// fibers::Scheduler: a minimal round-robin scheduler for fibers::Fiber.
//
// spawn() queues a fiber; run() resumes the queued fibers in turn, each until
// it calls fibers::yield() or finishes, re-queueing the unfinished ones at the
// back, until none is left. Fibers may spawn more fibers while run() runs.
// There is no I/O or timer integration: a fiber that yields is simply run
// again after every other queued fiber had its turn.
//
// Cost: O(1) per spawn and per turn (a deque push and pop of a Fiber, which
// is one pointer) on top of the switch itself.
//
// Thread-safety: thread-compatible; run() runs every fiber on the calling
// thread.
//
// Example (each fiber sees its own request id across yields, because every
// fiber has its own current contextvars::Context):
//
//   contextvars::ContextVar<int> request_id("request_id");
//   fibers::Scheduler scheduler;
//   for (int i = 0; i < 3; ++i) {
//     scheduler.spawn([&request_id, i] {
//       request_id.set(i);
//       fibers::yield();
//       assert(request_id.get() == i);
//     });
//   }
//   scheduler.run();

#ifndef PERSIST_FIBERS_SCHEDULER_H_
#define PERSIST_FIBERS_SCHEDULER_H_

#include <cstddef>
#include <deque>
#include <functional>

#include "fibers/fiber.h"

namespace fibers {

class Scheduler {
 public:
  Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  // Unfinished fibers are unwound (see ~Fiber).
  ~Scheduler() = default;

  // Queues a fiber running `body`; it first runs during run(). Throws what
  // the Fiber constructor throws.
  void spawn(std::function<void()> body, FiberOptions options = {});

  // Runs the queued fibers round-robin until all are done. If a body throws,
  // run() rethrows that exception right away; the other fibers stay queued
  // and a later run() continues them.
  void run();

  // Fibers queued and not finished.
  std::size_t size() const noexcept { return ready_.size(); }

 private:
  std::deque<Fiber> ready_;
};

}  // namespace fibers

#endif  // PERSIST_FIBERS_SCHEDULER_H_
