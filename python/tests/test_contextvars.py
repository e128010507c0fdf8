"""persist.contextvars against the standard library's contextvars: the same
API, errors, messages and reprs (up to the module name and addresses), and
what only persist has to get right: values are Python objects held by C++
contexts (reference counts, re-entrant __del__, memory).
"""

import collections.abc
import contextvars as std
import copy
import pickle
import gc
import os
import re
import sys
import weakref

import pytest

import persist.contextvars as pcv

MODULES = [pytest.param(std, id="cpython"), pytest.param(pcv, id="persist")]


def normalize(text):
    """Addresses and module prefixes differ between the two modules."""
    text = re.sub(r"0x[0-9a-f]+", "0x?", text)
    return text.replace("_contextvars.", "").replace("persist.contextvars.", "")


def error_of(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 -- compared below
        return type(error), normalize(str(error))
    return None


def run_isolated(module, fn):
    return module.Context().run(fn)


ERROR_CASES = {
    "var no args": lambda m: m.ContextVar(),
    "var name kw": lambda m: m.ContextVar(name="a"),
    "var not str": lambda m: m.ContextVar(1),
    "var 2 positional": lambda m: m.ContextVar("a", 1),
    "var bad kw": lambda m: m.ContextVar("a", default=1, x=2),
    "get unset": lambda m: m.ContextVar("a").get(),
    "get 2 args": lambda m: m.ContextVar("a").get(1, 2),
    "get kw": lambda m: m.ContextVar("a").get(default=1),
    "set no args": lambda m: m.ContextVar("a").set(),
    "reset not token": lambda m: m.ContextVar("a").reset(1),
    "reset other var": lambda m: m.ContextVar("b").reset(m.ContextVar("a").set(1)),
    "reset twice": lambda m: (lambda v: (lambda t: (v.reset(t), v.reset(t)))(v.set(1)))(m.ContextVar("a")),
    "reset other context": lambda m: (lambda v: v.reset(m.Context().run(v.set, 1)))(m.ContextVar("a")),
    "token new": lambda m: m.Token(),
    "context args": lambda m: m.Context(1),
    "context kwargs": lambda m: m.Context(a=1),
    "context getitem": lambda m: m.Context()[1],
    "context contains": lambda m: 1 in m.Context(),
    "context get no args": lambda m: m.Context().get(),
    "context get 3 args": lambda m: m.Context().get(m.ContextVar("a"), 1, 2),
    "context get not var": lambda m: m.Context().get(1),
    "context missing key": lambda m: m.Context()[m.ContextVar("a")],
    "context run no args": lambda m: m.Context().run(),
    "context copy args": lambda m: m.Context().copy(1),
    "context hash": lambda m: hash(m.Context()),
    "token hash": lambda m: hash(m.ContextVar("a").set(1)),
    "name readonly": lambda m: setattr(m.ContextVar("a"), "name", "b"),
    "no attribute": lambda m: setattr(m.ContextVar("a"), "x", 1),
    "copy_context args": lambda m: m.copy_context(1),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_errors_match_cpython(case):
    expected = error_of(lambda: run_isolated(std, lambda: ERROR_CASES[case](std)))
    actual = error_of(lambda: run_isolated(pcv, lambda: ERROR_CASES[case](pcv)))
    assert expected is not None
    assert actual == expected


BEHAVIOUR_CASES = {
    "copy context": lambda m, v, c: copy.copy(c),
    "pickle var": lambda m, v, c: pickle.dumps(v),
    "weakref var": lambda m, v, c: weakref.ref(v),
    "weakref context": lambda m, v, c: type(weakref.ref(c)),
    "weakref token": lambda m, v, c: weakref.ref(v.set(1)),
    "context <": lambda m, v, c: c < c,
    "var ==": lambda m, v, c: v == v,
    "dir var": lambda m, v, c: [x for x in dir(v) if not x.startswith("__")],
    "dir context": lambda m, v, c: [x for x in dir(c) if not x.startswith("__")],
    "dir token": lambda m, v, c: [x for x in dir(v.set(1)) if not x.startswith("__")],
    "context get keyword": lambda m, v, c: c.get(v, default=1),
    "run keyword only": lambda m, v, c: c.run(callable=print),
    "set Token.MISSING": lambda m, v, c: setattr(m.Token, "MISSING", 1),
    "set a type attribute": lambda m, v, c: setattr(m.ContextVar, "x", 1),
    "context in context": lambda m, v, c: c in c,
    "context == dict": lambda m, v, c: c == {},
    "bool of empty": lambda m, v, c: bool(c),
    "iterate empty": lambda m, v, c: next(iter(c)),
    "MISSING type name": lambda m, v, c: type(m.Token.MISSING).__name__,
}


@pytest.mark.parametrize("case", sorted(BEHAVIOUR_CASES))
def test_behaviour_matches_cpython(case):
    def outcome(m):
        def body():
            try:
                return "ok", normalize(repr(BEHAVIOUR_CASES[case](
                    m, m.ContextVar("v"), m.copy_context())))
            except Exception as error:  # noqa: BLE001 -- compared below
                return type(error), normalize(str(error))
        return m.Context().run(body)
    assert outcome(pcv) == outcome(std)


def test_reprs_match_cpython():
    def reprs(m):
        v = m.ContextVar("a")
        d = m.ContextVar("b", default=[1, "x"])
        t = v.set(1)
        before = repr(t)
        v.reset(t)
        return [repr(v), repr(d), before, repr(t), repr(m.Token.MISSING),
                repr(type(m.Token.MISSING)), repr(m.ContextVar[int])]
    assert [normalize(r) for r in run_isolated(pcv, lambda: reprs(pcv))] == [
        normalize(r) for r in run_isolated(std, lambda: reprs(std))]


def test_run_already_entered_message():
    ctx = pcv.Context()

    def reenter():
        with pytest.raises(RuntimeError) as info:
            ctx.run(reenter)
        return str(info.value)

    message = ctx.run(reenter)
    assert message == "cannot enter context: %r is already entered" % ctx


@pytest.mark.parametrize("module", MODULES)
def test_final_types(module):
    for base in (module.ContextVar, module.Token, module.Context):
        with pytest.raises(TypeError, match="not an acceptable base type"):
            type("Sub", (base,), {})


def test_context_is_a_mapping():
    v = pcv.ContextVar("v")
    w = pcv.ContextVar("w")

    def fill():
        v.set(1)
        w.set("two")
        return pcv.copy_context()

    ctx = pcv.Context().run(fill)
    assert isinstance(ctx, collections.abc.Mapping)
    assert len(ctx) == 2 and v in ctx and ctx[w] == "two"
    assert ctx.get(v) == 1 and ctx.get(pcv.ContextVar("x")) is None
    assert set(ctx) == {v, w} and set(ctx.keys()) == {v, w}
    assert sorted(ctx.values(), key=str) == [1, "two"]
    assert set(ctx.items()) == {(v, 1), (w, "two")}
    assert len(ctx.keys()) == len(ctx.values()) == len(ctx.items()) == 2
    assert ctx == ctx.copy() and not (ctx != ctx.copy())
    assert ctx != pcv.Context() and ctx.__eq__(1) is NotImplemented
    # Mapping's mixins work on it.
    assert collections.abc.Mapping.__eq__(ctx, dict(ctx.items()))


def test_iteration_is_a_snapshot():
    v = pcv.ContextVar("v")
    ctx = pcv.Context()

    def body():
        for i in range(100):
            pcv.ContextVar(str(i)).set(i)
        it = iter(ctx)
        seen = []
        for var in it:
            seen.append(var)
            v.set(len(seen))  # changes ctx, not the iteration
        return seen

    seen = ctx.run(body)
    assert len(seen) == 100 and len(ctx) == 101


def test_equality_uses_python_eq_and_propagates_errors():
    class Eq:
        def __init__(self, x):
            self.x = x

        def __eq__(self, other):
            if self.x == "boom":
                raise ZeroDivisionError("eq")
            return self.x == other.x

    v = pcv.ContextVar("v")
    a = pcv.Context().run(lambda: (v.set(Eq(1)), pcv.copy_context())[1])
    b = pcv.Context().run(lambda: (v.set(Eq(1)), pcv.copy_context())[1])
    c = pcv.Context().run(lambda: (v.set(Eq(2)), pcv.copy_context())[1])
    d = pcv.Context().run(lambda: (v.set(Eq("boom")), pcv.copy_context())[1])
    assert a == b and a != c
    with pytest.raises(ZeroDivisionError):
        d == a


def test_values_are_any_objects_and_refcounts_are_right():
    v = pcv.ContextVar("v")
    value = object()
    start = sys.getrefcount(value)

    def body():
        for _ in range(1000):
            t = v.set(value)
            assert v.get() is value
            pcv.copy_context()
            v.reset(t)
        t = v.set(value)
        assert t.old_value is pcv.Token.MISSING
        t2 = v.set(1)
        assert t2.old_value is value
        return pcv.copy_context()

    kept = pcv.Context().run(body)
    assert kept[v] == 1
    del kept
    gc.collect()
    assert sys.getrefcount(value) == start


def test_variable_lives_while_a_context_holds_its_value():
    ctx = pcv.Context()
    ctx.run(lambda: pcv.ContextVar("temporary").set("kept"))
    gc.collect()
    [(var, value)] = ctx.items()
    assert var.name == "temporary" and value == "kept"
    assert "temporary" in repr(var)


def test_default_cycle_is_collected():
    lst = []
    var = pcv.ContextVar("cycle", default=lst)
    lst.append(var)
    marker = type("Marker", (), {})()
    lst.append(marker)
    marker_ref = weakref.ref(marker)
    del var, lst, marker
    gc.collect()
    assert marker_ref() is None


class SetsOnDelete:
    """A value whose __del__ re-enters persist.contextvars."""

    def __init__(self, var, log):
        self.var = var
        self.log = log

    def __del__(self):
        token = self.var.set("set by __del__")
        self.log.append((self.var.get(), len(pcv.copy_context())))
        self.var.reset(token)
        self.var.set("after reset")


def test_reentrant_del_on_reset():
    v = pcv.ContextVar("v")
    other = pcv.ContextVar("other")
    log = []

    def body():
        token = v.set(SetsOnDelete(other, log))
        v.reset(token)  # drops the only reference: __del__ runs
        assert log == [("set by __del__", 1)]
        assert other.get() == "after reset" and v.get(None) is None

    pcv.Context().run(body)


def test_reentrant_del_on_replace_and_context_death():
    v = pcv.ContextVar("v")
    other = pcv.ContextVar("other")
    log = []

    def body():
        v.set(SetsOnDelete(other, log))
        token = v.set(2)
        del token  # the token held the old value: __del__ runs
        assert log and other.get() == "after reset"
        inner = pcv.Context()
        inner.run(v.set, SetsOnDelete(other, log))
        del inner  # the context's values die with it, in this context
        assert len(log) == 2 and other.get() == "after reset"

    pcv.Context().run(body)


def test_reentrant_del_inside_run_exit():
    v = pcv.ContextVar("v")
    other = pcv.ContextVar("other")
    log = []

    def body():
        pcv.Context().run(lambda: v.set(SetsOnDelete(other, log)))
        assert len(log) == 1  # the temporary Context died after run()
        return other.get()

    assert pcv.Context().run(body) == "after reset"


def rss_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def churn(n):
    v = pcv.ContextVar("v")
    w = pcv.ContextVar("w", default=0)
    ctx = pcv.Context()
    payload = [1, 2, 3]
    for i in range(n):
        t = v.set(payload)
        copied = pcv.copy_context()
        copied.run(w.set, i)
        ctx.run(w.get)
        v.reset(t)
    return copied


def test_memory_flat_over_a_million_calls():
    pcv.Context().run(churn, 50_000)
    gc.collect()
    before = rss_bytes()
    blocks_before = sys.getallocatedblocks()
    pcv.Context().run(churn, 250_000)  # 1M set/reset/copy_context/run calls
    gc.collect()
    grown = rss_bytes() - before
    if not os.environ.get("PERSIST_TEST_SANITIZER"):  # ASan keeps freed memory
        assert grown < 4 * 1024 * 1024, grown
    assert abs(sys.getallocatedblocks() - blocks_before) < 100
