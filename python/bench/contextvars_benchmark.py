#!/usr/bin/env python3
"""persist.contextvars against CPython's contextvars (a C HAMT) and
gevent.contextvars (the seed: a dict copied on every set), from Python.

    build-python/venv/bin/python python/bench/contextvars_benchmark.py \
        --out build-bench/results/python.json

For each implementation and each n in 1, 10, 100, 1k, 10k ContextVars set in
the current context: ContextVar.set (of one of them), ContextVar.get,
copy_context() and Context.run(f) (f an empty Python function) of a context
holding them. Each statement is unrolled 10 times in a loop compiled for it,
so the loop costs little next to it. Output is Google Benchmark's JSON
(BM_<Op>_<Impl>/<n>, every repetition and its median), read by
bench/make_report.py as the suite `python`.

Besides those, for the greenlet-local design (python/internal/
greenlet_local.h): BM_GreenletSwitch_Plain and _Traced, a greenlet switch
round trip without and with persist's tracer, and BM_GreenletGetcurrent, the
call every get() would add if it asked greenlet for the current greenlet
instead.
"""

import argparse
import contextvars as cpython_contextvars
import datetime
import json
import os
import platform
import statistics
import sys
import threading
import time

UNROLL = 10
SIZES = (1, 10, 100, 1000, 10000)
OPS = ("Set", "Get", "CopyContext", "Run")
STATEMENTS = {
    "Set": "var.set(value)",
    "Get": "var.get()",
    "CopyContext": "copy_context()",
    "Run": "ctx.run(f)",
}


def implementations():
    import persist.contextvars
    impls = [("Persist", persist.contextvars),
             ("CPython", cpython_contextvars)]
    try:
        import gevent.contextvars
        impls.append(("Gevent", gevent.contextvars))
    except ImportError:
        print("gevent is not installed: no Gevent results", file=sys.stderr)
    return impls


def compile_loop(statement):
    source = "def loop(loops, var, value, copy_context, ctx, f):\n" \
        "    for _ in range(loops):\n" + ("        %s\n" % statement) * UNROLL
    namespace = {}
    exec(compile(source, "<benchmark %s>" % statement, "exec"), namespace)
    return namespace["loop"]


def empty():
    pass


def calibrate(run_once, min_time):
    """The loop count for which run_once(loops) takes about min_time."""
    loops = 1
    while True:
        start = time.perf_counter()
        run_once(loops)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time / 10 or loops >= 1 << 30:
            break
        loops *= 4 if elapsed < min_time / 100 else 2
    return max(1, int(loops * min_time / max(elapsed, 1e-9)))


def timed(run_once, loops):
    """One repetition: (iterations, real ns, cpu ns per statement)."""
    real, cpu = time.perf_counter_ns(), time.process_time_ns()
    run_once(loops)
    cpu, real = time.process_time_ns() - cpu, time.perf_counter_ns() - real
    iterations = loops * UNROLL
    return iterations, real / iterations, cpu / iterations


def measure(run_once, min_time, repetitions):
    """[(iterations, real_ns, cpu_ns)], one per repetition."""
    loops = calibrate(run_once, min_time)
    return [timed(run_once, loops) for _ in range(repetitions)]


class Subject:
    """One implementation with n variables set in a context of its own:
    run(loops) runs the op's loop inside that context."""

    def __init__(self, module, op, n):
        self.holder = module.Context()
        loop = compile_loop(STATEMENTS[op])

        def setup():
            variables = [module.ContextVar("v%d" % i) for i in range(n)]
            for i, var in enumerate(variables):
                var.set(i)
            ctx = module.copy_context()  # another context with the n vars
            var = variables[n // 2]
            return lambda loops: loop(loops, var, "value",
                                      module.copy_context, ctx, empty)
        self.body = self.holder.run(setup)

    def run(self, loops):
        self.holder.run(self.body, loops)


def bench_contextvars(impls, op, n, min_time, repetitions):
    """{impl: repetitions}; the implementations take turns, repetition by
    repetition, so a change of load on the machine hits them alike."""
    subjects = {impl: Subject(module, op, n) for impl, module in impls}
    loops = {impl: calibrate(s.run, min_time) for impl, s in subjects.items()}
    results = {impl: [] for impl in subjects}
    for _ in range(repetitions):
        for impl, subject in subjects.items():
            results[impl].append(timed(subject.run, loops[impl]))
    return results


def bench_greenlet(min_time, repetitions):
    try:
        import greenlet
    except ImportError:
        return {}
    import persist.contextvars
    results = {}

    def in_thread(name, traced):
        main = greenlet.getcurrent()

        def partner_body():
            while True:
                main.switch()

        partner = greenlet.greenlet(partner_body)
        partner.switch()
        if traced:  # the first set() in a thread installs the tracer
            persist.contextvars.ContextVar("v").set(1)

        def switch_loop(loops):
            switch = partner.switch
            for _ in range(loops):
                for _ in range(UNROLL):
                    switch()  # there and back: one round trip
        results[name] = measure(switch_loop, min_time, repetitions)

    for name, traced in (("BM_GreenletSwitch_Plain", False),
                         ("BM_GreenletSwitch_Traced", True)):
        # A fresh thread for each: greenlet's tracer is per thread.
        t = threading.Thread(target=in_thread, args=(name, traced))
        t.start()
        t.join()
    getcurrent = greenlet.getcurrent
    loop = compile_loop("copy_context()")  # copy_context is the callable
    results["BM_GreenletGetcurrent"] = measure(
        lambda loops: loop(loops, None, None, getcurrent, None, None),
        min_time, repetitions)
    return results


def entries(run_name, repetitions):
    out = []
    for index, (iterations, real, cpu) in enumerate(repetitions):
        out.append({
            "name": run_name, "run_name": run_name, "run_type": "iteration",
            "repetitions": len(repetitions), "repetition_index": index,
            "threads": 1, "iterations": iterations, "real_time": real,
            "cpu_time": cpu, "time_unit": "ns"})
    out.append({
        "name": run_name + "_median", "run_name": run_name,
        "run_type": "aggregate", "repetitions": len(repetitions),
        "threads": 1, "aggregate_name": "median", "aggregate_unit": "time",
        "iterations": len(repetitions),
        "real_time": statistics.median(r[1] for r in repetitions),
        "cpu_time": statistics.median(r[2] for r in repetitions),
        "time_unit": "ns"})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--repetitions", type=int, default=int(
        os.environ.get("BENCH_REPETITIONS", 5)))
    parser.add_argument("--min-time", type=float, default=float(
        os.environ.get("BENCH_MIN_TIME", 0.05)),
        help="seconds each repetition runs at least")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    benchmarks = []
    impls = implementations()
    for op in OPS:
        for n in sizes:
            results = bench_contextvars(impls, op, n, args.min_time,
                                        args.repetitions)
            for impl, reps in results.items():
                run_name = "BM_%s_%s/%d" % (op, impl, n)
                median = statistics.median(r[2] for r in reps)
                print("%-28s %10.1f ns" % (run_name, median), flush=True)
                benchmarks += entries(run_name, reps)
    for run_name, reps in bench_greenlet(args.min_time,
                                         args.repetitions).items():
        print("%-28s %10.1f ns" % (run_name, statistics.median(
            r[2] for r in reps)), flush=True)
        benchmarks += entries(run_name, reps)

    context = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "host_name": platform.node(),
        "executable": sys.executable,
        "python_version": platform.python_version(),
        "num_cpus": os.cpu_count(),
        "library_build_type": "release",
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"context": context, "benchmarks": benchmarks}, f, indent=1)
    print("wrote %s" % args.out)


if __name__ == "__main__":
    main()
