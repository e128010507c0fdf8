#!/usr/bin/python3
"""persist.Map against CPython's own HAMT and a dict copied before each change.

Writes Google Benchmark-format JSON (what bench/make_report.py reads):

    python3 python/bench/map_benchmark.py --out results/python_map.json

Benchmarks BM_<Op>_<Impl>/<n>, n = entries in the map (10, 1k, 100k, 1M):
  Op       Set (set an existing key to a new value, keeping the old map),
           Get (get of a present key), Delete (delete a present key, keeping
           the old map), Iterate (one pass over items(), time per pass),
           Build (a map of n pairs from a list of pairs, time per map).
  Impl     Persist: persist.Map; CPythonHamt: _testcapi.hamt(), the HAMT of
           CPython's contextvars (built by set() one pair at a time, it has
           no other constructor); DictCopy: a dict, copied before each Set
           and Delete (dict(pairs) for Build).
Set, Get and Delete report the time per operation over a loop on up to 1,000
random present keys (str keys, so hashes are random, as for most keys). The
loop and call overhead of Python is part of every time, alike for all three.
The garbage collector is off while timing, as in timeit. Each benchmark runs
--repetitions times, each at least --min-time seconds; the median goes into
the file as the `median` aggregate.
"""

import argparse
import datetime
import gc
import json
import os
import platform
import random
import statistics
import sys
import time

import persist

try:
    from _testcapi import hamt as cpython_hamt
except ImportError:  # a Python without its test C API: that impl is skipped
    cpython_hamt = None

SIZES = (10, 1000, 100000, 1000000)
KEYS_PER_LOOP = 1000


def build_persist(pairs):
    return persist.Map(pairs)


def build_cpython_hamt(pairs):
    h = cpython_hamt()
    for k, v in pairs:
        h = h.set(k, v)
    return h


def build_dict(pairs):
    return dict(pairs)


# Each op(container, keys) runs len(keys) operations.

def op_set_persistent(m, keys):
    for k in keys:
        m.set(k, k)


def op_get(m, keys):
    get = m.get
    for k in keys:
        get(k)


def op_delete_persistent(m, keys):
    for k in keys:
        m.delete(k)


def op_set_dict_copy(d, keys):
    for k in keys:
        copy = d.copy()
        copy[k] = k


def op_delete_dict_copy(d, keys):
    for k in keys:
        copy = d.copy()
        del copy[k]


def op_iterate(m, passes):
    for _ in range(passes):
        for _k, _v in m.items():
            pass


IMPLS = {
    # name: (build, set, get, delete)
    "Persist": (build_persist, op_set_persistent, op_get,
                op_delete_persistent),
    "CPythonHamt": (build_cpython_hamt, op_set_persistent, op_get,
                    op_delete_persistent),
    "DictCopy": (build_dict, op_set_dict_copy, op_get, op_delete_dict_copy),
}


def time_batch(run, count):
    """(wall ns, cpu ns) of run(count)."""
    wall, cpu = time.perf_counter_ns(), time.process_time_ns()
    run(count)
    return time.perf_counter_ns() - wall, time.process_time_ns() - cpu


def measure(run, min_time_ns):
    """Per-unit (wall, cpu, count) of run(count), count grown until one batch
    takes at least min_time_ns."""
    count = 1
    while True:
        wall, cpu = time_batch(run, count)
        if wall >= min_time_ns or count >= 1 << 24:
            return wall / count, cpu / count, count
        grow = min_time_ns * 1.3 / max(wall, 1)
        count = max(count + 1, min(count * 100, int(count * grow)))


def keys_cycled(keys, count):
    repeats = -(-count // len(keys))
    return (keys * repeats)[:count]


def benchmarks(sizes, impls, ops, repetitions, min_time, log):
    min_time_ns = int(min_time * 1e9)
    rng = random.Random(15)
    results = []
    for n in sizes:
        keys = ["key-%d" % i for i in range(n)]
        pairs = [(k, i) for i, k in enumerate(keys)]
        loop_keys = rng.sample(keys, min(n, KEYS_PER_LOOP))
        for impl in impls:
            build, op_set, op_get_, op_delete = IMPLS[impl]
            container = build(pairs)
            runs = {
                "Set": lambda c, o=op_set: o(container, keys_cycled(loop_keys, c)),
                "Get": lambda c, o=op_get_: o(container, keys_cycled(loop_keys, c)),
                "Delete": lambda c, o=op_delete: o(container,
                                                   keys_cycled(loop_keys, c)),
                "Iterate": lambda c: op_iterate(container, c),
                "Build": lambda c: [build(pairs) for _ in range(c)],
            }
            for op in ops:
                run = runs[op]
                samples = []
                for _ in range(repetitions):
                    gc.collect()
                    gc.disable()
                    try:
                        samples.append(measure(run, min_time_ns))
                    finally:
                        gc.enable()
                name = "BM_%s_%s/%d" % (op, impl, n)
                wall = statistics.median(s[0] for s in samples)
                cpu = statistics.median(s[1] for s in samples)
                iterations = samples[len(samples) // 2][2]
                log("%-28s %12.1f ns (cpu %12.1f ns, %d per batch)" % (
                    name, wall, cpu, iterations))
                for index, (w, c, it) in enumerate(samples):
                    results.append({
                        "name": name, "run_name": name, "run_type": "iteration",
                        "repetitions": repetitions, "repetition_index": index,
                        "threads": 1, "iterations": it, "real_time": w,
                        "cpu_time": c, "time_unit": "ns"})
                for aggregate, w, c in (("median", wall, cpu),):
                    results.append({
                        "name": name + "_" + aggregate, "run_name": name,
                        "run_type": "aggregate", "repetitions": repetitions,
                        "threads": 1, "aggregate_name": aggregate,
                        "aggregate_unit": "time", "iterations": iterations,
                        "real_time": w, "cpu_time": c, "time_unit": "ns"})
            del container, runs
    return results


def context():
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "host_name": platform.node(),
        "executable": "python/bench/map_benchmark.py",
        "num_cpus": os.cpu_count(),
        "load_avg": load,
        "library_build_type": "release",
        "python": sys.version.split()[0],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--min-time", type=float, default=0.1,
                        help="seconds per repetition, at least")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--impls", default=",".join(IMPLS))
    parser.add_argument("--ops", default="Set,Get,Delete,Iterate,Build")
    args = parser.parse_args(argv)
    impls = [i for i in args.impls.split(",") if i]
    if cpython_hamt is None and "CPythonHamt" in impls:
        print("no _testcapi.hamt(): CPythonHamt skipped", file=sys.stderr)
        impls.remove("CPythonHamt")
    results = benchmarks([int(n) for n in args.sizes.split(",")], impls,
                         [o for o in args.ops.split(",") if o],
                         args.repetitions, args.min_time,
                         lambda line: print(line, flush=True))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"context": context(), "benchmarks": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
