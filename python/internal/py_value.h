// PyValue: the C++ value type (the T of contextvars::ContextVar<T>) that
// persist.contextvars keeps in its contexts.
//
// It owns two references: the Python ContextVar the value was set for and
// the value itself. Keeping the variable in the value keeps the variable
// alive for as long as some context holds a value for it (as CPython's
// contexts hold their keys), so iterating a context can always hand out the
// variable object. Copies (the C++ get() returns T by value) only increment
// reference counts and so need the GIL, which every caller holds; the
// destructor defers its decrements (see deferred_decref.h), so it is safe
// anywhere, even without the GIL.
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
  PyValue(PyObject* var, PyObject* value) noexcept
      : var_(var), value_(value) {}

  PyValue(const PyValue& other) noexcept
      : var_(other.var_), value_(other.value_) {
    Py_XINCREF(var_);
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
    if (var_ != nullptr) DeferredDecref::Add(var_);
    if (value_ != nullptr) DeferredDecref::Add(value_);
  }

  bool has_value() const noexcept { return value_ != nullptr; }
  PyObject* var() const noexcept { return var_; }      // borrowed
  PyObject* value() const noexcept { return value_; }  // borrowed

  // The value as a new reference, leaving this empty. The variable's
  // reference is dropped at once: the caller guarantees it is not the last
  // (the context the copy came from still holds one).
  PyObject* ReleaseValue() && noexcept {
    Py_XDECREF(std::exchange(var_, nullptr));
    return std::exchange(value_, nullptr);
  }

 private:
  PyObject* var_ = nullptr;
  PyObject* value_ = nullptr;
};

}  // namespace internal
}  // namespace persist_python

#endif  // PERSIST_PYTHON_INTERNAL_PY_VALUE_H_
