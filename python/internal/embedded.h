// Embedded<T>: storage for a C++ object inside a Python object's struct.
// Python allocates the struct (tp_alloc), so C++ constructors and
// destructors of members never run by themselves; the type's tp_new and
// tp_dealloc call Construct() and Destroy() explicitly.

#ifndef PERSIST_PYTHON_INTERNAL_EMBEDDED_H_
#define PERSIST_PYTHON_INTERNAL_EMBEDDED_H_

#include <new>
#include <utility>

namespace persist_python {
namespace internal {

template <class T>
class Embedded {
 public:
  template <class... Args>
  void Construct(Args&&... args) {
    ::new (static_cast<void*>(storage_)) T(std::forward<Args>(args)...);
  }
  // Constructs the object from make()'s prvalue, with no move in between
  // (a move of some handles, such as contextvars::Context, costs atomics).
  template <class Make>
  void ConstructFrom(Make&& make) {
    ::new (static_cast<void*>(storage_)) T(std::forward<Make>(make)());
  }
  void Destroy() noexcept { get().~T(); }
  T& get() noexcept { return *std::launder(reinterpret_cast<T*>(storage_)); }
  const T& get() const noexcept {
    return *std::launder(reinterpret_cast<const T*>(storage_));
  }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace internal
}  // namespace persist_python

#endif  // PERSIST_PYTHON_INTERNAL_EMBEDDED_H_
