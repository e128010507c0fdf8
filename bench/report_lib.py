"""The generic part of the benchmark report: results, formats, tables, plots.

bench/make_report.py is the command; bench/report_sections/ holds what each
suite shows and promises (its Suite), built from the pieces here. Only the
Python 3 standard library is used; the plots need gnuplot.

Benchmark names follow `BM_<Op>_<Impl>/<n>` (`BM_Set_Hamt/1000`); names
without an implementation (`BM_ThreadLocalRead`, `BM_FiberCreate`) have an
empty one. Each benchmark's time is its median over the repetitions
(`--benchmark_repetitions=N --benchmark_report_aggregates_only=true`), or the
median of its plain runs when the file has no aggregates. Times are CPU times:
the machines this runs on are shared, and CPU time is what a noisy neighbour
disturbs least.
"""

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


def load_suite(paths):
    """Reads benchmark JSON files into {(op, impl, arg): Measurement}.

    `paths` is one file or a list of them: the runs of one build in several
    rounds (tools/bench_report.sh interleaves the two builds it compares).
    A benchmark's time is then the median of all its plain runs, or of the
    per-file medians where files hold aggregates; its counters come from the
    median run. Returns (suite, context, problem): suite is None and problem
    says why when a file is absent, unreadable or holds no usable benchmark
    (one bad round makes the whole suite missing: a partial set of rounds
    would compare unevenly). The context is the first file's.
    """
    if isinstance(paths, str) or paths is None:
        paths = [paths]
    runs = {}  # run_name -> list of (time_ns, counters)
    errors = []
    first_context = None
    for path in paths:
        if not path or not os.path.exists(path):
            return None, {}, "not built or not run (no %s)" % (path or "file")
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            return None, {}, "unreadable JSON (%s): the run probably crashed" % e
        if first_context is None:
            first_context = data.get("context", {})
        file_runs, medians = {}, {}
        for bench in data.get("benchmarks", []):
            run_name = bench.get("run_name", bench.get("name", ""))
            if bench.get("error_occurred"):
                errors.append(run_name)
                continue
            if "cpu_time" not in bench:
                continue
            scale = _TIME_UNIT_NS.get(bench.get("time_unit", "ns"), 1.0)
            counters = {k: v for k, v in bench.items()
                        if k not in _STANDARD_FIELDS and
                        isinstance(v, (int, float))}
            value = (bench["cpu_time"] * scale, counters)
            if bench.get("run_type") == "aggregate":
                if bench.get("aggregate_name") == "median":
                    medians[run_name] = value
            else:
                file_runs.setdefault(run_name, []).append(value)
        for run_name, value in medians.items():
            file_runs[run_name] = [value]
        for run_name, values in file_runs.items():
            runs.setdefault(run_name, []).extend(values)
    suite = {}
    for run_name, values in runs.items():
        ordered = sorted(values, key=lambda v: v[0])
        time_ns = statistics.median(v[0] for v in ordered)
        counters = ordered[len(ordered) // 2][1]
        suite[parse_name(run_name)] = Measurement(time_ns, counters)
    if not suite:
        problem = "no benchmark results"
        if errors:
            problem += " (errors in %s)" % ", ".join(sorted(errors)[:5])
        return None, first_context or {}, problem
    return suite, first_context or {}, None


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
# Targets: checks of a promise against the measurements.


class TargetResult:
    def __init__(self, status, measured, detail=""):
        self.status = status  # "PASS", "FAIL" or "MISSING"
        self.measured = measured
        self.detail = detail


def at_least(value, threshold, measured, detail=""):
    if value is None:
        return TargetResult("MISSING", "–", detail)
    return TargetResult("PASS" if value >= threshold else "FAIL", measured,
                        detail)


def at_most(value, threshold, measured, detail=""):
    if value is None:
        return TargetResult("MISSING", "–", detail)
    return TargetResult("PASS" if value <= threshold else "FAIL", measured,
                        detail)


def ratio_at(suite, op, numerator_impl, denominator_impl, n, arg="n"):
    """time(numerator) / time(denominator) at one size, with its label."""
    value = ratio(time_of(suite, op, numerator_impl, n),
                  time_of(suite, op, denominator_impl, n))
    return value, "%s at %s=%s" % (fmt_ratio(value), arg, fmt_arg(n))


def speedup(suite_name, op, fast, slow, n, arg="n"):
    """slow's time over fast's at n must be at least the threshold."""
    def check(s, threshold):
        value, measured = ratio_at(s[suite_name], op, slow, fast, n, arg)
        return at_least(value, threshold, measured)
    return check


def slowdown(suite_name, op, impl, baseline, n, arg="n"):
    """impl's time over baseline's at n must be at most the threshold."""
    def check(s, threshold):
        value, measured = ratio_at(s[suite_name], op, impl, baseline, n, arg)
        return at_most(value, threshold, measured)
    return check

# ---------------------------------------------------------------------------
# What a suite declares (see bench/report_sections/__init__.py).


class Target:
    """A promise checked against one build's measurements.

    promise: text whose {} is the threshold. check(suites, threshold) ->
    TargetResult, where suites maps each suite name to its measurements in
    `build` (None when that suite is missing). build: the key of the build the
    target is judged in (PRIMARY_BUILD unless the promise names another).
    """

    def __init__(self, promise, check, threshold, build=None):
        self.promise = promise
        self.check = check
        self.threshold = threshold
        self.build = build


class Plot:
    """A log-log plot: series(suite) -> [(label, [(x, ns)])], written as
    <stem>.png (or .svg) next to the report."""

    def __init__(self, stem, title, xlabel, series):
        self.stem = stem
        self.title = title
        self.xlabel = xlabel
        self.series = series


class Suite:
    """One benchmark binary's part of the report.

    name: the key of `--json NAME=FILE`; title and label: the section heading
    (label is the Bazel target). order: place in the report (smaller first).
    section(suite, plots) -> list of Markdown lines, given the suite's
    measurements and the names of the plot files written. plots: [Plot].
    targets: [Target]. hot_paths: run names (`BM_Find_Hamt/1000`) whose time
    at -O2 must stay within HOT_PATH_LIMIT of their time at -O3, with each
    compiler of COMPARISONS; also_o3: run names the -O3 and clang builds must
    run besides them (for their targets: build="O3" or "clangO2").
    """

    def __init__(self, name, title, label, order, section, plots=(),
                 targets=(), hot_paths=(), also_o3=()):
        self.name = name
        self.title = title
        self.label = label
        self.order = order
        self.section = section
        self.plots = tuple(plots)
        self.targets = tuple(targets)
        self.hot_paths = tuple(hot_paths)
        self.also_o3 = tuple(also_o3)


# The builds a report can hold: the key of each, its heading. The primary one
# (what Bazel's `-c opt` gives users) is what the sections show and the
# targets are judged at.
PRIMARY_BUILD = "O2"
COMPARED_BUILD = "O3"
# The hot paths at -O2 again, run alternating with the -O3 ones (optional):
# the side-by-side table takes its -O2 times from here when present.
PRIMARY_HOT_BUILD = "O2hot"
# The hot paths (and also_o3) built with clang at -O2 and -O3, run
# alternating (optional: the report's compiler is usually g++).
CLANG_O2_BUILD = "clangO2"
CLANG_O3_BUILD = "clangO3"
BUILD_NAMES = {"O2": "-O2", "O3": "-O3", "clangO2": "clang -O2",
               "clangO3": "clang -O3"}
# A hot path built at -O2 may take at most this many times its -O3 time.
HOT_PATH_LIMIT = 1.1


class Comparison:
    """One compiler's hot paths at -O2 against -O3.

    o2, o3: the build keys compared; o2_hot: a build key whose -O2 times are
    taken first when present (None: none); name: what the table and the
    targets call the compiler ("" for the report's own compiler).
    """

    def __init__(self, name, o2, o3, o2_hot=None):
        self.name = name
        self.o2 = o2
        self.o3 = o3
        self.o2_hot = o2_hot

    def heading(self):
        """The build column of its targets: '-O2 ÷ -O3', 'clang -O2 ÷ -O3'."""
        return "%s ÷ %s" % (BUILD_NAMES[self.o2],
                            BUILD_NAMES[COMPARED_BUILD])


# Every hot path is judged in each of these (the report's compiler first).
COMPARISONS = (
    Comparison("", PRIMARY_BUILD, COMPARED_BUILD, PRIMARY_HOT_BUILD),
    Comparison("clang", CLANG_O2_BUILD, CLANG_O3_BUILD),
)


# ---------------------------------------------------------------------------
# Tables.


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


def counter_table(suite, counter, impls, arg_name, ops=()):
    """The counter per impl and arg, from the first of ops that has it (in
    that order), else from any other op."""
    found = {}
    ops = tuple(ops)
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


# ---------------------------------------------------------------------------
# The report.


def hot_path_rows(suite_defs, builds, comparison=COMPARISONS[0]):
    """[(suite name, run name, -O2 ns, -O3 ns, -O2 ÷ -O3)] of every hot path,
    in the two builds of `comparison`."""
    rows = []
    for definition in suite_defs:
        for run_name in definition.hot_paths:
            key = parse_name(run_name)

            def time_in(build):
                if build is None:
                    return None
                return time_of((builds.get(build) or {}).get(definition.name),
                               *key)
            # The -O2 pass run right before the -O3 one when there is one:
            # the pair then sees the same neighbours.
            o2 = time_in(comparison.o2_hot)
            times = [time_in(comparison.o2) if o2 is None else o2,
                     time_in(comparison.o3)]
            rows.append((definition.name, run_name, times[0], times[1],
                         ratio(times[0], times[1])))
    return rows


def hot_path_target(definition, comparison=COMPARISONS[0]):
    """The target 'every hot path of this suite at -O2 ≤ 1.1× -O3' in one
    comparison, judged on the worst one; MISSING when any of them is missing
    in either build."""
    def check(builds, threshold):
        rows = hot_path_rows([definition], builds, comparison)
        if not rows or any(r[4] is None for r in rows):
            absent = [r[1] for r in rows if r[4] is None]
            return TargetResult("MISSING", "–", "no time for %s" % ", ".join(
                absent[:3]) if absent else "")
        worst = max(rows, key=lambda r: r[4])
        return at_most(worst[4], threshold, "%s (worst: %s)" % (
            fmt_ratio(worst[4]), worst[1]),
            "%d hot path%s; see the %s table" % (
                len(rows), "" if len(rows) == 1 else "s",
                hot_path_title(comparison)))
    return Target("every hot path at -O2 ≤ {}× its time at -O3", check,
                  HOT_PATH_LIMIT, build=comparison)


def all_targets(suite_defs):
    """[(suite definition, Target)]: each suite's own, then its hot paths in
    each comparison."""
    out = []
    for definition in suite_defs:
        out += [(definition, t) for t in definition.targets]
        if definition.hot_paths:
            out += [(definition, hot_path_target(definition, c))
                    for c in COMPARISONS]
    return out


def evaluate_targets(suite_defs, builds):
    """[(suite name, build heading, promise, TargetResult)]; builds maps each
    build key to {suite name: measurements or None}."""
    results = []
    for definition, target in all_targets(suite_defs):
        build = target.build or PRIMARY_BUILD
        promise = target.promise.format(target.threshold)
        if isinstance(build, Comparison):
            heading = build.heading()
            needed = (build.o2, build.o3)
            suites = builds
        else:
            heading = BUILD_NAMES.get(build, build)
            needed = (build,)
            suites = builds.get(build) or {}
        absent = [b for b in needed if b not in builds]
        if absent:
            result = TargetResult("MISSING", "–", "no %s results given" %
                                  " or ".join(BUILD_NAMES[b] for b in absent))
        elif not all((builds.get(b) or {}).get(definition.name) is not None
                     for b in needed):
            result = TargetResult("MISSING", "–", "suite missing")
        else:
            result = target.check(suites, target.threshold)
        results.append((definition.name, heading, promise, result))
    return results


def hot_path_title(comparison):
    """'-O2 against -O3', 'clang -O2 against -O3'."""
    return "%s against %s" % (BUILD_NAMES[comparison.o2],
                              BUILD_NAMES[COMPARED_BUILD])


def hot_path_section(suite_defs, builds, compilers=None):
    """The -O2 against -O3 table of each comparison whose -O3 build is given
    ([] when none is). compilers: {comparison name: its compiler's version
    line}, shown under the heading."""
    lines = []
    for comparison in COMPARISONS:
        rows = hot_path_rows(suite_defs, builds, comparison)
        if not rows or comparison.o3 not in builds:
            continue
        o2, o3 = BUILD_NAMES[comparison.o2], BUILD_NAMES[comparison.o3]
        lines += ["## Hot paths: %s" % hot_path_title(comparison), ""]
        compiler = (compilers or {}).get(comparison.name)
        if compiler:
            lines += ["Compiler: %s." % compiler, ""]
        hot_note = ""
        if comparison.o2_hot in builds:
            hot_note = (" (the -O2 times here are from passes of the hot "
                        "paths alternating with the -O3 ones, so they may "
                        "differ a little from the sections below)")
        lines += ["The same benchmark built both ways and run alternating, "
                  "in rounds when the settings below say so%s; the target "
                  "is %s ≤ %s× %s for each." % (
                      hot_note, o2, fmt_number(HOT_PATH_LIMIT), o3), ""]
        table_rows = []
        for suite_name, run_name, t2, t3, r in rows:
            status = ("MISSING" if r is None else
                      "PASS" if r <= HOT_PATH_LIMIT else "FAIL")
            table_rows.append([suite_name, "`%s`" % run_name, fmt_time(t2),
                               fmt_time(t3), fmt_ratio(r),
                               "**%s**" % status])
        lines += [table(["suite", "benchmark", o2, o3, "%s ÷ %s" % (o2, o3),
                         "≤ %s×" % fmt_number(HOT_PATH_LIMIT)], table_rows,
                        text_columns=2), ""]
    return lines


def o3_filter(definition):
    """A --benchmark_filter regex for what the -O3 build of a suite must run:
    its hot paths and also_o3, each matched exactly."""
    names = definition.hot_paths + definition.also_o3
    return "^(%s)$" % "|".join(re.escape(n) for n in names) if names else ""


def make_plots(suite_defs, suites, plot_dir, gnuplot):
    """Writes each present suite's plots; returns (file names, note)."""
    if not gnuplot or not shutil.which(gnuplot):
        return [], "gnuplot not found: no plots"
    found = gnuplot_terminal(gnuplot)
    if not found:
        return [], "gnuplot has no png or svg terminal: no plots"
    terminal, suffix = found
    written = []
    for definition in suite_defs:
        suite = suites.get(definition.name)
        if suite is None:
            continue
        for plot in definition.plots:
            name = "%s.%s" % (plot.stem, suffix)
            if plot_loglog(gnuplot, terminal, os.path.join(plot_dir, name),
                           plot.title, plot.xlabel, plot.series(suite)):
                written.append(name)
    return written, None


def plot_lines(plots, *stems):
    """The Markdown image lines of the plots written among stems."""
    out = []
    for stem in stems:
        for name in plots:
            if os.path.splitext(name)[0] == stem:
                out += ["![%s](%s)" % (name, name), ""]
    return out


# The header lines of the settings: (key of `settings`, what it describes).
SETTINGS_LINES = ((PRIMARY_BUILD, "-O2 build"), (COMPARED_BUILD, "-O3 build"),
                  ("clang", "clang builds"))


def build_report(suite_defs, builds, problems, contexts, compiler, plots,
                 plot_note, now, settings, compilers=None):
    """The Markdown report and its target results.

    builds: {build key: {suite name: measurements or None}}; problems:
    {build key: {suite name: why it is missing}}; settings: {key of
    SETTINGS_LINES: how those benchmarks were built and run}, one header line
    each; compilers: {comparison name: its compiler's version line}.
    """
    targets = evaluate_targets(suite_defs, builds)
    counts = {s: sum(1 for r in targets if r[3].status == s)
              for s in ("PASS", "FAIL", "MISSING")}
    primary = builds.get(PRIMARY_BUILD) or {}
    out = ["# Benchmark report", "",
           "Written by `tools/bench_report.sh` (release builds, CMake); do not "
           "edit by hand.", ""]
    out += machine_lines(contexts, compiler, now)
    for key, what in SETTINGS_LINES:
        if settings.get(key):
            out.append("- %s: %s" % (what, settings[key]))
    out += ["", "## Targets", "",
            "Judged at %s unless the build column says otherwise." %
            BUILD_NAMES[PRIMARY_BUILD], "",
            "%d PASS, %d FAIL, %d MISSING." % (counts["PASS"], counts["FAIL"],
                                               counts["MISSING"]), ""]
    out.append(table(["suite", "build", "target", "result", "measured",
                      "note"],
                     [[s, b, promise, "**%s**" % r.status, r.measured,
                       r.detail] for s, b, promise, r in targets],
                     text_columns=6))
    out.append("")
    missing = []
    for key in (PRIMARY_BUILD, COMPARED_BUILD, CLANG_O2_BUILD,
                CLANG_O3_BUILD):
        if key not in builds:
            continue
        for definition in suite_defs:
            # The other builds run the hot paths (and also_o3) only.
            if key != PRIMARY_BUILD and not o3_filter(definition):
                continue
            if (builds[key] or {}).get(definition.name) is None:
                missing.append("- %s at %s: %s" % (
                    definition.name, BUILD_NAMES[key],
                    problems.get(key, {}).get(definition.name, "not given")))
    if missing:
        out += ["## Missing suites", ""] + missing + [""]
    if plot_note:
        out += ["(%s)" % plot_note, ""]
    out += hot_path_section(suite_defs, builds, compilers)
    for definition in suite_defs:
        out += ["## %s (`%s`), %s" % (definition.title, definition.label,
                                      BUILD_NAMES[PRIMARY_BUILD]), ""]
        suite = primary.get(definition.name)
        if suite is None:
            out += ["Missing: %s." % problems.get(PRIMARY_BUILD, {}).get(
                definition.name, "not given"), ""]
        else:
            out += definition.section(suite, plots)
    return "\n".join(out).rstrip() + "\n", targets
