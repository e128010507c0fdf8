// Type traits the containers dispatch on: transparent functors (for
// heterogeneous lookup), values with operator== (for sharing on equal set)
// and keys that can be printed (for error messages).

#ifndef PERSIST_HAMT_INTERNAL_TYPE_TRAITS_H_
#define PERSIST_HAMT_INTERNAL_TYPE_TRAITS_H_

#include <ostream>
#include <type_traits>
#include <utility>

namespace hamt {
namespace internal {

template <class T, class = void>
struct IsTransparent : std::false_type {};
template <class T>
struct IsTransparent<T, std::void_t<typename T::is_transparent>>
    : std::true_type {};

template <class T, class = void>
struct IsStreamable : std::false_type {};
template <class T>
struct IsStreamable<T, std::void_t<decltype(std::declval<std::ostream&>()
                                            << std::declval<const T&>())>>
    : std::true_type {};

template <class T, class = void>
struct IsEqualityComparable : std::false_type {};
template <class T>
struct IsEqualityComparable<T, std::void_t<decltype(std::declval<const T&>() ==
                                                    std::declval<const T&>())>>
    : std::true_type {};

}  // namespace internal
}  // namespace hamt

#endif  // PERSIST_HAMT_INTERNAL_TYPE_TRAITS_H_
