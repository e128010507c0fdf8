// The per-thread current context and the per-thread get() cache.
//
// The get() cache is direct-mapped, indexed by the variable's id. An entry
// holds the variable's value in the thread's current context (the value
// itself when small, else a pointer into the value's box, which the current
// context's mapping keeps alive), or that it has none. A hit is one TLS
// entry load and one compare, no atomics.
//
// Instead of a version compared on every hit (CPython's design), the entries
// are cleared whenever the current context or its mapping changes (set,
// reset, run, swap_current_context). Only the entries filled since the last
// clearing are touched (a list of at most kGetCacheSize indices, usually a
// handful), so clearing stays cheap and a hit needs no second compare.
//
// Everything on the get() fast path is in trivially constructible and
// trivially destructible thread_locals, so reading them is a plain
// %fs-relative access with no initialization guard. The one reference the
// thread owns on its current context is dropped at thread exit by a
// thread-exit callback (the C++ ABI's __cxa_thread_atexit, what thread_local
// destructors use) registered on the slow path that creates a context for
// the thread.
//
// Thread exit: the callback detaches the current context (the slot is empty
// and the cache cleared) and then drops it. The values' destructors may set
// or get variables: that creates a fresh empty context for the dying thread
// and registers the callback again, and the C++ runtime runs callbacks
// registered during thread exit before the thread ends, so every context is
// drained and freed in turn, however many rounds it takes.

#ifndef PERSIST_CONTEXTVARS_INTERNAL_THREAD_SLOT_H_
#define PERSIST_CONTEXTVARS_INTERNAL_THREAD_SLOT_H_

#include <cxxabi.h>

#include <cstddef>
#include <cstdint>
#include <new>

#include "base/optimization.h"
#include "contextvars/internal/ref_ptr.h"

// The handle of this module (executable or shared object), which a
// thread-exit callback is registered with (defined, hidden, by the C++
// runtime's startup files in every module).
extern "C" __attribute__((visibility("hidden"))) void* __dso_handle;  // NOLINT

namespace contextvars {
namespace internal {

// Variable ids are below 2^63; a tag with this bit set caches "no value".
inline constexpr uint64_t kAbsentTag = uint64_t{1} << 63;

struct GetCacheEntry {
  // 0: empty; a variable's id: `value` holds its value (or a pointer to it);
  // the id | kAbsentTag: the variable has no value.
  uint64_t tag;
  alignas(8) unsigned char value[8];
};

// `State` is the context state of one implementation (ContextState<Mapping>);
// each implementation has its own slot.
template <class State>
class ThreadSlot {
 public:
  static constexpr size_t kGetCacheSize = 128;  // a power of two, <= 256
  static_assert((kGetCacheSize & (kGetCacheSize - 1)) == 0 &&
                    kGetCacheSize <= 256,
                "filled_ holds uint8_t indices");

  // The calling thread's current context; a new empty one on first use.
  static State* Current() {
    State* state = thread_state_.current;
    if (PERSIST_BASE_PREDICT_FALSE(state == nullptr)) state = InitCurrent();
    return state;
  }

  // Makes `incoming` (whose reference the caller gives to the thread) the
  // current context and returns the previous one (whose reference the caller
  // now owns).
  static State* Exchange(State* incoming) {
    ThreadState& state = thread_state_;
    State* outgoing = state.current;
    if (PERSIST_BASE_PREDICT_FALSE(outgoing == nullptr)) {
      outgoing = InitCurrent();
    }
    state.current = incoming;
    // Fiber switches usually find the cache empty (no get() since the last
    // switch): then there is nothing to clear.
    if (state.filled_count != 0) Invalidate();
    return outgoing;
  }

  // Must be called after every change to the current context's mapping.
  static void Invalidate() noexcept {
    ThreadState& state = thread_state_;
    for (uint32_t i = 0; i < state.filled_count; ++i) {
      get_cache_[state.filled[i]].tag = 0;
    }
    state.filled_count = 0;
  }

  // Where `var_id`'s cache entry is, in bytes from the first: a variable
  // computes it once, so that a get() adds it to the thread pointer
  // instead of masking and scaling its id on every call.
  static constexpr uint32_t CacheOffsetOf(uint64_t var_id) noexcept {
    return static_cast<uint32_t>((var_id & (kGetCacheSize - 1)) *
                                 sizeof(GetCacheEntry));
  }
  // The entry at CacheOffsetOf(var_id).
  static const GetCacheEntry& cache_entry_at(uint32_t offset) noexcept {
    const unsigned char* base =
        reinterpret_cast<const unsigned char*>(get_cache_);
#if defined(__GNUC__) || defined(__clang__)
    // The cache's address in a register (hoisted out of a caller's loop:
    // the statement is not volatile), so that the entry is read at
    // base + offset. Left alone, clang reads it as %fs:disp(offset): the
    // same 8 instructions per cached get() in BM_VarGet_Hamt's loop, but 34
    // bytes instead of 28, and a loop this small runs about 0.25 ns slower
    // when it straddles a 64-byte line (0.46 -> 0.71 ns here, AMD EPYC:
    // which loops do depends on the layout, so fewer bytes is what helps).
    asm("" : "+r"(base));
#endif
    return *reinterpret_cast<const GetCacheEntry*>(base + offset);
  }

  // The entry of `var_id`, tagged `tag`, for the caller to fill in.
  static GetCacheEntry& Fill(uint64_t var_id, uint64_t tag) noexcept {
    const auto index = static_cast<uint8_t>(var_id & (kGetCacheSize - 1));
    GetCacheEntry& entry = get_cache_[index];
    if (entry.tag == 0) {
      thread_state_.filled[thread_state_.filled_count++] = index;
    }
    entry.tag = tag;
    return entry;
  }

 private:
  struct ThreadState {
    State* current;  // one reference, owned by the thread
    uint32_t filled_count;
    bool release_registered;        // ReleaseAtThreadExit will run
    uint8_t filled[kGetCacheSize];  // indices of the non-empty entries
  };

  // Drops the thread's reference to its current context at thread exit.
  static void ReleaseAtThreadExit(void*) noexcept {
    ThreadState& thread = thread_state_;
    thread.release_registered = false;
    // Detach first: destroying the values may run code that uses variables;
    // it then finds no current context and makes a fresh one (InitCurrent
    // registers this function again for it).
    State* state = thread.current;
    thread.current = nullptr;
    Invalidate();
    RefPtr<State>::Drop(state);
  }

  static PERSIST_BASE_NOINLINE State* InitCurrent() {
    State* state = RefPtr<State>(new State()).release();
    ThreadState& thread = thread_state_;
    if (!thread.release_registered) {
      if (__cxxabiv1::__cxa_thread_atexit(&ReleaseAtThreadExit, nullptr,
                                          &__dso_handle) != 0) {
        RefPtr<State>::Drop(state);
        throw std::bad_alloc();
      }
      thread.release_registered = true;
    }
    thread.current = state;
    Invalidate();
    return state;
  }

  static inline thread_local ThreadState thread_state_ = {};
  static inline thread_local GetCacheEntry get_cache_[kGetCacheSize] = {};
};

}  // namespace internal
}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_INTERNAL_THREAD_SLOT_H_
