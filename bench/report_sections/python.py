"""persist.contextvars (the Python module, python/) against CPython's own
contextvars and gevent.contextvars, measured from Python by
python/bench/contextvars_benchmark.py."""

import report_lib as r

NAME = "python"
OPS = ("Set", "Get", "CopyContext", "Run")
IMPLS = ("Persist", "CPython", "Gevent")


def target_get_vs_cpython(s, threshold):
    """persist's get over CPython's, at the worst number of variables."""
    suite = s[NAME]
    args = r.common_args(suite, "Get", "Persist", "CPython")
    if not args:
        return r.TargetResult("MISSING", "–")
    ratios = {n: r.ratio(r.time_of(suite, "Get", "Persist", n),
                         r.time_of(suite, "Get", "CPython", n)) for n in args}
    worst = max(args, key=lambda n: ratios[n])
    return r.at_most(ratios[worst], threshold, "%s (worst, vars=%s)" % (
        r.fmt_ratio(ratios[worst]), r.fmt_arg(worst)))


def section(suite, plots):
    out = ["Measured from Python (Debian's python3 3.11, the extension built "
           "by `pip install ./python` at -O2): `vars` ContextVars are set in "
           "the current context; each column is one implementation, and "
           "`X ÷ Persist` is how many times longer X takes. `Run` is "
           "`ctx.run(f)` of an empty Python function.", ""]
    for op in OPS:
        t = r.op_table(suite, op, IMPLS, "Persist", ("CPython", "Gevent"),
                       "vars")
        if t:
            out += ["### %s" % op, "", t, ""]
    plain = r.time_of(suite, "GreenletSwitch", "Plain")
    traced = r.time_of(suite, "GreenletSwitch", "Traced")
    getcurrent = r.time_of(suite, "GreenletGetcurrent", "")
    if plain is not None and traced is not None and getcurrent is not None:
        out += ["### Greenlet-local contexts: what each design costs", "",
                "persist swaps the C++ current context in a greenlet tracer, "
                "so `get()` stays the C++ cached get. A greenlet switch round "
                "trip takes %s without the tracer and %s with it (%s more, "
                "per two switches). Asking greenlet for the current greenlet "
                "in every `get()` instead would add at least "
                "`greenlet.getcurrent()`, %s, to every get." % (
                    r.fmt_time(plain), r.fmt_time(traced),
                    r.fmt_time(traced - plain), r.fmt_time(getcurrent)), ""]
    return out + r.plot_lines(plots, "python_contextvars_set",
                              "python_contextvars_get")


def series(op):
    return lambda suite: [(impl, [(n, r.time_of(suite, op, impl, n))
                                  for n in r.args_of(suite, op, impl)])
                          for impl in IMPLS]


SUITE = r.Suite(
    name=NAME, title="persist.contextvars from Python",
    label="python/bench/contextvars_benchmark.py",
    order=40, section=section,
    plots=[r.Plot("python_contextvars_set",
                  "Python: ContextVar.set, persist against CPython and gevent",
                  "vars set in the context", series("Set")),
           r.Plot("python_contextvars_get",
                  "Python: ContextVar.get, persist against CPython and gevent",
                  "vars set in the context", series("Get"))],
    targets=[
        r.Target("Python ContextVar.set at 10k vars ≥ {}× faster than "
                 "gevent.contextvars",
                 r.speedup(NAME, "Set", "Persist", "Gevent", 10000, "vars"),
                 50),
        r.Target("Python ContextVar.get ≤ {}× CPython's contextvars (worst "
                 "vars)", target_get_vs_cpython, 1.2),
    ],
)
