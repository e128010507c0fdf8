"""What each benchmark suite shows in bench/REPORT.md and what it promises.

One module per suite (hamt.py, contextvars.py, fibers.py); each defines
SUITE = report_lib.Suite(...). Every module in this directory is loaded, so a
new suite is one new file and no other edit:

    import report_lib as r

    def section(suite, plots):             # Markdown lines of its section
        return [r.op_table(suite, "Union", ("Hamt", "StdSet"), "Hamt",
                           ("StdSet",), "n") or "", ""] + \\
            r.plot_lines(plots, "set_union")

    SUITE = r.Suite(
        name="set",                        # tools/bench_report.sh: --json set=FILE
        title="hamt::Set", label="//hamt:set_benchmark",
        order=15,                          # place in the report
        section=section,
        plots=[r.Plot("set_union", "Set union, time against size", "n",
                      lambda suite: [(impl, [(n, r.time_of(suite, "Union", impl, n))
                                             for n in r.args_of(suite, "Union", impl)])
                                     for impl in ("Hamt", "StdSet")])],
        targets=[r.Target("Union at n=1M ≥ {}× faster than StdSet",
                          r.speedup("set", "Union", "Hamt", "StdSet", 10**6), 10)],
        hot_paths=["BM_Union_Hamt/1000"])   # also checked at -O2 against -O3

A target's check(suites, threshold) returns r.at_most(...) / r.at_least(...)
(or a TargetResult); suites maps every suite's name to its measurements, so a
target may compare across suites. Target(..., build="O3") judges it at -O3,
build="clangO2" in the clang pass at -O2 (both run only hot_paths and
also_o3). Every hot path is judged at -O2 against -O3 with the report's
compiler and with clang (report_lib.COMPARISONS).
The binary itself is listed in tools/bench_report.sh's `suites` array, and
bench/make_report_test.py tests the targets through SUITES.
"""

import importlib
import os
import pkgutil


def _load():
    suites = []
    directory = os.path.dirname(os.path.abspath(__file__))
    for module in pkgutil.iter_modules([directory]):
        loaded = importlib.import_module("%s.%s" % (__name__, module.name))
        if hasattr(loaded, "SUITE"):
            suites.append(loaded.SUITE)
    names = [s.name for s in suites]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise ValueError("suite names defined twice: %s" % duplicates)
    return tuple(sorted(suites, key=lambda s: (s.order, s.name)))


# Every suite, in report order.
SUITES = _load()


def by_name(name):
    return next(s for s in SUITES if s.name == name)
