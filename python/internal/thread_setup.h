// What a thread needs before its current context may hold Python values:
// prepared by its first ContextVar.set() or Context.run().
//
// - The greenlet tracer (greenlet_local.h), when greenlet is installed.
// - A release of the thread's current context at the end of the thread,
//   while the thread still holds the GIL: an object kept in the thread
//   state's dict (PyThreadState_GetDict()), which CPython clears in the
//   ending thread itself (PyThreadState_Clear). Its deallocation swaps an
//   empty context in and drops the thread's context, so the values' __del__
//   runs in that thread, as with CPython's contextvars. The C++ layer's own
//   release at OS thread exit then finds no Python values (or only those a
//   __del__ set meanwhile, which DeferredDecref queues).

#ifndef PERSIST_PYTHON_INTERNAL_THREAD_SETUP_H_
#define PERSIST_PYTHON_INTERNAL_THREAD_SETUP_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstdint>

#include "base/optimization.h"

namespace persist_python {
namespace internal {

// Readies the type of the thread-end object. 0, or -1 with an exception.
int InitThreadSetup();

int PrepareThreadSlow(PyThreadState* thread_state);

// The id of the thread state last prepared in this OS thread (ids start at
// 1). Per thread state, not per OS thread: a C thread that calls
// PyGILState_Ensure() and _Release() again and again gets a new thread
// state each time.
inline thread_local uint64_t prepared_thread_state = 0;

// Prepares the calling thread's thread state once. GIL held. 0, or -1 with
// an exception.
inline int PrepareThread() {
#if PY_VERSION_HEX >= 0x030D0000
  PyThreadState* thread_state = PyThreadState_GetUnchecked();
#else
  PyThreadState* thread_state = _PyThreadState_UncheckedGet();
#endif
  if (PERSIST_BASE_PREDICT_TRUE(thread_state->id == prepared_thread_state)) {
    return 0;
  }
  return PrepareThreadSlow(thread_state);
}

}  // namespace internal
}  // namespace persist_python

#endif  // PERSIST_PYTHON_INTERNAL_THREAD_SETUP_H_
