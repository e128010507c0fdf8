// The exceptions thrown by contextvars and contextvars::naive (one set of
// types for both, so generic code catches the same errors). Included by the
// public headers; documented in contextvars/contextvars.h.

#ifndef PERSIST_CONTEXTVARS_INTERNAL_ERRORS_H_
#define PERSIST_CONTEXTVARS_INTERNAL_ERRORS_H_

#include <stdexcept>
#include <string>

namespace contextvars {

// PEP 567's LookupError: ContextVar::get() or Context::at() found no value
// (and, for get(), no default).
class LookupError : public std::out_of_range {
 public:
  explicit LookupError(const std::string& var_name)
      : std::out_of_range("contextvars: ContextVar '" + var_name +
                          "' has no value in the current context"),
        var_name_(var_name) {}
  LookupError(const std::string& var_name, const std::string& message)
      : std::out_of_range(message), var_name_(var_name) {}
  const std::string& var_name() const noexcept { return var_name_; }

 private:
  std::string var_name_;
};

// PEP 567's RuntimeError for ContextVar::reset() with a token already used.
class TokenUsedError : public std::runtime_error {
 public:
  explicit TokenUsedError(const std::string& var_name)
      : std::runtime_error("contextvars: Token for ContextVar '" + var_name +
                           "' has already been used once") {}
};

// PEP 567's ValueError for ContextVar::reset() with a token of another
// variable.
class TokenVarMismatchError : public std::invalid_argument {
 public:
  explicit TokenVarMismatchError(const std::string& var_name)
      : std::invalid_argument(
            "contextvars: Token passed to reset() of ContextVar '" + var_name +
            "' was created by a different ContextVar") {}
};

// PEP 567's ValueError for ContextVar::reset() with a token created in
// another Context than the current one.
class TokenContextMismatchError : public std::invalid_argument {
 public:
  explicit TokenContextMismatchError(const std::string& var_name)
      : std::invalid_argument("contextvars: Token for ContextVar '" + var_name +
                              "' was created in a different Context") {}
};

// PEP 567's RuntimeError for Context::run() on a context that is already
// entered (by a run() in any thread or suspended fiber).
class ContextAlreadyEnteredError : public std::runtime_error {
 public:
  ContextAlreadyEnteredError()
      : std::runtime_error(
            "contextvars: cannot enter the Context: it is already entered") {}
};

}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_INTERNAL_ERRORS_H_
