"""Greenlet-local contexts, like gevent.contextvars: each greenlet has its
own current context and a new greenlet starts with an empty one."""

import threading

import pytest

greenlet = pytest.importorskip("greenlet")

import persist.contextvars as pcv  # noqa: E402


def test_greenlet_local_is_on():
    assert pcv.GREENLET_LOCAL


def test_ten_thousand_greenlets_read_back_their_own_value():
    var = pcv.ContextVar("id")
    main = greenlet.getcurrent()
    seen = {}

    def body(i):
        var.set(i)
        main.switch()  # every greenlet sets, then all are suspended at once
        seen[i] = var.get()

    greenlets = [greenlet.greenlet(body) for _ in range(10_000)]
    for i, g in enumerate(greenlets):
        g.switch(i)
    assert var.get(None) is None
    for g in greenlets:
        g.switch()
    assert seen == {i: i for i in range(10_000)}
    assert all(g.dead for g in greenlets)


def test_sets_in_a_greenlet_are_invisible_to_its_parent():
    var = pcv.ContextVar("v", default="parent default")

    def body():
        var.set("child")
        greenlet.getcurrent().parent.switch()
        return var.get()

    def parent():
        token = var.set("parent")
        child = greenlet.greenlet(body)
        child.switch()
        assert var.get() == "parent"
        assert child.switch() == "child"
        assert var.get() == "parent"
        var.reset(token)
        return var.get()

    assert pcv.Context().run(parent) == "parent default"


def test_a_new_greenlet_sees_none_of_its_parents_values():
    var = pcv.ContextVar("v")

    def parent():
        var.set("parent")
        return greenlet.greenlet(
            lambda: (var.get(None), len(pcv.copy_context()))).switch()

    assert pcv.Context().run(parent) == (None, 0)


def test_context_run_across_switches():
    var = pcv.ContextVar("v")
    ctx = pcv.Context()
    main = greenlet.getcurrent()

    def in_ctx():
        var.set("in ctx")
        main.switch()
        return var.get()

    g = greenlet.greenlet(lambda: ctx.run(in_ctx))
    g.switch()
    assert var.get(None) is None
    # Still entered by the suspended greenlet.
    with pytest.raises(RuntimeError, match="is already entered"):
        ctx.run(lambda: None)
    assert g.switch() == "in ctx"
    assert ctx[var] == "in ctx"


def test_token_from_another_greenlet_is_from_another_context():
    var = pcv.ContextVar("v")
    token = greenlet.greenlet(lambda: var.set(1)).switch()
    with pytest.raises(ValueError, match="created in a different Context"):
        var.reset(token)


def test_throw_swaps_too():
    var = pcv.ContextVar("v")
    main = greenlet.getcurrent()

    def body():
        var.set("child")
        try:
            main.switch()
        except KeyError:
            return var.get()

    g = greenlet.greenlet(body)
    g.switch()
    assert g.throw(KeyError) == "child"
    assert var.get(None) is None


def test_previous_tracer_is_chained():
    # A fresh thread: greenlet's tracer is per thread, and persist installs
    # its own at the thread's first set(), chaining the one installed before.
    events = []
    results = {}

    def thread():
        greenlet.settrace(lambda event, args: events.append(event))
        var = pcv.ContextVar("v")
        var.set("main")
        child = greenlet.greenlet(lambda: var.get(None))
        results["child"] = child.switch()
        results["main"] = var.get()

    t = threading.Thread(target=thread)
    t.start()
    t.join()
    assert results == {"child": None, "main": "main"}
    assert events.count("switch") == 2


def test_gevent_greenlets_each_have_their_own_context():
    gevent = pytest.importorskip("gevent")
    var = pcv.ContextVar("v")

    def job(i):
        var.set(i)
        gevent.sleep(0)
        return var.get()

    jobs = [gevent.spawn(job, i) for i in range(100)]
    gevent.joinall(jobs)
    assert [j.value for j in jobs] == list(range(100))
