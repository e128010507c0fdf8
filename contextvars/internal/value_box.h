// The keys and values of a context's mapping, shared by both
// implementations.
//
// A key is a reference to a VarIdentity, not to the ContextVar: the
// identity (unique id and name) outlives the variable for as long as some
// context holds a value for it, so iterating a context still shows the name
// of a destroyed variable and nothing dangles.
//
// A value is a reference to an immutable, type-erased ValueBox<T>. The box
// captures, when it is made in set(), how to compare two values: with T's
// operator== when T has one, otherwise by identity (same box).

#ifndef PERSIST_CONTEXTVARS_INTERNAL_VALUE_BOX_H_
#define PERSIST_CONTEXTVARS_INTERNAL_VALUE_BOX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "contextvars/internal/ref_ptr.h"

namespace contextvars {
namespace internal {

// Ids start at 1 so that a zeroed get() cache entry never matches a variable.
inline std::atomic<uint64_t> next_var_id{1};

class VarIdentity final : public RefCounted {
 public:
  explicit VarIdentity(std::string name)
      : id_(next_var_id.fetch_add(1, std::memory_order_relaxed)),
        name_(std::move(name)) {}

  uint64_t id() const noexcept { return id_; }
  const std::string& name() const noexcept { return name_; }

 private:
  const uint64_t id_;
  const std::string name_;
};

using VarKey = RefPtr<const VarIdentity>;

// splitmix64's finalizer: ids are sequential, and the HAMT consumes the hash
// a few bits at a time, so every bit must depend on every bit of the id.
struct VarKeyHash {
  size_t operator()(const VarKey& key) const noexcept {
    uint64_t x = key->id();
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<size_t>(x ^ (x >> 31));
  }
};

struct VarKeyEqual {
  bool operator()(const VarKey& a, const VarKey& b) const noexcept {
    return a.get() == b.get();
  }
};

template <class T, class = void>
struct IsEqualityComparable : std::false_type {};
template <class T>
struct IsEqualityComparable<
    T, std::enable_if_t<std::is_convertible<decltype(std::declval<const T&>() ==
                                                     std::declval<const T&>()),
                                            bool>::value>> : std::true_type {};

class ValueBoxBase : public RefCounted {
 public:
  virtual ~ValueBoxBase() = default;
  // Only called on two boxes of the same variable, hence of the same T.
  virtual bool Equals(const ValueBoxBase& other) const = 0;
  virtual const std::type_info& type() const noexcept = 0;
};

template <class T>
class ValueBox final : public ValueBoxBase {
 public:
  explicit ValueBox(T value) : value_(std::move(value)) {}

  const T& value() const noexcept { return value_; }

  bool Equals(const ValueBoxBase& other) const override {
    if constexpr (IsEqualityComparable<T>::value) {
      return value_ == static_cast<const ValueBox&>(other).value_;
    } else {
      return this == &other;
    }
  }
  const std::type_info& type() const noexcept override { return typeid(T); }

 private:
  const T value_;
};

// A value in a context's mapping. Its operator== is identity (the same box):
// that is what the HAMT compares when a set() replaces a value, so no user
// code (T's operator==) runs while a mapping is being edited. Equality of
// contents is SameValue(), which the mappings' Equal() calls only after
// their traversal, on snapshots (see basic_context.h).
struct ValueRef {
  RefPtr<const ValueBoxBase> box;

  template <class T>
  const T& get() const noexcept {
    return static_cast<const ValueBox<T>&>(*box).value();
  }

  friend bool operator==(const ValueRef& a, const ValueRef& b) noexcept {
    return a.box == b.box;
  }
  friend bool operator!=(const ValueRef& a, const ValueRef& b) noexcept {
    return a.box != b.box;
  }
};

// Whether two values of the same variable are equal: the same box, or
// boxes whose values compare equal (see ValueBox::Equals). Runs user code.
inline bool SameValue(const ValueRef& a, const ValueRef& b) {
  return a.box == b.box || a.box->Equals(*b.box);
}

// The pairs of values a mapping comparison found under the same keys in
// different boxes. Compares them once the traversal is over; the caller's
// snapshots keep the boxes alive while their operator== runs, whatever it
// does to the live contexts.
class DeferredValueComparisons {
 public:
  void Add(const ValueRef& a, const ValueRef& b) {
    pairs_.emplace_back(a.box.get(), b.box.get());
  }
  bool AllEqual() const {
    for (const auto& [a, b] : pairs_) {
      if (!a->Equals(*b)) return false;
    }
    return true;
  }

 private:
  std::vector<std::pair<const ValueBoxBase*, const ValueBoxBase*>> pairs_;
};

template <class T>
ValueRef MakeValueRef(T value) {
  return ValueRef{
      RefPtr<const ValueBoxBase>(new ValueBox<T>(std::move(value)))};
}

}  // namespace internal
}  // namespace contextvars

#endif  // PERSIST_CONTEXTVARS_INTERNAL_VALUE_BOX_H_
