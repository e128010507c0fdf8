"""persist.Map (Python) against CPython's own HAMT and a dict copied on change.

The suite is python/bench/map_benchmark.py, a Python script that writes
Google Benchmark-format JSON; tools/bench_report.sh runs it with the persist
module installed into a virtual environment.
"""

import report_lib as r

NAME = "python_map"
OPS = ("Set", "Get", "Delete", "Iterate", "Build")
IMPLS = ("Persist", "CPythonHamt", "DictCopy")


def section(suite, plots):
    out = ["Debian's /usr/bin/python3 (3.11). Persist is `persist.Map`; "
           "CPythonHamt is `_testcapi.hamt()`, the C HAMT of CPython's "
           "contextvars; DictCopy is a dict copied before each Set and Delete "
           "(what a copy-on-write mapping in Python does; its Build is "
           "`dict(pairs)`). Set, Get and Delete: median CPU time per operation "
           "over a loop on 1,000 random present str keys, Python's loop and "
           "call overhead included; Iterate: one pass over `items()`; Build: "
           "a whole map of n pairs (CPythonHamt has no bulk constructor: n "
           "`set()` calls). `X ÷ Persist` above 1× means persist.Map is "
           "faster.", ""]
    for op in OPS:
        t = r.op_table(suite, op, IMPLS, "Persist", ("CPythonHamt", "DictCopy"),
                       "n")
        if t:
            out += ["### %s" % op, "", t, ""]
    return out + r.plot_lines(plots, "python_map_set", "python_map_get")


def series(op):
    return lambda suite: [(impl, [(n, r.time_of(suite, op, impl, n))
                                  for n in r.args_of(suite, op, impl)])
                          for impl in IMPLS]


SUITE = r.Suite(
    name=NAME, title="persist.Map in Python",
    label="python/bench/map_benchmark.py", order=45, section=section,
    plots=[r.Plot("python_map_set",
                  "persist.Map.set against CPython's HAMT and a dict copy",
                  "n (entries)", series("Set")),
           r.Plot("python_map_get",
                  "persist.Map.get against CPython's HAMT and a dict",
                  "n (entries)", series("Get"))],
    targets=[
        r.Target("persist.Map.get at n=1k ≤ {}× _testcapi.hamt()",
                 r.slowdown(NAME, "Get", "Persist", "CPythonHamt", 1000), 1.0),
        r.Target("persist.Map.get at n=1M ≤ {}× _testcapi.hamt()",
                 r.slowdown(NAME, "Get", "Persist", "CPythonHamt", 10**6), 1.0),
        r.Target("persist.Map.set at n=1k ≤ {}× _testcapi.hamt()",
                 r.slowdown(NAME, "Set", "Persist", "CPythonHamt", 1000), 1.0),
        r.Target("persist.Map.set at n=1M ≤ {}× _testcapi.hamt()",
                 r.slowdown(NAME, "Set", "Persist", "CPythonHamt", 10**6), 1.0),
    ],
)
