// contextvars: PEP 567 context variables for C++17, on a persistent HAMT.
//
// A ContextVar<T> is a key; its value lives in the calling thread's (or
// fiber's) current Context, a persistent map from variables to values. Code
// that runs in a copy of a context sees the values set before the copy and
// its own later sets, and its sets never leak back. This is the C++ face of
// Python's `contextvars` module, with PEP 567's semantics:
//
//   contextvars::ContextVar<std::string> request_id("request_id", "-");
//
//   void Handle(const Request& request) {
//     auto scoped = request_id.scoped_set(request.id);  // reset at scope exit
//     Log("handling");             // Log() reads request_id.get()
//     pool.Submit(contextvars::wrap([] { Log("in the pool"); }));
//   }
//
//   contextvars::ContextVar<int> var("var");
//   contextvars::Context ctx = contextvars::copy_context();
//   int n = ctx.run([&](int x) { var.set(x); return x + 1; }, 41);
//   ctx.get(var);  // std::optional<int>(41); the caller's context is intact
//
// API (T is any copy-constructible type):
//
//   ContextVar<T>(std::string name);  ContextVar<T>(std::string name, T dflt);
//     name(); has_default();
//     T get() const;            // value, else default, else throws LookupError
//     T get(T fallback) const;  // value, else fallback (PEP 567 order: the
//                               // fallback wins over the default)
//     Token<T> set(T) const;    // sets the value in the current context
//     void reset(Token<T>&) const;
//     ScopedSet<T> scoped_set(T) const;  // set() now, reset() at scope exit
//   Token<T>: var(), old_value() -> std::optional<T> (empty is PEP 567's
//     Token.MISSING), used().
//   Context: a handle; copies of the handle name the same context.
//     Context();          // a new empty context
//     copy();             // a new context with the same contents, O(1)
//     run(f, args...);    // std::invoke(f, args...) inside this context
//     size(), empty(), contains(var), get(var) -> std::optional<T>,
//     at(var) -> const T& (throws LookupError), begin()/end() over Entry,
//     operator== (same contents), is(other) (same context).
//   Context::Entry: name(), type(), holds(var), get_if(var) -> const T*,
//     value(var) -> const T& (throws std::invalid_argument unless holds(var)).
//   copy_context();                          // copy of the current context
//   wrap(f);                                 // f, to run in a copy of the
//                                            // context captured now
//   swap_current_context(Context& slot) noexcept;  // for fibers, below
//
// Errors (contextvars/internal/errors.h), all naming the variable:
//   LookupError : std::out_of_range  -- get()/at() without a value.
//   TokenUsedError : std::runtime_error  -- reset() with a used token.
//   TokenVarMismatchError : std::invalid_argument  -- token of another var.
//   TokenContextMismatchError : std::invalid_argument  -- token created in
//     another context than the current one.
//   ContextAlreadyEnteredError : std::runtime_error  -- run() on a context
//     that is already entered, in this thread or any other.
// A reset() that throws changes nothing.
//
// Choices C++ needed (Python's answers where it has one):
// - ContextVar is neither copyable nor movable (it is an identity), and get,
//   set and reset are const: they change the current Context, never the
//   variable. A variable may be destroyed while contexts hold its value:
//   contexts keep a reference to its identity (id and name), so iterating
//   still shows its name; its tokens' var() then dangles.
// - get() returns T by value; Context::at() and Entry::value() return a
//   reference that is valid until the next set()/reset() in that context.
// - Context is a handle and never empty: moving one copies the handle.
// - Token is move-only (a moved-from token is used()), so one set() is undone
//   at most once. Python's Token is a reference; pass ours by reference.
// - Equality of values (Context::operator==) uses T's operator== when T has
//   one, captured when the value is set; otherwise two values are equal only
//   when they are the same set() (identity). set() never compares values:
//   setting an equal value replaces it.
// - Iterating a Context iterates its contents at begin(): the iterator holds
//   an O(1) snapshot, so the loop body may set and reset variables in the
//   context it iterates, and entries stay valid while the iterator lives.
//   Order is unspecified.
// - wrap(f) captures copy_context() once and runs each call of the result in
//   a fresh copy of it, so the wrapped callable may be called many times and
//   from several threads at once, and calls never see each other's sets.
// - ScopedSet must be destroyed in the context it was made in (it resets its
//   token there); otherwise the reset throws in a destructor: std::terminate.
//
// Re-entrancy: T's destructor, copy and move constructors and operator== are
// user code that may itself use contextvars (a tracing span kept in a
// ContextVar sets another variable when it closes). No operation runs them
// while its own state is half-changed, so a re-entrant call sees the state
// after the operation:
// - set(v): v is moved into the value's box before anything changes.
//   reset(token): the value it removes or replaces is destroyed when reset()
//   returns, after the context, the get() cache and the token (now used())
//   are updated; the destructor sees the restored value or no value.
//   ScopedSet's destructor is a reset(). The value a set() replaces is kept
//   by the returned token (and by every context that still holds it).
// - Context::operator== matches up both contents as they are at the call,
//   then calls T's operator== on the pairs that differ; what it sets lands
//   in the current context afterwards and does not affect the result.
// - A value is destroyed when the last context, iterator or token holding
//   it lets go. A context is released when its last handle or run() lets
//   go, and run() lets go only after it has restored the caller's context:
//   the destructors see and change the context current at that point (the
//   caller's, also for wrap()).
// - get() and Context::get() return a copy made by T's copy constructor (a
//   throwing copy changes nothing); Context::get() keeps the value alive
//   while it is copied. A copy constructor run by ContextVar::get() must not
//   replace or remove the very value it copies (set/reset the same variable
//   in the same context), for get() holds no reference to it.
// - Thread exit: the thread's reference to its current context is dropped
//   after the context is detached (the thread has no current context and no
//   cache). A destructor that then gets a variable sees an empty context (the
//   default); one that sets a variable sets it in a fresh context of the
//   dying thread, which is released the same way (its values destroyed, and
//   so on) before the thread ends. Nothing leaks. Code running after the C++
//   thread-exit destructors (pthread key destructors; in the main thread,
//   atexit handlers and static destructors) must not set variables: that
//   context would leak.
//
// Complexity: get() is O(1) when the per-thread cache hits (the common case:
// the same variable read again with no set, reset or context switch in
// between): one thread_local load and one compare, no atomics; O(log32 n)
// otherwise. set()/reset() O(log32 n) plus one allocation for the value.
// copy(), copy_context(), run() entry and exit, swap_current_context(): O(1)
// (they clear the cache entries this thread filled since the last change, at
// most 128). size(): O(1). operator==: O(n) at worst, skipping shared
// subtrees. get() returns a copy of T: for large T prefer a shared pointer.
//
// Thread-safety: every thread starts with its own empty context. Several
// threads may use the same ContextVar at once, and may copy, compare and
// inspect the same Context as long as no thread is changing it; a context
// changes only while it is current in some thread (run() makes that
// exclusive: a context can be entered once at a time, and entering
// synchronizes with the previous exit, so a context may be run by one thread
// after another). Token and ScopedSet are not thread-safe objects.
//
// Fibers: swap_current_context(slot) makes `slot`'s context the calling
// thread's current context and leaves the previous one in `slot`. O(1),
// noexcept (except that the thread's very first context is allocated on
// first use; if that fails, std::terminate), and it invalidates this
// thread's get() cache. A fiber keeps a Context member and swaps it in on
// resume and out on yield. swap_current_context() neither checks nor changes
// whether a context is entered: a context entered with run() inside a fiber
// stays entered while that fiber is suspended (its run() has not returned),
// so running it elsewhere meanwhile throws ContextAlreadyEnteredError; and
// the owner of a slot must not hand the context in it to run() elsewhere
// while it is swapped in. run() restores, when it returns, the context that
// was current when it was called, which is right as long as fiber switches
// are symmetric (every swap in is matched by a swap out on the same fiber).
//
// The naive reference implementation, with the same API, is in
// contextvars/naive/contextvars.h (namespace contextvars::naive).

#ifndef PERSIST_CONTEXTVARS_CONTEXTVARS_H_
#define PERSIST_CONTEXTVARS_CONTEXTVARS_H_

#include <string>
#include <utility>

#include "contextvars/internal/basic_context.h"
#include "contextvars/internal/errors.h"
#include "contextvars/internal/hamt_mapping.h"

namespace contextvars {

class Context;
template <class T>
class ContextVar;
template <class T>
class Token;

namespace internal {
struct HamtFamily {
  using Mapping = HamtMapping;
  using Context = contextvars::Context;
  template <class T>
  using Var = contextvars::ContextVar<T>;
  template <class T>
  using Token = contextvars::Token<T>;
  static constexpr bool kCacheGets = true;
};
}  // namespace internal

class Context final : public internal::BasicContext<internal::HamtFamily> {
 public:
  using BasicContext::BasicContext;
};

template <class T>
class ContextVar final
    : public internal::BasicContextVar<T, internal::HamtFamily> {
 public:
  using internal::BasicContextVar<T, internal::HamtFamily>::BasicContextVar;
};

template <class T>
class Token final : public internal::BasicToken<T, internal::HamtFamily> {
 public:
  using internal::BasicToken<T, internal::HamtFamily>::BasicToken;
};

template <class T>
using ScopedSet = internal::BasicScopedSet<T, internal::HamtFamily>;

// A copy of the calling thread's current context. O(1).
inline Context copy_context() {
  return internal::CurrentContextOps<internal::HamtFamily>::CopyCurrent();
}

// See "Fibers" above.
inline void swap_current_context(Context& slot) noexcept {
  internal::CurrentContextOps<internal::HamtFamily>::Swap(slot);
}

// A callable that calls `fn` with its arguments in a fresh copy of the
// context that was current when wrap() was called (for another thread or an
// executor), like copy_context().run(fn, args...).
template <class Fn>
auto wrap(Fn fn) {
  return internal::CurrentContextOps<internal::HamtFamily>::Wrap(std::move(fn));
}

}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_CONTEXTVARS_H_
