// The PEP 567 API written once, for any mapping. contextvars/contextvars.h
// (HAMT) and contextvars/naive/contextvars.h (a whole map copied on every
// set) derive their public classes from these templates with a "family"
// that names the public classes and the mapping:
//
//   struct Family {
//     using Mapping = ...;                  // see hamt_mapping.h
//     using Context = ...;                  // derived from BasicContext<F>
//     template <class T> using Var = ...;   // derived from BasicContextVar
//     template <class T> using Token = ...; // derived from BasicToken
//     static constexpr bool kCacheGets;     // per-thread get() cache
//   };
//
// A Mapping is a value type with O(1) copy and
//   const ValueRef* Find(const VarKey&) const;
//   ValueRef Exchange(const VarKey&, ValueRef&&);  // returns the old value
//   ValueRef Erase(const VarKey&);                 // returns the removed one
//   size_t size() const;  const_iterator begin() const, end() const;
//   static bool Equal(const Mapping&, const Mapping&);  // same contents
// where a const_iterator dereferences to a pair of VarKey and ValueRef.
//
// Re-entrancy. User code (a T's destructor, copy or move constructor,
// operator==) may call back into contextvars, so it runs only where every
// mapping, token and the current-context slot is consistent:
// - Find/Exchange/Erase run no user code: a mapping compares values by
//   identity inside an edit, and Exchange/Erase hand the value that leaves
//   the mapping back to the caller. The caller (set, reset) commits the new
//   mapping, invalidates the get() cache and finishes its token before that
//   value is dropped, at the end of the operation.
// - T is moved into its box before set() looks at the current context.
// - Equal() compares values after its traversal, on snapshots.
// - Iterators hold a snapshot of the mapping they iterate.
// - A context's state is destroyed only once nothing refers to it, after the
//   slot no longer holds it (run() exit, thread exit, handle assignment).

#ifndef PERSIST_CONTEXTVARS_INTERNAL_BASIC_CONTEXT_H_
#define PERSIST_CONTEXTVARS_INTERNAL_BASIC_CONTEXT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "contextvars/internal/errors.h"
#include "contextvars/internal/ref_ptr.h"
#include "contextvars/internal/thread_slot.h"
#include "contextvars/internal/value_box.h"

namespace contextvars {
namespace internal {

// Constructors taking it are for the library only.
struct PrivateTag {
  explicit PrivateTag() = default;
};

inline std::atomic<uint64_t> next_context_id{1};

template <class Mapping>
class ContextState final : public RefCounted {
 public:
  ContextState() : id_(NextId()) {}
  explicit ContextState(Mapping vars) : vars(std::move(vars)), id_(NextId()) {}

  // The id (never reused, unlike the address) that tokens remember.
  uint64_t id() const noexcept { return id_; }

  // Changed only by the thread whose current context this is.
  Mapping vars;
  // Set while a Context::run() of this context is in progress (possibly
  // suspended in a fiber).
  std::atomic<bool> entered{false};

 private:
  static uint64_t NextId() {
    return next_context_id.fetch_add(1, std::memory_order_relaxed);
  }
  const uint64_t id_;
};

template <class F>
class BasicContext;
template <class T, class F>
class BasicContextVar;
template <class T, class F>
class BasicToken;
template <class T, class F>
class BasicScopedSet;
template <class F>
struct CurrentContextOps;

template <class F>
using StateOf = ContextState<typename F::Mapping>;
template <class F>
using SlotOf = ThreadSlot<StateOf<F>>;

template <class T, class F>
class BasicContextVar {
 public:
  using value_type = T;

  explicit BasicContextVar(std::string name)
      : key_(new VarIdentity(std::move(name))),
        id_(key_->id()),
        cache_offset_(SlotOf<F>::CacheOffsetOf(id_)) {}
  BasicContextVar(std::string name, T default_value)
      : key_(new VarIdentity(std::move(name))),
        id_(key_->id()),
        cache_offset_(SlotOf<F>::CacheOffsetOf(id_)),
        default_(std::in_place, std::move(default_value)) {}

  // A variable is an identity: neither copyable nor movable.
  BasicContextVar(const BasicContextVar&) = delete;
  BasicContextVar& operator=(const BasicContextVar&) = delete;

  const std::string& name() const noexcept { return key_->name(); }
  bool has_default() const noexcept { return default_.has_value(); }

  // Inlined whatever the optimization level and compiler (clang 14 kept
  // get() out of line even at -O3: 22 instructions per cached read instead
  // of 10): a cache hit is a few instructions in the caller, and the misses
  // call out of line (FindAndCache, DefaultOrThrow). GetOr itself is left to
  // the compiler: forcing it too made g++ spend one more instruction.
  PERSIST_BASE_ALWAYS_INLINE T get() const {
    return GetOr([this]() -> T { return DefaultOrThrow(); });
  }
  PERSIST_BASE_ALWAYS_INLINE T get(T fallback) const {
    return GetOr([&]() -> T { return std::move(fallback); });
  }

  // Inlined whatever the level, with HamtMapping::Exchange(): g++ and clang
  // inline set() at -O3 but not at -O2 (clang -O2 not Exchange() either),
  // and BM_VarSet took 559.5 instructions at g++ -O2 against 548.5 at -O3,
  // 616.5 against 568 with clang (callgrind); now 541 and 549, 575.5 and
  // 567.5. The HAMT update it calls stays out of line.
  PERSIST_BASE_ALWAYS_INLINE typename F::template Token<T> set(T value) const {
    using Slot = SlotOf<F>;
    // T's move constructor runs first: it may use contextvars too.
    ValueRef boxed = MakeValueRef<T>(std::move(value));
    StateOf<F>* state = Slot::Current();
    ValueRef old = state->vars.Exchange(key_, std::move(boxed));
    Slot::Invalidate();
    return typename F::template Token<T>(
        PrivateTag(), static_cast<const typename F::template Var<T>&>(*this),
        id_, state->id(), std::move(old));
  }

  void reset(BasicToken<T, F>& token) const {
    using Slot = SlotOf<F>;
    if (token.used_) throw TokenUsedError(name());
    if (token.var_id_ != id_) throw TokenVarMismatchError(name());
    StateOf<F>* state = Slot::Current();
    if (token.context_id_ != state->id()) {
      throw TokenContextMismatchError(name());
    }
    // The value that leaves the context is destroyed (user code) when this
    // function returns: after the mapping, the cache and the token are
    // consistent.
    const ValueRef replaced =
        token.old_.box ? state->vars.Exchange(key_, ValueRef(token.old_))
                       : state->vars.Erase(key_);
    Slot::Invalidate();
    token.used_ = true;
  }

  // set(value) now, reset() when the returned guard goes out of scope.
  BasicScopedSet<T, F> scoped_set(T value) const {
    return BasicScopedSet<T, F>(*this, std::move(value));
  }

 private:
  friend class BasicContext<F>;
  template <class>
  friend class ContextEntry;

  // Small trivially copyable values (ints, pointers, enums) are copied into
  // the get() cache entry, saving a dependent load on a hit; other values are
  // cached as a pointer into the box.
  static constexpr bool kValueInCache =
      std::is_trivially_copyable<T>::value &&
      std::is_trivially_default_constructible<T>::value &&
      sizeof(T) <= sizeof(GetCacheEntry::value);

  template <class OnAbsent>
  T GetOr(OnAbsent on_absent) const {
    if constexpr (F::kCacheGets) {
      const GetCacheEntry& entry = SlotOf<F>::cache_entry_at(cache_offset_);
      if (PERSIST_BASE_PREDICT_TRUE(entry.tag == id_)) {
        if constexpr (kValueInCache) {
          T value;
          std::memcpy(&value, entry.value, sizeof(T));
          return value;
        } else {
          const T* value;
          std::memcpy(&value, entry.value, sizeof(value));
          return *value;
        }
      }
      if (entry.tag != (id_ | kAbsentTag)) {
        if (const T* value = FindAndCache()) return *value;
      }
      return on_absent();
    } else {
      if (const T* value = Find()) return *value;
      return on_absent();
    }
  }

  // The value in the current context, nullptr when it has none.
  const T* Find() const {
    const ValueRef* ref = SlotOf<F>::Current()->vars.Find(key_);
    return ref != nullptr ? &ref->template get<T>() : nullptr;
  }

  PERSIST_BASE_NOINLINE T DefaultOrThrow() const {
    if (default_) return *default_;
    throw LookupError(name());
  }

  PERSIST_BASE_NOINLINE const T* FindAndCache() const {
    const T* value = Find();
    if (value == nullptr) {
      SlotOf<F>::Fill(id_, id_ | kAbsentTag);
    } else {
      GetCacheEntry& entry = SlotOf<F>::Fill(id_, id_);
      if constexpr (kValueInCache) {
        std::memcpy(entry.value, value, sizeof(T));
      } else {
        std::memcpy(entry.value, &value, sizeof(value));
      }
    }
    return value;
  }

  VarKey key_;
  uint64_t id_;  // key_->id(), without the indirection
  // SlotOf<F>::CacheOffsetOf(id_): a cached get() is 8 instructions (9 with
  // g++), not 10.
  uint32_t cache_offset_;
  std::optional<T> default_;
};

template <class T, class F>
class BasicToken {
 public:
  using Var = typename F::template Var<T>;

  BasicToken(PrivateTag, const Var& var, uint64_t var_id, uint64_t context_id,
             ValueRef old)
      : var_(&var),
        var_id_(var_id),
        context_id_(context_id),
        old_(std::move(old)) {}

  // Move-only: one set() is undone at most once. A moved-from token is
  // used().
  BasicToken(BasicToken&& other) noexcept
      : var_(other.var_),
        var_id_(other.var_id_),
        context_id_(other.context_id_),
        old_(std::move(other.old_)),
        used_(std::exchange(other.used_, true)) {}
  BasicToken& operator=(BasicToken&& other) noexcept {
    // This token's old value is dropped (user code) once it is the new one.
    ValueRef dropped = std::exchange(old_, std::move(other.old_));
    var_ = other.var_;
    var_id_ = other.var_id_;
    context_id_ = other.context_id_;
    used_ = std::exchange(other.used_, true);
    return *this;
  }

  // The variable that made the token (valid while that variable lives).
  const Var& var() const noexcept { return *var_; }
  // The value before set(); empty when the variable had none (PEP 567's
  // Token.MISSING).
  std::optional<T> old_value() const {
    if (!old_.box) return std::nullopt;
    return old_.template get<T>();
  }
  bool used() const noexcept { return used_; }

 private:
  friend class BasicContextVar<T, F>;

  const Var* var_;
  uint64_t var_id_;
  uint64_t context_id_;
  ValueRef old_;
  bool used_ = false;
};

template <class T, class F>
class BasicScopedSet {
 public:
  BasicScopedSet(const BasicContextVar<T, F>& var, T value)
      : var_(var), token_(var.set(std::move(value))) {}
  BasicScopedSet(const BasicScopedSet&) = delete;
  BasicScopedSet& operator=(const BasicScopedSet&) = delete;
  // Resets the variable. Throws (so std::terminate()s) when the current
  // context is not the one it was set in: a guard must not outlive its
  // context.
  ~BasicScopedSet() { var_.reset(token_); }

  const typename F::template Token<T>& token() const noexcept { return token_; }

 private:
  const BasicContextVar<T, F>& var_;
  typename F::template Token<T> token_;
};

// One variable and its value, as seen when iterating a Context.
template <class F>
class ContextEntry {
 public:
  ContextEntry(const VarKey& key, const ValueRef& value)
      : key_(&key), value_(&value) {}

  // The variable's name, even when the variable was destroyed.
  const std::string& name() const noexcept { return (*key_)->name(); }
  // The type of the value (the variable's T).
  const std::type_info& type() const noexcept { return value_->box->type(); }

  // Whether this is the entry of `var`.
  template <class T>
  bool holds(const BasicContextVar<T, F>& var) const noexcept {
    return key_->get() == var.key_.get();
  }
  // This entry's value as `var`'s type; nullptr unless holds(var).
  template <class T>
  const T* get_if(const BasicContextVar<T, F>& var) const noexcept {
    return holds(var) ? &value_->template get<T>() : nullptr;
  }
  // This entry's value; throws std::invalid_argument unless holds(var).
  template <class T>
  const T& value(const BasicContextVar<T, F>& var) const {
    if (!holds(var)) {
      throw std::invalid_argument(
          "contextvars: the Context entry of '" + name() +
          "' is not the value of ContextVar '" + var.name() + "'");
    }
    return value_->template get<T>();
  }

 private:
  const VarKey* key_;
  const ValueRef* value_;
};

template <class F>
class BasicContext {
  using State = StateOf<F>;
  using Slot = SlotOf<F>;

 public:
  using Entry = ContextEntry<F>;
  class iterator;
  using const_iterator = iterator;

  // A new, empty context.
  BasicContext() : state_(new State()) {}
  BasicContext(PrivateTag, RefPtr<State> state) : state_(std::move(state)) {}

  // A handle is never empty: moving copies it.
  BasicContext(const BasicContext&) = default;
  BasicContext(BasicContext&& other) noexcept : state_(other.state_) {}
  BasicContext& operator=(const BasicContext&) = default;
  BasicContext& operator=(BasicContext&& other) noexcept {
    state_ = other.state_;
    return *this;
  }

  // A new context with the same contents. O(1).
  typename F::Context copy() const {
    return typename F::Context(PrivateTag(),
                               RefPtr<State>(new State(state_->vars)));
  }

  // Calls std::invoke(fn, args...) with this context as the calling thread's
  // current context, then restores the previous one (also when fn throws).
  template <class Fn, class... Args>
  decltype(auto) run(Fn&& fn, Args&&... args) const {
    EnterGuard guard(state_.get());
    return std::invoke(std::forward<Fn>(fn), std::forward<Args>(args)...);
  }

  size_t size() const { return state_->vars.size(); }
  bool empty() const { return size() == 0; }

  template <class T>
  bool contains(const BasicContextVar<T, F>& var) const {
    return state_->vars.Find(var.key_) != nullptr;
  }
  template <class T>
  std::optional<T> get(const BasicContextVar<T, F>& var) const {
    const ValueRef* found = state_->vars.Find(var.key_);
    if (found == nullptr) return std::nullopt;
    // Keeps the value alive while T's copy constructor runs, whatever it does.
    const ValueRef ref = *found;
    return ref.template get<T>();
  }
  // Valid until the next set()/reset() in this context.
  template <class T>
  const T& at(const BasicContextVar<T, F>& var) const {
    const ValueRef* ref = state_->vars.Find(var.key_);
    if (ref == nullptr) {
      throw LookupError(var.name(), "contextvars: ContextVar '" + var.name() +
                                        "' has no value in this Context");
    }
    return ref->template get<T>();
  }

  // Iterates the contents at the call (the iterator holds a snapshot, O(1)).
  iterator begin() const { return iterator(state_->vars); }
  iterator end() const { return iterator(); }

  // Same variables with equal values (see ValueBox::Equals). The values'
  // operator== runs after the contents at the call have been matched up.
  friend bool operator==(const BasicContext& a, const BasicContext& b) {
    return a.state_ == b.state_ ||
           F::Mapping::Equal(a.state_->vars, b.state_->vars);
  }
  friend bool operator!=(const BasicContext& a, const BasicContext& b) {
    return !(a == b);
  }

  // Whether both handles name the same context (Python's `is`).
  bool is(const BasicContext& other) const noexcept {
    return state_ == other.state_;
  }

 private:
  friend struct CurrentContextOps<F>;

  class EnterGuard {
   public:
    explicit EnterGuard(State* state) : state_(state) {
      Slot::Current();  // may allocate: before anything needs undoing
      if (state->entered.exchange(true, std::memory_order_acq_rel)) {
        throw ContextAlreadyEnteredError();
      }
      state->AddRef();
      previous_ = Slot::Exchange(state);
    }
    EnterGuard(const EnterGuard&) = delete;
    EnterGuard& operator=(const EnterGuard&) = delete;
    ~EnterGuard() {
      // With symmetric fiber switches the current context is state_ again.
      State* current = Slot::Exchange(previous_);
      state_->entered.store(false, std::memory_order_release);
      RefPtr<State>::Drop(current);
    }

   private:
    State* state_;
    State* previous_;
  };

  RefPtr<State> state_;
};

// Holds a copy of the mapping it iterates (O(1)), so the entries stay valid
// and in place while the context changes (e.g. the loop body sets variables
// in the context it iterates).
template <class F>
class BasicContext<F>::iterator {
  using Mapping = typename F::Mapping;
  using MappingIterator = typename Mapping::const_iterator;

 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = Entry;
  using difference_type = std::ptrdiff_t;
  using reference = Entry;
  struct pointer {
    Entry entry;
    const Entry* operator->() const noexcept { return &entry; }
  };

  // The end iterator.
  iterator() : it_(snapshot_.end()) {}
  explicit iterator(const Mapping& mapping)
      : snapshot_(mapping), it_(snapshot_.begin()) {}
  iterator(const iterator& other)
      : snapshot_(other.snapshot_), it_(other.it_) {}
  iterator& operator=(const iterator& other) {
    iterator copy(other);
    std::swap(snapshot_, copy.snapshot_);
    std::swap(it_, copy.it_);
    return *this;
  }

  Entry operator*() const {
    const auto& key_and_value = *it_;
    return Entry(key_and_value.first, key_and_value.second);
  }
  pointer operator->() const { return pointer{**this}; }
  iterator& operator++() {
    ++it_;
    return *this;
  }
  iterator operator++(int) {
    iterator old = *this;
    ++it_;
    return old;
  }
  friend bool operator==(const iterator& a, const iterator& b) {
    const bool a_done = a.done();
    const bool b_done = b.done();
    if (a_done || b_done) return a_done == b_done;
    return a.it_ == b.it_;
  }
  friend bool operator!=(const iterator& a, const iterator& b) {
    return !(a == b);
  }

 private:
  // Iterators of different snapshots are compared only at the end.
  bool done() const { return it_ == snapshot_.end(); }

  Mapping snapshot_;
  MappingIterator it_;
};

template <class F>
struct CurrentContextOps {
  using State = StateOf<F>;
  using Slot = SlotOf<F>;

  static typename F::Context CopyCurrent() {
    return typename F::Context(PrivateTag(),
                               RefPtr<State>(new State(Slot::Current()->vars)));
  }

  static void Swap(BasicContext<F>& slot) noexcept {
    // The slot's reference goes to the thread and the thread's to the slot;
    // releasing only after Exchange() lets the compiler see that the
    // assignment drops nothing.
    State* outgoing = Slot::Exchange(slot.state_.get());
    slot.state_.release();
    slot.state_ = RefPtr<State>::Adopt(outgoing);
  }

  template <class Fn>
  static auto Wrap(Fn fn) {
    return [snapshot = CopyCurrent(),
            fn = std::move(fn)](auto&&... args) mutable -> decltype(auto) {
      return snapshot.copy().run(fn, std::forward<decltype(args)>(args)...);
    };
  }
};

}  // namespace internal
}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_INTERNAL_BASIC_CONTEXT_H_
