"""Each OS thread has its own current context; a Context entered in one
thread cannot be entered in another meanwhile."""

import threading
import weakref

import persist.contextvars as pcv


def test_threads_each_have_their_own_context():
    var = pcv.ContextVar("v", default="default")
    barrier = threading.Barrier(8)
    results = {}

    def worker(i):
        assert var.get() == "default"  # a new thread starts empty
        var.set(i)
        barrier.wait()  # all threads have set before any reads
        for _ in range(1000):
            assert var.get() == i
        results[i] = (var.get(), len(pcv.copy_context()))

    token = var.set("main")
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: (i, 1) for i in range(8)}
    assert var.get() == "main"
    var.reset(token)


def test_context_entered_in_one_thread_raises_in_another():
    ctx = pcv.Context()
    entered = threading.Event()
    release = threading.Event()
    errors = []

    def holder():
        ctx.run(lambda: (entered.set(), release.wait()))

    def intruder():
        try:
            ctx.run(lambda: None)
        except RuntimeError as error:
            errors.append(str(error))

    t = threading.Thread(target=holder)
    t.start()
    entered.wait()
    other = threading.Thread(target=intruder)
    other.start()
    other.join()
    release.set()
    t.join()
    assert errors == ["cannot enter context: %r is already entered" % ctx]
    ctx.run(lambda: None)  # free again once the first run() returned


def test_context_runs_in_threads_one_after_another():
    var = pcv.ContextVar("v", default=0)
    ctx = pcv.Context()
    for _ in range(4):
        t = threading.Thread(target=ctx.run, args=(lambda: var.set(var.get() + 1),))
        t.start()
        t.join()
    assert ctx[var] == 4


def test_values_of_an_ended_thread_are_released_in_that_thread():
    deleted_in = []

    class Value:
        def __del__(self):
            deleted_in.append(threading.get_ident())

    refs = []
    ident = []

    def worker():
        ident.append(threading.get_ident())
        value = Value()
        refs.append(weakref.ref(value))
        pcv.ContextVar("v").set(value)  # the thread's own context keeps it

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    # As with CPython's contextvars: the thread's context dies when its
    # thread state is cleared, in the thread, before join() returns.
    assert refs[0]() is None
    assert deleted_in == ident


def test_greenlet_local_only_with_greenlet():
    import os
    try:
        import greenlet  # noqa: F401
        available = True
    except ImportError:
        available = False
    assert available == (not os.environ.get("PERSIST_TEST_WITHOUT_GREENLET"))
    assert pcv.GREENLET_LOCAL == available
