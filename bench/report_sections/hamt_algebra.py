"""hamt's set algebra (hamt/algorithm.h), == and diff of maps sharing
structure, against a transient fold and absl::flat_hash_map."""

import hashlib
import json
import os
import statistics

import report_lib as r

NAME = "algebra"
OPS = ("Merge", "Intersection", "Difference", "Includes", "MergeShared",
       "IntersectionShared", "DifferenceShared")
IMPLS = ("Hamt", "HamtFold", "FlatHashMap")
# immer::map's == on the same work, measured by hand on the issue's machine
# (issue 14). Another machine's times are not comparable with these, so the
# targets use bench/immer_by_hand.json's figures for this machine instead;
# these stay beside them for reference.
ISSUE_IMMER_EQUAL_NS = {1000: 30.7, 10**5: 45.0}
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
IMMER_BY_HAND_FILE = os.path.join(REPO_ROOT, "bench", "immer_by_hand.json")
# What the by-hand figures measured: the headers under these directories
# and the benchmark file that defines the inputs.
MEASURED_HEADER_DIRS = ("base", "hamt")
MEASURED_FILES = ("hamt/algorithm_benchmark.cc",)


def measured_code_sha256(root=None):
    """sha256 over the paths and bytes of the code the by-hand figures
    measured (MEASURED_HEADER_DIRS' headers, MEASURED_FILES), sorted by
    path; None when a file cannot be read. bench/immer_by_hand.json records
    it as code_sha256."""
    root = root or REPO_ROOT
    paths = set(MEASURED_FILES)
    for top in MEASURED_HEADER_DIRS:
        for directory, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if name.endswith(".h"):
                    paths.add(os.path.relpath(os.path.join(directory, name),
                                              root).replace(os.sep, "/"))
    digest = hashlib.sha256()
    try:
        for path in sorted(paths):
            with open(os.path.join(root, path), "rb") as f:
                digest.update(path.encode() + b"\0" + f.read() + b"\0")
    except OSError:
        return None
    return digest.hexdigest()


def immer_by_hand():
    """The entry of IMMER_BY_HAND_FILE whose cpu is this machine's
    (report_lib.cpu_model()), or None."""
    try:
        with open(IMMER_BY_HAND_FILE, encoding="utf-8") as f:
            hosts = json.load(f)["hosts"]
    except (OSError, ValueError, KeyError):
        return None
    cpu = r.cpu_model()
    return next((h for h in hosts if h.get("cpu") == cpu), None)


def _immer_ns(host, key, n):
    value = (host or {}).get(key, {}).get(str(n))
    return None if value is None else float(value)


def _same_binary_ratios(host, op, n):
    return (host or {}).get("hamt_over_immer_equal_per_run", {}).get(
        "%s/%d" % (op, n)) or []


def target_below_immer(op, n):
    """op's time at n over immer::map's == in one binary, by hand on this
    CPU: the worst of the runs recorded in IMMER_BY_HAND_FILE. A report run
    cannot measure immer (it is not packaged), and its own time against
    figures from another run moves with the host's phase (up to 2x here),
    so the target is judged on the ratios within one run, while the code
    they measured is unchanged (code_sha256)."""
    def check(s, threshold):
        host = immer_by_hand()
        if host is None:
            return r.TargetResult(
                "MISSING", "–", "no by-hand immer figure for this CPU (%s) "
                "in bench/immer_by_hand.json" % r.cpu_model())
        ratios = _same_binary_ratios(host, op, n)
        if not ratios:
            return r.TargetResult(
                "MISSING", "–", "no %s/%d ratios in bench/immer_by_hand.json"
                % (op, n))
        if host.get("code_sha256") != measured_code_sha256():
            return r.TargetResult(
                "MISSING", "–", "base/ or hamt/ changed since immer was "
                "measured by hand on %s (bench/immer_by_hand.json's "
                "code_sha256): measure again" % host.get("date", "?"))
        worst = max(ratios)
        t = r.time_of(s[NAME], op, "Hamt", n)
        immer = _immer_ns(host, "immer_equal_ns", n)
        this_run = ""
        if t is not None and immer is not None:
            this_run = ("; this run's %s against the by-hand immer %s (two "
                        "runs): %s" % (r.fmt_time(t), r.fmt_time(immer),
                                       r.fmt_ratio(r.ratio(t, immer))))
        return r.at_most(
            worst, threshold, "%s (worst of %d runs; median %s)" % (
                r.fmt_ratio(worst), len(ratios),
                r.fmt_ratio(statistics.median(ratios))),
            "in one binary with immer, by hand on %s "
            "(bench/immer_by_hand.json)%s" % (host.get("date", "?"), this_run))
    return check


def section(suite, plots):
    out = ["Two int64 -> int64 maps of n keys, half in common (`Merge`, "
           "`Intersection`, `Difference`; `Includes` asks whether the union, "
           "built on its own, includes b), and b derived from a by n/100 "
           "`set()` calls (`…Shared`). `HamtFold` is what a user writes "
           "without the algebra: a transient of a, then one `set()` or "
           "`erase()` per key of the other map; `FlatHashMap` copies, then "
           "inserts or erases. `X ÷ Hamt` above 1× means the algebra is "
           "faster.", ""]
    for op in OPS:
        t = r.op_table(suite, op, IMPLS, "Hamt", ("HamtFold", "FlatHashMap"),
                       "n")
        if t:
            out += ["### %s" % op, "", t, ""]
    rows = []
    host = immer_by_hand()
    for op in ("EqualShared", "DiffShared"):
        for n in r.args_of(suite, op, "Hamt"):
            t = r.time_of(suite, op, "Hamt", n)
            immer = _immer_ns(host, "immer_equal_ns", n)
            ratios = _same_binary_ratios(host, op, n)
            rows.append([op, r.fmt_arg(n), r.fmt_time(t),
                         r.fmt_time(immer),
                         r.fmt_ratio(r.ratio(t, immer)),
                         "%s–%s" % (r.fmt_ratio(min(ratios)),
                                    r.fmt_ratio(max(ratios)))
                         if ratios else "–",
                         r.fmt_time(_immer_ns(host, "immer_diff_ns", n)),
                         r.fmt_time(ISSUE_IMMER_EQUAL_NS.get(n))])
    if rows:
        if host is None:
            source = ("no by-hand immer figures for this CPU (%s) in "
                      "bench/immer_by_hand.json" % r.cpu_model())
        else:
            same_run = host.get("hamt_same_run_ns", {})
            source = ("immer (commit %s) measured by hand on this CPU on %s "
                      "(bench/immer_by_hand.json: %s; %s runs, in which Hamt "
                      "took %s)" % (
                          host.get("immer_commit", "?")[:12],
                          host.get("date", "?"), host.get("build", ""),
                          host.get("runs", "?"),
                          ", ".join("%s %s" % (k, r.fmt_time(v))
                                    for k, v in sorted(same_run.items()))))
        out += ["### == and diff of maps sharing all but one path", "",
                "a against a after one `set()` of an existing key (64 such "
                "maps in turn), against immer::map on the same work: %s. "
                "`this run ÷ immer ==` sets this run's time against the "
                "by-hand one, from two runs (it moves with the host's "
                "phase); the targets take the ratios within one binary "
                "(`one binary`, the range over the by-hand runs). The last "
                "column is immer's == on the issue's machine, which is not "
                "this one." % source, "",
                r.table(["op", "n", "Hamt (this run)", "immer == (by hand)",
                         "this run ÷ immer ==", "one binary: Hamt ÷ immer ==",
                         "immer::diff", "immer == (issue's machine)"],
                        rows, 2), ""]
    return out + r.plot_lines(plots, "hamt_algebra")


def _series(suite):
    return [("%s %s" % (op, impl),
             [(n, r.time_of(suite, op, impl, n))
              for n in r.args_of(suite, op, impl)])
            for op in ("Merge", "MergeShared") for impl in IMPLS]


SUITE = r.Suite(
    name=NAME, title="hamt set algebra", label="//hamt:algorithm_benchmark",
    order=41, section=section,
    plots=[r.Plot("hamt_algebra", "hamt: merge, time against map size",
                  "n (entries per map)", _series)],
    targets=[
        r.Target("MergeShared at n=100k ≥ {}× faster than HamtFold",
                 r.speedup(NAME, "MergeShared", "Hamt", "HamtFold", 10**5),
                 20),
        r.Target("Merge at n=100k ≥ {}× faster than HamtFold",
                 r.speedup(NAME, "Merge", "Hamt", "HamtFold", 10**5), 1.5),
    ] + [
        r.Target("%s at n=%s ≤ {}× immer::map's == (one binary, by hand on "
                 "this CPU)" % (op, r.fmt_arg(n)),
                 target_below_immer(op, n), 1)
        for op in ("EqualShared", "DiffShared")
        for n in sorted(ISSUE_IMMER_EQUAL_NS)
    ],
)
