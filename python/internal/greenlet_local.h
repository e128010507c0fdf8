// Greenlet-local current contexts, like gevent.contextvars: each greenlet
// has its own current context, and a new greenlet starts with an empty one.
//
// The C++ layer keeps one current context per OS thread (with its get()
// cache). When greenlet is importable, a greenlet tracer (greenlet.settrace,
// chained to any tracer installed before) swaps that context on every
// 'switch' and 'throw' event with contextvars::swap_current_context(), the
// way fibers::Fiber does: the outgoing greenlet's context is parked in its
// __dict__ (under the Context type as key, so no attribute name can
// collide) and the incoming one's is taken out, or a new empty one made.
// ContextVar.get() therefore stays the C++ O(1) cached get; asking greenlet
// for the current greenlet on every get() would cost a call and a dict
// lookup per get instead of one dict operation per switch.
//
// greenlet's tracer is per OS thread, so it is installed in a thread by the
// first ContextVar.set() or Context.run() there (PrepareThread() in
// thread_setup.h).
// Until then the thread's context was never changed, so it is the same
// empty context for every greenlet, and reads before that are right too.
// Without greenlet the module is thread-local. A tracer installed later
// that does not chain to the previous one stops the swapping.

#ifndef PERSIST_PYTHON_INTERNAL_GREENLET_LOCAL_H_
#define PERSIST_PYTHON_INTERNAL_GREENLET_LOCAL_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace persist_python {
namespace internal {

// Imports greenlet if it is installed. 0, or -1 with an exception.
int InitGreenletLocal(PyObject* module);

// Whether greenlet was found by InitGreenletLocal().
bool GreenletLocalEnabled();

// Installs the tracer in the calling thread, if greenlet was found and the
// thread's tracer is not already ours. 0, or -1 with an exception.
int InstallGreenletTracer();

}  // namespace internal
}  // namespace persist_python

#endif  // PERSIST_PYTHON_INTERNAL_GREENLET_LOCAL_H_
