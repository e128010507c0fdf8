// The types of the `persist` extension module (persist._persist) and where
// each is set up. The module's init (python/persist/_persist.cc) calls every
// function of kTypeInits in order; each adds its types and functions to the
// module and returns 0, or sets a Python exception and returns -1.
//
// To add a C++ type (persist.Map, ...): write python/<name>_type.cc with
// `int Init<Name>(PyObject* module)`, declare it here, append it to
// kTypeInits, and add the .cc file to the source lists in python/setup.py
// and python/CMakeLists.txt (see python/README.md).

#ifndef PERSIST_PYTHON_MODULE_H_
#define PERSIST_PYTHON_MODULE_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace persist_python {

// persist.contextvars: ContextVar, Token, Context, copy_context
// (python/contextvars_type.cc).
int InitContextvars(PyObject* module);

// persist.Map, persist.MapMutation (python/map_type.cc).
int InitMap(PyObject* module);

using TypeInit = int (*)(PyObject* module);
inline constexpr TypeInit kTypeInits[] = {
    InitContextvars,
    InitMap,
};

}  // namespace persist_python

#endif  // PERSIST_PYTHON_MODULE_H_
