"""CPython's own HamtTest (Lib/test/test_context.py from Debian's
libpython3.11-testsuite), run unmodified against persist.Map.

The test module calls a global `hamt()`, which CPython binds to
_testcapi.hamt(), CPython's internal HAMT. This file re-points that global,
for the duration of the class only, to a thin adapter over persist.Map that
keeps the internal HAMT's semantics where they differ from immutables.Map's:
delete() of a missing key returns the map itself (persist.Map raises
KeyError), and items()/keys()/values() are iterators that also have a len().
Every other operation is persist.Map's own; an error from __hash__ or __eq__
passes through untouched.
"""

import unittest

import persist
from test import test_context


class _Iterator:
    __slots__ = ('_iterator', '_length')

    def __init__(self, view):
        self._length = len(view)
        self._iterator = iter(view)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._iterator)

    def __len__(self):
        return self._length


class CPythonSemanticsHamt:
    """_testcapi.hamt()'s interface on top of a persist.Map."""

    __slots__ = ('_map', '__weakref__')

    def __init__(self, map=None):
        self._map = persist.Map() if map is None else map

    def _wrap(self, map):
        # The same object back when persist.Map returned the same map.
        return self if map is self._map else CPythonSemanticsHamt(map)

    def set(self, key, value):
        return self._wrap(self._map.set(key, value))

    def delete(self, key):
        try:
            return self._wrap(self._map.delete(key))
        except KeyError as error:
            if error.args == (key,):
                return self
            raise

    def get(self, key, default=None):
        return self._map.get(key, default)

    def __getitem__(self, key):
        return self._map[key]

    def __contains__(self, key):
        return key in self._map

    def __len__(self):
        return len(self._map)

    def __iter__(self):
        return iter(self._map)

    def items(self):
        return _Iterator(self._map.items())

    def keys(self):
        return _Iterator(self._map.keys())

    def values(self):
        return _Iterator(self._map.values())

    def __eq__(self, other):
        if not isinstance(other, CPythonSemanticsHamt):
            return NotImplemented
        return self._map == other._map

    __hash__ = None


class PersistMapHamtTest(test_context.HamtTest):
    """test_context.HamtTest, every test, with hamt() -> persist.Map."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._saved_hamt = test_context.hamt
        test_context.hamt = CPythonSemanticsHamt

    @classmethod
    def tearDownClass(cls):
        test_context.hamt = cls._saved_hamt
        super().tearDownClass()


    # HamtTest is skipped when _testcapi lacks hamt(); the adapter needs
    # only persist.
    __unittest_skip__ = False

    def test_adapter_is_in_use(self):
        h = test_context.hamt()
        self.assertIsInstance(h, CPythonSemanticsHamt)
        self.assertIsInstance(h.set(1, 2)._map, persist.Map)

if __name__ == '__main__':
    unittest.main()
