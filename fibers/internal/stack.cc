#include "fibers/internal/stack.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "fibers/internal/sanitizers.h"

namespace fibers {
namespace internal {
namespace {

std::size_t PageSize() {
  static const std::size_t page_size =
      static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page_size;
}

std::size_t RoundUpToPages(std::size_t bytes) {
  const std::size_t page = PageSize();
  return (bytes + page - 1) / page * page;
}

// Set once this thread's pool is destroyed, so that fibers destroyed later
// in thread exit (by other thread_local destructors) unmap their stacks
// instead of touching the dead pool. Trivially destructible, so it outlives
// every non-trivial thread_local.
thread_local bool pool_destroyed = false;

// Destroyed at thread exit, unmapping the pooled stacks.
struct StackPool {
  ~StackPool() { pool_destroyed = true; }
  std::vector<FiberStack> stacks;
};

StackPool& ThisThreadPool() {
  thread_local StackPool pool;
  return pool;
}

}  // namespace

FiberStack::FiberStack(std::size_t usable_size) {
  const std::size_t guard_size = PageSize();
  usable_size_ =
      RoundUpToPages(usable_size < kMinStackSize ? kMinStackSize : usable_size);
  mapping_size_ = guard_size + usable_size_;
  // MAP_NORESERVE: thousands of idle fibers only cost the pages they touch.
  void* mapping =
      mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mapping == MAP_FAILED) {
    throw std::system_error(errno, std::generic_category(),
                            "fibers: mmap of a fiber stack of " +
                                std::to_string(mapping_size_) + " bytes");
  }
  mapping_ = mapping;
  if (mprotect(mapping_, guard_size, PROT_NONE) != 0) {
    const int error = errno;
    Unmap();
    throw std::system_error(error, std::generic_category(),
                            "fibers: mprotect of a fiber stack's guard page");
  }
}

FiberStack::FiberStack(FiberStack&& other) noexcept
    : mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_size_(std::exchange(other.mapping_size_, 0)),
      usable_size_(std::exchange(other.usable_size_, 0)) {}

FiberStack& FiberStack::operator=(FiberStack&& other) noexcept {
  if (this != &other) {
    Unmap();
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
    usable_size_ = std::exchange(other.usable_size_, 0);
  }
  return *this;
}

FiberStack::~FiberStack() { Unmap(); }

void* FiberStack::bottom() const {
  return static_cast<char*>(mapping_) + (mapping_size_ - usable_size_);
}

void* FiberStack::top() const {
  return static_cast<char*>(mapping_) + mapping_size_;
}

void FiberStack::Unmap() noexcept {
  if (mapping_ == nullptr) return;
#if PERSIST_FIBERS_ASAN
  // Frames that died with a finished fiber leave poisoned redzones behind;
  // the addresses may be mapped again for anything.
  ASAN_UNPOISON_MEMORY_REGION(bottom(), usable_size_);
#endif
  munmap(mapping_, mapping_size_);
  mapping_ = nullptr;
  mapping_size_ = 0;
  usable_size_ = 0;
}

FiberStack AcquireStack(std::size_t usable_size) {
  if (usable_size == kDefaultStackSize && !pool_destroyed) {
    std::vector<FiberStack>& stacks = ThisThreadPool().stacks;
    if (!stacks.empty()) {
      FiberStack stack = std::move(stacks.back());
      stacks.pop_back();
      return stack;
    }
  }
  return FiberStack(usable_size);
}

void ReleaseStack(FiberStack stack) noexcept {
  if (stack.empty()) return;
#if PERSIST_FIBERS_ASAN
  // See FiberStack::Unmap: the next fiber on this stack starts clean.
  ASAN_UNPOISON_MEMORY_REGION(stack.bottom(), stack.usable_size());
#endif
  if (stack.usable_size() != RoundUpToPages(kDefaultStackSize) ||
      pool_destroyed) {
    return;
  }
  std::vector<FiberStack>& stacks = ThisThreadPool().stacks;
  if (stacks.size() >= kMaxPooledStacksPerThread) return;
  if (stacks.capacity() == 0) {
    // Reserving up front keeps push_back below from allocating (and
    // throwing) in this noexcept function.
    try {
      stacks.reserve(kMaxPooledStacksPerThread);
    } catch (const std::bad_alloc&) {
      return;
    }
  }
  stacks.push_back(std::move(stack));
}

std::size_t PooledStackCount() noexcept {
  return pool_destroyed ? 0 : ThisThreadPool().stacks.size();
}

}  // namespace internal
}  // namespace fibers
