"""Tests of persist.Map and persist.MapMutation (issue 15)."""

import collections.abc
import gc
import pickle
import random
import sys
import threading
import types
import weakref

import pytest

import persist
from persist import Map, MapMutation


class Key:
    """A key with a chosen hash; __hash__/__eq__ raise on demand."""

    fail_hash = False
    fail_eq = False

    def __init__(self, hash, name):
        self.hash = hash
        self.name = name

    def __hash__(self):
        if Key.fail_hash:
            raise HashError(self.name)
        return self.hash

    def __eq__(self, other):
        if not isinstance(other, Key):
            return NotImplemented
        if Key.fail_eq:
            raise EqError(self.name)
        return (self.hash, self.name) == (other.hash, other.name)

    def __repr__(self):
        return f'Key({self.hash}, {self.name!r})'


class HashError(Exception):
    pass


class EqError(Exception):
    pass


@pytest.fixture(autouse=True)
def _reset_key_failures():
    yield
    Key.fail_hash = Key.fail_eq = False


def contents(m):
    return sorted(m.items(), key=repr)


# ---- construction ----

def test_empty():
    m = Map()
    assert len(m) == 0 and list(m) == [] and m.get('a') is None
    assert repr(m) == 'persist.Map({})'


def test_from_dict_pairs_mapping_and_keywords():
    assert dict(Map({'a': 1, 'b': 2})) == {'a': 1, 'b': 2}
    assert dict(Map([('a', 1), ('b', 2), ('a', 3)])) == {'a': 3, 'b': 2}
    assert dict(Map(a=1, b=2)) == {'a': 1, 'b': 2}
    assert dict(Map({'a': 1}, a=2, c=3)) == {'a': 2, 'c': 3}
    assert dict(Map(collections.OrderedDict(x=1))) == {'x': 1}
    assert dict(Map(types.MappingProxyType({'k': 'v'}))) == {'k': 'v'}
    assert dict(Map(iter([(1, 2)]))) == {1: 2}


def test_map_of_a_map_is_that_map():
    m = Map(a=1)
    assert Map(m) is m
    assert dict(Map(m, b=2)) == {'a': 1, 'b': 2}
    assert dict(m) == {'a': 1}


def test_construction_errors():
    with pytest.raises(TypeError, match='at most 1 argument'):
        Map({}, {})
    with pytest.raises(TypeError, match='element #1 to a sequence'):
        Map([(1, 2), 3])
    with pytest.raises(ValueError, match='element #0 has length 3'):
        Map([(1, 2, 3)])
    with pytest.raises(TypeError):
        Map(5)
    with pytest.raises(TypeError, match='unhashable'):
        Map([([], 1)])


# ---- reads ----

def test_get_subscript_contains_len_iter():
    m = Map({'a': 1, 'b': None})
    assert m.get('a') == 1 and m.get('b', 5) is None and m.get('z', 5) == 5
    assert m.get('z') is None
    assert m['a'] == 1 and m['b'] is None
    with pytest.raises(KeyError) as error:
        m['z']
    assert error.value.args == ('z',)
    assert 'a' in m and 'z' not in m
    assert len(m) == 2 and sorted(m) == ['a', 'b']
    with pytest.raises(TypeError, match='get expected at least 1'):
        m.get()
    with pytest.raises(TypeError, match='get expected at most 2'):
        m.get(1, 2, 3)


def test_views():
    m = Map({'a': 1, 'b': 2})
    keys, values, items = m.keys(), m.values(), m.items()
    assert len(keys) == len(values) == len(items) == 2
    assert sorted(keys) == ['a', 'b']
    assert sorted(values) == [1, 2]
    assert sorted(items) == [('a', 1), ('b', 2)]
    assert 'a' in keys and 'z' not in keys
    # Iteration orders agree with each other.
    assert list(zip(keys, values)) == list(items)
    it = iter(items)
    assert it.__length_hint__() == 2
    next(it)
    assert it.__length_hint__() == 1
    assert len(Map().items()) == 0 and list(Map().values()) == []


def test_items_tuples_kept_or_dropped():
    # items() refills its last tuple when the caller dropped it; a tuple the
    # caller keeps never changes.
    expected = sorted((i, str(i)) for i in range(100))
    m = Map(expected)
    assert sorted(list(m.items())) == expected
    assert sorted((k, v) for k, v in m.items()) == expected
    it = iter(m.items())
    first = next(it)
    second = next(it)
    assert first is not second and first != second
    saved, second_copy = tuple(first), tuple(second)
    del second                      # the iterator may refill that tuple now
    third = next(it)
    rest = [tuple(t) for t in it]
    assert first == saved
    assert sorted([first, second_copy, third] + rest) == expected


def test_iterator_keeps_map_alive():
    it = iter(Map({i: i for i in range(100)}).items())
    gc.collect()
    assert sorted(it) == [(i, i) for i in range(100)]
    with pytest.raises(StopIteration):
        next(it)


def test_is_a_mapping():
    m = Map(a=1)
    assert isinstance(m, collections.abc.Mapping)
    assert issubclass(Map, collections.abc.Mapping)
    assert not isinstance(m, collections.abc.MutableMapping)


def test_generic_alias():
    alias = Map[int, str]
    assert isinstance(alias, types.GenericAlias)
    assert alias.__origin__ is Map and alias.__args__ == (int, str)


def test_weakref():
    m = Map(a=1)
    ref = weakref.ref(m)
    assert ref() is m
    del m
    assert ref() is None


# ---- updates ----

def test_set_returns_new_map_and_keeps_old():
    m = Map(a=1)
    m2 = m.set('b', 2)
    assert m2 is not m and dict(m) == {'a': 1} and dict(m2) == {'a': 1, 'b': 2}
    m3 = m2.set('a', 10)
    assert dict(m3) == {'a': 10, 'b': 2} and dict(m2) == {'a': 1, 'b': 2}
    with pytest.raises(TypeError, match='set expected 2 arguments, got 1'):
        m.set('a')


def test_set_identical_value_returns_same_map():
    value = object()
    m = Map(a=1).set('v', value)
    assert m.set('v', value) is m
    equal_not_identical = [1]
    m = m.set('l', equal_not_identical)
    m2 = m.set('l', [1])
    assert m2 is not m and m2['l'] is not equal_not_identical


def test_delete():
    m = Map(a=1, b=2)
    m2 = m.delete('a')
    assert dict(m2) == {'b': 2} and dict(m) == {'a': 1, 'b': 2}
    with pytest.raises(KeyError) as error:
        m2.delete('a')
    assert error.value.args == ('a',)
    assert len(m2.delete('b')) == 0


def test_update():
    m = Map(a=1)
    m2 = m.update({'b': 2}, c=3)
    assert dict(m2) == {'a': 1, 'b': 2, 'c': 3} and dict(m) == {'a': 1}
    assert dict(m.update([('a', 5)])) == {'a': 5}
    assert dict(m.update(Map(z=0))) == {'a': 1, 'z': 0}
    assert m.update() is m
    with pytest.raises(TypeError, match='at most 1 argument'):
        m.update({}, {})


# ---- equality and hashing ----

def test_equality():
    a = Map({i: str(i) for i in range(1000)})
    b = Map({i: str(i) for i in reversed(range(1000))})
    assert a == b and not (a != b)
    assert a.set(5, 'x') != b
    assert a.set(5, 'x') == b.set(5, 'x')
    assert a.delete(5) != b and a.delete(5) == b.delete(5)
    assert a != a.set(1000, 'x')
    assert Map({1: 1}) == Map({1: 1.0})        # values compared with ==
    assert Map({1: 1}) == Map({1.0: 1})        # keys too
    assert Map(a=1) != {'a': 1}                # not a Map
    assert Map() == Map()


def test_equality_propagates_value_eq_errors():
    class Bad:
        def __eq__(self, other):
            raise EqError('value')
        __hash__ = object.__hash__

    with pytest.raises(EqError):
        Map(a=Bad()) == Map(a=Bad())


def test_hash_is_order_independent():
    pairs = [(i, str(i)) for i in range(500)]
    a = Map(pairs)
    b = Map(reversed(pairs))
    assert hash(a) == hash(b) == hash(a)
    assert hash(Map()) == hash(Map())
    assert hash(a) != hash(a.set(0, 'other'))
    assert hash(Map(a=1, b=2)) != hash(Map(a=2, b=1))
    assert len({Map(a=1), Map(a=1), Map(b=1)}) == 2
    with pytest.raises(TypeError, match='unhashable'):
        hash(Map(a=[]))


# ---- repr ----

def test_repr():
    assert repr(Map(a=1)) == "persist.Map({'a': 1})"
    m = Map({1: 'x', 2: 'y'})
    assert repr(m) in ("persist.Map({1: 'x', 2: 'y'})",
                       "persist.Map({2: 'y', 1: 'x'})")


def test_repr_recursion_guard():
    lst = []
    m = Map(a=lst)
    lst.append(m)
    assert repr(m) == "persist.Map({'a': [persist.Map({...})]})"


def test_repr_propagates_errors():
    class BadRepr:
        def __repr__(self):
            raise ValueError('no repr')
    with pytest.raises(ValueError, match='no repr'):
        repr(Map(a=BadRepr()))
    with pytest.raises(ValueError, match='no repr'):
        repr(Map({BadRepr(): 1}))
    # The guard was released: a second repr works the same way.
    assert repr(Map(a=1)) == "persist.Map({'a': 1})"


# ---- pickling ----

@pytest.mark.parametrize('protocol', range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle(protocol):
    m = Map({i: [i] for i in range(100)}, name='x')
    copy = pickle.loads(pickle.dumps(m, protocol))
    assert type(copy) is Map and copy == m


# ---- exceptions from __hash__ and __eq__ ----

def test_failing_hash_leaves_map_unchanged():
    m = Map({Key(i, str(i)): i for i in range(100)})
    before = contents(m)
    k = Key(5, 'new')
    Key.fail_hash = True
    for operation in (lambda: m.set(k, 1), lambda: m.get(k),
                      lambda: m[k], lambda: k in m, lambda: m.delete(k),
                      lambda: m.update({k: 1}), lambda: Map({k: 1})):
        with pytest.raises(HashError):
            operation()
    Key.fail_hash = False
    assert contents(m) == before


def test_failing_eq_leaves_maps_unchanged():
    # Keys with equal hashes: __eq__ is called on set, get, in, delete.
    m = Map({Key(7, str(i)): i for i in range(10)})
    m = m.set(Key(8, 'single'), 'x')
    before = contents(m)
    Key.fail_eq = True
    for operation in (lambda: m.set(Key(7, 'new'), 1),
                      lambda: m.set(Key(7, '3'), 1),
                      lambda: m.set(Key(8, 'other'), 1),
                      lambda: m.get(Key(7, '3')),
                      lambda: m[Key(7, '3')], lambda: Key(7, '3') in m,
                      lambda: m.delete(Key(7, '3')),
                      lambda: m.delete(Key(8, 'single2')),
                      lambda: m.update({Key(7, '1'): 0}),
                      lambda: m == Map({Key(7, str(i)): i for i in range(10)}
                                       ).set(Key(8, 'single'), 'x')):
        with pytest.raises(EqError):
            operation()
    Key.fail_eq = False
    assert contents(m) == before
    assert len(m) == 11 and m[Key(7, '3')] == 3


def test_failing_eq_and_hash_leave_mutation_unchanged():
    base = Map({Key(7, str(i)): i for i in range(10)})
    base = base.update({Key(i, 'spread'): i for i in range(100, 400)})
    mm = base.mutate()
    mm[Key(7, 'added')] = 'a'        # the mutation now owns part of the trie
    del mm[Key(150, 'spread')]
    before = contents(mm.finish()) if False else None
    expected = dict(base)
    expected[Key(7, 'added')] = 'a'
    del expected[Key(150, 'spread')]
    Key.fail_eq = True
    for operation in (lambda: mm.set(Key(7, 'x'), 1),
                      lambda: mm.__setitem__(Key(7, '1'), 1),
                      lambda: mm.__delitem__(Key(7, '2')),
                      lambda: mm.pop(Key(7, '2')),
                      lambda: mm.pop(Key(7, 'zz'), None),
                      lambda: mm.get(Key(7, '2')),
                      lambda: Key(7, '2') in mm,
                      lambda: mm.update({Key(1, 'a'): 1, Key(7, '1'): 2})):
        with pytest.raises(EqError):
            operation()
    Key.fail_eq = False
    Key.fail_hash = True
    for operation in (lambda: mm.set(Key(7, 'x'), 1),
                      lambda: mm.pop(Key(7, '2')),
                      lambda: mm.__delitem__(Key(7, '2'))):
        with pytest.raises(HashError):
            operation()
    Key.fail_hash = False
    assert before is None
    assert dict(mm.finish()) == expected
    assert len(base) == 310 and Key(7, 'added') not in base


# ---- collisions and deep trees ----

def test_keys_with_equal_hashes():
    keys = [Key(12345, str(i)) for i in range(50)]
    m = Map()
    for i, k in enumerate(keys):
        m = m.set(k, i)
    assert len(m) == 50 and all(m[k] == i for i, k in enumerate(keys))
    assert Key(12345, 'absent') not in m
    other = Map((k, i) for i, k in reversed(list(enumerate(keys))))
    assert other == m and hash(other) == hash(m)
    for i, k in enumerate(keys):
        m = m.delete(k)
        assert len(m) == 49 - i and k not in m
    assert m == Map()


def test_deepest_tree():
    # Hashes that agree on all but the top bits push the pairs to the last
    # levels of the trie (5 and 5 - 2**61 share their low 61 bits as 64-bit
    # integers); pairs with equal hashes then go to a collision node.
    hashes = [5, 5 - 2**61, 5 + 2**60, 5 - 2**60, 0, -2, -3]
    assert all(hash(Key(h, '')) == h for h in hashes)
    keys = [Key(h, 'a') for h in hashes] + [Key(h, 'b') for h in hashes]
    m = Map((k, k.name) for k in keys)
    assert len(m) == len(keys)
    assert sorted(m.items(), key=repr) == sorted(((k, k.name) for k in keys),
                                                 key=repr)
    for k in keys:
        assert m[k] == k.name
        m = m.delete(k)
    assert len(m) == 0


def test_against_dict_model_with_old_versions():
    rng = random.Random(15)
    m, model = Map(), {}
    versions = []
    for step in range(20000):
        k = rng.randrange(3000)
        if rng.random() < 0.3 and k in model:
            m = m.delete(k)
            del model[k]
        else:
            m = m.set(k, step)
            model[k] = step
        if step % 1000 == 0:
            versions.append((m, dict(model)))
    assert dict(m) == model and len(m) == len(model)
    for old, old_model in versions:
        assert dict(old) == old_model and old == Map(old_model)


def test_nested_maps_free_without_deep_recursion():
    m = Map()
    for i in range(200000):
        m = Map(inner=m)
    del m  # would overflow the C stack without the trashcan


def test_large_map():
    m = Map((i, i) for i in range(200000))
    assert len(m) == 200000 and m[123456] == 123456
    assert sum(m.values()) == sum(range(200000))
    m2 = m.set(-1, -1).delete(0)
    assert len(m2) == 200000 and 0 in m and 0 not in m2


# ---- MapMutation ----

def test_mutation_methods():
    m = Map(a=1, b=2)
    mm = m.mutate()
    assert isinstance(mm, MapMutation)
    mm.set('c', 3)
    mm['d'] = 4
    del mm['a']
    assert mm.pop('b') == 2 and mm.pop('b', 'gone') == 'gone'
    with pytest.raises(KeyError):
        mm.pop('b')
    with pytest.raises(KeyError):
        del mm['a']
    assert mm.get('c') == 3 and mm.get('z') is None and mm.get('z', 0) == 0
    assert mm['d'] == 4 and 'c' in mm and 'a' not in mm and len(mm) == 2
    with pytest.raises(KeyError):
        mm['a']
    mm.update({'e': 5}, f=6)
    assert len(mm) == 4
    assert repr(mm).startswith('persist.MapMutation({')
    result = mm.finish()
    assert type(result) is Map
    assert dict(result) == {'c': 3, 'd': 4, 'e': 5, 'f': 6}
    assert dict(m) == {'a': 1, 'b': 2}
    assert mm.finish() == result


def test_mutation_context_manager():
    m = Map(a=1)
    with m.mutate() as mm:
        mm['b'] = 2
    with pytest.raises(ValueError, match='finished'):
        mm['c'] = 3
    assert dict(mm.finish()) == {'a': 1, 'b': 2}


def test_mutation_used_after_finish():
    mm = Map(a=1).mutate()
    mm['b'] = 2
    m = mm.finish()
    for write in (lambda: mm.set('x', 1), lambda: mm.__setitem__('x', 1),
                  lambda: mm.__delitem__('a'), lambda: mm.pop('a'),
                  lambda: mm.pop('a', None), lambda: mm.update(x=1)):
        with pytest.raises(ValueError, match='finished'):
            write()
    # Reads still work, and the finished Map is unaffected.
    assert mm['a'] == 1 and len(mm) == 2 and 'b' in mm and mm.get('b') == 2
    assert dict(m) == {'a': 1, 'b': 2}


def test_mutation_unhashable_and_not_picklable():
    mm = Map().mutate()
    with pytest.raises(TypeError, match='unhashable'):
        hash(mm)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match='cannot pickle'):
            pickle.dumps(mm, protocol)
    with pytest.raises(TypeError):
        MapMutation()


def test_mutation_is_independent_of_its_map():
    m = Map({i: i for i in range(1000)})
    mm = m.mutate()
    for i in range(0, 1000, 2):
        del mm[i]
    for i in range(1000, 1500):
        mm[i] = -i
    assert len(m) == 1000 and all(m[i] == i for i in range(1000))
    result = mm.finish()
    assert len(result) == 1000 and result[1001] == -1001 and 2 not in result


def test_mutation_reentered_from_eq_raises():
    mm = Map().mutate()

    class Reentrant:
        def __hash__(self):
            return 1

        def __eq__(self, other):
            mm['inner'] = 1
            return False

    mm[Reentrant()] = 1
    with pytest.raises(RuntimeError, match='in use'):
        mm[Reentrant()] = 2
    assert len(mm) == 1 and 'inner' not in mm


# ---- garbage collection ----

class Node:
    pass


def test_cycle_through_a_value_is_collected():
    holder = Node()
    holder.map = Map(me=holder)
    ref = weakref.ref(holder)
    del holder
    gc.collect()
    assert ref() is None


def test_cycle_through_a_key_is_collected():
    holder = Node()
    holder.map = Map({holder: 1})
    ref = weakref.ref(holder)
    del holder
    gc.collect()
    assert ref() is None


def test_cycle_through_a_big_map_is_collected():
    holder = Node()
    holder.map = Map({i: i for i in range(10000)}).set('me', holder)
    ref = weakref.ref(holder)
    del holder
    gc.collect()
    assert ref() is None


def test_cycle_through_a_mutation_is_collected():
    holder = Node()
    holder.mutation = Map().mutate()
    holder.mutation['me'] = holder
    ref = weakref.ref(holder)
    del holder
    gc.collect()
    assert ref() is None


def test_cycle_is_collected_once_sharing_ends():
    holder = Node()
    first = Map({i: i for i in range(1000)}).set('me', holder)
    holder.map = first.set(-1, -1)     # shares nodes with `first`
    ref = weakref.ref(holder)
    del holder
    del first                          # now the nodes have one owner
    gc.collect()
    assert ref() is None


def test_shared_nodes_are_not_counted_twice():
    # An object held once by a node that two garbage maps share must not
    # look unreachable to the collector while something else holds it.
    keep = [1, 2, 3]
    m1 = Map({i: i for i in range(5000)}).set('keep', keep)
    m2 = m1.set(-1, -1)
    # (With a third map the over-count would wrap below zero and hide.)
    cycle = [m1, m2]
    cycle.append(cycle)
    del m1, m2, cycle
    gc.collect()
    assert keep == [1, 2, 3]


def test_reference_counts_stay_flat():
    value = object()
    key = 'a-key-%d' % 5
    before = (sys.getrefcount(value), sys.getrefcount(key))
    m = Map()
    for i in range(2000):
        m = m.set(key, value).set(i, value)
        m.get(key)
        m = m.delete(i)
        with m.mutate() as mm:
            mm[i] = value
            mm.pop(i)
        list(m.items())
    del m, mm
    assert (sys.getrefcount(value), sys.getrefcount(key)) == before


# ---- threads ----

def test_map_shared_by_two_threads():
    shared = Map({i: i for i in range(10000)})
    errors = []

    def work(offset):
        try:
            local = shared
            for i in range(20000):
                k = i % 10000
                assert shared[k] == k
                local = local.set(k, k + offset)
                assert local[k] == k + offset
            assert all(local[k] == k + offset for k in range(10000))
        except Exception as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n * 100000,))
               for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(shared[k] == k for k in range(10000)) and len(shared) == 10000


def test_mutation_used_from_two_threads_stays_consistent():
    mm = Map().mutate()

    def work(base):
        for i in range(5000):
            mm[base + i] = i

    threads = [threading.Thread(target=work, args=(n * 10000,))
               for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(mm) == 10000


# ---- subclasses ----

class SubMap(Map):
    pass


def test_subclass():
    s = SubMap({'a': 1}, b=2)
    assert type(s) is SubMap and dict(s) == {'a': 1, 'b': 2}
    assert repr(s) == "SubMap({'a': 1, 'b': 2})" or repr(s) == \
        "SubMap({'b': 2, 'a': 1})"
    derived = s.set('c', 3)
    assert type(derived) is Map and dict(derived) == {'a': 1, 'b': 2, 'c': 3}
    assert type(s.delete('a')) is Map and type(s.update(x=1)) is Map
    assert s == Map(a=1, b=2)
    copy = pickle.loads(pickle.dumps(s))
    assert type(copy) is SubMap and copy == s
    s.attribute = 'x'  # subclasses have a __dict__
    ref = weakref.ref(s)
    del s
    gc.collect()
    assert ref() is None


def test_iterator_of_a_cleared_map_stops():
    # The collector empties maps in garbage cycles (tp_clear); an iterator
    # reached from a finalizer in that cycle must stop, not read freed nodes.
    seen = []

    class Finalizer:
        def __del__(self):
            seen.append(list(self.iterator))

    holder = Finalizer()
    holder.map = Map({i: i for i in range(100)}).set('holder', holder)
    holder.iterator = iter(holder.map.items())
    del holder
    gc.collect()
    assert len(seen) == 1 and len(seen[0]) in (0, 101)
