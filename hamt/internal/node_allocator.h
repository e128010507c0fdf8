// The node allocators of hamt::Map (its NodeAllocator parameter; the
// requirements are in hamt/map.h): SizeClassPoolAllocator, the default, and
// NewDeleteAllocator.
//
// SizeClassPoolAllocator is a size-class pool.
//
// Nodes are small (24..~600 bytes for int->int maps) and allocated and freed
// constantly by path copying, so going to malloc for each would dominate the
// cost of a persistent update. Memory is carved from 2 MiB chunks into
// blocks whose size is a multiple of 8 bytes (one size class per multiple, so
// an exactly-sized node wastes nothing) and freed blocks go to a per-thread,
// per-class free list.
//
// Cross-thread frees: a block freed on another thread than the one that
// allocated it simply joins the freeing thread's list; chunks are never
// returned to the system, so any thread may reuse any block. To keep a
// producer/consumer pattern from growing memory without bound, a thread's list
// that holds more than kMaxCachedBytesPerClass is handed as one batch to a
// global, mutex-protected pool, from which threads with an empty list refill.
// A thread's lists, and the unused rest of its chunk, are handed over the
// same way when it exits (blocks freed by a thread after that, e.g. by its
// own thread_local destructors running later, are not reused).
//
// Under AddressSanitizer every node goes to ::operator new/delete, so that
// use-after-free and leaks are visible.

#ifndef PERSIST_HAMT_INTERNAL_NODE_ALLOCATOR_H_
#define PERSIST_HAMT_INTERNAL_NODE_ALLOCATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "base/optimization.h"

#if defined(__SANITIZE_ADDRESS__)
#define PERSIST_HAMT_INTERNAL_POOL_BYPASSED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PERSIST_HAMT_INTERNAL_POOL_BYPASSED 1
#endif
#endif

namespace hamt {
namespace internal {

inline constexpr size_t kAllocGranule = 8;
// Largest pooled block; larger nodes (big collision nodes, huge pairs) go to
// ::operator new.
inline constexpr size_t kMaxPooledBytes = 4096;
inline constexpr size_t kNumSizeClasses = kMaxPooledBytes / kAllocGranule + 1;
// 2 MiB and aligned to it: one transparent huge page where the kernel
// allows it (madvise), so that walking a big trie does not miss the TLB at
// every node.
inline constexpr size_t kChunkBytes = size_t{2} << 20;
inline constexpr size_t kMaxCachedBytesPerClass = size_t{256} << 10;

// Rounds a node size up to its size class (the bytes actually handed out).
constexpr size_t RoundToSizeClass(size_t bytes) {
  return (bytes + kAllocGranule - 1) & ~(kAllocGranule - 1);
}

struct FreeBlock {
  FreeBlock* next;        // next block of this free list
  FreeBlock* next_batch;  // next batch, while in the global pool
};

struct FreeList {
  FreeBlock* head;
  // Bytes in the list; negative after a refill from a batch of unknown
  // length, which only delays the next donation.
  std::ptrdiff_t cached_bytes;
};

// Trivially constructible and destructible, so accessing it costs no TLS
// init guard on the fast path.
struct ThreadNodeCache {
  FreeList lists[kNumSizeClasses];
  char* chunk_next;
  char* chunk_end;
};

inline thread_local ThreadNodeCache thread_node_cache;

// The unused rest of an exited thread's chunk, linked through its first
// bytes.
struct SpareRegion {
  SpareRegion* next;
  char* end;
};

struct GlobalNodePool {
  std::mutex mutex;
  // Written under `mutex`; read without it as a hint, so that a thread with
  // an empty list only locks when there is something to take.
  std::atomic<FreeBlock*> batches[kNumSizeClasses] = {};
  std::atomic<SpareRegion*> spare_regions{nullptr};
};

// Leaked on purpose: nodes may be freed during static destruction.
inline GlobalNodePool& GetGlobalNodePool() {
  static GlobalNodePool* const pool = new GlobalNodePool;
  return *pool;
}

PERSIST_BASE_NOINLINE inline void DonateListToGlobalPool(size_t size_class,
                                                         FreeList& list) {
  if (list.head == nullptr) return;
  GlobalNodePool& pool = GetGlobalNodePool();
  std::lock_guard<std::mutex> lock(pool.mutex);
  list.head->next_batch =
      pool.batches[size_class].load(std::memory_order_relaxed);
  pool.batches[size_class].store(list.head, std::memory_order_relaxed);
  list.head = nullptr;
  list.cached_bytes = 0;
}

// Hands the exiting thread's free lists to the global pool. Constructed on
// a thread's first slow-path allocation, so that its destructor runs at
// thread exit.
struct ThreadNodeCacheFlusher {
  bool armed = false;
  ~ThreadNodeCacheFlusher() {
    ThreadNodeCache& cache = thread_node_cache;
    for (size_t c = 0; c < kNumSizeClasses; ++c) {
      DonateListToGlobalPool(c, cache.lists[c]);
    }
    if (static_cast<size_t>(cache.chunk_end - cache.chunk_next) >=
        kMaxPooledBytes) {
      auto* region = reinterpret_cast<SpareRegion*>(cache.chunk_next);
      region->end = cache.chunk_end;
      GlobalNodePool& pool = GetGlobalNodePool();
      std::lock_guard<std::mutex> lock(pool.mutex);
      region->next = pool.spare_regions.load(std::memory_order_relaxed);
      pool.spare_regions.store(region, std::memory_order_relaxed);
    }
    cache.chunk_next = cache.chunk_end = nullptr;
  }
};

inline thread_local ThreadNodeCacheFlusher thread_node_cache_flusher;

// Slow path of AllocateNodeMemory: refill from the global pool or carve a
// new block from the thread's chunk.
PERSIST_BASE_NOINLINE inline void* AllocateNodeMemorySlow(size_t bytes) {
  thread_node_cache_flusher.armed = true;
  const size_t size_class = bytes / kAllocGranule;
  ThreadNodeCache& cache = thread_node_cache;
  GlobalNodePool& pool = GetGlobalNodePool();
  if (pool.batches[size_class].load(std::memory_order_relaxed) != nullptr) {
    std::lock_guard<std::mutex> lock(pool.mutex);
    FreeBlock* batch = pool.batches[size_class].load(std::memory_order_relaxed);
    if (batch != nullptr) {
      pool.batches[size_class].store(batch->next_batch,
                                     std::memory_order_relaxed);
      cache.lists[size_class].head = batch->next;
      cache.lists[size_class].cached_bytes = 0;
      return batch;
    }
  }
  if (static_cast<size_t>(cache.chunk_end - cache.chunk_next) < bytes) {
    // The tail of the old chunk (< one block) is abandoned.
    SpareRegion* spare = nullptr;
    if (pool.spare_regions.load(std::memory_order_relaxed) != nullptr) {
      std::lock_guard<std::mutex> lock(pool.mutex);
      spare = pool.spare_regions.load(std::memory_order_relaxed);
      if (spare != nullptr) {
        pool.spare_regions.store(spare->next, std::memory_order_relaxed);
      }
    }
    if (spare != nullptr) {
      cache.chunk_end = spare->end;
      cache.chunk_next = reinterpret_cast<char*>(spare);
    } else {
      void* memory = std::aligned_alloc(kChunkBytes, kChunkBytes);
      if (memory == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
      madvise(memory, kChunkBytes, MADV_HUGEPAGE);
#endif
      cache.chunk_next = static_cast<char*>(memory);
      cache.chunk_end = cache.chunk_next + kChunkBytes;
    }
  }
  void* block = cache.chunk_next;
  cache.chunk_next += bytes;
  return block;
}

// `bytes` must be a multiple of kAllocGranule (see RoundToSizeClass).
// Returns memory aligned to 8 bytes; throws std::bad_alloc.
PERSIST_BASE_ALWAYS_INLINE inline void* AllocateNodeMemory(size_t bytes) {
#ifdef PERSIST_HAMT_INTERNAL_POOL_BYPASSED
  return ::operator new(bytes);
#else
  if (bytes > kMaxPooledBytes) return ::operator new(bytes);
  FreeList& list = thread_node_cache.lists[bytes / kAllocGranule];
  FreeBlock* block = list.head;
  if (PERSIST_BASE_PREDICT_TRUE(block != nullptr)) {
    list.head = block->next;
    list.cached_bytes -= static_cast<std::ptrdiff_t>(bytes);
    return block;
  }
  return AllocateNodeMemorySlow(bytes);
#endif
}

PERSIST_BASE_ALWAYS_INLINE inline void FreeNodeMemory(void* memory,
                                                      size_t bytes) noexcept {
#ifdef PERSIST_HAMT_INTERNAL_POOL_BYPASSED
  (void)bytes;
  ::operator delete(memory);
#else
  if (bytes > kMaxPooledBytes) {
    ::operator delete(memory);
    return;
  }
  const size_t size_class = bytes / kAllocGranule;
  FreeList& list = thread_node_cache.lists[size_class];
  FreeBlock* block = static_cast<FreeBlock*>(memory);
  block->next = list.head;
  list.head = block;
  list.cached_bytes += static_cast<std::ptrdiff_t>(bytes);
  if (PERSIST_BASE_PREDICT_FALSE(
          list.cached_bytes >
          static_cast<std::ptrdiff_t>(kMaxCachedBytesPerClass))) {
    DonateListToGlobalPool(size_class, list);
  }
#endif
}

}  // namespace internal

// The default node allocator: the size-class pool above (over-aligned nodes,
// whose pairs need 16 bytes, come from ::operator new).
struct SizeClassPoolAllocator {
  PERSIST_BASE_ALWAYS_INLINE static void* allocate(size_t bytes,
                                                   size_t alignment) {
    if (alignment > internal::kAllocGranule) {
      return ::operator new (bytes, std::align_val_t{alignment});
    }
    return internal::AllocateNodeMemory(bytes);
  }
  PERSIST_BASE_ALWAYS_INLINE static void deallocate(void* memory, size_t bytes,
                                                    size_t alignment) noexcept {
    if (alignment > internal::kAllocGranule) {
      ::operator delete (memory, std::align_val_t{alignment});
      return;
    }
    internal::FreeNodeMemory(memory, bytes);
  }
};

// Every node from ::operator new and back to ::operator delete: slower
// (BM_Set_Hamt pays malloc and free per copied node), but visible to heap
// profilers and leak checkers, and a base for allocators that count or fail.
struct NewDeleteAllocator {
  static void* allocate(size_t bytes, size_t alignment) {
    if (alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
      return ::operator new (bytes, std::align_val_t{alignment});
    }
    return ::operator new(bytes);
  }
  static void deallocate(void* memory, size_t bytes,
                         size_t alignment) noexcept {
    if (alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
      ::operator delete (memory, std::align_val_t{alignment});
      return;
    }
    // Unsized: Clang has sized deallocation only with -fsized-deallocation.
    (void)bytes;
    ::operator delete(memory);
  }
};

}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_NODE_ALLOCATOR_H_
