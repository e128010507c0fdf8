// Fiber stacks: mmap'd regions with a PROT_NONE guard page below the usable
// part, so an overflow faults (SIGSEGV) instead of corrupting the heap, and a
// per-thread free list that recycles stacks of the default size.

#ifndef PERSIST_FIBERS_INTERNAL_STACK_H_
#define PERSIST_FIBERS_INTERNAL_STACK_H_

#include <cstddef>

namespace fibers {
namespace internal {

// Usable bytes of a stack unless FiberOptions say otherwise; only stacks of
// this size are pooled. Pages are committed on first touch, so an idle fiber
// costs a few KiB of memory, not this.
inline constexpr std::size_t kDefaultStackSize = 256 * 1024;

// Smallest usable size handed out: room for a few frames of the fiber
// machinery plus a signal frame.
inline constexpr std::size_t kMinStackSize = 16 * 1024;

// Default-size stacks each thread keeps for reuse.
inline constexpr std::size_t kMaxPooledStacksPerThread = 128;

// Owns one mapping: [mapping, mapping + guard) is PROT_NONE and
// [bottom(), top()) is read-write. Move-only; unmaps on destruction.
class FiberStack {
 public:
  FiberStack() = default;
  // Maps a stack with at least `usable_size` usable bytes (rounded up to
  // whole pages, at least kMinStackSize). Throws std::system_error when mmap or
  // mprotect fails.
  explicit FiberStack(std::size_t usable_size);
  FiberStack(FiberStack&& other) noexcept;
  FiberStack& operator=(FiberStack&& other) noexcept;
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  ~FiberStack();

  bool empty() const { return mapping_ == nullptr; }
  // Lowest usable address (just above the guard page).
  void* bottom() const;
  // One past the highest usable address; stacks grow down from here.
  void* top() const;
  std::size_t usable_size() const { return usable_size_; }

 private:
  void Unmap() noexcept;

  void* mapping_ = nullptr;
  std::size_t mapping_size_ = 0;
  std::size_t usable_size_ = 0;
};

// A stack with at least `usable_size` usable bytes: from the calling thread's
// free list when `usable_size` is the default size and the list is not
// empty, else freshly mapped. O(1) from the list.
FiberStack AcquireStack(std::size_t usable_size);

// Returns a stack no execution runs on any more: default-size stacks go to
// the calling thread's free list (bounded; beyond it they are unmapped).
void ReleaseStack(FiberStack stack) noexcept;

// Number of stacks in the calling thread's free list (for tests).
std::size_t PooledStackCount() noexcept;

}  // namespace internal
}  // namespace fibers

#endif  // PERSIST_FIBERS_INTERNAL_STACK_H_
