#include "python/internal/greenlet_local.h"

#include <new>
#include <utility>

#include "contextvars/contextvars.h"
#include "python/contextvars_type.h"

namespace persist_python {
namespace internal {
namespace {

PyObject* greenlet_settrace = nullptr;  // greenlet.settrace, or nullptr
PyObject* greenlet_gettrace = nullptr;

// Moves the thread's current context from `origin` to its __dict__ and
// makes `target`'s the current one. All fallible steps come before the
// swap, so a failure leaves the contexts where they were.
int SwapGreenletContexts(PyObject* origin, PyObject* target) {
  PyObject* key = reinterpret_cast<PyObject*>(&ContextType);
  PyObject* target_dict = PyObject_GenericGetDict(target, nullptr);
  if (target_dict == nullptr) return -1;
  PyObject* origin_dict = PyObject_GenericGetDict(origin, nullptr);
  if (origin_dict == nullptr) {
    Py_DECREF(target_dict);
    return -1;
  }
  int result = -1;
  PyObject* slot = PyDict_GetItemWithError(target_dict, key);
  bool from_target = slot != nullptr;
  if (from_target) {
    Py_INCREF(slot);
  } else if (!PyErr_Occurred()) {
    slot = NewEmptyContextObject();
  }
  if (slot != nullptr) {
    if (PyDict_SetItem(origin_dict, key, slot) == 0 &&
        (!from_target || PyDict_DelItem(target_dict, key) == 0)) {
      contextvars::swap_current_context(
          reinterpret_cast<ContextObject*>(slot)->context.get());
      result = 0;
    }
    Py_DECREF(slot);
  }
  Py_DECREF(origin_dict);
  Py_DECREF(target_dict);
  return result;
}

// The tracer: `previous` is the tracer installed before ours, or None.
PyObject* GreenletTrace(PyObject* previous, PyObject* const* args,
                        Py_ssize_t nargs) {
  if (nargs == 2 && PyTuple_CheckExact(args[1]) &&
      PyTuple_GET_SIZE(args[1]) == 2) {
    PyObject* origin = PyTuple_GET_ITEM(args[1], 0);
    PyObject* target = PyTuple_GET_ITEM(args[1], 1);
    if (origin != target) {
      bool failed;
      try {
        failed = SwapGreenletContexts(origin, target) < 0;
      } catch (const std::bad_alloc&) {
        PyErr_NoMemory();
        failed = true;
      }
      DeferredDecref::Drain();
      if (failed) return nullptr;
    }
  }
  if (previous != Py_None)
    return PyObject_Vectorcall(previous, args, nargs, nullptr);
  Py_RETURN_NONE;
}

PyMethodDef greenlet_trace_def = {
    "persist_contextvars_greenlet_trace",
    reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(GreenletTrace)),
    METH_FASTCALL,
    "Swaps persist.contextvars' current context on greenlet switches.",
};

}  // namespace

int InitGreenletLocal(PyObject*) {
  PyObject* greenlet = PyImport_ImportModule("greenlet");
  if (greenlet == nullptr) {
    if (!PyErr_ExceptionMatches(PyExc_ImportError)) return -1;
    PyErr_Clear();  // optional: thread-local without it
    return 0;
  }
  greenlet_settrace = PyObject_GetAttrString(greenlet, "settrace");
  greenlet_gettrace = PyObject_GetAttrString(greenlet, "gettrace");
  Py_DECREF(greenlet);
  if (greenlet_settrace == nullptr || greenlet_gettrace == nullptr) {
    Py_CLEAR(greenlet_settrace);
    Py_CLEAR(greenlet_gettrace);
    return -1;
  }
  return 0;
}

bool GreenletLocalEnabled() { return greenlet_settrace != nullptr; }

int InstallGreenletTracer() {
  if (greenlet_settrace == nullptr) return 0;
  PyObject* previous = PyObject_CallNoArgs(greenlet_gettrace);
  if (previous == nullptr) return -1;
  if (PyCFunction_Check(previous) &&
      reinterpret_cast<PyCFunctionObject*>(previous)->m_ml ==
          &greenlet_trace_def) {
    Py_DECREF(previous);  // installed for an earlier thread state
    return 0;
  }
  PyObject* tracer = PyCFunction_NewEx(&greenlet_trace_def, previous, nullptr);
  Py_DECREF(previous);
  if (tracer == nullptr) return -1;
  PyObject* replaced = PyObject_CallOneArg(greenlet_settrace, tracer);
  Py_DECREF(tracer);
  if (replaced == nullptr) return -1;
  Py_DECREF(replaced);
  return 0;
}

}  // namespace internal
}  // namespace persist_python
