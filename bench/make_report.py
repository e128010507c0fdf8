#!/usr/bin/env python3
"""Writes bench/REPORT.md from Google Benchmark JSON files.

Run by tools/bench_report.sh; by hand:

    python3 bench/make_report.py --json hamt=build-bench/results/hamt.json \
        --json contextvars=build-bench/results/contextvars.json \
        --json fibers=build-bench/results/fibers.json \
        --compiler "g++ 12.2.0" --out bench/REPORT.md --plot-dir bench

Benchmark names follow `BM_<Op>_<Impl>/<n>` (`BM_Set_Hamt/1000`); names
without an implementation (`BM_ThreadLocalRead`, `BM_FiberCreate`) have an
empty one. Each benchmark's time is its median over the repetitions
(`--benchmark_repetitions=N --benchmark_report_aggregates_only=true`), or the
median of its plain runs when the file has no aggregates. Times are CPU times:
the machines this runs on are shared, and CPU time is what a noisy neighbour
disturbs least.

A suite whose file is absent or unreadable is reported as missing, and every
target that needs it as MISSING, never as a crash. Only the Python 3 standard
library is used; the plots need gnuplot and are skipped without it.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

SUITES = (
    ("hamt", "hamt::Map", "//hamt:map_benchmark"),
    ("contextvars", "contextvars", "//contextvars:contextvars_benchmark"),
    ("fibers", "fibers::Fiber", "//fibers:fiber_benchmark"),
)
HAMT_OPS = ("Set", "Find", "FindChain", "Erase", "Update", "Iterate",
            "Build")
HAMT_IMPLS = ("Hamt", "HamtTransient", "Naive", "FlatHashMap", "StdUnorderedMap")
CONTEXTVARS_OPS = ("VarGet", "VarSet", "VarSetReset", "CopyContext", "ContextRun")
CONTEXTVARS_IMPLS = ("Hamt", "Naive")
SWITCH_IMPLS = ("Fiber", "FiberRaw", "BoostContext", "Ucontext")

_TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# Arguments benchmark appends to a run name that are not the size argument.
_OPTION_ARG = re.compile(
    r"^(min_time|min_warmup_time|iterations|repeats|threads|real_time|"
    r"process_time|manual_time)(:.*)?$")


class Measurement:
    """One benchmark's median CPU time in ns and its user counters."""

    def __init__(self, time_ns, counters):
        self.time_ns = time_ns
        self.counters = counters

    def __repr__(self):
        return "Measurement(%r, %r)" % (self.time_ns, self.counters)


def parse_name(run_name):
    """'BM_Set_Hamt/1000' -> ('Set', 'Hamt', 1000); arg is None if absent."""
    parts = run_name.split("/")
    family = parts[0]
    if family.startswith("BM_"):
        family = family[3:]
    op, _, impl = family.partition("_")
    arg = None
    for part in parts[1:]:
        if _OPTION_ARG.match(part):
            continue
        match = re.match(r"^(?:\w+:)?(-?\d+)$", part)
        if match:
            arg = int(match.group(1))
            break
    return op, impl, arg


_STANDARD_FIELDS = {
    "name", "family_index", "per_family_instance_index", "run_name",
    "run_type", "repetitions", "repetition_index", "threads",
    "aggregate_name", "aggregate_unit", "iterations", "real_time", "cpu_time",
    "time_unit", "error_occurred", "error_message", "label", "big_o", "rms",
}


def load_suite(path):
    """Reads a benchmark JSON file into {(op, impl, arg): Measurement}.

    Returns (suite, context, problem): suite is None and problem says why when
    the file is absent, unreadable or holds no usable benchmark.
    """
    if not path or not os.path.exists(path):
        return None, {}, "not built or not run (no %s)" % (path or "file")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        return None, {}, "unreadable JSON (%s): the run probably crashed" % e
    runs = {}  # run_name -> list of (time_ns, counters)
    medians = {}
    errors = []
    for bench in data.get("benchmarks", []):
        run_name = bench.get("run_name", bench.get("name", ""))
        if bench.get("error_occurred"):
            errors.append(run_name)
            continue
        if "cpu_time" not in bench:
            continue
        scale = _TIME_UNIT_NS.get(bench.get("time_unit", "ns"), 1.0)
        counters = {k: v for k, v in bench.items()
                    if k not in _STANDARD_FIELDS and isinstance(v, (int, float))}
        value = (bench["cpu_time"] * scale, counters)
        if bench.get("run_type") == "aggregate":
            if bench.get("aggregate_name") == "median":
                medians[run_name] = value
        else:
            runs.setdefault(run_name, []).append(value)
    suite = {}
    for run_name in set(runs) | set(medians):
        if run_name in medians:
            time_ns, counters = medians[run_name]
        else:
            values = runs[run_name]
            time_ns = statistics.median(v[0] for v in values)
            counters = values[len(values) // 2][1]
        suite[parse_name(run_name)] = Measurement(time_ns, counters)
    if not suite:
        problem = "no benchmark results"
        if errors:
            problem += " (errors in %s)" % ", ".join(sorted(errors)[:5])
        return None, data.get("context", {}), problem
    return suite, data.get("context", {}), None


# ---------------------------------------------------------------------------
# Lookups and formatting.


def time_of(suite, op, impl, arg=None):
    if suite is None:
        return None
    m = suite.get((op, impl, arg))
    if m is None and arg is None:
        # A benchmark with one size (BM_Switch_Fiber) may still carry an arg.
        args = args_of(suite, op, impl)
        m = suite.get((op, impl, args[0])) if args else None
    return m.time_ns if m else None


def counter_of(suite, op, impl, arg, counter):
    if suite is None:
        return None
    m = suite.get((op, impl, arg))
    return m.counters.get(counter) if m else None


def args_of(suite, op, impl):
    if suite is None:
        return []
    return sorted(a for (o, i, a) in suite if o == op and i == impl
                  and a is not None)


def common_args(suite, op, *impls):
    sets = [set(args_of(suite, op, impl)) for impl in impls]
    return sorted(set.intersection(*sets)) if sets else []


def ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def loglog_slope(points):
    """Least-squares slope of log(time) over log(n): ~0 for O(1), ~1 for O(n)."""
    points = [(n, t) for n, t in points if n and n > 0 and t and t > 0]
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx


def fmt_time(ns):
    if ns is None:
        return "–"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return "%.3g %s" % (ns / scale, unit)
    return "%.3g ns" % ns


def fmt_ratio(value):
    if value is None:
        return "–"
    if value >= 100:
        return "%.0f×" % value
    return "%.3g×" % value


def fmt_number(value):
    return "–" if value is None else "%.3g" % value


def fmt_bytes(count):
    for suffix, scale in (("MB", 2**20), ("KB", 2**10)):
        if count >= scale:
            return "%.3g %s" % (count / scale, suffix)
    return "%d B" % count


def fmt_arg(arg):
    if arg is None:
        return "–"
    for suffix, scale in (("M", 10**6), ("k", 10**3)):
        if arg >= scale and arg % scale == 0:
            return "%d%s" % (arg // scale, suffix)
    return str(arg)


def table(header, rows, text_columns=1):
    """A Markdown table; the first text_columns columns are left-aligned."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i < text_columns else "---:"
                            for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Targets: what issues 3 to 5 promise, checked against the measurements.


class TargetResult:
    def __init__(self, status, measured, detail=""):
        self.status = status  # "PASS", "FAIL" or "MISSING"
        self.measured = measured
        self.detail = detail


def _at_least(value, threshold, measured, detail=""):
    if value is None:
        return TargetResult("MISSING", "–", detail)
    return TargetResult("PASS" if value >= threshold else "FAIL", measured,
                        detail)


def _at_most(value, threshold, measured, detail=""):
    if value is None:
        return TargetResult("MISSING", "–", detail)
    return TargetResult("PASS" if value <= threshold else "FAIL", measured,
                        detail)


def _ratio_at(suite, op, numerator_impl, denominator_impl, n, arg="n"):
    """time(numerator) / time(denominator) at one size, with its label."""
    value = ratio(time_of(suite, op, numerator_impl, n),
                  time_of(suite, op, denominator_impl, n))
    return value, "%s at %s=%s" % (fmt_ratio(value), arg, fmt_arg(n))


def _speedup(op, fast, slow, n, arg="n", suite_name="hamt"):
    """slow's time over fast's at n must be at least the threshold."""
    def check(s, threshold):
        value, measured = _ratio_at(s[suite_name], op, slow, fast, n, arg)
        return _at_least(value, threshold, measured)
    return check


def _slowdown(op, impl, baseline, n, arg="n", suite_name="hamt"):
    """impl's time over baseline's at n must be at most the threshold."""
    def check(s, threshold):
        value, measured = _ratio_at(s[suite_name], op, impl, baseline, n, arg)
        return _at_most(value, threshold, measured)
    return check


def target_hamt_set_growth(s, threshold):
    suite = s["hamt"]
    set_1k = time_of(suite, "Set", "Hamt", 1000)
    value = ratio(time_of(suite, "Set", "Hamt", 10**6), set_1k)
    slope = loglog_slope([(n, time_of(suite, "Set", "Hamt", n))
                          for n in args_of(suite, "Set", "Hamt")])
    naive = loglog_slope([(n, time_of(suite, "Set", "Naive", n))
                          for n in args_of(suite, "Set", "Naive")])
    detail = "log-log slope %s (Naive: %s)" % (fmt_number(slope),
                                                fmt_number(naive))
    # An update at 1M reads a leaf and its parent, neither of which the
    # cache can hold (levels 2 and 3 are ~25 MB): two dependent memory
    # accesses on top of what the same update costs in cache.
    chase = time_of(suite, "Chase", "Memory", 10**6)
    if set_1k is not None and chase is not None:
        floor = ratio(set_1k + 2 * chase, set_1k)
        detail += "; memory floor on this machine (Set 1k + 2 × Chase_Memory " \
                  "1M = %s) ÷ Set 1k: %s" % (fmt_time(chase), fmt_ratio(floor))
    return _at_most(value, threshold, fmt_ratio(value), detail)


def target_hamt_find_vs_flat(n):
    """Find ÷ FlatHashMap at n, with the latency (FindChain) ratio beside."""
    def check(s, threshold):
        suite = s["hamt"]
        value, measured = _ratio_at(suite, "Find", "Hamt", "FlatHashMap", n)
        latency = ratio(time_of(suite, "FindChain", "Hamt", n),
                        time_of(suite, "FindChain", "FlatHashMap", n))
        detail = ("one lookup's latency (FindChain): %s" % fmt_ratio(latency)
                  if latency is not None else "")
        return _at_most(value, threshold, measured, detail)
    return check


def target_hamt_memory(s, threshold):
    suite = s["hamt"]
    n = 10**6
    for op in ("Build",) + HAMT_OPS:
        value = counter_of(suite, op, "Hamt", n, "bytes_per_entry")
        if value is not None:
            return _at_most(value, threshold, "%.1f B at n=1M (%s)" % (value,
                                                                      op))
    return TargetResult("MISSING", "–")


def target_contextvars_get_vs_tls(s, threshold):
    suite = s["contextvars"]
    args = args_of(suite, "VarGet", "Hamt")
    tls = time_of(suite, "ThreadLocalRead", "")
    if not args or tls is None:
        return TargetResult("MISSING", "–")
    worst = max(args, key=lambda n: time_of(suite, "VarGet", "Hamt", n))
    slowdown = ratio(time_of(suite, "VarGet", "Hamt", worst), tls)
    return _at_most(slowdown, threshold, "%s (worst, vars=%s)" % (
        fmt_ratio(slowdown), fmt_arg(worst)))


def target_contextvars_copy_flat(s, threshold):
    suite = s["contextvars"]
    args = args_of(suite, "CopyContext", "Hamt")
    if len(args) < 2:
        return TargetResult("MISSING", "–")
    growth = ratio(time_of(suite, "CopyContext", "Hamt", args[-1]),
                   time_of(suite, "CopyContext", "Hamt", args[0]))
    return _at_most(growth, threshold, "%s from vars=%s to %s" % (
        fmt_ratio(growth), fmt_arg(args[0]), fmt_arg(args[-1])))


def target_fiber_vs_boost(s, threshold):
    suite = s["fibers"]
    slowdown = ratio(time_of(suite, "Switch", "Fiber"),
                     time_of(suite, "Switch", "BoostContext"))
    raw = ratio(time_of(suite, "Switch", "FiberRaw"),
                time_of(suite, "Switch", "BoostContext"))
    return _at_most(slowdown, threshold, fmt_ratio(slowdown),
                    "the bare assembly switch (FiberRaw): %s" % fmt_ratio(raw))


def target_fiber_vs_ucontext(s, threshold):
    suite = s["fibers"]
    speedup = ratio(time_of(suite, "Switch", "Ucontext"),
                    time_of(suite, "Switch", "Fiber"))
    return _at_least(speedup, threshold, fmt_ratio(speedup))


# The targets of issues 3 to 5 as (suite, promise, check, threshold); the
# promise's {} is the threshold. Change a target here and in
# make_report_test.py.
TARGETS = (
    ("hamt", "Set at n=1k ≥ {}× faster than Naive (copy, then insert)",
     _speedup("Set", "Hamt", "Naive", 1000), 50),
    ("hamt", "Set at n=100k ≥ {}× faster than Naive",
     _speedup("Set", "Hamt", "Naive", 10**5), 2000),
    ("hamt", "Set at n=1M ÷ Set at n=1k ≤ {}×", target_hamt_set_growth, 3),
    ("hamt", "Find at n=1k ≤ {}× FlatHashMap", target_hamt_find_vs_flat(1000),
     1.5),
    ("hamt", "Find at n=1M ≤ {}× FlatHashMap",
     target_hamt_find_vs_flat(10**6), 2),
    ("hamt", "transient Build of 1M ≤ {}× StdUnorderedMap",
     _slowdown("Build", "HamtTransient", "StdUnorderedMap", 10**6), 2),
    ("hamt", "≤ {} bytes per entry, int64 -> int64 at n=1M",
     target_hamt_memory, 24),
    ("contextvars", "VarSet with 100 vars ≥ {}× faster than Naive",
     _speedup("VarSet", "Hamt", "Naive", 100, "vars", "contextvars"), 10),
    ("contextvars", "VarGet (cache hit) ≤ {}× ThreadLocalRead",
     target_contextvars_get_vs_tls, 1.5),
    ("contextvars", "CopyContext flat: time at the most vars ≤ {}× at 1 var",
     target_contextvars_copy_flat, 1.5),
    ("fibers", "Switch_Fiber ≤ {}× Switch_BoostContext", target_fiber_vs_boost,
     1.0),
    ("fibers", "Switch_Fiber ≥ {}× faster than Switch_Ucontext (swapcontext)",
     target_fiber_vs_ucontext, 20),
)


def evaluate_targets(suites):
    results = []
    for suite_name, promise, check, threshold in TARGETS:
        if suites.get(suite_name) is None:
            result = TargetResult("MISSING", "–", "suite missing")
        else:
            result = check(suites, threshold)
        results.append((suite_name, promise.format(threshold), result))
    return results


# ---------------------------------------------------------------------------
# Sections.


def op_table(suite, op, impls, base, against, arg_name):
    """Times of `op` per impl and per arg, then how many times faster `base`
    is than each of `against` (their time divided by base's)."""
    impls = [i for i in impls if args_of(suite, op, i)]
    if not impls:
        return None
    against = [a for a in against if a in impls and a != base]
    args = sorted(set(a for impl in impls for a in args_of(suite, op, impl)))
    header = [arg_name] + impls + ["%s ÷ %s" % (a, base) for a in against]
    rows = []
    for n in args:
        row = [fmt_arg(n)] + [fmt_time(time_of(suite, op, i, n)) for i in impls]
        row += [fmt_ratio(ratio(time_of(suite, op, a, n),
                                time_of(suite, op, base, n))) for a in against]
        rows.append(row)
    return table(header, rows)


def counter_table(suite, counter, impls, arg_name):
    """The counter per impl and arg, from Build if it has it, else the first
    op that does."""
    found = {}
    ops = ("Build",) + HAMT_OPS
    for (op, impl, n), m in sorted(
            suite.items(), key=lambda item: (
                ops.index(item[0][0]) if item[0][0] in ops else len(ops),
                item[0][0])):
        if impl in impls and counter in m.counters:
            found.setdefault((impl, n), m.counters[counter])
    if not found:
        return None
    present = [i for i in impls if any(k[0] == i for k in found)]
    args = sorted(set(n for _, n in found if n is not None))
    rows = [[fmt_arg(n)] + [fmt_number(found.get((i, n))) for i in present]
            for n in args]
    return table([arg_name] + present, rows)


def hamt_section(suite, plots):
    out = ["Times are median CPU time per operation. `X ÷ Hamt` is how many "
           "times longer X takes than the persistent map: above 1× the HAMT "
           "is faster. Naive is the copy-on-write map that copies everything "
           "on every change (what gevent does).", ""]
    for op in HAMT_OPS:
        t = op_table(suite, op, HAMT_IMPLS, "Hamt",
                     ("HamtTransient", "Naive", "FlatHashMap",
                      "StdUnorderedMap"), "n")
        if t:
            out += ["### %s" % op, "", t, ""]
    slopes = []
    for impl in HAMT_IMPLS:
        slope = loglog_slope([(n, time_of(suite, "Set", impl, n))
                              for n in args_of(suite, "Set", impl)])
        if slope is not None:
            slopes.append([impl, fmt_number(slope)])
    if slopes:
        out += ["### Growth of Set", "",
                "Least-squares slope of log(time) over log(n): 0 is O(1), "
                "about 0.1 to 0.3 is O(log n) with cache misses, 1 is O(n).",
                "", table(["impl", "slope"], slopes), ""]
    args = args_of(suite, "Chase", "Memory")
    if args:
        out += ["### Memory latency of this machine", "",
                "`Chase_Memory`: one dependent load in a buffer as big as the "
                "n-entry Hamt (24 bytes per entry), so each load waits for "
                "the last: what one cache or memory access costs at that "
                "working-set size. `FindChain` above is a lookup that waits "
                "for the previous one, so it shows latency the same way.", "",
                table(["n", "buffer", "Chase_Memory"],
                      [[fmt_arg(n), fmt_bytes(24 * n),
                        fmt_time(time_of(suite, "Chase", "Memory", n))]
                       for n in args]), ""]
    t = counter_table(suite, "bytes_per_entry", HAMT_IMPLS, "n")
    if t:
        out += ["### Memory: bytes per entry", "", t, ""]
    for name in ("hamt_set.png", "hamt_find.png"):
        if name in plots:
            out += ["![%s](%s)" % (name, name), ""]
    return out


def contextvars_section(suite, plots):
    out = ["`Naive ÷ Hamt` is how many times longer the naive copy-on-set "
           "`contextvars::naive` takes; `vars` is how many ContextVars are "
           "set in the context.", ""]
    for op in CONTEXTVARS_OPS:
        t = op_table(suite, op, CONTEXTVARS_IMPLS, "Hamt", ("Naive",), "vars")
        if t:
            out += ["### %s" % op, "", t, ""]
    tls = time_of(suite, "ThreadLocalRead", "")
    args = args_of(suite, "VarGet", "Hamt")
    if tls is not None:
        out += ["### ContextVar.get against a thread_local read", "",
                "A `thread_local` read takes %s." % fmt_time(tls), ""]
        if args:
            out += [table(["vars", "VarGet (Hamt)", "÷ thread_local"],
                          [[fmt_arg(n),
                            fmt_time(time_of(suite, "VarGet", "Hamt", n)),
                            fmt_ratio(ratio(time_of(suite, "VarGet", "Hamt", n),
                                            tls))] for n in args]), ""]
    args = args_of(suite, "CopyContext", "Hamt")
    if args:
        first = time_of(suite, "CopyContext", "Hamt", args[0])
        out += ["### copy_context flatness", "",
                "Each time divided by the time with the fewest vars; "
                "O(1) stays near 1×.", "",
                table(["vars", "CopyContext (Hamt)", "÷ first"],
                      [[fmt_arg(n),
                        fmt_time(time_of(suite, "CopyContext", "Hamt", n)),
                        fmt_ratio(ratio(time_of(suite, "CopyContext", "Hamt",
                                                n), first))] for n in args]),
                ""]
    if "contextvars_varset.png" in plots:
        out += ["![contextvars_varset.png](contextvars_varset.png)", ""]
    return out


def fibers_section(suite):
    out = ["`Fiber` is a full `fibers::Fiber` resume/yield round trip that "
           "also swaps the current Context; `FiberRaw` is the assembly switch "
           "alone.", ""]
    fiber = time_of(suite, "Switch", "Fiber")
    rows = []
    for impl in SWITCH_IMPLS:
        t = time_of(suite, "Switch", impl)
        if t is not None:
            rows.append([impl, fmt_time(t), fmt_ratio(ratio(t, fiber))])
    if rows:
        out += [table(["switch", "time", "÷ Fiber"], rows), ""]
    create = time_of(suite, "FiberCreate", "")
    if create is not None:
        out += ["Creating a fiber (pooled stack): %s." % fmt_time(create), ""]
    others = sorted((k, m) for k, m in suite.items()
                    if k[0] not in ("Switch", "FiberCreate"))
    if others:
        out += ["Other benchmarks:", "",
                table(["benchmark", "time"],
                      [["%s_%s%s" % (op, impl, "" if a is None else "/%d" % a),
                        fmt_time(m.time_ns)] for (op, impl, a), m in others]),
                ""]
    return out


# ---------------------------------------------------------------------------
# Plots.


def gnuplot_terminal(gnuplot):
    """The first terminal this gnuplot has, as (set terminal line, suffix)."""
    for terminal, suffix in (("pngcairo size 900,600 font 'Sans,11'", "png"),
                             ("png size 900,600", "png"),
                             ("svg size 900,600", "svg")):
        try:
            result = subprocess.run(
                [gnuplot, "-e", "set terminal %s" % terminal],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if result.returncode == 0 and not result.stderr.strip():
            return terminal, suffix
    return None


# Colour-blind safe (Okabe-Ito), readable on white.
_COLORS = ("#9400d3", "#009e73", "#0072b2", "#e69f00", "#d55e00", "#000000")


def plot_loglog(gnuplot, terminal, path, title, xlabel, series):
    """series: [(label, [(x, ns)])]; writes path. Returns True on success."""
    series = [(label, [(x, t) for x, t in points if x and t])
              for label, points in series]
    series = [(label, points) for label, points in series if points]
    if not series:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for i, (label, points) in enumerate(series):
            data = os.path.join(tmp, "%d.dat" % i)
            with open(data, "w", encoding="utf-8") as f:
                for x, t in points:
                    f.write("%r %r\n" % (x, t))
            plots.append("'%s' using 1:2 with linespoints lw 2 pt 7 ps 0.8 "
                         "lc rgb '%s' title '%s'" % (
                             data, _COLORS[i % len(_COLORS)],
                             label.replace("'", "")))
        script = "\n".join([
            "set terminal %s" % terminal,
            "set output '%s'" % path,
            "set title '%s'" % title.replace("'", ""),
            "set logscale xy",
            "set format x '10^{%L}'",
            "set format y '10^{%L}'",
            "set xlabel '%s'" % xlabel,
            "set ylabel 'time per operation (ns)'",
            "set grid xtics ytics mxtics mytics",
            "set key top left",
            "plot " + ", \\\n     ".join(plots),
            "unset output",
        ])
        result = subprocess.run([gnuplot], input=script.encode(),
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, timeout=60)
    if result.returncode != 0:
        sys.stderr.write("gnuplot failed for %s: %s\n" % (
            path, result.stderr.decode(errors="replace")))
        return False
    return True


def make_plots(suites, plot_dir, gnuplot):
    """Returns the names of the plot files written into plot_dir."""
    if not gnuplot or not shutil.which(gnuplot):
        return [], "gnuplot not found: no plots"
    found = gnuplot_terminal(gnuplot)
    if not found:
        return [], "gnuplot has no png or svg terminal: no plots"
    terminal, suffix = found
    written = []
    jobs = []
    hamt = suites.get("hamt")
    if hamt is not None:
        for op in ("Set", "Find"):
            jobs.append(("hamt_%s" % op.lower(),
                         "hamt: %s, time against map size" % op, "n (entries)",
                         [(impl, [(n, time_of(hamt, op, impl, n))
                                  for n in args_of(hamt, op, impl)])
                          for impl in HAMT_IMPLS]))
    cv = suites.get("contextvars")
    if cv is not None:
        jobs.append(("contextvars_varset",
                     "contextvars: ContextVar.set, Hamt against Naive",
                     "vars set in the context",
                     [(impl, [(n, time_of(cv, "VarSet", impl, n))
                              for n in args_of(cv, "VarSet", impl)])
                      for impl in CONTEXTVARS_IMPLS]))
    for stem, title, xlabel, series in jobs:
        name = "%s.%s" % (stem, suffix)
        if plot_loglog(gnuplot, terminal, os.path.join(plot_dir, name), title,
                       xlabel, series):
            written.append(name)
    return written, None


# ---------------------------------------------------------------------------
# Machine information.


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_lines(contexts, compiler, now):
    context = next((c for c in contexts if c), {})
    lines = ["- date: %s" % now,
             "- CPU: %s, %s cores%s" % (
                 cpu_model(), context.get("num_cpus", os.cpu_count()),
                 ", %s MHz" % context["mhz_per_cpu"]
                 if context.get("mhz_per_cpu") else ""),
             "- OS: %s %s" % (platform.system(), platform.release()),
             "- compiler: %s" % (compiler or "unknown")]
    if context.get("load_avg"):
        lines.append("- load average when the first suite started: %s" %
                     ", ".join("%.2f" % x for x in context["load_avg"]))
    if context.get("cpu_scaling_enabled"):
        lines.append("- warning: CPU frequency scaling was on; times are "
                     "noisy")
    return lines


def build_report(suites, problems, contexts, compiler, plots, plot_note, now,
                 settings):
    targets = evaluate_targets(suites)
    counts = {s: sum(1 for _, _, r in targets if r.status == s)
              for s in ("PASS", "FAIL", "MISSING")}
    out = ["# Benchmark report", "",
           "Written by `tools/bench_report.sh` (release build, CMake); do not "
           "edit by hand.", ""]
    out += machine_lines(contexts, compiler, now)
    if settings:
        out.append("- runs: %s" % settings)
    out += ["", "## Targets", "",
            "%d PASS, %d FAIL, %d MISSING." % (counts["PASS"], counts["FAIL"],
                                               counts["MISSING"]), ""]
    out.append(table(["suite", "target", "result", "measured", "note"],
                     [[s, promise, "**%s**" % r.status, r.measured, r.detail]
                      for s, promise, r in targets], text_columns=5))
    out.append("")
    missing = [(name, problems[name]) for name, _, _ in SUITES
               if suites.get(name) is None]
    if missing:
        out += ["## Missing suites", ""]
        out += ["- %s: %s" % (name, problem) for name, problem in missing]
        out.append("")
    if plot_note:
        out += ["(%s)" % plot_note, ""]
    for name, title, label in SUITES:
        out += ["## %s (`%s`)" % (title, label), ""]
        suite = suites.get(name)
        if suite is None:
            out += ["Missing: %s." % problems[name], ""]
        elif name == "hamt":
            out += hamt_section(suite, plots)
        elif name == "contextvars":
            out += contextvars_section(suite, plots)
        else:
            out += fibers_section(suite)
    return "\n".join(out).rstrip() + "\n", targets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="append", default=[],
                        metavar="SUITE=FILE",
                        help="suite (hamt, contextvars, fibers) and its "
                        "benchmark JSON; a suite not given is missing")
    parser.add_argument("--out", default="bench/REPORT.md")
    parser.add_argument("--plot-dir", default=None,
                        help="where the plots go (default: next to --out)")
    parser.add_argument("--gnuplot", default="gnuplot")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--compiler", default="")
    parser.add_argument("--settings", default="",
                        help="how the benchmarks were run, for the report")
    parser.add_argument("--date", default=None, help="default: now, UTC")
    args = parser.parse_args(argv)

    files = {}
    for item in args.json:
        name, sep, path = item.partition("=")
        if not sep or name not in {s[0] for s in SUITES}:
            parser.error("--json wants hamt=FILE, contextvars=FILE or "
                         "fibers=FILE, not %r" % item)
        files[name] = path
    suites, problems, contexts = {}, {}, []
    for name, _, _ in SUITES:
        suite, context, problem = load_suite(files.get(name))
        suites[name] = suite
        problems[name] = problem
        contexts.append(context)

    plot_dir = args.plot_dir or os.path.dirname(os.path.abspath(args.out))
    plots, plot_note = [], None
    if not args.no_plots:
        os.makedirs(plot_dir, exist_ok=True)
        plots, plot_note = make_plots(suites, plot_dir, args.gnuplot)
    now = args.date or datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    report, targets = build_report(suites, problems, contexts, args.compiler,
                                   plots, plot_note, now, args.settings)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(report)
    for suite_name, promise, result in targets:
        print("  %-7s %-11s %s (%s)" % (result.status, suite_name, promise,
                                        result.measured))
    print("wrote %s%s" % (args.out, "".join(
        ", %s" % os.path.join(plot_dir, p) for p in plots)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
