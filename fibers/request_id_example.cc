// 10,000 "requests" served by fibers on one thread: each fiber sets a
// request-id ContextVar, yields to the others (as it would while waiting for
// I/O), and then reads the variable back. Because every fiber has its own
// current contextvars::Context, each one finds its own id, even though all of
// them ran interleaved on the same thread.
//
//   bazel run //fibers:request_id_example

#include <cstdio>
#include <string>

#include "contextvars/contextvars.h"
#include "fibers/fiber.h"
#include "fibers/scheduler.h"

namespace {

contextvars::ContextVar<std::string> request_id("request_id", "-");

// A real service would write request_id.get() into every log line; print
// only the first requests' lines so the output stays short.
void Log(int request, const char* what) {
  if (request < 3) {
    std::printf("[request %s] %s\n", request_id.get().c_str(), what);
  }
}

}  // namespace

int main() {
  constexpr int kRequests = 10000;
  int mismatches = 0;
  fibers::Scheduler scheduler;
  for (int i = 0; i < kRequests; ++i) {
    scheduler.spawn([i, &mismatches] {
      const std::string my_id = "req-" + std::to_string(i);
      request_id.set(my_id);
      Log(i, "accepted");
      fibers::yield();  // every other request runs meanwhile
      if (request_id.get() != my_id) ++mismatches;
      Log(i, "done");
    });
  }
  scheduler.run();
  std::printf("%d fibers, %d saw another fiber's request id; main sees '%s'\n",
              kRequests, mismatches, request_id.get().c_str());
  return mismatches == 0 && request_id.get() == "-" ? 0 : 1;
}
