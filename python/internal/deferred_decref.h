// Py_DECREFs postponed until the C++ layer is in a consistent state.
//
// A Python value's reference is dropped by a C++ destructor (of a value box
// in a context's HAMT, of a token, of a context). Dropping the last
// reference runs Python code (__del__, weakref callbacks) that may re-enter
// persist.contextvars, and it may happen where Python must not run at all:
// in the middle of a HAMT edit, at OS thread exit after the thread's Python
// state is gone, or after the interpreter has finalized. So destructors
// call Release(): it decrements at once only when that cannot run Python
// code (GIL held, not the last reference), and otherwise queues the
// reference; every Python entry point of the module calls Drain() when its
// C++ operation has returned, with the GIL held.
//
// Add() with the GIL held appends to a vector the GIL protects; without it
// (the C++ layer's release at OS thread exit, which thread_setup.h makes
// rare) it appends under a mutex to a second list that the next Drain()
// collects. After Py_Finalize() references are leaked on purpose.

#ifndef PERSIST_PYTHON_INTERNAL_DEFERRED_DECREF_H_
#define PERSIST_PYTHON_INTERNAL_DEFERRED_DECREF_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <atomic>
#include <vector>

#include "base/optimization.h"

namespace persist_python {
namespace internal {

// Whether the calling thread holds the GIL. Cheaper than PyGILState_Check()
// (no thread-specific-data lookup): the thread state holding the GIL is ours
// exactly when it was created by this thread, and no other thread can make
// ours the holder.
inline bool HoldsGil() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
  PyThreadState* holder = PyThreadState_GetUnchecked();
#else
  PyThreadState* holder = _PyThreadState_UncheckedGet();
#endif
  return holder != nullptr && holder->thread_id == PyThread_get_thread_ident();
}

class DeferredDecref {
 public:
  // Drops one reference to `object` (non-null): at once when that cannot
  // run Python code (the GIL is held and it is not the last reference),
  // else queued for Drain(). Any thread, GIL held or not.
  static void Release(PyObject* object) noexcept {
    if (PERSIST_BASE_PREDICT_TRUE(
            !python_finalized_.load(std::memory_order_relaxed) && HoldsGil() &&
            Py_REFCNT(object) > 1)) {
      Py_DECREF(object);
      return;
    }
    Add(object);
  }

  // Queues one reference to `object` (non-null) for Drain(). Any thread,
  // GIL held or not.
  static void Add(PyObject* object) noexcept;

  // Drops the queued references, also those queued by the code they run.
  // GIL held.
  static void Drain() noexcept {
    if (PERSIST_BASE_PREDICT_FALSE(!pending_.empty() || has_orphans_)) {
      DrainSlow();
    }
  }

  // Called once from the module's init: registers the Py_AtExit hook.
  static int Init();

 private:
  static void DrainSlow() noexcept;
  static void MarkFinalized();

  static inline std::vector<PyObject*> pending_;  // guarded by the GIL
  // Set by Py_AtExit: from then on references are leaked.
  static inline std::atomic<bool> python_finalized_{false};
  static inline volatile bool has_orphans_ = false;
};

}  // namespace internal
}  // namespace persist_python

#endif  // PERSIST_PYTHON_INTERNAL_DEFERRED_DECREF_H_
