"""hamt's set algebra (hamt/algorithm.h), == and diff of maps sharing
structure, against a transient fold and absl::flat_hash_map."""

import json
import os

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
IMMER_BY_HAND_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "immer_by_hand.json")


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


def target_below_immer(op, n):
    """op's time at n over immer::map's == on this machine, by hand."""
    def check(s, threshold):
        host = immer_by_hand()
        if host is None:
            return r.TargetResult(
                "MISSING", "–", "no by-hand immer figure for this CPU (%s) "
                "in bench/immer_by_hand.json" % r.cpu_model())
        t = r.time_of(s[NAME], op, "Hamt", n)
        immer = _immer_ns(host, "immer_equal_ns", n)
        value = r.ratio(t, immer)
        return r.at_most(
            value, threshold, "%s (%s; immer %s)" % (
                r.fmt_ratio(value), r.fmt_time(t), r.fmt_time(immer)),
            "immer by hand on %s (bench/immer_by_hand.json)%s" % (
                host.get("date", "?"), _same_binary_range(host, op, n)))
    return check


def _same_binary_range(host, op, n):
    """'; in one binary with immer: 0.47-0.63× in 6 runs', or ''."""
    ratios = host.get("hamt_over_immer_equal_per_run", {}).get(
        "%s/%d" % (op, n))
    if not ratios:
        return ""
    return "; in one binary with immer: %s–%s in %d runs" % (
        r.fmt_ratio(min(ratios)), r.fmt_ratio(max(ratios)), len(ratios))


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
            rows.append([op, r.fmt_arg(n), r.fmt_time(t),
                         r.fmt_time(immer),
                         r.fmt_ratio(r.ratio(t, immer)),
                         r.fmt_time(_immer_ns(host, "immer_diff_ns", n)),
                         r.fmt_time(ISSUE_IMMER_EQUAL_NS.get(n))])
    if rows:
        if host is None:
            source = ("no by-hand immer figures for this CPU (%s) in "
                      "bench/immer_by_hand.json" % r.cpu_model())
        else:
            same_run = host.get("hamt_same_run_ns", {})
            source = ("immer (commit %s) measured by hand on this CPU on %s "
                      "(bench/immer_by_hand.json: %s; one binary holding "
                      "both libraries, where Hamt took %s)" % (
                          host.get("immer_commit", "?")[:12],
                          host.get("date", "?"), host.get("build", ""),
                          ", ".join("%s %s" % (k, r.fmt_time(v))
                                    for k, v in sorted(same_run.items()))))
        out += ["### == and diff of maps sharing all but one path", "",
                "a against a after one `set()` of an existing key (64 such "
                "maps in turn), against immer::map on the same work: %s. "
                "The last column is immer's == on the issue's machine, which "
                "is not this one." % source, "",
                r.table(["op", "n", "Hamt", "immer ==", "Hamt ÷ immer ==",
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
        r.Target("%s at n=%s ≤ {}× immer::map's == (by hand, this CPU)" % (
            op, r.fmt_arg(n)), target_below_immer(op, n), 1)
        for op in ("EqualShared", "DiffShared")
        for n in sorted(ISSUE_IMMER_EQUAL_NS)
    ],
)
