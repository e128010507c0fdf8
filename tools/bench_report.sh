#!/usr/bin/env bash
# Builds the three benchmark binaries in release mode with CMake, runs them and
# writes bench/REPORT.md and its plots (bench/*.png):
#   tools/bench_report.sh
# Works on a fresh Debian 12 machine: run as root it installs the Debian
# packages it misses, otherwise it prints the apt-get line and exits 1.
# About 10 minutes on 2 cores. Settings, from the environment:
#   BUILD_DIR=build-bench      CMake build directory (results in BUILD_DIR/results)
#   BENCH_REPETITIONS=3        repetitions per benchmark; the report takes the median
#   BENCH_MIN_TIME=0.2         seconds each repetition runs at least
#   BENCH_FILTER=regex         run only the matching benchmarks (default: all)
#   CXX=clang++                the compiler (default: CMake's choice, c++)
# A suite that does not build or crashes is reported as missing; the script
# still writes the report and exits 0, so read its Targets table.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/require_packages.sh
require_packages cmake make g++ libabsl-dev libbenchmark-dev \
  libboost-context-dev gnuplot-nox python3

build_dir=${BUILD_DIR:-build-bench}
repetitions=${BENCH_REPETITIONS:-3}
min_time=${BENCH_MIN_TIME:-0.2}
filter=${BENCH_FILTER:-}
results=$build_dir/results
logs=$build_dir/logs
# suite name, CMake target, binary path inside the build directory
suites=(
  "hamt map_benchmark hamt/map_benchmark"
  "set set_benchmark hamt/set_benchmark"
  "algebra algorithm_benchmark hamt/algorithm_benchmark"
  "contextvars contextvars_benchmark contextvars/contextvars_benchmark"
  "fibers fiber_benchmark fibers/fiber_benchmark"
)
start=$SECONDS
elapsed() { printf '%dm%02ds' $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)); }

echo "==> [configure] cmake -S . -B $build_dir (Release, tests off)"
mkdir -p "$logs"
if ! cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DPERSIST_BUILD_TESTS=OFF -DPERSIST_BUILD_BENCHMARKS=ON \
  -DPERSIST_INSTALL=OFF >"$logs/configure.log" 2>&1; then
  tail -n 30 "$logs/configure.log"
  echo "==> configure failed (full log: $logs/configure.log)" >&2
  exit 1
fi
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
compiler="$("${cxx:-c++}" --version | head -n 1), -O3 -DNDEBUG (CMake Release)"
echo "    compiler: $compiler"

rm -rf "$results"
mkdir -p "$results"
report_args=()
number=0
for entry in "${suites[@]}"; do
  read -r suite target binary <<<"$entry"
  number=$((number + 1))
  step="[$number/${#suites[@]} $suite]"
  echo "==> $step building $target ($(elapsed))"
  if ! cmake --build "$build_dir" -j2 --target "$target" \
    >"$logs/$target.build.log" 2>&1; then
    tail -n 20 "$logs/$target.build.log"
    echo "    $target did not build: $suite is reported as missing" \
      "(log: $logs/$target.build.log)"
    continue
  fi
  if [ ! -x "$build_dir/$binary" ]; then
    echo "    no $build_dir/$binary: $suite is reported as missing"
    continue
  fi
  json=$results/$suite.json
  report_args+=(--json "$suite=$json")
  list_args=()
  [ -n "$filter" ] && list_args+=("--benchmark_filter=$filter")
  total=$("$build_dir/$binary" --benchmark_list_tests=true "${list_args[@]}" |
    wc -l) || total="?"
  echo "==> $step running $total benchmarks, $repetitions repetitions of" \
    "at least ${min_time}s each ($(elapsed))"
  # The console shows one _median line per finished benchmark: that is the
  # progress line.
  set +e
  "$build_dir/$binary" "${list_args[@]}" --benchmark_format=console \
    --benchmark_color=false --benchmark_out_format=json \
    --benchmark_out="$json" --benchmark_repetitions="$repetitions" \
    --benchmark_report_aggregates_only=true \
    --benchmark_min_time="$min_time" 2>"$logs/$suite.run.stderr" |
    awk -v step="$step" -v total="$total" '
      / *[^ ]+_median / {
        done++
        name = $1; sub(/_median$/, "", name)
        printf "    %s %d/%d %-44s %s %s\n", step, done, total, name, $4, $5
        fflush()
      }'
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$logs/$suite.run.stderr"
    echo "    $binary exited with status $status: a partial or unreadable" \
      "result is reported as missing"
  fi
done

echo "==> [report] bench/make_report.py ($(elapsed))"
python3 bench/make_report.py "${report_args[@]}" --out bench/REPORT.md \
  --plot-dir bench --compiler "$compiler" \
  --settings "median of $repetitions repetitions, each at least ${min_time}s${filter:+, filter $filter}"
echo "==> done in $(elapsed): bench/REPORT.md (raw results in $results)"
