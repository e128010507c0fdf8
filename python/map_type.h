// persist.Map and persist.MapMutation: an immutable mapping for Python on
// hamt::Map, with the API of immutables.Map (MagicStack).
//
//   m = persist.Map({'a': 1}, b=2)     # or Map(iterable_of_pairs, **kw)
//   m2 = m.set('c', 3)                 # m unchanged; O(log32 n)
//   m3 = m2.delete('a')                # KeyError for a missing key
//   m2.get('c'), m2['c'], 'c' in m2, len(m2), list(m2)
//   m2.keys(), m2.values(), m2.items() # views with len() and iter()
//   m4 = m2.update({'d': 4}, e=5)      # a new Map
//   with m4.mutate() as mm:            # a MapMutation: batch edits in place
//       mm['x'] = 1; del mm['a']; mm.pop('b', None)
//   m5 = mm.finish()                   # after finish(), writes raise
//   ValueError
//
// Keys are hashed once with PyObject_Hash (the hash is stored with the key,
// so restructuring the trie never calls back into Python) and compared with
// == only when their hashes are equal. An exception from __hash__ or __eq__
// propagates and leaves every Map and MapMutation unchanged.
// set(k, v) of the identical value (`is`) returns the same Map object.
// hash(m) does not depend on the order of insertion; it hashes every value.
// Operations return plain persist.Map objects, also on subclasses.
//
// Garbage collection: the trie's nodes are shared between maps and are not
// Python objects, so a Map's tp_traverse visits only the entries in nodes
// that this Map owns alone (reference count 1 on every node from its root
// down, following a borrowed node's source). Visiting the entries of a shared
// node from every map that holds it would subtract one reference per map
// from objects that the node holds once, so the collector could take an
// object that is still referenced from outside for garbage and clear it.
// Not visiting shared nodes is always safe, and it only means a cycle
// through an entry of a node shared by several maps is collected once the
// other maps are gone (then the node has one owner and is visited). A
// MapMutation that is in the middle of an edit (its __eq__/__hash__/__del__
// calls run) is not traversed, and using it from such code (or from another
// thread meanwhile) raises RuntimeError.
//
// Thread-safety: everything runs under the GIL; Maps may be shared freely
// between threads.
//
// Speed (python/bench/map_benchmark.py, one run, str keys, median CPU time
// per call from Python, against CPython's own HAMT, _testcapi.hamt()):
// get 33 ns at 1k entries (50 ns), 97 ns at 1M (172 ns); set keeping the
// old map 197 ns at 1k (251 ns), 0.92 us at 1M (1.34 us); delete 233 ns at
// 1k (225 ns), 0.96 us at 1M (1.17 us); a pass over items() 12 us at 1k
// (21 us); building 1M entries 480 ms (1.65 s by set()).
//
// Files: python/internal/map_entry.h (the key and value types and their
// functors), python/internal/map_traverse.h (the collector's traversal).

#ifndef PERSIST_PYTHON_MAP_TYPE_H_
#define PERSIST_PYTHON_MAP_TYPE_H_

#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace persist_python {

// Readies the types, adds Map and MapMutation to `module` (persist._persist;
// persist/__init__.py re-exports them) and registers
// Map as a collections.abc.Mapping. Returns 0, or -1 with an exception set.
// Listed in kTypeInits (python/module.h).
int InitMap(PyObject* module);

}  // namespace persist_python

#endif  // PERSIST_PYTHON_MAP_TYPE_H_
