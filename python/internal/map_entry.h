// The key and value types of persist.Map's hamt::Map (python/map_type.cc):
// Ref, an owned PyObject* compared by identity; Key, a Ref with its Python
// hash; LookupKey, a borrowed key for lookups; and the functors that hash
// with the stored hash and compare with Python's == only when the hashes
// are equal. A failed __eq__ throws PythonErrorSet through the hamt, which
// gives the strong guarantee; the C API boundary returns the Python error.
// Everything here runs with the GIL held.

#ifndef PERSIST_PYTHON_INTERNAL_MAP_ENTRY_H_
#define PERSIST_PYTHON_INTERNAL_MAP_ENTRY_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstddef>
#include <stdexcept>
#include <utility>

#include "hamt/map.h"

namespace persist_python {
namespace internal {

// Thrown through the hamt by the key functors when a Python call failed; the
// Python error stays set and is reported at the C API boundary. The hamt
// gives the strong guarantee, so the map being updated is unchanged.
class PythonErrorSet : public std::runtime_error {
 public:
  PythonErrorSet() : std::runtime_error("a Python error is set") {}
};

// An owned reference. Equality is identity: hamt::Map::set() of an identical
// value then returns the same root, as immutables.Map.set does.
class Ref {
 public:
  Ref() = default;
  static Ref New(PyObject* object) {
    Py_XINCREF(object);
    return Ref(object);
  }
  static Ref Steal(PyObject* object) { return Ref(object); }
  Ref(const Ref& other) : object_(other.object_) { Py_XINCREF(object_); }
  Ref(Ref&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  Ref& operator=(const Ref& other) {
    Ref(other).swap(*this);
    return *this;
  }
  // The old object is released after the new one is in place, so code run
  // by its destructor sees a consistent pair.
  Ref& operator=(Ref&& other) noexcept {
    PyObject* old =
        std::exchange(object_, std::exchange(other.object_, nullptr));
    Py_XDECREF(old);
    return *this;
  }
  ~Ref() { Py_XDECREF(object_); }
  void swap(Ref& other) noexcept { std::swap(object_, other.object_); }

  PyObject* get() const { return object_; }
  PyObject* release() { return std::exchange(object_, nullptr); }
  PyObject* new_reference() const {
    Py_INCREF(object_);
    return object_;
  }
  friend bool operator==(const Ref& a, const Ref& b) {
    return a.object_ == b.object_;
  }

 private:
  explicit Ref(PyObject* object) : object_(object) {}
  PyObject* object_ = nullptr;
};

// A key with its Python hash, computed once when the key enters the map.
struct Key {
  Ref object;
  Py_hash_t hash;
};

// A borrowed key for lookups and erase (no reference count traffic).
struct LookupKey {
  PyObject* object;
  Py_hash_t hash;
};

struct KeyHash {
  using is_transparent = void;
  size_t operator()(const Key& key) const {
    return static_cast<size_t>(key.hash);
  }
  size_t operator()(const LookupKey& key) const {
    return static_cast<size_t>(key.hash);
  }
};

struct KeyEqual {
  using is_transparent = void;
  static bool Equal(PyObject* a, Py_hash_t hash_a, PyObject* b,
                    Py_hash_t hash_b) {
    if (hash_a != hash_b) return false;
    if (a == b) return true;
    const int equal = PyObject_RichCompareBool(a, b, Py_EQ);
    if (equal < 0) throw PythonErrorSet();
    return equal != 0;
  }
  bool operator()(const Key& a, const Key& b) const {
    return Equal(a.object.get(), a.hash, b.object.get(), b.hash);
  }
  bool operator()(const Key& a, const LookupKey& b) const {
    return Equal(a.object.get(), a.hash, b.object, b.hash);
  }
  bool operator()(const LookupKey& a, const Key& b) const {
    return Equal(a.object, a.hash, b.object.get(), b.hash);
  }
};

using PyMap = hamt::Map<Key, Ref, KeyHash, KeyEqual>;

}  // namespace internal
}  // namespace persist_python

#endif  // PERSIST_PYTHON_INTERNAL_MAP_ENTRY_H_
