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

#include "base/optimization.h"

namespace persist_python {
namespace internal {

// Readies the type of the thread-end object. 0, or -1 with an exception.
int InitThreadSetup();

int PrepareThreadSlow();

inline thread_local bool thread_prepared = false;

// Prepares the calling thread once. 0, or -1 with an exception.
inline int PrepareThread() {
  if (PERSIST_BASE_PREDICT_TRUE(thread_prepared)) return 0;
  return PrepareThreadSlow();
}

}  // namespace internal
}  // namespace persist_python

#endif  // PERSIST_PYTHON_INTERNAL_THREAD_SETUP_H_
