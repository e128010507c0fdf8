// contextvars::naive: the reference implementation of contextvars, done the
// way the Python seed (gevent.contextvars) does it: a context's mapping is an
// immutable std::unordered_map that copies share and that every set() or
// reset() copies whole, and get() looks the variable up in it every time (no
// cache).
//
// The API, semantics, errors and thread-safety are exactly those of
// contextvars/contextvars.h (read it there); only the complexity differs:
// set()/reset() O(n) in the number of variables in the current context;
// get() O(1) expected but always a hash lookup; copy(), copy_context(), run()
// and swap_current_context() O(1). It is the benchmark baseline and the
// oracle of the property tests; generic code can be written over both,
// e.g. with a template parameter naming the namespace's classes.
//
//   contextvars::naive::ContextVar<int> var("var", 0);
//   auto token = var.set(1);
//   contextvars::naive::copy_context().run([&] { var.set(2); });
//   var.reset(token);  // var.get() == 0

#ifndef PERSIST_CONTEXTVARS_NAIVE_CONTEXTVARS_H_
#define PERSIST_CONTEXTVARS_NAIVE_CONTEXTVARS_H_

#include <string>
#include <utility>

#include "contextvars/internal/basic_context.h"
#include "contextvars/internal/errors.h"
#include "contextvars/internal/naive_mapping.h"

namespace contextvars {
namespace naive {

using contextvars::ContextAlreadyEnteredError;
using contextvars::LookupError;
using contextvars::TokenContextMismatchError;
using contextvars::TokenUsedError;
using contextvars::TokenVarMismatchError;

class Context;
template <class T>
class ContextVar;
template <class T>
class Token;

namespace naive_internal {
struct NaiveFamily {
  using Mapping = internal::NaiveMapping;
  using Context = naive::Context;
  template <class T>
  using Var = naive::ContextVar<T>;
  template <class T>
  using Token = naive::Token<T>;
  static constexpr bool kCacheGets = false;
};
}  // namespace naive_internal

class Context final
    : public internal::BasicContext<naive_internal::NaiveFamily> {
 public:
  using BasicContext::BasicContext;
};

template <class T>
class ContextVar final
    : public internal::BasicContextVar<T, naive_internal::NaiveFamily> {
 public:
  using internal::BasicContextVar<T,
                                  naive_internal::NaiveFamily>::BasicContextVar;
};

template <class T>
class Token final
    : public internal::BasicToken<T, naive_internal::NaiveFamily> {
 public:
  using internal::BasicToken<T, naive_internal::NaiveFamily>::BasicToken;
};

template <class T>
using ScopedSet = internal::BasicScopedSet<T, naive_internal::NaiveFamily>;

inline Context copy_context() {
  return internal::CurrentContextOps<
      naive_internal::NaiveFamily>::CopyCurrent();
}

inline void swap_current_context(Context& slot) noexcept {
  internal::CurrentContextOps<naive_internal::NaiveFamily>::Swap(slot);
}

template <class Fn>
auto wrap(Fn fn) {
  return internal::CurrentContextOps<naive_internal::NaiveFamily>::Wrap(
      std::move(fn));
}

}  // namespace naive
}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_NAIVE_CONTEXTVARS_H_
