#include "python/internal/deferred_decref.h"

#include <atomic>
#include <mutex>
#include <utility>

namespace persist_python {
namespace internal {
namespace {

std::mutex orphans_mutex;
// References dropped by threads without the GIL (C++ thread-exit release of
// a thread's current context). Leaked at process exit.
std::vector<PyObject*>* orphans = new std::vector<PyObject*>;

}  // namespace

void DeferredDecref::MarkFinalized() { python_finalized_.store(true); }

void DeferredDecref::Add(PyObject* object) noexcept {
  if (python_finalized_.load(std::memory_order_relaxed)) return;  // leak
  if (HoldsGil()) {
    pending_.push_back(object);
    return;
  }
  std::lock_guard<std::mutex> lock(orphans_mutex);
  orphans->push_back(object);
  has_orphans_ = true;
}

void DeferredDecref::DrainSlow() noexcept {
  if (has_orphans_) {
    std::vector<PyObject*> taken;
    {
      std::lock_guard<std::mutex> lock(orphans_mutex);
      taken.swap(*orphans);
      has_orphans_ = false;
    }
    pending_.insert(pending_.end(), taken.begin(), taken.end());
  }
  // One at a time: a __del__ run by a decref may queue more, or drain.
  while (!pending_.empty()) {
    PyObject* object = pending_.back();
    pending_.pop_back();
    Py_DECREF(object);
  }
}

int DeferredDecref::Init() {
  pending_.reserve(64);
  return Py_AtExit(MarkFinalized);
}

}  // namespace internal
}  // namespace persist_python
