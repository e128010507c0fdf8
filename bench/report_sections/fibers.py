"""fibers::Fiber's switch against Boost.Context and swapcontext."""

import report_lib as r

NAME = "fibers"
SWITCH_IMPLS = ("Fiber", "FiberSharedFpEnv", "FiberRaw",
                "FiberRawSharedFpEnv", "BoostContext", "Ucontext")


def target_vs_boost(s, threshold):
    suite = s[NAME]
    slowdown = r.ratio(r.time_of(suite, "Switch", "Fiber"),
                       r.time_of(suite, "Switch", "BoostContext"))
    raw = r.ratio(r.time_of(suite, "Switch", "FiberRaw"),
                  r.time_of(suite, "Switch", "BoostContext"))
    detail = ("the bare assembly switch (FiberRaw): %s" % r.fmt_ratio(raw)
              if raw is not None else "")
    return r.at_most(slowdown, threshold, r.fmt_ratio(slowdown), detail)


def target_shared_fp_env_vs_boost(s, threshold):
    suite = s[NAME]
    slowdown = r.ratio(r.time_of(suite, "Switch", "FiberSharedFpEnv"),
                       r.time_of(suite, "Switch", "BoostContext"))
    raw = r.ratio(r.time_of(suite, "Switch", "FiberRawSharedFpEnv"),
                  r.time_of(suite, "Switch", "BoostContext"))
    detail = ("the bare switch without MXCSR (FiberRawSharedFpEnv): %s"
              % r.fmt_ratio(raw) if raw is not None else "")
    return r.at_most(slowdown, threshold, r.fmt_ratio(slowdown), detail)


def target_vs_ucontext(s, threshold):
    suite = s[NAME]
    speedup = r.ratio(r.time_of(suite, "Switch", "Ucontext"),
                      r.time_of(suite, "Switch", "Fiber"))
    return r.at_least(speedup, threshold, r.fmt_ratio(speedup))


def section(suite, plots):
    out = ["`Fiber` is a full `fibers::Fiber` resume/yield round trip that "
           "also swaps the current Context; `FiberRaw` is the assembly switch "
           "alone; `...SharedFpEnv` the same with `FpEnv::kShared` (no MXCSR "
           "or x87 control word switched).", ""]
    fiber = r.time_of(suite, "Switch", "Fiber")
    rows = []
    for impl in SWITCH_IMPLS:
        t = r.time_of(suite, "Switch", impl)
        if t is not None:
            rows.append([impl, r.fmt_time(t), r.fmt_ratio(r.ratio(t, fiber))])
    if rows:
        out += [r.table(["switch", "time", "÷ Fiber"], rows), ""]
    create = r.time_of(suite, "FiberCreate", "")
    if create is not None:
        out += ["Creating a fiber (pooled stack): %s." % r.fmt_time(create), ""]
    others = sorted((k, m) for k, m in suite.items()
                    if k[0] not in ("Switch", "FiberCreate"))
    if others:
        out += ["Other benchmarks:", "",
                r.table(["benchmark", "time"],
                        [["%s_%s%s" % (op, impl,
                                       "" if a is None else "/%d" % a),
                          r.fmt_time(m.time_ns)]
                         for (op, impl, a), m in others]), ""]
    return out


SUITE = r.Suite(
    name=NAME, title="fibers::Fiber", label="//fibers:fiber_benchmark",
    order=30, section=section,
    targets=[
        # Issue 5's promise, made for the -O3 build.
        r.Target("Switch_Fiber ≤ {}× Switch_BoostContext", target_vs_boost,
                 1.0, build="O3"),
        # Issue 12: what a Bazel (`-c opt`) user gets.
        r.Target("Switch_Fiber ≤ {}× Switch_BoostContext", target_vs_boost,
                 1.05),
        # The same with clang (its hot-path pass runs also_o3 too).
        r.Target("Switch_Fiber ≤ {}× Switch_BoostContext", target_vs_boost,
                 1.05, build=r.CLANG_O2_BUILD),
        # Issue 16: FpEnv::kShared skips the FP control state (-O2).
        r.Target("Switch_FiberSharedFpEnv ≤ {}× Switch_BoostContext",
                 target_shared_fp_env_vs_boost, 0.6),
        r.Target("Switch_Fiber ≥ {}× faster than Switch_Ucontext "
                 "(swapcontext)", target_vs_ucontext, 20),
    ],
    hot_paths=["BM_Switch_Fiber", "BM_Switch_FiberSharedFpEnv"],
    also_o3=["BM_Switch_FiberRaw", "BM_Switch_BoostContext"],
)
