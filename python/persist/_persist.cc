// persist._persist: the C++ extension module of the `persist` package. The
// public names are re-exported by the package's Python modules
// (persist/contextvars.py, ...). The types are set up by the functions
// listed in python/module.h.

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "python/internal/deferred_decref.h"
#include "python/module.h"

namespace {

PyModuleDef persist_module_def = {
    PyModuleDef_HEAD_INIT,
    "persist._persist",
    "C++ types of the persist package, on the persist C++ library.",
    -1,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__persist() {
  PyObject* module = PyModule_Create(&persist_module_def);
  if (module == nullptr) return nullptr;
  if (persist_python::internal::DeferredDecref::Init() < 0) {
    Py_DECREF(module);
    PyErr_SetString(PyExc_RuntimeError, "persist: Py_AtExit failed");
    return nullptr;
  }
  for (persist_python::TypeInit init : persist_python::kTypeInits) {
    if (init(module) < 0) {
      Py_DECREF(module);
      return nullptr;
    }
  }
  return module;
}
