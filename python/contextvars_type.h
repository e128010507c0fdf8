// The objects of persist.contextvars (python/contextvars_type.cc), shared
// with the greenlet-local switching (python/internal/greenlet_local.cc).
//
// Each Python object embeds its C++ counterpart of contextvars/:
//   ContextVar -> contextvars::ContextVar<PyValue>, whose C++ name holds the
//                 address of the Python object (the Python name is kept on
//                 the Python object), so iterating a C++ Context finds the
//                 Python variable of each entry without a registry;
//   Token      -> contextvars::Token<PyValue>;
//   Context    -> contextvars::Context (a handle: the Python object returned
//                 by copy_context() shares its state with nobody else, the
//                 one given to run() is the thread's current context while
//                 the callable runs).
// The default value of a ContextVar is kept on the Python object, not in the
// C++ variable, so the garbage collector can see it.

#ifndef PERSIST_PYTHON_CONTEXTVARS_TYPE_H_
#define PERSIST_PYTHON_CONTEXTVARS_TYPE_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "contextvars/contextvars.h"
#include "python/internal/embedded.h"
#include "python/internal/py_value.h"

namespace persist_python {

using CxxContextVar = contextvars::ContextVar<internal::PyValue>;
using CxxToken = contextvars::Token<internal::PyValue>;

struct ContextVarObject {
  PyObject_HEAD PyObject* name;  // a str
  PyObject* default_value;       // nullptr: no default
  bool constructed;              // `var` was constructed
  internal::Embedded<CxxContextVar> var;
};

struct TokenObject {
  PyObject_HEAD ContextVarObject* var;
  bool constructed;
  internal::Embedded<CxxToken> token;
};

struct ContextObject {
  PyObject_HEAD PyObject*
      weakrefs;  // Contexts support weak references, as CPython's do
  internal::Embedded<contextvars::Context> context;  // always constructed
};

extern PyTypeObject ContextVarType;
extern PyTypeObject TokenType;
extern PyTypeObject ContextType;

// A new Context object holding a new empty context; nullptr with an
// exception set.
PyObject* NewEmptyContextObject();

}  // namespace persist_python

#endif  // PERSIST_PYTHON_CONTEXTVARS_TYPE_H_
