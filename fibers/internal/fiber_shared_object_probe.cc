// A shared object that uses fibers, for switch_stack_elf_test.sh: linked with
// the (static) fibers library, it must call the switch directly (no PLT) and
// export none of its symbols.

#include "fibers/fiber.h"

extern "C" __attribute__((visibility("default"))) int
persist_fiber_shared_object_probe() {
  int steps = 0;
  fibers::Fiber counter([&] {
    ++steps;
    fibers::yield();
    ++steps;
  });
  while (!counter.done()) counter.resume();
  return steps;
}
