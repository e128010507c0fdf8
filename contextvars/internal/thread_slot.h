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
// thread owns on its current context is dropped at thread exit by a separate
// thread_local (ThreadExitRelease) that is only touched on the slow path that
// creates the thread's first context.

#ifndef PERSIST_CONTEXTVARS_INTERNAL_THREAD_SLOT_H_
#define PERSIST_CONTEXTVARS_INTERNAL_THREAD_SLOT_H_

#include <cstddef>
#include <cstdint>

#include "base/optimization.h"
#include "contextvars/internal/ref_ptr.h"

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

  static const GetCacheEntry& cache_entry(uint64_t var_id) noexcept {
    return get_cache_[var_id & (kGetCacheSize - 1)];
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
    uint8_t filled[kGetCacheSize];  // indices of the non-empty entries
  };

  struct ThreadExitRelease {
    bool armed = false;
    ~ThreadExitRelease() {
      // Detach first: destroying the values may run code that reads
      // variables.
      State* state = thread_state_.current;
      thread_state_.current = nullptr;
      Invalidate();
      RefPtr<State>::Drop(state);
    }
  };

  static PERSIST_BASE_NOINLINE State* InitCurrent() {
    State* state = RefPtr<State>(new State()).release();
    thread_state_.current = state;
    Invalidate();
    thread_exit_release_.armed = true;  // registers its destructor
    return state;
  }

  static inline thread_local ThreadState thread_state_ = {};
  static inline thread_local GetCacheEntry get_cache_[kGetCacheSize] = {};
  static inline thread_local ThreadExitRelease thread_exit_release_;
};

}  // namespace internal
}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_INTERNAL_THREAD_SLOT_H_
