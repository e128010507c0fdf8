// persist.contextvars: PEP 567's ContextVar, Token, Context and
// copy_context() for Python, on contextvars/ (the C++ layer: a HAMT per
// context, O(1) copy, O(1) cached get). The API, error types, messages and
// reprs are CPython's (Python/context.c's behaviour, written anew here);
// the types are final like CPython's. See python/contextvars_type.h for how
// each object embeds its C++ counterpart.
//
// Every entry point catches the C++ exceptions of its C++ call and turns
// them into Python exceptions, and calls DeferredDecref::Drain() once the
// C++ call has returned (values dropped inside the C++ layer are released
// there, where Python code may run safely).

#include "python/contextvars_type.h"

#include <structmember.h>  // PyMemberDef, T_OBJECT, READONLY

#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <utility>

#include "python/internal/arg_count.h"
#include "python/internal/deferred_decref.h"
#include "python/internal/greenlet_local.h"
#include "python/internal/thread_setup.h"
#include "python/module.h"

namespace persist_python {

PyTypeObject ContextVarType;
PyTypeObject TokenType;
PyTypeObject ContextType;

namespace {

using internal::DeferredDecref;
using internal::PyValue;

PyTypeObject TokenMissingType;
PyTypeObject ContextKeysType;
PyTypeObject ContextValuesType;
PyTypeObject ContextItemsType;

PyObject* token_missing = nullptr;  // Token.MISSING

template <class Method>
PyCFunction AsPyCFunction(Method method) {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(method));
}

// Sets the Python exception for a C++ exception that is not one of the
// contextvars errors a caller handles itself.
void SetErrorFromCurrentException() {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, "persist: unknown C++ exception");
  }
}

// A new Context object holding the context make() returns; nullptr with an
// exception set when allocating or make() fails.
template <class Make>
PyObject* NewContextObject(Make&& make) {
  auto* self = PyObject_New(ContextObject, &ContextType);
  if (self == nullptr) return nullptr;
  self->weakrefs = nullptr;
  try {
    self->context.ConstructFrom(std::forward<Make>(make));
  } catch (...) {
    SetErrorFromCurrentException();
    PyObject_Free(self);
    return nullptr;
  }
  return reinterpret_cast<PyObject*>(self);
}

bool IsContextVar(PyObject* object) {
  return Py_IS_TYPE(object, &ContextVarType);
}
ContextVarObject* AsVar(PyObject* object) {
  return reinterpret_cast<ContextVarObject*>(object);
}
ContextObject* AsContext(PyObject* object) {
  return reinterpret_cast<ContextObject*>(object);
}

// The Python variable of a context entry: its C++ name holds the address of
// the Python object, which the entry's value keeps alive.
ContextVarObject* VarOfEntry(const contextvars::Context::Entry& entry) {
  ContextVarObject* var;
  std::memcpy(&var, entry.name().data(), sizeof(var));
  return var;
}

PyObject* NotAContextVar(PyObject* key) {
  PyErr_Format(PyExc_TypeError, "a ContextVar key was expected, got %R", key);
  return nullptr;
}

// ---- ContextVar ------------------------------------------------------------

PyObject* ContextVarNew(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  // The name is positional-only, as in CPython.
  static const char* keywords[] = {"", "default", nullptr};
  PyObject* name;
  PyObject* default_value = nullptr;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$O:ContextVar",
                                   const_cast<char**>(keywords), &name,
                                   &default_value)) {
    return nullptr;
  }
  if (!PyUnicode_Check(name)) {
    PyErr_SetString(PyExc_TypeError, "context variable name must be a str");
    return nullptr;
  }
  auto* self = PyObject_GC_New(ContextVarObject, type);
  if (self == nullptr) return nullptr;
  self->name = Py_NewRef(name);
  self->default_value = Py_XNewRef(default_value);
  self->constructed = false;
  try {
    std::string address(reinterpret_cast<const char*>(&self), sizeof(self));
    self->var.Construct(std::move(address));
    self->constructed = true;
  } catch (...) {
    SetErrorFromCurrentException();
    Py_DECREF(self);
    return nullptr;
  }
  PyObject_GC_Track(self);
  return reinterpret_cast<PyObject*>(self);
}

int ContextVarTraverse(PyObject* object, visitproc visit, void* arg) {
  ContextVarObject* self = AsVar(object);
  Py_VISIT(self->name);
  Py_VISIT(self->default_value);
  return 0;
}

int ContextVarClear(PyObject* object) {
  Py_CLEAR(AsVar(object)->default_value);
  return 0;
}

void ContextVarDealloc(PyObject* object) {
  ContextVarObject* self = AsVar(object);
  PyObject_GC_UnTrack(object);
  if (self->constructed) self->var.Destroy();
  Py_CLEAR(self->name);
  Py_CLEAR(self->default_value);
  PyObject_GC_Del(object);
}

PyObject* ContextVarRepr(PyObject* object) {
  ContextVarObject* self = AsVar(object);
  if (self->default_value == nullptr) {
    return PyUnicode_FromFormat("<ContextVar name=%R at %p>", self->name,
                                object);
  }
  return PyUnicode_FromFormat("<ContextVar name=%R default=%R at %p>",
                              self->name, self->default_value, object);
}

// get([default]): the value in the current context, else `default`, else the
// variable's default, else LookupError. The C++ cached get.
PyObject* ContextVarGet(PyObject* object, PyObject* const* args,
                        Py_ssize_t nargs) {
  if (!internal::CheckArgCount("get", nargs, 0, 1)) return nullptr;
  ContextVarObject* self = AsVar(object);
  try {
    PyValue found = self->var.get().get(PyValue());
    if (PERSIST_BASE_PREDICT_TRUE(found.has_value())) {
      return std::move(found).ReleaseValue();
    }
  } catch (...) {
    SetErrorFromCurrentException();
    return nullptr;
  }
  if (nargs == 1) return Py_NewRef(args[0]);
  if (self->default_value != nullptr) return Py_NewRef(self->default_value);
  PyErr_SetObject(PyExc_LookupError, object);
  return nullptr;
}

PyObject* ContextVarSet(PyObject* object, PyObject* value) {
  if (internal::PrepareThread() < 0) return nullptr;
  ContextVarObject* self = AsVar(object);
  auto* token = PyObject_GC_New(TokenObject, &TokenType);
  if (token == nullptr) return nullptr;
  token->var = reinterpret_cast<ContextVarObject*>(Py_NewRef(object));
  token->constructed = false;
  try {
    token->token.Construct(
        self->var.get().set(PyValue(Py_NewRef(object), Py_NewRef(value))));
    token->constructed = true;
  } catch (...) {
    SetErrorFromCurrentException();
    Py_DECREF(token);
    DeferredDecref::Drain();
    return nullptr;
  }
  PyObject_GC_Track(token);
  DeferredDecref::Drain();
  return reinterpret_cast<PyObject*>(token);
}

PyObject* ContextVarReset(PyObject* object, PyObject* token_object) {
  if (!Py_IS_TYPE(token_object, &TokenType)) {
    PyErr_Format(PyExc_TypeError, "expected an instance of Token, got %R",
                 token_object);
    return nullptr;
  }
  auto* token = reinterpret_cast<TokenObject*>(token_object);
  bool failed = true;
  try {
    AsVar(object)->var.get().reset(token->token.get());
    failed = false;
  } catch (const contextvars::TokenUsedError&) {
    PyErr_Format(PyExc_RuntimeError, "%R has already been used once",
                 token_object);
  } catch (const contextvars::TokenVarMismatchError&) {
    PyErr_Format(PyExc_ValueError, "%R was created by a different ContextVar",
                 token_object);
  } catch (const contextvars::TokenContextMismatchError&) {
    PyErr_Format(PyExc_ValueError, "%R was created in a different Context",
                 token_object);
  } catch (...) {
    SetErrorFromCurrentException();
  }
  DeferredDecref::Drain();
  if (failed) return nullptr;
  Py_RETURN_NONE;
}

PyMethodDef context_var_methods[] = {
    {"get", AsPyCFunction(ContextVarGet), METH_FASTCALL,
     "Return the value of the variable in the current context, else default, "
     "else the variable's default; raise LookupError otherwise."},
    {"set", AsPyCFunction(ContextVarSet), METH_O,
     "Set the variable's value in the current context; return a Token."},
    {"reset", AsPyCFunction(ContextVarReset), METH_O,
     "Restore the value the variable had before the set() that made token."},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, "See PEP 585"},
    {nullptr, nullptr, 0, nullptr},
};

PyMemberDef context_var_members[] = {
    {"name", T_OBJECT, offsetof(ContextVarObject, name), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

// ---- Token -----------------------------------------------------------------

PyObject* TokenNew(PyTypeObject*, PyObject*, PyObject*) {
  PyErr_SetString(PyExc_RuntimeError,
                  "Tokens can only be created by ContextVars");
  return nullptr;
}

int TokenTraverse(PyObject* object, visitproc visit, void* arg) {
  Py_VISIT(reinterpret_cast<TokenObject*>(object)->var);
  return 0;
}

void TokenDealloc(PyObject* object) {
  auto* self = reinterpret_cast<TokenObject*>(object);
  PyObject_GC_UnTrack(object);
  if (self->constructed) self->token.Destroy();
  Py_CLEAR(self->var);
  PyObject_GC_Del(object);
  DeferredDecref::Drain();
}

PyObject* TokenRepr(PyObject* object) {
  auto* self = reinterpret_cast<TokenObject*>(object);
  bool used = !self->constructed || self->token.get().used();
  return PyUnicode_FromFormat("<Token%s var=%R at %p>", used ? " used" : "",
                              self->var, object);
}

PyObject* TokenGetVar(PyObject* object, void*) {
  return Py_NewRef(reinterpret_cast<TokenObject*>(object)->var);
}

PyObject* TokenGetOldValue(PyObject* object, void*) {
  auto* self = reinterpret_cast<TokenObject*>(object);
  std::optional<PyValue> old;
  try {
    old = self->token.get().old_value();
  } catch (...) {
    SetErrorFromCurrentException();
    return nullptr;
  }
  if (!old) return Py_NewRef(token_missing);
  return std::move(*old).ReleaseValue();
}

PyGetSetDef token_getset[] = {
    {"var", TokenGetVar, nullptr, nullptr, nullptr},
    {"old_value", TokenGetOldValue, nullptr, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMethodDef token_methods[] = {
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, "See PEP 585"},
    {nullptr, nullptr, 0, nullptr},
};

PyObject* TokenMissingRepr(PyObject*) {
  return PyUnicode_FromString("<Token.MISSING>");
}

// ---- Context ---------------------------------------------------------------

PyObject* ContextNew(PyTypeObject*, PyObject* args, PyObject* kwargs) {
  if (PyTuple_GET_SIZE(args) != 0 ||
      (kwargs != nullptr && PyDict_GET_SIZE(kwargs) != 0)) {
    PyErr_SetString(PyExc_TypeError, "Context() does not accept any arguments");
    return nullptr;
  }
  return NewEmptyContextObject();
}

void ContextDealloc(PyObject* object) {
  if (AsContext(object)->weakrefs != nullptr) PyObject_ClearWeakRefs(object);
  AsContext(object)->context.Destroy();
  PyObject_Free(object);
  DeferredDecref::Drain();
}

PyObject* ContextRun(PyObject* object, PyObject* const* args, Py_ssize_t nargs,
                     PyObject* kwnames) {
  if (nargs < 1) {
    PyErr_SetString(PyExc_TypeError,
                    "run() missing 1 required positional argument");
    return nullptr;
  }
  if (internal::PrepareThread() < 0) return nullptr;
  PyObject* result = nullptr;
  try {
    result = AsContext(object)->context.get().run([&] {
      return PyObject_Vectorcall(args[0], args + 1, nargs - 1, kwnames);
    });
  } catch (const contextvars::ContextAlreadyEnteredError&) {
    PyErr_Format(PyExc_RuntimeError,
                 "cannot enter context: %R is already entered", object);
  } catch (...) {
    SetErrorFromCurrentException();
  }
  DeferredDecref::Drain();
  return result;
}

PyObject* ContextCopy(PyObject* object, PyObject*) {
  const contextvars::Context& context = AsContext(object)->context.get();
  return NewContextObject([&] { return context.copy(); });
}

// The value of `key` in `object`'s context as a new reference; nullptr with
// no exception set when absent.
PyObject* ContextLookup(PyObject* object, PyObject* key) {
  std::optional<PyValue> value =
      AsContext(object)->context.get().get(AsVar(key)->var.get());
  if (!value) return nullptr;
  return std::move(*value).ReleaseValue();
}

PyObject* ContextGetItem(PyObject* object, PyObject* key) {
  if (!IsContextVar(key)) return NotAContextVar(key);
  PyObject* value = ContextLookup(object, key);
  if (value == nullptr) PyErr_SetObject(PyExc_KeyError, key);
  return value;
}

PyObject* ContextGet(PyObject* object, PyObject* const* args,
                     Py_ssize_t nargs) {
  if (!internal::CheckArgCount("get", nargs, 1, 2)) return nullptr;
  if (!IsContextVar(args[0])) return NotAContextVar(args[0]);
  PyObject* value = ContextLookup(object, args[0]);
  if (value != nullptr) return value;
  return Py_NewRef(nargs == 2 ? args[1] : Py_None);
}

int ContextContains(PyObject* object, PyObject* key) {
  if (!IsContextVar(key)) {
    NotAContextVar(key);
    return -1;
  }
  return AsContext(object)->context.get().contains(AsVar(key)->var.get());
}

Py_ssize_t ContextLength(PyObject* object) {
  return static_cast<Py_ssize_t>(AsContext(object)->context.get().size());
}

// Same variables with equal values (Python's ==, which may raise).
// 1, 0, or -1 with an exception.
int ContextsEqual(PyObject* a, PyObject* b) {
  const contextvars::Context& left = AsContext(a)->context.get();
  const contextvars::Context& right = AsContext(b)->context.get();
  if (left.is(right)) return 1;
  if (left.size() != right.size()) return 0;
  // Private copies: __eq__ may set variables in either context.
  contextvars::Context left_copy = left.copy();
  contextvars::Context right_copy = right.copy();
  for (const contextvars::Context::Entry& entry : left_copy) {
    ContextVarObject* var = VarOfEntry(entry);
    PyValue left_value = *entry.get_if(var->var.get());
    std::optional<PyValue> right_value = right_copy.get(var->var.get());
    if (!right_value) return 0;
    int equal = PyObject_RichCompareBool(left_value.value(),
                                         right_value->value(), Py_EQ);
    if (equal <= 0) return equal;
  }
  return 1;
}

PyObject* ContextRichCompare(PyObject* a, PyObject* b, int op) {
  if (!Py_IS_TYPE(b, &ContextType) || (op != Py_EQ && op != Py_NE)) {
    Py_RETURN_NOTIMPLEMENTED;
  }
  int equal;
  try {
    equal = ContextsEqual(a, b);
  } catch (...) {
    SetErrorFromCurrentException();
    equal = -1;
  }
  DeferredDecref::Drain();
  if (equal < 0) return nullptr;
  return PyBool_FromLong((op == Py_EQ) == (equal == 1));
}

// Iterators over a context: keys (also iter(ctx)), values and items. Each
// iterates a private O(1) copy of the context, so sets in the context while
// iterating change nothing (CPython's iterators walk an immutable HAMT).
// len() is the size of the context, like CPython's.
struct ContextIterObject {
  PyObject_HEAD bool constructed;
  internal::Embedded<contextvars::Context> snapshot;
  internal::Embedded<contextvars::Context::iterator> position;
};

PyObject* NewContextIter(PyObject* object, PyTypeObject* type) {
  auto* self = PyObject_New(ContextIterObject, type);
  if (self == nullptr) return nullptr;
  self->constructed = false;
  try {
    const contextvars::Context& context = AsContext(object)->context.get();
    self->snapshot.ConstructFrom([&] { return context.copy(); });
    self->position.Construct(self->snapshot.get().begin());
    self->constructed = true;
  } catch (...) {
    SetErrorFromCurrentException();
    Py_DECREF(self);
    return nullptr;
  }
  return reinterpret_cast<PyObject*>(self);
}

void ContextIterDealloc(PyObject* object) {
  auto* self = reinterpret_cast<ContextIterObject*>(object);
  if (self->constructed) {
    self->position.Destroy();
    self->snapshot.Destroy();
  }
  PyObject_Free(object);
  DeferredDecref::Drain();
}

PyObject* ContextIterNext(PyObject* object) {
  auto* self = reinterpret_cast<ContextIterObject*>(object);
  contextvars::Context::iterator& position = self->position.get();
  if (position == self->snapshot.get().end()) return nullptr;
  contextvars::Context::Entry entry = *position;
  ++position;
  ContextVarObject* var = VarOfEntry(entry);
  PyObject* key = reinterpret_cast<PyObject*>(var);
  if (Py_IS_TYPE(object, &ContextKeysType)) return Py_NewRef(key);
  PyObject* value = entry.get_if(var->var.get())->value();
  if (Py_IS_TYPE(object, &ContextValuesType)) return Py_NewRef(value);
  return PyTuple_Pack(2, key, value);
}

Py_ssize_t ContextIterLength(PyObject* object) {
  auto* self = reinterpret_cast<ContextIterObject*>(object);
  return static_cast<Py_ssize_t>(self->snapshot.get().size());
}

PyObject* ContextIter(PyObject* object) {
  return NewContextIter(object, &ContextKeysType);
}
PyObject* ContextKeys(PyObject* object, PyObject*) {
  return NewContextIter(object, &ContextKeysType);
}
PyObject* ContextValues(PyObject* object, PyObject*) {
  return NewContextIter(object, &ContextValuesType);
}
PyObject* ContextItems(PyObject* object, PyObject*) {
  return NewContextIter(object, &ContextItemsType);
}

PyMappingMethods context_iter_as_mapping = {ContextIterLength, nullptr,
                                            nullptr};

PyMethodDef context_methods[] = {
    {"get", AsPyCFunction(ContextGet), METH_FASTCALL,
     "Return the value of var in the context, else default (None)."},
    {"items", ContextItems, METH_NOARGS,
     "An iterator over the (ContextVar, value) pairs of the context."},
    {"keys", ContextKeys, METH_NOARGS,
     "An iterator over the ContextVars of the context."},
    {"values", ContextValues, METH_NOARGS,
     "An iterator over the values of the context."},
    {"copy", ContextCopy, METH_NOARGS, "A shallow copy of the context."},
    {"run", AsPyCFunction(ContextRun), METH_FASTCALL | METH_KEYWORDS,
     "Call callable(*args, **kwargs) in the context, then restore the "
     "current context."},
    {nullptr, nullptr, 0, nullptr},
};

PyMappingMethods context_as_mapping = {ContextLength, ContextGetItem, nullptr};
PySequenceMethods context_as_sequence = {
    nullptr, nullptr, nullptr,         nullptr, nullptr,
    nullptr, nullptr, ContextContains, nullptr, nullptr,
};

PyObject* CopyContext(PyObject*, PyObject*) {
  return NewContextObject([] { return contextvars::copy_context(); });
}

PyMethodDef copy_context_def = {
    "copy_context",
    CopyContext,
    METH_NOARGS,
    "Return a copy of the current Context.",
};

// Static types, like CPython's own: no reference to the type per instance.
void InitStaticType(PyTypeObject* type, const char* name, Py_ssize_t size,
                    unsigned long flags, const char* doc) {
  std::memset(static_cast<void*>(type), 0, sizeof(*type));
  Py_SET_REFCNT(reinterpret_cast<PyObject*>(type), 1);
  type->tp_name = name;
  type->tp_basicsize = size;
  type->tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | flags;
  type->tp_doc = doc;
}

int AddType(PyObject* module, PyTypeObject* type, const char* name) {
  if (PyType_Ready(type) < 0) return -1;
  if (name == nullptr) return 0;
  Py_INCREF(type);
  if (PyModule_AddObject(module, name, reinterpret_cast<PyObject*>(type)) < 0) {
    Py_DECREF(type);
    return -1;
  }
  return 0;
}

}  // namespace

PyObject* NewEmptyContextObject() {
  return NewContextObject([] { return contextvars::Context(); });
}

int InitContextvars(PyObject* module) {
  InitStaticType(&ContextVarType, "persist.contextvars.ContextVar",
                 sizeof(ContextVarObject), Py_TPFLAGS_HAVE_GC, nullptr);
  ContextVarType.tp_new = ContextVarNew;
  ContextVarType.tp_dealloc = ContextVarDealloc;
  ContextVarType.tp_traverse = ContextVarTraverse;
  ContextVarType.tp_clear = ContextVarClear;
  ContextVarType.tp_repr = ContextVarRepr;
  ContextVarType.tp_methods = context_var_methods;
  ContextVarType.tp_members = context_var_members;
  ContextVarType.tp_free = PyObject_GC_Del;

  InitStaticType(&TokenType, "persist.contextvars.Token", sizeof(TokenObject),
                 Py_TPFLAGS_HAVE_GC, nullptr);
  TokenType.tp_new = TokenNew;
  TokenType.tp_dealloc = TokenDealloc;
  TokenType.tp_traverse = TokenTraverse;
  TokenType.tp_repr = TokenRepr;
  TokenType.tp_getset = token_getset;
  TokenType.tp_methods = token_methods;
  TokenType.tp_hash = PyObject_HashNotImplemented;
  TokenType.tp_free = PyObject_GC_Del;

  InitStaticType(&TokenMissingType, "Token.MISSING", sizeof(PyObject), 0,
                 nullptr);
  TokenMissingType.tp_repr = TokenMissingRepr;

  InitStaticType(&ContextType, "persist.contextvars.Context",
                 sizeof(ContextObject), 0, nullptr);
  ContextType.tp_new = ContextNew;
  ContextType.tp_dealloc = ContextDealloc;
  ContextType.tp_methods = context_methods;
  ContextType.tp_as_mapping = &context_as_mapping;
  ContextType.tp_as_sequence = &context_as_sequence;
  ContextType.tp_iter = ContextIter;
  ContextType.tp_richcompare = ContextRichCompare;
  ContextType.tp_hash = PyObject_HashNotImplemented;
  ContextType.tp_weaklistoffset = offsetof(ContextObject, weakrefs);

  struct {
    PyTypeObject* type;
    const char* name;
  } iterators[] = {{&ContextKeysType, "keys"},
                   {&ContextValuesType, "values"},
                   {&ContextItemsType, "items"}};
  for (auto& iterator : iterators) {
    InitStaticType(iterator.type, iterator.name, sizeof(ContextIterObject), 0,
                   nullptr);
    iterator.type->tp_dealloc = ContextIterDealloc;
    iterator.type->tp_iter = PyObject_SelfIter;
    iterator.type->tp_iternext = ContextIterNext;
    iterator.type->tp_as_mapping = &context_iter_as_mapping;
    if (AddType(module, iterator.type, nullptr) < 0) return -1;
  }

  if (AddType(module, &TokenMissingType, nullptr) < 0) return -1;
  token_missing = PyObject_New(PyObject, &TokenMissingType);
  if (token_missing == nullptr) return -1;
  if (AddType(module, &TokenType, "Token") < 0) return -1;
  // Token.MISSING, set before any Token exists (static types are immutable
  // from Python, not from C).
  if (PyDict_SetItemString(TokenType.tp_dict, "MISSING", token_missing) < 0) {
    return -1;
  }
  PyType_Modified(&TokenType);
  if (AddType(module, &ContextVarType, "ContextVar") < 0) return -1;
  if (AddType(module, &ContextType, "Context") < 0) return -1;

  PyObject* module_name = PyUnicode_FromString("persist.contextvars");
  if (module_name == nullptr) return -1;
  PyObject* copy_context =
      PyCFunction_NewEx(&copy_context_def, nullptr, module_name);
  Py_DECREF(module_name);
  if (copy_context == nullptr ||
      PyModule_AddObject(module, "copy_context", copy_context) < 0) {
    Py_XDECREF(copy_context);
    return -1;
  }
  if (PyModule_AddIntConstant(module, "GREENLET_LOCAL", 0) < 0) return -1;
  if (internal::InitThreadSetup() < 0) return -1;
  if (internal::InitGreenletLocal(module) < 0) return -1;
  return PyObject_SetAttrString(
      module, "GREENLET_LOCAL",
      internal::GreenletLocalEnabled() ? Py_True : Py_False);
}

}  // namespace persist_python
