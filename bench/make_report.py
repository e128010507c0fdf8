#!/usr/bin/env python3
"""Writes bench/REPORT.md from Google Benchmark JSON files.

Run by tools/bench_report.sh; by hand:

    python3 bench/make_report.py --json hamt=build-bench-O2/results/hamt.json \
        --json-o3 hamt=build-bench-O3/results/hamt.json ... \
        --compiler "g++ 12.2.0" --out bench/REPORT.md --plot-dir bench

Two parts: the generic one (bench/report_lib.py: load results, format,
tables, plots, the targets table) and one module per suite in
bench/report_sections/ that declares its section, plots, targets and hot
paths. To add a suite, or a section, plot or target to one, edit or add a
module there; bench/report_sections/__init__.py shows how. Nothing in this
file or report_lib.py names a suite.

--json is the build the report shows and judges the targets at (-O2, the
flags of Bazel's `-c opt`); --json-o3 the same suites built at -O3, for the
table of hot paths side by side and the targets marked O3; --json-o2-hot
the hot paths at -O2 run again right before the -O3 ones, for that table;
--json-clang-o2 and --json-clang-o3 the hot paths built with clang at -O2 and
-O3 (--compiler-clang its version), for a second such table. A suite given
more than once for one build is several rounds of it (tools/bench_report.sh
alternates the two builds of a side-by-side table in rounds): its times are
medians over all of them. A suite whose
file is absent or unreadable is reported as missing, and every target that needs it
as MISSING, never as a crash. --print-o3-filter SUITE prints the
--benchmark_filter regex of what the -O3 build of SUITE must run.
"""

import argparse
import datetime
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_lib  # noqa: E402
from report_sections import SUITES, by_name  # noqa: E402


def parse_files(parser, items, flag):
    names = {s.name for s in SUITES}
    files = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or name not in names:
            parser.error("%s wants SUITE=FILE with SUITE one of %s, not %r" % (
                flag, ", ".join(sorted(names)), item))
        # A suite given more than once: rounds of the same build.
        files.setdefault(name, []).append(path)
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="append", default=[],
                        metavar="SUITE=FILE",
                        help="a suite and its benchmark JSON at -O2 (the build "
                        "the report shows and judges); a suite not given is "
                        "missing")
    parser.add_argument("--json-o3", action="append", default=[],
                        metavar="SUITE=FILE",
                        help="the same at -O3, for the hot-path table")
    parser.add_argument("--json-o2-hot", action="append", default=[],
                        metavar="SUITE=FILE",
                        help="the hot paths at -O2 again, run right before "
                        "the -O3 ones: the -O2 column of the hot-path table")
    parser.add_argument("--json-clang-o2", action="append", default=[],
                        metavar="SUITE=FILE",
                        help="the hot paths built with clang at -O2")
    parser.add_argument("--json-clang-o3", action="append", default=[],
                        metavar="SUITE=FILE",
                        help="the hot paths built with clang at -O3")
    parser.add_argument("--out", default="bench/REPORT.md")
    parser.add_argument("--plot-dir", default=None,
                        help="where the plots go (default: next to --out)")
    parser.add_argument("--gnuplot", default="gnuplot")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--compiler", default="")
    parser.add_argument("--compiler-clang", default="",
                        help="the version line of the clang of --json-clang-*")
    parser.add_argument("--settings", default="",
                        help="how the -O2 build was built and run")
    parser.add_argument("--settings-o3", default="",
                        help="how the -O3 build was built and run")
    parser.add_argument("--settings-clang", default="",
                        help="how the clang builds were built and run")
    parser.add_argument("--date", default=None, help="default: now, UTC")
    parser.add_argument("--print-o3-filter", metavar="SUITE", default=None)
    args = parser.parse_args(argv)

    if args.print_o3_filter:
        try:
            print(report_lib.o3_filter(by_name(args.print_o3_filter)))
        except StopIteration:
            parser.error("no suite %r" % args.print_o3_filter)
        return 0
    files = {report_lib.PRIMARY_BUILD: parse_files(parser, args.json,
                                                   "--json")}
    if args.json_o3:
        files[report_lib.COMPARED_BUILD] = parse_files(parser, args.json_o3,
                                                       "--json-o3")
    for key, items, flag in (
            (report_lib.PRIMARY_HOT_BUILD, args.json_o2_hot, "--json-o2-hot"),
            (report_lib.CLANG_O2_BUILD, args.json_clang_o2,
             "--json-clang-o2"),
            (report_lib.CLANG_O3_BUILD, args.json_clang_o3,
             "--json-clang-o3")):
        if items:
            files[key] = parse_files(parser, items, flag)
    builds, problems, contexts = {}, {}, []
    for key, paths in files.items():
        builds[key], problems[key] = {}, {}
        for definition in SUITES:
            suite, context, problem = report_lib.load_suite(
                paths.get(definition.name))
            builds[key][definition.name] = suite
            problems[key][definition.name] = problem
            if key == report_lib.PRIMARY_BUILD:
                contexts.append(context)

    plot_dir = args.plot_dir or os.path.dirname(os.path.abspath(args.out))
    plots, plot_note = [], None
    if not args.no_plots:
        os.makedirs(plot_dir, exist_ok=True)
        plots, plot_note = report_lib.make_plots(
            SUITES, builds[report_lib.PRIMARY_BUILD], plot_dir, args.gnuplot)
    now = args.date or datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    settings = {report_lib.PRIMARY_BUILD: args.settings,
                report_lib.COMPARED_BUILD: args.settings_o3,
                "clang": args.settings_clang}
    report, targets = report_lib.build_report(
        SUITES, builds, problems, contexts, args.compiler, plots, plot_note,
        now, settings, {"clang": args.compiler_clang})
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(report)
    for suite_name, build, promise, result in targets:
        print("  %-7s %-11s %-15s %s (%s)" % (result.status, suite_name, build,
                                             promise, result.measured))
    print("wrote %s%s" % (args.out, "".join(
        ", %s" % os.path.join(plot_dir, p) for p in plots)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
