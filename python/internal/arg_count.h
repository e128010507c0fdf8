// The positional argument count check of the module's METH_FASTCALL methods,
// with CPython's messages: "get expected at most 2 arguments, got 3",
// "set expected 2 arguments, got 1".
//
// Example:
//   if (!internal::CheckArgCount("get", nargs, 1, 2)) return nullptr;

#ifndef PERSIST_PYTHON_INTERNAL_ARG_COUNT_H_
#define PERSIST_PYTHON_INTERNAL_ARG_COUNT_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "base/optimization.h"

namespace persist_python {
namespace internal {

// Sets the TypeError for `nargs` outside [min, max]; returns false. Out of
// line: the check is on every call's path, the message on none but errors.
PERSIST_BASE_NOINLINE inline bool SetArgCountError(const char* name,
                                                   Py_ssize_t nargs,
                                                   Py_ssize_t min,
                                                   Py_ssize_t max) {
  if (min == max) {
    PyErr_Format(PyExc_TypeError, "%s expected %zd argument%s, got %zd", name,
                 min, min == 1 ? "" : "s", nargs);
  } else if (nargs < min) {
    PyErr_Format(PyExc_TypeError,
                 "%s expected at least %zd argument%s, got %zd", name, min,
                 min == 1 ? "" : "s", nargs);
  } else {
    PyErr_Format(PyExc_TypeError, "%s expected at most %zd argument%s, got %zd",
                 name, max, max == 1 ? "" : "s", nargs);
  }
  return false;
}

// Whether min <= nargs <= max; else false with a TypeError set that names
// the method `name`.
inline bool CheckArgCount(const char* name, Py_ssize_t nargs, Py_ssize_t min,
                          Py_ssize_t max) {
  if (PERSIST_BASE_PREDICT_TRUE(nargs >= min && nargs <= max)) return true;
  return SetArgCountError(name, nargs, min, max);
}

}  // namespace internal
}  // namespace persist_python

#endif  // PERSIST_PYTHON_INTERNAL_ARG_COUNT_H_
