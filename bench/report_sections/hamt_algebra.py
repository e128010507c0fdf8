"""hamt's set algebra (hamt/algorithm.h), == and diff of maps sharing
structure, against a transient fold and absl::flat_hash_map."""

import report_lib as r

NAME = "algebra"
OPS = ("Merge", "Intersection", "Difference", "Includes", "MergeShared",
       "IntersectionShared", "DifferenceShared")
IMPLS = ("Hamt", "HamtFold", "FlatHashMap")
# immer::map's == on the same work, measured by hand on the machine
# (issue 14): the figures EqualShared and DiffShared must beat.
IMMER_EQUAL_NS = {1000: 30.7, 10**5: 45.0}


def target_below_immer(op, n):
    def check(s, threshold):
        t = r.time_of(s[NAME], op, "Hamt", n)
        return r.at_most(t, threshold, "–" if t is None else r.fmt_time(t))
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
    for op in ("EqualShared", "DiffShared"):
        for n in r.args_of(suite, op, "Hamt"):
            rows.append([op, r.fmt_arg(n),
                         r.fmt_time(r.time_of(suite, op, "Hamt", n)),
                         r.fmt_time(IMMER_EQUAL_NS.get(n))])
    if rows:
        out += ["### == and diff of maps sharing all but one path", "",
                "a against a after one `set()` of an existing key (64 such "
                "maps in turn); immer::map's == on the same work, from the "
                "issue, beside.", "",
                r.table(["op", "n", "Hamt", "immer::map =="], rows, 2), ""]
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
        r.Target("%s at n=%s ≤ {} ns (immer::map's ==)" % (op, r.fmt_arg(n)),
                 target_below_immer(op, n), limit)
        for op in ("EqualShared", "DiffShared")
        for n, limit in sorted(IMMER_EQUAL_NS.items())
    ],
)
