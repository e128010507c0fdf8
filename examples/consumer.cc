// Built by three consumers of the installed or vendored library: Bazel
// (examples/WORKSPACE), CMake find_package and CMake add_subdirectory.
// Exits non-zero when any layer misbehaves.
#include <cstdio>
#include <string>

#include "contextvars/contextvars.h"
#include "fibers/fiber.h"
#include "hamt/map.h"

namespace {

int failures = 0;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  const hamt::Map<std::string, int> empty;
  const auto one = empty.set("one", 1);
  Check(empty.empty() && one.size() == 1, "hamt set keeps the old version");
  Check(one.at("one") == 1, "hamt at");

  contextvars::ContextVar<int> request_id("request_id", 0);
  auto token = request_id.set(7);
  contextvars::Context snapshot = contextvars::copy_context();
  request_id.reset(token);
  Check(request_id.get() == 0, "contextvars reset");
  Check(snapshot.run([&] { return request_id.get(); }) == 7,
        "contextvars copy_context");

  int seen = -1;
  fibers::Fiber fiber([&] {
    request_id.set(42);
    fibers::yield();
    seen = request_id.get();
  });
  fiber.resume();
  Check(request_id.get() == 0, "a fiber's set stays in the fiber");
  fiber.resume();
  Check(fiber.done() && seen == 42, "fiber resumes in its own context");

  std::printf("%s\n", failures == 0 ? "consumer: ok" : "consumer: FAILED");
  return failures == 0 ? 0 : 1;
}
