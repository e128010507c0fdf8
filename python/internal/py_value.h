// PyValue: the C++ value type (the T of contextvars::ContextVar<T>) that
// persist.contextvars keeps in its contexts.
//
// The value stored in a context (moved into its C++ box by set()) owns two
// references: the Python ContextVar it was set for and the value itself.
// Keeping the variable in the value keeps the variable alive for as long as
// some context holds a value for it (as CPython's contexts hold their keys),
// so iterating a context can always hand out the variable object.
//
// A copy holds the value only. Copies are what reads return (the C++ get()
// returns T by value; Token.old_value, Context[var]), and a read needs only
// the value: so ContextVar.get() costs one incref, as CPython's does. The C++
// layer never stores a copy (set() takes its argument by value, which the
// module moves in), so every stored value owns its variable. Copies change
// reference counts and so need the GIL, which every caller holds; the
// destructor defers the decrements that could run Python code (see
// deferred_decref.h), so it is safe anywhere, even without the GIL.
//
// PyValue has no operator==: the C++ layer then compares two values by
// identity (same set()), and Context.__eq__ compares values with Python's ==
// itself (python/contextvars_type.cc), where an exception can propagate.

#ifndef PERSIST_PYTHON_INTERNAL_PY_VALUE_H_
#define PERSIST_PYTHON_INTERNAL_PY_VALUE_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <utility>

#include "python/internal/deferred_decref.h"

namespace persist_python {
namespace internal {

class PyValue {
 public:
  // No variable and no value: the "absent" result of a lookup.
  PyValue() noexcept = default;
  // Takes ownership of a reference to each.
  PyValue(PyObject* var, PyObject* value) noexcept : var_(var), value_(value) {}

  // The value only (see above).
  PyValue(const PyValue& other) noexcept : value_(other.value_) {
    Py_XINCREF(value_);
  }
  PyValue(PyValue&& other) noexcept
      : var_(std::exchange(other.var_, nullptr)),
        value_(std::exchange(other.value_, nullptr)) {}
  PyValue& operator=(PyValue other) noexcept {
    std::swap(var_, other.var_);
    std::swap(value_, other.value_);
    return *this;
  }
  ~PyValue() {
    if (var_ != nullptr) DeferredDecref::Release(var_);
    if (value_ != nullptr) DeferredDecref::Release(value_);
  }

  bool has_value() const noexcept { return value_ != nullptr; }
  // Borrowed; nullptr in a copy.
  PyObject* var() const noexcept { return var_; }
  PyObject* value() const noexcept { return value_; }  // borrowed

  // The value as a new reference, leaving this without one.
  PyObject* ReleaseValue() && noexcept {
    return std::exchange(value_, nullptr);
  }

 private:
  PyObject* var_ = nullptr;
  PyObject* value_ = nullptr;
};

}  // namespace internal
}  // namespace persist_python

#endif  // PERSIST_PYTHON_INTERNAL_PY_VALUE_H_
