"""contextvars on the HAMT against the naive copy-on-set contexts."""

import report_lib as r

NAME = "contextvars"
OPS = ("VarGet", "VarSet", "VarSetReset", "CopyContext", "ContextRun")
IMPLS = ("Hamt", "Naive")


def target_get_vs_tls(s, threshold):
    suite = s[NAME]
    args = r.args_of(suite, "VarGet", "Hamt")
    tls = r.time_of(suite, "ThreadLocalRead", "")
    if not args or tls is None:
        return r.TargetResult("MISSING", "–")
    worst = max(args, key=lambda n: r.time_of(suite, "VarGet", "Hamt", n))
    slowdown = r.ratio(r.time_of(suite, "VarGet", "Hamt", worst), tls)
    return r.at_most(slowdown, threshold, "%s (worst, vars=%s)" % (
        r.fmt_ratio(slowdown), r.fmt_arg(worst)))


def target_copy_flat(s, threshold):
    suite = s[NAME]
    args = r.args_of(suite, "CopyContext", "Hamt")
    if len(args) < 2:
        return r.TargetResult("MISSING", "–")
    growth = r.ratio(r.time_of(suite, "CopyContext", "Hamt", args[-1]),
                     r.time_of(suite, "CopyContext", "Hamt", args[0]))
    return r.at_most(growth, threshold, "%s from vars=%s to %s" % (
        r.fmt_ratio(growth), r.fmt_arg(args[0]), r.fmt_arg(args[-1])))


def section(suite, plots):
    out = ["`Naive ÷ Hamt` is how many times longer the naive copy-on-set "
           "`contextvars::naive` takes; `vars` is how many ContextVars are "
           "set in the context.", ""]
    for op in OPS:
        t = r.op_table(suite, op, IMPLS, "Hamt", ("Naive",), "vars")
        if t:
            out += ["### %s" % op, "", t, ""]
    tls = r.time_of(suite, "ThreadLocalRead", "")
    args = r.args_of(suite, "VarGet", "Hamt")
    if tls is not None:
        out += ["### ContextVar.get against a thread_local read", "",
                "A `thread_local` read takes %s. Both are measured eight to "
                "a loop step, from a loop that starts at a 64-byte boundary "
                "(throughput: a loop of one read took 0.5 or 1.0 ns as it "
                "straddled a cache line or not); a cached get() is four "
                "loads (the variable's cache slot and key, the entry's key "
                "and value), a thread_local read one." % r.fmt_time(tls), ""]
        if args:
            out += [r.table(["vars", "VarGet (Hamt)", "÷ thread_local"],
                            [[r.fmt_arg(n),
                              r.fmt_time(r.time_of(suite, "VarGet", "Hamt", n)),
                              r.fmt_ratio(r.ratio(
                                  r.time_of(suite, "VarGet", "Hamt", n), tls))]
                             for n in args]), ""]
    args = r.args_of(suite, "CopyContext", "Hamt")
    if args:
        first = r.time_of(suite, "CopyContext", "Hamt", args[0])
        out += ["### copy_context flatness", "",
                "Each time divided by the time with the fewest vars; "
                "O(1) stays near 1×.", "",
                r.table(["vars", "CopyContext (Hamt)", "÷ first"],
                        [[r.fmt_arg(n),
                          r.fmt_time(r.time_of(suite, "CopyContext", "Hamt", n)),
                          r.fmt_ratio(r.ratio(r.time_of(
                              suite, "CopyContext", "Hamt", n), first))]
                         for n in args]), ""]
    return out + r.plot_lines(plots, "contextvars_varset")


SUITE = r.Suite(
    name=NAME, title="contextvars", label="//contextvars:contextvars_benchmark",
    order=20, section=section,
    plots=[r.Plot("contextvars_varset",
                  "contextvars: ContextVar.set, Hamt against Naive",
                  "vars set in the context",
                  lambda suite: [(impl, [(n, r.time_of(suite, "VarSet", impl, n))
                                         for n in r.args_of(suite, "VarSet",
                                                            impl)])
                                 for impl in IMPLS])],
    targets=[
        r.Target("VarSet with 100 vars ≥ {}× faster than Naive",
                 r.speedup(NAME, "VarSet", "Hamt", "Naive", 100, "vars"), 10),
        r.Target("VarGet (cache hit) ≤ {}× ThreadLocalRead", target_get_vs_tls,
                 1.5),
        r.Target("CopyContext flat: time at the most vars ≤ {}× at 1 var",
                 target_copy_flat, 1.5),
    ],
    hot_paths=["BM_VarGet_Hamt/100", "BM_VarSet_Hamt/100"],
)
