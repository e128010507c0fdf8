#!/usr/bin/env python3
"""Unit test of make_report.py on tiny fake benchmark JSON files.

    python3 bench/make_report_test.py
"""

import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_report  # noqa: E402


def aggregate(run_name, median_ns, time_unit="ns", **counters):
    """The mean, median and stddev entries benchmark writes for one run."""
    scale = make_report._TIME_UNIT_NS[time_unit]
    entries = []
    for name, value in (("mean", median_ns * 1.1), ("median", median_ns),
                        ("stddev", median_ns * 0.01)):
        entry = {"name": "%s_%s" % (run_name, name), "run_name": run_name,
                 "run_type": "aggregate", "aggregate_name": name,
                 "repetitions": 3, "threads": 1, "iterations": 3,
                 "real_time": value / scale, "cpu_time": value / scale,
                 "time_unit": time_unit}
        entry.update(counters)
        entries.append(entry)
    return entries


def write_json(directory, name, entries):
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"context": {"num_cpus": 2, "mhz_per_cpu": 2600},
                   "benchmarks": entries}, f)
    return path


def hamt_entries():
    """Hamt set grows like log n, Naive like n; find is 3× flat_hash_map."""
    entries = []
    for n in (10, 1000, 100000):
        log_n = len(str(n))
        entries += aggregate("BM_Set_Hamt/%d" % n, 20.0 * log_n,
                             bytes_per_entry=20.0)
        entries += aggregate("BM_Set_Naive/%d" % n, 2.0 * n)
        entries += aggregate("BM_Find_Hamt/%d" % n, 30.0)
        entries += aggregate("BM_Find_FlatHashMap/%d" % n, 10.0)
        entries += aggregate("BM_Find_StdUnorderedMap/%d" % n, 10.0)
        entries += aggregate("BM_Build_StdUnorderedMap/%d" % n, 1.0,
                             bytes_per_entry=50.0)
        entries += aggregate("BM_Build_Hamt/%d" % n, 1.0, bytes_per_entry=25.0)
        entries += aggregate("BM_Chase_Memory/%d" % n, float(log_n))
    return entries


class ParseNameTest(unittest.TestCase):

    def test_op_impl_and_size(self):
        self.assertEqual(make_report.parse_name("BM_Set_HamtTransient/1000"),
                         ("Set", "HamtTransient", 1000))

    def test_no_impl_no_size(self):
        self.assertEqual(make_report.parse_name("BM_ThreadLocalRead"),
                         ("ThreadLocalRead", "", None))

    def test_options_are_not_the_size(self):
        self.assertEqual(
            make_report.parse_name("BM_Switch_Fiber/min_time:0.100/real_time"),
            ("Switch", "Fiber", None))
        self.assertEqual(make_report.parse_name("BM_VarGet_Hamt/vars:8"),
                         ("VarGet", "Hamt", 8))


class LoadSuiteTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def test_takes_the_median_and_converts_units(self):
        path = write_json(self.dir.name, "a.json",
                          aggregate("BM_Set_Hamt/10", 2000.0, time_unit="us",
                                    bytes_per_entry=12.5))
        suite, _, problem = make_report.load_suite(path)
        self.assertIsNone(problem)
        m = suite[("Set", "Hamt", 10)]
        self.assertAlmostEqual(m.time_ns, 2000.0)
        self.assertEqual(m.counters, {"bytes_per_entry": 12.5})

    def test_median_of_plain_runs_without_aggregates(self):
        entries = [{"name": "BM_Find_Hamt/8", "run_name": "BM_Find_Hamt/8",
                    "run_type": "iteration", "cpu_time": t, "real_time": t,
                    "time_unit": "ns"} for t in (5.0, 1.0, 3.0)]
        suite, _, _ = make_report.load_suite(
            write_json(self.dir.name, "b.json", entries))
        self.assertEqual(suite[("Find", "Hamt", 8)].time_ns, 3.0)

    def test_missing_and_broken_files_are_problems_not_crashes(self):
        suite, _, problem = make_report.load_suite(
            os.path.join(self.dir.name, "absent.json"))
        self.assertIsNone(suite)
        self.assertIn("not built", problem)
        broken = os.path.join(self.dir.name, "broken.json")
        with open(broken, "w", encoding="utf-8") as f:
            f.write('{"benchmarks": [{"name": "BM_')
        suite, _, problem = make_report.load_suite(broken)
        self.assertIsNone(suite)
        self.assertIn("unreadable", problem)

    def test_errored_benchmarks_are_skipped(self):
        entries = aggregate("BM_Set_Hamt/1", 5.0)
        entries.append({"name": "BM_Set_Naive/1", "run_name": "BM_Set_Naive/1",
                        "error_occurred": True, "error_message": "boom"})
        suite, _, _ = make_report.load_suite(
            write_json(self.dir.name, "c.json", entries))
        self.assertEqual(list(suite), [("Set", "Hamt", 1)])


class TargetsTest(unittest.TestCase):

    def setUp(self):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        self.suites = {"hamt": make_report.load_suite(
            write_json(d.name, "h.json", hamt_entries()))[0],
            "contextvars": None, "fibers": None}

    def target(self, promise_start):
        """The check and threshold of the TARGETS row starting so."""
        rows = [(check, threshold) for _, promise, check, threshold
                in make_report.TARGETS if promise.startswith(promise_start)]
        self.assertEqual(len(rows), 1, promise_start)
        return rows[0]

    def test_set_speedup_over_naive_at_1k_and_100k(self):
        check, threshold = self.target("Set at n=1k")
        self.assertEqual(threshold, 50)
        r = check(self.suites, threshold)
        # 2 * 1000 / (20 * 4) = 25: below 50.
        self.assertEqual((r.status, r.measured), ("FAIL", "25× at n=1k"))
        check, threshold = self.target("Set at n=100k")
        r = check(self.suites, threshold)
        self.assertEqual(threshold, 2000)
        # 2 * 100000 / (20 * 6) = 1667: below 2000.
        self.assertEqual((r.status, r.measured), ("FAIL", "1667× at n=100k"))
        self.assertEqual(check(self.suites, 1666).status, "PASS")

    def test_set_growth_needs_1m(self):
        check, threshold = self.target("Set at n=1M")
        self.assertEqual(threshold, 3)
        self.assertEqual(check(self.suites, threshold).status, "MISSING")
        M = make_report.Measurement
        self.suites["hamt"][("Set", "Hamt", 10**6)] = M(20.0 * 7 * 3, {})
        r = check(self.suites, threshold)
        # 420 / 80 = 5.25 > 3
        self.assertEqual((r.status, r.measured), ("FAIL", "5.25×"))
        self.assertIn("Naive: 1", r.detail)
        self.assertNotIn("memory floor", r.detail)
        # With the machine's latency at 1M: (80 + 2 * 100) / 80 = 3.5.
        self.suites["hamt"][("Chase", "Memory", 10**6)] = M(100.0, {})
        r = check(self.suites, threshold)
        self.assertEqual(r.status, "FAIL")
        self.assertIn("Chase_Memory 1M = 100 ns) ÷ Set 1k: 3.5×", r.detail)

    def test_find_ratio_against_flat_hash_map(self):
        check, threshold = self.target("Find at n=1k")
        self.assertEqual(threshold, 1.5)
        r = check(self.suites, threshold)
        self.assertEqual((r.status, r.measured), ("FAIL", "3× at n=1k"))
        self.assertEqual(r.detail, "")
        M = make_report.Measurement
        self.suites["hamt"][("FindChain", "Hamt", 1000)] = M(15.0, {})
        self.suites["hamt"][("FindChain", "FlatHashMap", 1000)] = M(12.0, {})
        r = check(self.suites, threshold)
        self.assertEqual(r.status, "FAIL")
        self.assertEqual(r.detail, "one lookup's latency (FindChain): 1.25×")

    def test_the_threshold_is_inclusive(self):
        check, _ = self.target("Find at n=1k")
        self.assertEqual(check(self.suites, 3).status, "PASS")
        self.assertEqual(check(self.suites, 2.99).status, "FAIL")

    def test_memory_uses_the_counter_at_1m(self):
        check, threshold = self.target("≤ {} bytes")
        self.assertEqual(threshold, 24)
        self.assertEqual(check(self.suites, threshold).status, "MISSING")
        M = make_report.Measurement
        self.suites["hamt"][("Build", "Hamt", 10**6)] = M(
            1.0, {"bytes_per_entry": 23.5})
        r = check(self.suites, threshold)
        self.assertEqual(r.status, "PASS")
        self.assertEqual(r.measured, "23.5 B at n=1M (Build)")

    def test_missing_suite_makes_its_targets_missing(self):
        results = make_report.evaluate_targets(self.suites)
        by_suite = {}
        for suite, _, r in results:
            by_suite.setdefault(suite, set()).add(r.status)
        self.assertEqual(by_suite["contextvars"], {"MISSING"})
        self.assertEqual(by_suite["fibers"], {"MISSING"})
        self.assertEqual(by_suite["hamt"], {"FAIL", "MISSING"})

    def test_missing_benchmark_in_present_suite_is_missing(self):
        self.suites["contextvars"] = {
            ("VarGet", "Hamt", 1): make_report.Measurement(5.0, {})}
        r = make_report.target_contextvars_get_vs_tls(self.suites, 1.5)
        self.assertEqual(r.status, "MISSING")

    def test_contextvars_and_fibers_thresholds(self):
        M = make_report.Measurement
        self.suites["contextvars"] = {
            ("VarGet", "Hamt", 1): M(1.2, {}),
            ("VarGet", "Hamt", 1000): M(1.4, {}),
            ("ThreadLocalRead", "", None): M(1.0, {}),
            ("CopyContext", "Hamt", 1): M(10.0, {}),
            ("CopyContext", "Hamt", 1000): M(30.0, {}),
            ("VarSet", "Hamt", 100): M(100.0, {}),
            ("VarSet", "Naive", 100): M(900.0, {}),
        }
        self.suites["fibers"] = {
            ("Switch", "Fiber", None): M(10.0, {}),
            ("Switch", "FiberRaw", None): M(6.0, {}),
            ("Switch", "BoostContext", None): M(5.0, {}),
            ("Switch", "Ucontext", None): M(290.0, {}),
        }
        check, threshold = self.target("VarGet")
        get = check(self.suites, threshold)
        self.assertEqual((get.status, get.measured),
                         ("PASS", "1.4× (worst, vars=1k)"))
        check, threshold = self.target("CopyContext")
        copy = check(self.suites, threshold)
        self.assertEqual((copy.status, copy.measured),
                         ("FAIL", "3× from vars=1 to 1k"))
        check, threshold = self.target("VarSet")
        varset = check(self.suites, threshold)
        self.assertEqual((varset.status, varset.measured),
                         ("FAIL", "9× at vars=100"))
        check, threshold = self.target("Switch_Fiber ≤")
        boost = check(self.suites, threshold)
        self.assertEqual((boost.status, boost.measured), ("FAIL", "2×"))
        self.assertIn("1.2×", boost.detail)
        check, threshold = self.target("Switch_Fiber ≥")
        ucontext = check(self.suites, threshold)
        self.assertEqual((ucontext.status, ucontext.measured), ("PASS", "29×"))


class ReportTest(unittest.TestCase):

    def test_end_to_end_with_a_missing_suite(self):
        with tempfile.TemporaryDirectory() as d:
            hamt = write_json(d, "hamt.json", hamt_entries())
            out = os.path.join(d, "REPORT.md")
            with open(os.devnull, "w") as devnull:
                stdout, sys.stdout = sys.stdout, devnull
                try:
                    rc = make_report.main([
                        "--json", "hamt=" + hamt, "--json",
                        "fibers=" + os.path.join(d, "absent.json"),
                        "--out", out, "--no-plots", "--compiler", "g++ 12",
                        "--date", "2024-01-01"])
                finally:
                    sys.stdout = stdout
            self.assertEqual(rc, 0)
            with open(out, encoding="utf-8") as f:
                report = f.read()
        self.assertIn("- compiler: g++ 12", report)
        self.assertIn("## Missing suites", report)
        self.assertIn("- fibers: not built", report)
        self.assertIn("| hamt | Set at n=100k ≥ 2000× faster than Naive | "
                      "**FAIL** | 1667× at n=100k |", report)
        # The Set table: Naive takes 2e5 ns = 200 µs, 1667 times Hamt's.
        self.assertIn("| 100k | 120 ns | 200 µs | 1667× |", report)
        self.assertIn("| 10 | 40 ns | 20 ns | 0.5× |", report)
        # The latency table: 24 bytes per entry, 6 ns at 100k.
        self.assertIn("### Memory latency of this machine", report)
        self.assertIn("| 100k | 2.29 MB | 6 ns |", report)


class FormatTest(unittest.TestCase):

    def test_formats(self):
        self.assertEqual(make_report.fmt_time(1234.0), "1.23 µs")
        self.assertEqual(make_report.fmt_time(None), "–")
        self.assertEqual(make_report.fmt_ratio(0.25), "0.25×")
        self.assertEqual(make_report.fmt_arg(1000000), "1M")
        self.assertEqual(make_report.fmt_arg(1500), "1500")
        self.assertEqual(make_report.fmt_bytes(24 * 10**6), "22.9 MB")
        self.assertEqual(make_report.fmt_bytes(24000), "23.4 KB")
        self.assertEqual(make_report.fmt_bytes(24), "24 B")

    def test_slope(self):
        self.assertAlmostEqual(
            make_report.loglog_slope([(10, 10.0), (100, 100.0)]), 1.0)
        self.assertAlmostEqual(
            make_report.loglog_slope([(10, 5.0), (1000, 5.0)]), 0.0)
        self.assertIsNone(make_report.loglog_slope([(10, 5.0)]))


if __name__ == "__main__":
    unittest.main()
