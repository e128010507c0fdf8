"""hamt::Map against the naive copy-on-write map and the mutable hash maps."""

import report_lib as r

NAME = "hamt"
OPS = ("Set", "Find", "FindChain", "Erase", "Update", "Iterate", "Build")
IMPLS = ("Hamt", "HamtTransient", "Naive", "FlatHashMap", "StdUnorderedMap")


def target_set_growth(s, threshold):
    suite = s[NAME]
    set_1k = r.time_of(suite, "Set", "Hamt", 1000)
    value = r.ratio(r.time_of(suite, "Set", "Hamt", 10**6), set_1k)
    slope = r.loglog_slope([(n, r.time_of(suite, "Set", "Hamt", n))
                            for n in r.args_of(suite, "Set", "Hamt")])
    naive = r.loglog_slope([(n, r.time_of(suite, "Set", "Naive", n))
                            for n in r.args_of(suite, "Set", "Naive")])
    detail = "log-log slope %s (Naive: %s)" % (r.fmt_number(slope),
                                                r.fmt_number(naive))
    # An update at 1M reads a leaf and its parent, neither of which the
    # cache can hold (levels 2 and 3 are ~25 MB): two dependent memory
    # accesses on top of what the same update costs in cache.
    chase = r.time_of(suite, "Chase", "Memory", 10**6)
    if set_1k is not None and chase is not None:
        floor = r.ratio(set_1k + 2 * chase, set_1k)
        detail += "; memory floor on this machine (Set 1k + 2 × Chase_Memory " \
                  "1M = %s) ÷ Set 1k: %s" % (r.fmt_time(chase),
                                             r.fmt_ratio(floor))
    return r.at_most(value, threshold, r.fmt_ratio(value), detail)


def target_find_vs_flat(n):
    """Find ÷ FlatHashMap at n, with the latency (FindChain) ratio beside."""
    def check(s, threshold):
        suite = s[NAME]
        value, measured = r.ratio_at(suite, "Find", "Hamt", "FlatHashMap", n)
        latency = r.ratio(r.time_of(suite, "FindChain", "Hamt", n),
                          r.time_of(suite, "FindChain", "FlatHashMap", n))
        detail = ("one lookup's latency (FindChain): %s" % r.fmt_ratio(latency)
                  if latency is not None else "")
        return r.at_most(value, threshold, measured, detail)
    return check


def target_memory(s, threshold):
    suite = s[NAME]
    n = 10**6
    for op in ("Build",) + OPS:
        value = r.counter_of(suite, op, "Hamt", n, "bytes_per_entry")
        if value is not None:
            return r.at_most(value, threshold, "%.1f B at n=1M (%s)" % (value,
                                                                        op))
    return r.TargetResult("MISSING", "–")


def section(suite, plots):
    out = ["Times are median CPU time per operation. `X ÷ Hamt` is how many "
           "times longer X takes than the persistent map: above 1× the HAMT "
           "is faster. Naive is the copy-on-write map that copies everything "
           "on every change (what gevent does).", ""]
    for op in OPS:
        t = r.op_table(suite, op, IMPLS, "Hamt",
                       ("HamtTransient", "Naive", "FlatHashMap",
                        "StdUnorderedMap"), "n")
        if t:
            out += ["### %s" % op, "", t, ""]
    slopes = []
    for impl in IMPLS:
        slope = r.loglog_slope([(n, r.time_of(suite, "Set", impl, n))
                                for n in r.args_of(suite, "Set", impl)])
        if slope is not None:
            slopes.append([impl, r.fmt_number(slope)])
    if slopes:
        out += ["### Growth of Set", "",
                "Least-squares slope of log(time) over log(n): 0 is O(1), "
                "about 0.1 to 0.3 is O(log n) with cache misses, 1 is O(n).",
                "", r.table(["impl", "slope"], slopes), ""]
    args = r.args_of(suite, "Chase", "Memory")
    if args:
        def buffer(n):
            size = r.counter_of(suite, "Chase", "Memory", n, "buffer_bytes")
            return "–" if size is None else r.fmt_bytes(size)
        out += ["### Memory latency of this machine", "",
                "`Chase_Memory`: one dependent load in a buffer as big as the "
                "n-entry Hamt (its `buffer_bytes` counter), so each load waits "
                "for the last: what one cache or memory access costs at that "
                "working-set size. `FindChain` above is a lookup that waits "
                "for the previous one, so it shows latency the same way.", "",
                r.table(["n", "buffer", "Chase_Memory"],
                        [[r.fmt_arg(n), buffer(n),
                          r.fmt_time(r.time_of(suite, "Chase", "Memory", n))]
                         for n in args]), ""]
    t = r.counter_table(suite, "bytes_per_entry", IMPLS, "n",
                        ("Build",) + OPS)
    if t:
        out += ["### Memory: bytes per entry", "", t, ""]
    return out + r.plot_lines(plots, "hamt_set", "hamt_find")


def _series(op):
    return lambda suite: [(impl, [(n, r.time_of(suite, op, impl, n))
                                  for n in r.args_of(suite, op, impl)])
                          for impl in IMPLS]


SUITE = r.Suite(
    name=NAME, title="hamt::Map", label="//hamt:map_benchmark", order=10,
    section=section,
    plots=[r.Plot("hamt_%s" % op.lower(),
                  "hamt: %s, time against map size" % op, "n (entries)",
                  _series(op)) for op in ("Set", "Find")],
    targets=[
        r.Target("Set at n=1k ≥ {}× faster than Naive (copy, then insert)",
                 r.speedup(NAME, "Set", "Hamt", "Naive", 1000), 50),
        r.Target("Set at n=100k ≥ {}× faster than Naive",
                 r.speedup(NAME, "Set", "Hamt", "Naive", 10**5), 2000),
        r.Target("Set at n=1M ÷ Set at n=1k ≤ {}×", target_set_growth, 3),
        r.Target("Find at n=1k ≤ {}× FlatHashMap", target_find_vs_flat(1000),
                 1.5),
        r.Target("Find at n=1M ≤ {}× FlatHashMap", target_find_vs_flat(10**6),
                 2),
        r.Target("transient Build of 1M ≤ {}× StdUnorderedMap",
                 r.slowdown(NAME, "Build", "HamtTransient", "StdUnorderedMap",
                            10**6), 2),
        r.Target("≤ {} bytes per entry, int64 -> int64 at n=1M", target_memory,
                 24),
    ],
    hot_paths=["BM_%s_Hamt/%d" % (op, n) for op in ("Find", "Set", "Erase")
               for n in (1000, 10**6)],
)
