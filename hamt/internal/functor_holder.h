// FunctorHolder: stores a functor (hash, key equality) without using space
// when it is empty, through the empty-base optimization.

#ifndef PERSIST_HAMT_INTERNAL_FUNCTOR_HOLDER_H_
#define PERSIST_HAMT_INTERNAL_FUNCTOR_HOLDER_H_

#include <type_traits>

namespace hamt {
namespace internal {

// Holds a functor without using space when it is empty (EBO); kTag keeps
// two holders of the same type distinct.
template <class T, int kTag,
          bool kUseBase = std::is_empty<T>::value && !std::is_final<T>::value>
class FunctorHolder : private T {
 public:
  FunctorHolder() = default;
  explicit FunctorHolder(const T& functor) : T(functor) {}
  const T& get() const { return *this; }
};
template <class T, int kTag>
class FunctorHolder<T, kTag, false> {
 public:
  FunctorHolder() = default;
  explicit FunctorHolder(const T& functor) : functor_(functor) {}
  const T& get() const { return functor_; }

 private:
  T functor_;
};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_FUNCTOR_HOLDER_H_
