#include "python/internal/thread_setup.h"

#include <cstring>
#include <new>

#include "contextvars/contextvars.h"
#include "python/internal/deferred_decref.h"
#include "python/internal/greenlet_local.h"

namespace persist_python {
namespace internal {
namespace {

PyTypeObject ThreadEndType;

void ThreadEndDealloc(PyObject* object) {
  try {
    contextvars::Context empty;
    contextvars::swap_current_context(empty);  // `empty` now holds the
  } catch (const std::bad_alloc&) {            // thread's context: dropped
    // No memory for an empty context: the C++ layer releases the thread's
    // context at OS thread exit instead (values then queued, see
    // deferred_decref.h).
  }
  PyObject_Free(object);
  DeferredDecref::Drain();
}

}  // namespace

int InitThreadSetup() {
  std::memset(static_cast<void*>(&ThreadEndType), 0, sizeof(ThreadEndType));
  Py_SET_REFCNT(reinterpret_cast<PyObject*>(&ThreadEndType), 1);
  ThreadEndType.tp_name = "persist._persist.ThreadEnd";
  ThreadEndType.tp_basicsize = sizeof(PyObject);
  ThreadEndType.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE;
  ThreadEndType.tp_dealloc = ThreadEndDealloc;
  return PyType_Ready(&ThreadEndType);
}

int PrepareThreadSlow(PyThreadState* thread_state) {
  PyObject* thread_dict = PyThreadState_GetDict();  // borrowed
  if (thread_dict == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "persist: no thread state dict");
    return -1;
  }
  PyObject* key = reinterpret_cast<PyObject*>(&ThreadEndType);
  PyObject* thread_end = PyObject_New(PyObject, &ThreadEndType);
  if (thread_end == nullptr) return -1;
  int stored = PyDict_SetItem(thread_dict, key, thread_end);
  Py_DECREF(thread_end);
  if (stored < 0 || InstallGreenletTracer() < 0) return -1;
  prepared_thread_state = thread_state->id;
  return 0;
}

}  // namespace internal
}  // namespace persist_python
