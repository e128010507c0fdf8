"""hamt::Set against hamt::Map with the same int64 keys."""

import report_lib as r

NAME = "set"
IMPLS = ("HamtSet", "HamtMap")


def target_find_vs_map(s, threshold):
    """The largest Set find ÷ Map find over the sizes measured."""
    suite = s[NAME]
    worst, where = None, None
    for n in r.common_args(suite, "Find", *IMPLS):
        value = r.ratio(r.time_of(suite, "Find", "HamtSet", n),
                        r.time_of(suite, "Find", "HamtMap", n))
        if value is not None and (worst is None or value > worst):
            worst, where = value, n
    measured = "–" if worst is None else "%s at n=%s" % (r.fmt_ratio(worst),
                                                        r.fmt_arg(where))
    return r.at_most(worst, threshold, measured)


def target_memory(s, threshold):
    value = r.counter_of(s[NAME], "Find", "HamtSet", 10**6, "bytes_per_entry")
    measured = "–" if value is None else "%.1f B at n=1M" % value
    return r.at_most(value, threshold, measured)


def section(suite, plots):
    out = ["The same CHAMP trie and node code; a Set's entries hold only the "
           "key. `HamtMap ÷ HamtSet` above 1× means the set is faster.", ""]
    for op in ("Find", "Insert"):
        t = r.op_table(suite, op, IMPLS, "HamtSet", ("HamtMap",), "n")
        if t:
            out += ["### %s" % op, "", t, ""]
    t = r.counter_table(suite, "bytes_per_entry", IMPLS, "n", ("Find",))
    if t:
        out += ["### Memory: bytes per entry", "", t, ""]
    return out


SUITE = r.Suite(
    name=NAME, title="hamt::Set", label="//hamt:set_benchmark", order=40,
    section=section,
    targets=[
        r.Target("Set find ≤ {}× Map find (worst n)", target_find_vs_map,
                 1.1),
        r.Target("Set of int64 at n=1M: ≤ {} bytes per entry", target_memory,
                 12),
    ],
)
