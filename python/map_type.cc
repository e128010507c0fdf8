// persist.Map and persist.MapMutation on hamt::Map (see map_type.h).

#include "python/map_type.h"

#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <utility>

#include "hamt/map.h"
#include "python/internal/arg_count.h"
#include "python/internal/map_entry.h"
#include "python/internal/map_traverse.h"

namespace persist_python {
namespace {

using internal::CheckArgCount;

using internal::Key;
using internal::KeyEqual;
using internal::KeyHash;
using internal::LookupKey;
using internal::PyMap;
using internal::PythonErrorSet;
using internal::Ref;
using internal::TraverseMap;
using Node = hamt::internal::Node;

// Runs `f` (which returns a PyObject* or an int), translating C++ exceptions
// into Python errors: `error` is returned with an exception set.
template <class R, class F>
R Guard(R error, F&& f) {
  try {
    return f();
  } catch (const PythonErrorSet&) {
    return error;
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
    return error;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return error;
  }
}

bool MakeLookupKey(PyObject* object, LookupKey& key) {
  key.object = object;
  key.hash = PyObject_Hash(object);
  return key.hash != -1;
}

Key MakeKey(PyObject* object) {
  const Py_hash_t hash = PyObject_Hash(object);
  if (hash == -1) throw PythonErrorSet();
  return Key{Ref::New(object), hash};
}

void SetInPlace(PyMap& map, PyObject* key, PyObject* value) {
  map = std::move(map).set(MakeKey(key), Ref::New(value));
}

// ---- objects ----

struct MapObject {
  PyObject_HEAD PyMap map;
  Py_hash_t hash;  // -1 until computed
  PyObject* weakreflist;
};

struct MapMutationObject {
  PyObject_HEAD PyMap map;
  bool finished;
  // Set while an operation runs: Python code it calls (__eq__, __hash__,
  // __del__, another thread) must not see or change the half-edited trie.
  bool busy;
};

enum class IterKind { kKeys, kValues, kItems };

struct ViewObject {
  PyObject_HEAD MapObject* map;
};

struct IteratorObject {
  PyObject_HEAD MapObject* map;
  // The map's root when the iterator was made: a Map never changes, except
  // that the collector may empty it (tp_clear) while it breaks a cycle, and
  // then `position` must not be used.
  const Node* root;
  PyMap::const_iterator position;
  Py_ssize_t remaining;  // for __length_hint__
  IterKind kind;
  // The last (key, value) tuple items() returned: refilled in place when
  // nobody else holds it any more (a `for k, v in m.items()` loop).
  PyObject* last_item;
};

extern PyTypeObject MapType;
extern PyTypeObject MapMutationType;
extern PyTypeObject KeysViewType;
extern PyTypeObject ValuesViewType;
extern PyTypeObject ItemsViewType;
extern PyTypeObject IteratorType;

bool IsMap(PyObject* object) { return PyObject_TypeCheck(object, &MapType); }

MapObject* AllocMap(PyTypeObject* type) {
  auto* self = reinterpret_cast<MapObject*>(type->tp_alloc(type, 0));
  if (self == nullptr) return nullptr;
  new (&self->map) PyMap();
  self->hash = -1;
  self->weakreflist = nullptr;
  return self;
}

PyObject* NewMap(PyMap map) {
  MapObject* self = AllocMap(&MapType);
  if (self == nullptr) return nullptr;
  self->map = std::move(map);
  return reinterpret_cast<PyObject*>(self);
}

const PyMap& MapOf(PyObject* object) {
  return reinterpret_cast<MapObject*>(object)->map;
}

// ---- building (in place on a map no Python object sees yet) ----

bool UpdateFromPairs(PyMap& map, PyObject* iterable) {
  Ref iterator = Ref::Steal(PyObject_GetIter(iterable));
  if (iterator.get() == nullptr) return false;
  for (Py_ssize_t index = 0;; ++index) {
    Ref item = Ref::Steal(PyIter_Next(iterator.get()));
    if (item.get() == nullptr) return !PyErr_Occurred();
    Ref pair = Ref::Steal(PySequence_Fast(item.get(), ""));
    if (pair.get() == nullptr) {
      if (PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Format(PyExc_TypeError,
                     "cannot convert Map update sequence element #%zd to a "
                     "sequence",
                     index);
      }
      return false;
    }
    const Py_ssize_t length = PySequence_Fast_GET_SIZE(pair.get());
    if (length != 2) {
      PyErr_Format(PyExc_ValueError,
                   "Map update sequence element #%zd has length %zd; 2 is "
                   "required",
                   index, length);
      return false;
    }
    PyObject** items = PySequence_Fast_ITEMS(pair.get());
    SetInPlace(map, items[0], items[1]);
  }
}

// Adds the pairs of `source` (a Map, a mapping with keys(), or an iterable
// of pairs) to `map`. Throws PythonErrorSet or returns false on error.
bool UpdateFrom(PyMap& map, PyObject* source) {
  if (IsMap(source)) {
    const PyMap& other = MapOf(source);
    if (map.empty()) {
      map = other;
      return true;
    }
    for (const auto& pair : other)
      map = std::move(map).set(pair.first, pair.second);
    return true;
  }
  if (PyDict_CheckExact(source)) {
    Py_ssize_t position = 0;
    PyObject* key;
    PyObject* value;
    // A copy of the items: keys' __hash__ could change the dict meanwhile.
    Ref items = Ref::Steal(PyDict_Items(source));
    if (items.get() == nullptr) return false;
    for (position = 0; position < PyList_GET_SIZE(items.get()); ++position) {
      PyObject* pair = PyList_GET_ITEM(items.get(), position);
      key = PyTuple_GET_ITEM(pair, 0);
      value = PyTuple_GET_ITEM(pair, 1);
      SetInPlace(map, key, value);
    }
    return true;
  }
  int has_keys = PyObject_HasAttrString(source, "keys");
  if (has_keys) {
    Ref keys = Ref::Steal(PyObject_CallMethod(source, "keys", nullptr));
    if (keys.get() == nullptr) return false;
    Ref iterator = Ref::Steal(PyObject_GetIter(keys.get()));
    if (iterator.get() == nullptr) return false;
    for (;;) {
      Ref key = Ref::Steal(PyIter_Next(iterator.get()));
      if (key.get() == nullptr) return !PyErr_Occurred();
      Ref value = Ref::Steal(PyObject_GetItem(source, key.get()));
      if (value.get() == nullptr) return false;
      SetInPlace(map, key.get(), value.get());
    }
  }
  return UpdateFromPairs(map, source);
}

bool UpdateFromKeywords(PyMap& map, PyObject* kwargs) {
  if (kwargs == nullptr) return true;
  Py_ssize_t position = 0;
  PyObject* key;
  PyObject* value;
  while (PyDict_Next(kwargs, &position, &key, &value)) {
    SetInPlace(map, key, value);
  }
  return true;
}

// update(*args, **kwargs) semantics of immutables: at most one positional.
bool UpdateFromArgs(PyMap& map, const char* name, PyObject* args,
                    PyObject* kwargs) {
  const Py_ssize_t nargs = args == nullptr ? 0 : PyTuple_GET_SIZE(args);
  if (nargs > 1) {
    PyErr_Format(PyExc_TypeError, "%s expected at most 1 argument, got %zd",
                 name, nargs);
    return false;
  }
  if (nargs == 1 && !UpdateFrom(map, PyTuple_GET_ITEM(args, 0))) return false;
  return UpdateFromKeywords(map, kwargs);
}

// ---- shared read operations ----

PyObject* GetOr(const PyMap& map, PyObject* key, PyObject* missing) {
  LookupKey lookup;
  if (!MakeLookupKey(key, lookup)) return nullptr;
  const Ref* value = map.find(lookup);
  if (value == nullptr) {
    Py_XINCREF(missing);
    return missing;
  }
  return value->new_reference();
}

PyObject* Subscript(const PyMap& map, PyObject* key) {
  LookupKey lookup;
  if (!MakeLookupKey(key, lookup)) return nullptr;
  const Ref* value = map.find(lookup);
  if (value == nullptr) {
    PyErr_SetObject(PyExc_KeyError, key);
    return nullptr;
  }
  return value->new_reference();
}

int Contains(const PyMap& map, PyObject* key) {
  LookupKey lookup;
  if (!MakeLookupKey(key, lookup)) return -1;
  return map.contains(lookup) ? 1 : 0;
}

PyObject* Repr(PyObject* self, const char* name, const PyMap& map) {
  const int entered = Py_ReprEnter(self);
  if (entered != 0) {
    return entered > 0 ? PyUnicode_FromFormat("%s({...})", name) : nullptr;
  }
  PyObject* result = nullptr;
  Ref parts = Ref::Steal(PyList_New(0));
  if (parts.get() != nullptr) {
    bool ok = true;
    PyMap snapshot = map;  // keeps the nodes alive while __repr__ runs
    for (const auto& pair : snapshot) {
      Ref part = Ref::Steal(PyUnicode_FromFormat(
          "%R: %R", pair.first.object.get(), pair.second.get()));
      if (part.get() == nullptr || PyList_Append(parts.get(), part.get()) < 0) {
        ok = false;
        break;
      }
    }
    if (ok) {
      Ref separator = Ref::Steal(PyUnicode_FromString(", "));
      Ref joined =
          Ref::Steal(separator.get() == nullptr
                         ? nullptr
                         : PyUnicode_Join(separator.get(), parts.get()));
      if (joined.get() != nullptr) {
        result = PyUnicode_FromFormat("%s({%U})", name, joined.get());
      }
    }
  }
  Py_ReprLeave(self);
  return result;
}

// ---- persist.Map ----

PyObject* Map_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  const Py_ssize_t nargs = PyTuple_GET_SIZE(args);
  if (type == &MapType && nargs == 1 &&
      (kwargs == nullptr || PyDict_GET_SIZE(kwargs) == 0) &&
      PyObject_TypeCheck(PyTuple_GET_ITEM(args, 0), &MapType) &&
      Py_IS_TYPE(PyTuple_GET_ITEM(args, 0), &MapType)) {
    PyObject* same = PyTuple_GET_ITEM(args, 0);
    Py_INCREF(same);
    return same;  // immutable: Map(m) is m
  }
  return Guard<PyObject*>(nullptr, [&]() -> PyObject* {
    PyMap built;
    if (!UpdateFromArgs(built, "Map", args, kwargs)) return nullptr;
    MapObject* self = AllocMap(type);
    if (self == nullptr) return nullptr;
    self->map = std::move(built);
    return reinterpret_cast<PyObject*>(self);
  });
}

int Map_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  return TraverseMap(MapOf(self), visit, arg);
}

int Map_clear(PyObject* self) {
  PyMap dropped = std::move(reinterpret_cast<MapObject*>(self)->map);
  return 0;  // `dropped` releases the entries after the map is empty
}

void Map_dealloc(PyObject* self) {
  auto* map = reinterpret_cast<MapObject*>(self);
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  // Maps of maps of maps...: free them iteratively, not on the C stack.
  // clang-format off
  Py_TRASHCAN_BEGIN(self, Map_dealloc)
      // clang-format on
      if (map->weakreflist != nullptr) PyObject_ClearWeakRefs(self);
  map->map.~PyMap();
  type->tp_free(self);
  if (type->tp_flags & Py_TPFLAGS_HEAPTYPE) Py_DECREF(type);
  Py_TRASHCAN_END
}

Py_ssize_t Map_length(PyObject* self) {
  return static_cast<Py_ssize_t>(MapOf(self).size());
}

PyObject* Map_subscript(PyObject* self, PyObject* key) {
  return Guard<PyObject*>(nullptr, [&] { return Subscript(MapOf(self), key); });
}

int Map_contains(PyObject* self, PyObject* key) {
  return Guard<int>(-1, [&] { return Contains(MapOf(self), key); });
}

PyObject* Map_get(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (!CheckArgCount("get", nargs, 1, 2)) return nullptr;
  return Guard<PyObject*>(nullptr, [&] {
    return GetOr(MapOf(self), args[0], nargs == 2 ? args[1] : Py_None);
  });
}

PyObject* Map_set(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (!CheckArgCount("set", nargs, 2, 2)) return nullptr;
  return Guard<PyObject*>(nullptr, [&]() -> PyObject* {
    const PyMap& map = MapOf(self);
    PyMap result = map.set(MakeKey(args[0]), Ref::New(args[1]));
    if (hamt::internal::MapAccess::root(result) ==
            hamt::internal::MapAccess::root(map) &&
        Py_IS_TYPE(self, &MapType)) {
      Py_INCREF(self);
      return self;
    }
    return NewMap(std::move(result));
  });
}

PyObject* Map_delete(PyObject* self, PyObject* key) {
  return Guard<PyObject*>(nullptr, [&]() -> PyObject* {
    const PyMap& map = MapOf(self);
    LookupKey lookup;
    if (!MakeLookupKey(key, lookup)) return nullptr;
    PyMap result = map.erase(lookup);
    if (result.size() == map.size()) {
      PyErr_SetObject(PyExc_KeyError, key);
      return nullptr;
    }
    return NewMap(std::move(result));
  });
}

PyObject* Map_update(PyObject* self, PyObject* args, PyObject* kwargs) {
  return Guard<PyObject*>(nullptr, [&]() -> PyObject* {
    PyMap result = MapOf(self);
    if (!UpdateFromArgs(result, "update", args, kwargs)) return nullptr;
    if (hamt::internal::MapAccess::root(result) ==
            hamt::internal::MapAccess::root(MapOf(self)) &&
        Py_IS_TYPE(self, &MapType)) {
      Py_INCREF(self);
      return self;
    }
    return NewMap(std::move(result));
  });
}

PyObject* Map_mutate(PyObject* self, PyObject*) {
  auto* mutation = PyObject_GC_New(MapMutationObject, &MapMutationType);
  if (mutation == nullptr) return nullptr;
  new (&mutation->map) PyMap(MapOf(self));
  mutation->finished = false;
  mutation->busy = false;
  PyObject_GC_Track(mutation);
  return reinterpret_cast<PyObject*>(mutation);
}

PyObject* NewView(PyObject* self, PyTypeObject* type) {
  auto* view = PyObject_GC_New(ViewObject, type);
  if (view == nullptr) return nullptr;
  Py_INCREF(self);
  view->map = reinterpret_cast<MapObject*>(self);
  PyObject_GC_Track(view);
  return reinterpret_cast<PyObject*>(view);
}

PyObject* NewIterator(PyObject* map, IterKind kind) {
  auto* it = PyObject_GC_New(IteratorObject, &IteratorType);
  if (it == nullptr) return nullptr;
  Py_INCREF(map);
  it->map = reinterpret_cast<MapObject*>(map);
  it->root = hamt::internal::MapAccess::root(MapOf(map));
  new (&it->position) PyMap::const_iterator(MapOf(map).begin());
  it->remaining = static_cast<Py_ssize_t>(MapOf(map).size());
  it->last_item = nullptr;
  it->kind = kind;
  PyObject_GC_Track(it);
  return reinterpret_cast<PyObject*>(it);
}

PyObject* Map_keys(PyObject* self, PyObject*) {
  return NewView(self, &KeysViewType);
}
PyObject* Map_values(PyObject* self, PyObject*) {
  return NewView(self, &ValuesViewType);
}
PyObject* Map_items(PyObject* self, PyObject*) {
  return NewView(self, &ItemsViewType);
}
PyObject* Map_iter(PyObject* self) {
  return NewIterator(self, IterKind::kKeys);
}

PyObject* Map_richcompare(PyObject* self, PyObject* other, int op) {
  if ((op != Py_EQ && op != Py_NE) || !IsMap(other)) Py_RETURN_NOTIMPLEMENTED;
  struct NotEqual {};
  const int equal = Guard<int>(-1, [&]() -> int {
    const PyMap& a = MapOf(self);
    const PyMap& b = MapOf(other);
    if (a.size() != b.size()) return 0;
    try {
      // Shared subtrees are skipped; values that are not identical are
      // compared with ==.
      hamt::diff(
          a, b, [](const Key&, const Ref&) { throw NotEqual(); },
          [](const Key&, const Ref&) { throw NotEqual(); },
          [](const Key&, const Ref& va, const Ref& vb) {
            const int r = PyObject_RichCompareBool(va.get(), vb.get(), Py_EQ);
            if (r < 0) throw PythonErrorSet();
            if (r == 0) throw NotEqual();
          });
    } catch (const NotEqual&) {
      return 0;
    }
    return 1;
  });
  if (equal < 0) return nullptr;
  return PyBool_FromLong((op == Py_EQ) == (equal == 1));
}

uint64_t MixHash(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ULL;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dULL;
  x ^= x >> 33;
  return x;
}

Py_hash_t Map_hash(PyObject* self) {
  auto* map = reinterpret_cast<MapObject*>(self);
  if (map->hash != -1) return map->hash;
  // A sum over the entries (commutative, so independent of order) of a mix
  // of the key's and the value's hash.
  uint64_t sum = 0;
  PyMap snapshot = map->map;
  for (const auto& pair : snapshot) {
    const Py_hash_t value_hash = PyObject_Hash(pair.second.get());
    if (value_hash == -1) return -1;
    sum +=
        MixHash(static_cast<uint64_t>(pair.first.hash) * 0x9e3779b97f4a7c15ULL ^
                static_cast<uint64_t>(value_hash));
  }
  sum ^= MixHash(snapshot.size() + 0x51afd7ed558ccd1dULL);
  Py_hash_t hash = static_cast<Py_hash_t>(sum);
  if (hash == -1) hash = -2;
  map->hash = hash;
  return hash;
}

PyObject* Map_repr(PyObject* self) {
  const char* name =
      Py_IS_TYPE(self, &MapType) ? "persist.Map" : _PyType_Name(Py_TYPE(self));
  return Guard<PyObject*>(nullptr,
                          [&] { return Repr(self, name, MapOf(self)); });
}

PyObject* MapToDict(const PyMap& map) {
  Ref dict = Ref::Steal(PyDict_New());
  if (dict.get() == nullptr) return nullptr;
  PyMap snapshot = map;
  for (const auto& pair : snapshot) {
    if (PyDict_SetItem(dict.get(), pair.first.object.get(), pair.second.get()) <
        0) {
      return nullptr;
    }
  }
  return dict.release();
}

PyObject* Map_reduce(PyObject* self, PyObject*) {
  return Guard<PyObject*>(nullptr, [&]() -> PyObject* {
    Ref dict = Ref::Steal(MapToDict(MapOf(self)));
    if (dict.get() == nullptr) return nullptr;
    return Py_BuildValue("O(O)", reinterpret_cast<PyObject*>(Py_TYPE(self)),
                         dict.get());
  });
}

PyMethodDef kMapMethods[] = {
    {"get",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(Map_get)),
     METH_FASTCALL, "get(key, default=None): the value of key, else default."},
    {"set",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(Map_set)),
     METH_FASTCALL, "set(key, value): a Map with key mapped to value."},
    {"delete", Map_delete, METH_O,
     "delete(key): a Map without key; KeyError if key is absent."},
    {"update",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(Map_update)),
     METH_VARARGS | METH_KEYWORDS,
     "update([mapping_or_pairs], **kw): a Map with these pairs added."},
    {"mutate", Map_mutate, METH_NOARGS,
     "mutate(): a MapMutation starting from this map."},
    {"keys", Map_keys, METH_NOARGS, "A view of the keys."},
    {"values", Map_values, METH_NOARGS, "A view of the values."},
    {"items", Map_items, METH_NOARGS, "A view of the (key, value) pairs."},
    {"__reduce__", Map_reduce, METH_NOARGS, nullptr},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, "See PEP 585."},
    {nullptr, nullptr, 0, nullptr},
};

PyMappingMethods kMapAsMapping = {Map_length, Map_subscript, nullptr};
PySequenceMethods kMapAsSequence = {Map_length, nullptr, nullptr, nullptr,
                                    nullptr,    nullptr, nullptr, Map_contains,
                                    nullptr,    nullptr};

// ---- persist.MapMutation ----

MapMutationObject* AsMutation(PyObject* self) {
  return reinterpret_cast<MapMutationObject*>(self);
}

// Marks the mutation busy for the lifetime of the scope; fails (RuntimeError)
// when it already is, or (ValueError) when writing after finish().
class MutationScope {
 public:
  MutationScope(PyObject* self, bool write) : mutation_(AsMutation(self)) {
    if (mutation_->busy) {
      PyErr_SetString(PyExc_RuntimeError,
                      "MapMutation is in use by an operation in progress");
      mutation_ = nullptr;
      return;
    }
    if (write && mutation_->finished) {
      PyErr_SetString(PyExc_ValueError, "mutation has been finished");
      mutation_ = nullptr;
      return;
    }
    mutation_->busy = true;
  }
  ~MutationScope() {
    if (mutation_ != nullptr) mutation_->busy = false;
  }
  MutationScope(const MutationScope&) = delete;
  MutationScope& operator=(const MutationScope&) = delete;
  bool ok() const { return mutation_ != nullptr; }
  PyMap& map() { return mutation_->map; }

 private:
  MapMutationObject* mutation_;
};

int Mutation_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  if (AsMutation(self)->busy) return 0;  // the trie may be half edited
  return TraverseMap(AsMutation(self)->map, visit, arg);
}

int Mutation_clear(PyObject* self) {
  if (AsMutation(self)->busy) return 0;
  PyMap dropped = std::move(AsMutation(self)->map);
  return 0;
}

void Mutation_dealloc(PyObject* self) {
  PyObject_GC_UnTrack(self);
  // clang-format off
  Py_TRASHCAN_BEGIN(self, Mutation_dealloc)
      // clang-format on
      AsMutation(self)
          ->map.~PyMap();
  PyObject_GC_Del(self);
  Py_TRASHCAN_END
}

Py_ssize_t Mutation_length(PyObject* self) {
  MutationScope scope(self, false);
  if (!scope.ok()) return -1;
  return static_cast<Py_ssize_t>(scope.map().size());
}

PyObject* Mutation_subscript(PyObject* self, PyObject* key) {
  MutationScope scope(self, false);
  if (!scope.ok()) return nullptr;
  return Guard<PyObject*>(nullptr, [&] { return Subscript(scope.map(), key); });
}

int Mutation_contains(PyObject* self, PyObject* key) {
  MutationScope scope(self, false);
  if (!scope.ok()) return -1;
  return Guard<int>(-1, [&] { return Contains(scope.map(), key); });
}

PyObject* Mutation_get(PyObject* self, PyObject* const* args,
                       Py_ssize_t nargs) {
  if (!CheckArgCount("get", nargs, 1, 2)) return nullptr;
  MutationScope scope(self, false);
  if (!scope.ok()) return nullptr;
  return Guard<PyObject*>(nullptr, [&] {
    return GetOr(scope.map(), args[0], nargs == 2 ? args[1] : Py_None);
  });
}

int Mutation_ass_subscript(PyObject* self, PyObject* key, PyObject* value) {
  MutationScope scope(self, true);
  if (!scope.ok()) return -1;
  return Guard<int>(-1, [&]() -> int {
    PyMap& map = scope.map();
    if (value != nullptr) {
      SetInPlace(map, key, value);
      return 0;
    }
    LookupKey lookup;
    if (!MakeLookupKey(key, lookup)) return -1;
    const size_t size = map.size();
    map = std::move(map).erase(lookup);
    if (map.size() == size) {
      PyErr_SetObject(PyExc_KeyError, key);
      return -1;
    }
    return 0;
  });
}

PyObject* Mutation_set(PyObject* self, PyObject* const* args,
                       Py_ssize_t nargs) {
  if (!CheckArgCount("set", nargs, 2, 2)) return nullptr;
  if (Mutation_ass_subscript(self, args[0], args[1]) < 0) return nullptr;
  Py_RETURN_NONE;
}

PyObject* Mutation_pop(PyObject* self, PyObject* const* args,
                       Py_ssize_t nargs) {
  if (!CheckArgCount("pop", nargs, 1, 2)) return nullptr;
  MutationScope scope(self, true);
  if (!scope.ok()) return nullptr;
  return Guard<PyObject*>(nullptr, [&]() -> PyObject* {
    PyMap& map = scope.map();
    LookupKey lookup;
    if (!MakeLookupKey(args[0], lookup)) return nullptr;
    const Ref* found = map.find(lookup);
    if (found == nullptr) {
      if (nargs == 2) {
        Py_INCREF(args[1]);
        return args[1];
      }
      PyErr_SetObject(PyExc_KeyError, args[0]);
      return nullptr;
    }
    Ref value = *found;
    map = std::move(map).erase(lookup);
    return value.release();
  });
}

PyObject* Mutation_update(PyObject* self, PyObject* args, PyObject* kwargs) {
  MutationScope scope(self, true);
  if (!scope.ok()) return nullptr;
  return Guard<PyObject*>(nullptr, [&]() -> PyObject* {
    // Into a copy: a failure halfway leaves the mutation unchanged.
    PyMap result = scope.map();
    if (!UpdateFromArgs(result, "update", args, kwargs)) return nullptr;
    scope.map() = std::move(result);
    Py_RETURN_NONE;
  });
}

PyObject* Mutation_finish(PyObject* self, PyObject*) {
  MutationScope scope(self, false);
  if (!scope.ok()) return nullptr;
  AsMutation(self)->finished = true;
  return NewMap(scope.map());
}

PyObject* Mutation_enter(PyObject* self, PyObject*) {
  Py_INCREF(self);
  return self;
}

PyObject* Mutation_exit(PyObject* self, PyObject* const*, Py_ssize_t) {
  PyObject* finished = Mutation_finish(self, nullptr);
  if (finished == nullptr) return nullptr;
  Py_DECREF(finished);
  Py_RETURN_FALSE;
}

PyObject* Mutation_reduce(PyObject* self, PyObject*) {
  PyErr_Format(PyExc_TypeError, "cannot pickle '%s' object",
               Py_TYPE(self)->tp_name);
  return nullptr;
}

PyObject* Mutation_repr(PyObject* self) {
  MutationScope scope(self, false);
  if (!scope.ok()) return nullptr;
  return Guard<PyObject*>(
      nullptr, [&] { return Repr(self, "persist.MapMutation", scope.map()); });
}

PyMethodDef kMutationMethods[] = {
    {"get",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(Mutation_get)),
     METH_FASTCALL, "get(key, default=None)"},
    {"set",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(Mutation_set)),
     METH_FASTCALL, "set(key, value): maps key to value in place."},
    {"pop",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(Mutation_pop)),
     METH_FASTCALL, "pop(key[, default]): removes key and returns its value."},
    {"update",
     reinterpret_cast<PyCFunction>(
         reinterpret_cast<void (*)()>(Mutation_update)),
     METH_VARARGS | METH_KEYWORDS, "update([mapping_or_pairs], **kw)"},
    {"finish", Mutation_finish, METH_NOARGS,
     "finish(): the Map; later writes raise ValueError."},
    {"__enter__", Mutation_enter, METH_NOARGS, nullptr},
    {"__exit__",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(Mutation_exit)),
     METH_FASTCALL, nullptr},
    {"__reduce__", Mutation_reduce, METH_NOARGS, nullptr},
    {"__reduce_ex__",
     reinterpret_cast<PyCFunction>(
         reinterpret_cast<void (*)()>(+[](PyObject* self, PyObject*) {
           return Mutation_reduce(self, nullptr);
         })),
     METH_O, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyMappingMethods kMutationAsMapping = {Mutation_length, Mutation_subscript,
                                       Mutation_ass_subscript};
PySequenceMethods kMutationAsSequence = {
    Mutation_length, nullptr, nullptr,           nullptr, nullptr,
    nullptr,         nullptr, Mutation_contains, nullptr, nullptr};

// ---- views and iterators ----

int View_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(reinterpret_cast<ViewObject*>(self)->map);
  return 0;
}

int View_clear(PyObject* self) {
  Py_CLEAR(reinterpret_cast<ViewObject*>(self)->map);
  return 0;
}

void View_dealloc(PyObject* self) {
  PyObject_GC_UnTrack(self);
  Py_XDECREF(reinterpret_cast<ViewObject*>(self)->map);
  PyObject_GC_Del(self);
}

Py_ssize_t View_length(PyObject* self) {
  auto* map = reinterpret_cast<ViewObject*>(self)->map;
  return map == nullptr ? 0 : static_cast<Py_ssize_t>(map->map.size());
}

PyObject* ViewIter(PyObject* self, IterKind kind) {
  PyObject* map =
      reinterpret_cast<PyObject*>(reinterpret_cast<ViewObject*>(self)->map);
  if (map == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "the view's map was cleared");
    return nullptr;
  }
  return NewIterator(map, kind);
}

PyObject* KeysView_iter(PyObject* self) {
  return ViewIter(self, IterKind::kKeys);
}
PyObject* ValuesView_iter(PyObject* self) {
  return ViewIter(self, IterKind::kValues);
}
PyObject* ItemsView_iter(PyObject* self) {
  return ViewIter(self, IterKind::kItems);
}

int KeysView_contains(PyObject* self, PyObject* key) {
  auto* map = reinterpret_cast<ViewObject*>(self)->map;
  if (map == nullptr) return 0;
  return Map_contains(reinterpret_cast<PyObject*>(map), key);
}

PySequenceMethods kViewAsSequence = {View_length, nullptr, nullptr, nullptr,
                                     nullptr,     nullptr, nullptr, nullptr,
                                     nullptr,     nullptr};
PySequenceMethods kKeysViewAsSequence = {
    View_length, nullptr, nullptr,           nullptr, nullptr,
    nullptr,     nullptr, KeysView_contains, nullptr, nullptr};

int Iterator_traverse(PyObject* self, visitproc visit, void* arg) {
  Py_VISIT(reinterpret_cast<IteratorObject*>(self)->map);
  Py_VISIT(reinterpret_cast<IteratorObject*>(self)->last_item);
  return 0;
}

int Iterator_clear(PyObject* self) {
  auto* it = reinterpret_cast<IteratorObject*>(self);
  it->position = PyMap::const_iterator();  // never points into freed nodes
  it->remaining = 0;
  Py_CLEAR(it->map);
  Py_CLEAR(it->last_item);
  return 0;
}

void Iterator_dealloc(PyObject* self) {
  PyObject_GC_UnTrack(self);
  Py_XDECREF(reinterpret_cast<IteratorObject*>(self)->map);
  Py_XDECREF(reinterpret_cast<IteratorObject*>(self)->last_item);
  PyObject_GC_Del(self);
}

// The (key, value) tuple of an items() iterator.
PyObject* ItemTuple(IteratorObject* it, PyObject* key, PyObject* value) {
  PyObject* item = it->last_item;
  if (item != nullptr && Py_REFCNT(item) == 1) {
    // Only this iterator holds it: refill it. The old key and value stay
    // alive (the map holds them), so no user code runs here.
    PyObject* old_key = PyTuple_GET_ITEM(item, 0);
    PyObject* old_value = PyTuple_GET_ITEM(item, 1);
    Py_INCREF(key);
    Py_INCREF(value);
    PyTuple_SET_ITEM(item, 0, key);
    PyTuple_SET_ITEM(item, 1, value);
    Py_DECREF(old_key);
    Py_DECREF(old_value);
    // The collector stops tracking tuples of untracked objects.
    if (!PyObject_GC_IsTracked(item)) PyObject_GC_Track(item);
    Py_INCREF(item);
    return item;
  }
  item = PyTuple_Pack(2, key, value);
  if (item == nullptr) return nullptr;
  Py_INCREF(item);
  Py_XSETREF(it->last_item, item);
  return item;
}

PyObject* Iterator_next(PyObject* self) {
  auto* it = reinterpret_cast<IteratorObject*>(self);
  if (it->map == nullptr || it->position == PyMap::const_iterator() ||
      hamt::internal::MapAccess::root(it->map->map) != it->root) {
    it->remaining = 0;
    return nullptr;  // StopIteration
  }
  const auto& pair = *it->position;
  ++it->position;
  --it->remaining;
  switch (it->kind) {
    case IterKind::kKeys:
      return pair.first.object.new_reference();
    case IterKind::kValues:
      return pair.second.new_reference();
    case IterKind::kItems:
      return ItemTuple(it, pair.first.object.get(), pair.second.get());
  }
  return nullptr;
}

PyObject* Iterator_length_hint(PyObject* self, PyObject*) {
  return PyLong_FromSsize_t(reinterpret_cast<IteratorObject*>(self)->remaining);
}

PyMethodDef kIteratorMethods[] = {
    {"__length_hint__", Iterator_length_hint, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

}  // namespace

// ---- type objects ----

namespace {

// A type object with every slot empty, as PyVarObject_HEAD_INIT leaves a
// static one (spelled out so that no member goes without an initializer).
PyTypeObject EmptyType() {
  PyTypeObject type{};
  type.ob_base = PyVarObject{PyObject_HEAD_INIT(nullptr) 0};
  return type;
}

PyTypeObject MakeMapType() {
  PyTypeObject type = EmptyType();
  type.tp_name = "persist.Map";
  type.tp_basicsize = sizeof(MapObject);
  type.tp_dealloc = Map_dealloc;
  type.tp_repr = Map_repr;
  type.tp_as_sequence = &kMapAsSequence;
  type.tp_as_mapping = &kMapAsMapping;
  type.tp_hash = Map_hash;
  type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE |
                  Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_MAPPING;
  type.tp_doc =
      "Map(mapping_or_iterable=(), /, **kw): an immutable mapping (a HAMT).";
  type.tp_traverse = Map_traverse;
  type.tp_clear = Map_clear;
  type.tp_richcompare = Map_richcompare;
  type.tp_weaklistoffset = offsetof(MapObject, weakreflist);
  type.tp_iter = Map_iter;
  type.tp_methods = kMapMethods;
  type.tp_new = Map_new;
  return type;
}

PyTypeObject MakeMutationType() {
  PyTypeObject type = EmptyType();
  type.tp_name = "persist.MapMutation";
  type.tp_basicsize = sizeof(MapMutationObject);
  type.tp_dealloc = Mutation_dealloc;
  type.tp_repr = Mutation_repr;
  type.tp_as_sequence = &kMutationAsSequence;
  type.tp_as_mapping = &kMutationAsMapping;
  type.tp_hash = PyObject_HashNotImplemented;
  type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
  type.tp_doc = "A batch of in-place edits to a copy of a Map (Map.mutate()).";
  type.tp_traverse = Mutation_traverse;
  type.tp_clear = Mutation_clear;
  type.tp_methods = kMutationMethods;
  return type;
}

PyTypeObject MakeViewType(const char* name, getiterfunc iter,
                          PySequenceMethods* sequence) {
  PyTypeObject type = EmptyType();
  type.tp_name = name;
  type.tp_basicsize = sizeof(ViewObject);
  type.tp_dealloc = View_dealloc;
  type.tp_as_sequence = sequence;
  type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
  type.tp_traverse = View_traverse;
  type.tp_clear = View_clear;
  type.tp_iter = iter;
  return type;
}

PyTypeObject MakeIteratorType() {
  PyTypeObject type = EmptyType();
  type.tp_name = "persist._MapIterator";
  type.tp_basicsize = sizeof(IteratorObject);
  type.tp_dealloc = Iterator_dealloc;
  type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
  type.tp_traverse = Iterator_traverse;
  type.tp_clear = Iterator_clear;
  type.tp_iter = PyObject_SelfIter;
  type.tp_iternext = Iterator_next;
  type.tp_methods = kIteratorMethods;
  return type;
}

PyTypeObject MapType = MakeMapType();
PyTypeObject MapMutationType = MakeMutationType();
PyTypeObject KeysViewType =
    MakeViewType("persist._MapKeys", KeysView_iter, &kKeysViewAsSequence);
PyTypeObject ValuesViewType =
    MakeViewType("persist._MapValues", ValuesView_iter, &kViewAsSequence);
PyTypeObject ItemsViewType =
    MakeViewType("persist._MapItems", ItemsView_iter, &kViewAsSequence);
PyTypeObject IteratorType = MakeIteratorType();

}  // namespace

int InitMap(PyObject* module) {
  for (PyTypeObject* type : {&MapType, &MapMutationType, &KeysViewType,
                             &ValuesViewType, &ItemsViewType, &IteratorType}) {
    if (PyType_Ready(type) < 0) return -1;
  }
  Py_INCREF(&MapType);
  if (PyModule_AddObject(module, "Map", reinterpret_cast<PyObject*>(&MapType)) <
      0) {
    Py_DECREF(&MapType);
    return -1;
  }
  Py_INCREF(&MapMutationType);
  if (PyModule_AddObject(module, "MapMutation",
                         reinterpret_cast<PyObject*>(&MapMutationType)) < 0) {
    Py_DECREF(&MapMutationType);
    return -1;
  }
  PyObject* abc = PyImport_ImportModule("collections.abc");
  if (abc == nullptr) return -1;
  PyObject* mapping = PyObject_GetAttrString(abc, "Mapping");
  Py_DECREF(abc);
  if (mapping == nullptr) return -1;
  PyObject* result = PyObject_CallMethod(mapping, "register", "O",
                                         reinterpret_cast<PyObject*>(&MapType));
  Py_DECREF(mapping);
  if (result == nullptr) return -1;
  Py_DECREF(result);
  return 0;
}

}  // namespace persist_python
