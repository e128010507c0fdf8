#include "fibers/scheduler.h"

#include <utility>

namespace fibers {

void Scheduler::spawn(std::function<void()> body, FiberOptions options) {
  ready_.emplace_back(std::move(body), std::move(options));
}

void Scheduler::run() {
  while (!ready_.empty()) {
    // Off the queue while it runs: it may spawn, which grows the queue.
    Fiber fiber = std::move(ready_.front());
    ready_.pop_front();
    fiber.resume();
    if (!fiber.done()) ready_.push_back(std::move(fiber));
  }
}

}  // namespace fibers
