#!/usr/bin/env bash
# Builds the benchmark binaries twice with CMake, at -O2 with the flags of
# Bazel's `-c opt` (what Bazel users get; the report shows this build and
# judges its targets at it) and at -O3 (CMake Release), runs them and writes
# bench/REPORT.md and its plots (bench/*.png):
#   tools/bench_report.sh
# The -O3 build runs only each suite's hot paths (bench/report_sections/:
# hot_paths and also_o3), right after the same suite's -O2 run, alternating
# in rounds with a second -O2 pass of the same hot paths (BENCH_ROUNDS): the
# report puts those two passes side by side. Alternating, a slow phase of
# the machine (a noisy neighbour on a shared host moves a 5 ns benchmark by
# 20% from one process to the next) falls on both builds alike rather than
# on one of them. BENCH_O3=all runs every benchmark at -O3 too (about twice
# as long) and compares the full runs.
# Then, when the compiler is not clang already, the same hot paths (and
# also_o3) are built with clang++ at the same -O2 and -O3 flags and run at
# -O2 and right after at -O3, each suite's one after the other (2-3
# minutes more): the report judges the hot paths with both compilers.
# Works on a fresh Debian 12 machine: run as root it installs the Debian
# packages it misses, otherwise it prints the apt-get line and exits 1.
# About 15 minutes on 2 cores (12m05s with warm build directories, at load 8,
# before the clang pass).
# Settings, from the environment:
#   BUILD_DIR=build-bench      prefix of the build directories: BUILD_DIR-O2 and
#                              BUILD_DIR-O3 (results in each one's results/)
#   BENCH_REPETITIONS=3        repetitions per benchmark; the report takes the median.
#                              A suite runs its repetitions in random
#                              interleaved order, so a slow phase of the
#                              machine falls on several benchmarks rather
#                              than on all repetitions of one (targets
#                              compare benchmarks of one suite)
#   BENCH_MIN_TIME=0.2         seconds each repetition runs at least
#   BENCH_FILTER=regex         run only the matching benchmarks at -O2 (default:
#                              all); the -O3 build still runs its hot paths
#   BENCH_ROUNDS=6             rounds of the side-by-side hot-path runs: each
#                              round runs each of the two builds once (one
#                              repetition), in the order A B, B A, A B, ...,
#                              and the tables take the median over the rounds
#                              (with 4, medians of the same two binaries
#                              moved by 5-10% from one run to the next here)
#   BENCH_O3=hot               hot: -O3 runs the hot paths only; all: everything
#                              (BENCH_FILTER applies); none: no -O3 build
#   BENCH_CLANG=1              1: the clang hot-path pass (installs clang if
#                              it can; skipped when CXX is clang or BENCH_O3 is
#                              none); 0: none (the clang targets are MISSING)
#   CXX=clang++                the compiler (default: CMake's choice, c++)
# A suite that does not build or crashes is reported as missing; the script
# still writes the report and exits 0, so read its Targets table.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/require_packages.sh
require_packages cmake make g++ binutils libabsl-dev libbenchmark-dev \
  libboost-context-dev gnuplot-nox python3
# The python suite (python/bench/contextvars_benchmark.py)
require_packages python3-dev python3-venv python3-setuptools python3-greenlet \
  python3-gevent
. tools/python_venv.sh

build_prefix=${BUILD_DIR:-build-bench}
repetitions=${BENCH_REPETITIONS:-3}
min_time=${BENCH_MIN_TIME:-0.2}
filter=${BENCH_FILTER:-}
o3_mode=${BENCH_O3:-hot}
case $o3_mode in hot | all | none) ;; *)
  echo "BENCH_O3 is hot, all or none, not $o3_mode" >&2
  exit 2
  ;;
esac
rounds=${BENCH_ROUNDS:-6}
case $rounds in '' | *[!0-9]* | 0) echo "BENCH_ROUNDS is a count, not $rounds" >&2
  exit 2 ;;
esac
clang_pass=${BENCH_CLANG:-1}
case $clang_pass in 0 | 1) ;; *)
  echo "BENCH_CLANG is 1 or 0, not $clang_pass" >&2
  exit 2
  ;;
esac
[ "$o3_mode" = none ] && clang_pass=0
case ${CXX:-} in *clang*) clang_pass=0 ;; esac
[ "$clang_pass" = 1 ] && require_packages clang
# suite name, CMake target, binary path inside the build directory
suites=(
  "hamt map_benchmark hamt/map_benchmark"
  "set set_benchmark hamt/set_benchmark"
  "algebra algorithm_benchmark hamt/algorithm_benchmark"
  "contextvars contextvars_benchmark contextvars/contextvars_benchmark"
  "fibers fiber_benchmark fibers/fiber_benchmark"
)
# What `bazel build -c opt` passes gcc (bazel aquery -c opt on a cc_binary,
# Bazel 4.2 default toolchain), less the warnings, which do not change code:
# compile, then link.
bazel_opt_flags="-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=1 -fstack-protector \
-fno-omit-frame-pointer -g0 -O2 -DNDEBUG -ffunction-sections -fdata-sections"
bazel_opt_link="-fuse-ld=gold -Wl,-z,relro,-z,now -Wl,--gc-sections"
builds=(O2)
[ "$o3_mode" = none ] || builds+=(O3)
start=$SECONDS
elapsed() { printf '%dm%02ds' $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)); }

# configure O2|O3|clang-O2|clang-O3: the CMake build directory of that level
# (clang-*: built with clang++).
configure() {
  local level=$1 dir=$build_prefix-$1 type=Release
  case $level in *O2) type=BazelOpt ;; esac
  local args=("-DCMAKE_BUILD_TYPE=$type" -DPERSIST_BUILD_TESTS=OFF
    -DPERSIST_BUILD_BENCHMARKS=ON -DPERSIST_INSTALL=OFF)
  case $level in clang-*)
    args+=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang) ;;
  esac
  if [ "$type" = BazelOpt ]; then
    args+=(
      "-DCMAKE_CXX_FLAGS_BAZELOPT=$bazel_opt_flags"
      "-DCMAKE_C_FLAGS_BAZELOPT=$bazel_opt_flags"
      "-DCMAKE_ASM_FLAGS_BAZELOPT=-DNDEBUG"
      "-DCMAKE_EXE_LINKER_FLAGS_BAZELOPT=$bazel_opt_link")
  fi
  echo "==> [configure -$level] cmake -S . -B $dir ($type, tests off)"
  mkdir -p "$dir/logs"
  if ! cmake -S . -B "$dir" "${args[@]}" >"$dir/logs/configure.log" 2>&1; then
    tail -n 30 "$dir/logs/configure.log"
    echo "==> configure failed (full log: $dir/logs/configure.log)" >&2
    exit 1
  fi
  rm -rf "$dir/results"
  mkdir -p "$dir/results"
}

# run_suite LEVEL SUITE TARGET BINARY FILTER STEP [NAME]: builds and runs one
# suite at one level into LEVEL's results/NAME.json (NAME defaults to SUITE);
# returns 1 when it has none.
run_suite() {
  local level=$1 suite=$2 target=$3 binary=$4 run_filter=$5 step=$6
  local name=${7:-$2} dir=$build_prefix-$level
  local logs=$dir/logs json=$dir/results/${7:-$2}.json label=-$level
  case $level in clang-*) label="clang -${level#clang-}" ;; esac
  echo "==> $step building $target at $label ($(elapsed))"
  if ! cmake --build "$dir" -j2 --target "$target" \
    >"$logs/$target.build.log" 2>&1; then
    tail -n 20 "$logs/$target.build.log"
    echo "    $target did not build: $suite is reported as missing" \
      "(log: $logs/$target.build.log)"
    return 1
  fi
  if [ ! -x "$dir/$binary" ]; then
    echo "    no $dir/$binary: $suite is reported as missing"
    return 1
  fi
  local list_args=()
  [ -n "$run_filter" ] && list_args+=("--benchmark_filter=$run_filter")
  local total reps=${run_repetitions:-$repetitions}
  total=$("$dir/$binary" --benchmark_list_tests=true "${list_args[@]}" |
    wc -l) || total="?"
  echo "==> $step running $total benchmarks, $reps repetitions of" \
    "at least ${min_time}s each ($(elapsed))"
  if ((reps > 1)); then
    list_args+=(--benchmark_enable_random_interleaving=true)
  fi
  # The console shows one _median line per finished benchmark (with one
  # repetition, its only line): that is the progress line.
  set +e
  "$dir/$binary" "${list_args[@]}" --benchmark_format=console \
    --benchmark_color=false --benchmark_out_format=json \
    --benchmark_out="$json" --benchmark_repetitions="$reps" \
    --benchmark_report_aggregates_only=true \
    --benchmark_min_time="$min_time" 2>"$logs/$name.run.stderr" |
    awk -v step="$step" -v total="$total" -v single="$((reps == 1))" '
      / *[^ ]+_median / || (single && /^BM_/) {
        done++
        name = $1; sub(/_median$/, "", name)
        printf "    %s %d/%d %-44s %s %s\n", step, done, total, name, $4, $5
        fflush()
      }'
  local status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$logs/$name.run.stderr"
    echo "    $binary exited with status $status: a partial or unreadable" \
      "result is reported as missing"
  fi
  return 0
}

# run_rounds SUITE TARGET BINARY FILTER LABEL LEVEL_A FLAG_A NAME_A LEVEL_B
# FLAG_B NAME_B: the side-by-side pair, BENCH_ROUNDS rounds of one
# repetition each, A B, B A, A B, ...; each round's file is added to the
# report's arguments as FLAG SUITE=FILE (the report takes the median over
# them). Both targets are built first, so that the rounds run back to back.
run_rounds() {
  local suite=$1 target=$2 binary=$3 run_filter=$4 label=$5 round order level
  local -a sides=("$6 $7 $8" "$9 ${10} ${11}")
  for order in 0 1; do
    read -r level _ _ <<<"${sides[$order]}"
    cmake --build "$build_prefix-$level" -j2 --target "$target" \
      >"$build_prefix-$level/logs/$target.build.log" 2>&1 || true
  done
  for round in $(seq "$rounds"); do
    for order in 0 1; do
      local side=${sides[$(((order + round + 1) % 2))]} flag name
      read -r level flag name <<<"$side"
      if run_repetitions=1 run_suite "$level" "$suite" "$target" "$binary" \
        "$run_filter" "$label round $round/$rounds, ${level}]" \
        "$name.r$round"; then
        report_args+=("$flag" "$suite=$build_prefix-$level/results/$name.r$round.json")
      fi
    done
  done
}

for level in "${builds[@]}"; do configure "$level"; done
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build_prefix-O2/CMakeCache.txt")
compiler=$("${cxx:-c++}" --version | head -n 1)
echo "    compiler: $compiler"

report_args=()
number=0
for entry in "${suites[@]}"; do
  read -r suite target binary <<<"$entry"
  number=$((number + 1))
  for level in "${builds[@]}"; do
    run_filter=$filter
    if [ "$level" = O3 ] && [ "$o3_mode" = hot ]; then
      run_filter=$(python3 bench/make_report.py --print-o3-filter "$suite")
      [ -n "$run_filter" ] || continue
      # The hot paths at -O2 once more, alternating with -O3: the
      # side-by-side pair then runs seconds apart, not the whole suite apart.
      run_rounds "$suite" "$target" "$binary" "$run_filter" \
        "[$number/${#suites[@]} $suite hot" O2 --json-o2-hot "$suite.hot" \
        O3 --json-o3 "$suite"
      continue
    fi
    step="[$number/${#suites[@]} $suite -$level]"
    if run_suite "$level" "$suite" "$target" "$binary" "$run_filter" "$step"; then
      flag=--json
      [ "$level" = O3 ] && flag=--json-o3
      report_args+=("$flag" "$suite=$build_prefix-$level/results/$suite.json")
    fi
  done
done

# The clang pass: each suite's hot paths and also_o3 built with clang++ at
# the same two levels, -O3 right after -O2 (both built first, so that the two
# runs are seconds apart).
if [ "$clang_pass" = 1 ]; then
  configure clang-O2
  configure clang-O3
  clang_cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' \
    "$build_prefix-clang-O2/CMakeCache.txt")
  clang_compiler=$("${clang_cxx:-clang++}" --version | head -n 1)
  echo "    clang compiler: $clang_compiler"
  number=0
  for entry in "${suites[@]}"; do
    read -r suite target binary <<<"$entry"
    number=$((number + 1))
    run_filter=$(python3 bench/make_report.py --print-o3-filter "$suite")
    [ -n "$run_filter" ] || continue
    run_rounds "$suite" "$target" "$binary" "$run_filter" \
      "[$number/${#suites[@]} $suite clang" clang-O2 --json-clang-o2 "$suite" \
      clang-O3 --json-clang-o3 "$suite"
  done
fi

# The Python suites, from Python, with the extension pip builds (-O2 flags
# of setuptools): run_python_suite NAME SCRIPT
python_dir=$build_prefix-O2
run_python_suite() {
  local name=$1 script=$2 logs=$python_dir/logs results=$python_dir/results
  mkdir -p "$logs" "$results"
  echo "==> [$name] pip install ./python into $python_dir/venv, then $script" \
    "($(elapsed))"
  if python_venv "$python_dir/venv" >"$logs/$name.build.log" 2>&1 &&
    "$python_dir/venv/bin/python" -P "$script" \
      --out "$results/$name.json" --min-time 0.1 \
      --repetitions "$((repetitions > 5 ? repetitions : 5))" \
      2>"$logs/$name.run.stderr" | sed 's/^/    /'; then
    report_args+=(--json "$name=$results/$name.json")
  else
    tail -n 20 "$logs/$name.build.log" "$logs/$name.run.stderr"
    echo "    the $name suite failed: it is reported as missing"
  fi
}
# persist.contextvars against CPython's contextvars and gevent.contextvars.
run_python_suite python python/bench/contextvars_benchmark.py
# persist.Map against CPython's HAMT (_testcapi.hamt()) and a dict copied
# before each change (about a minute; the 1M-entry maps cost most).
run_python_suite python_map python/bench/map_benchmark.py

runs="median of $repetitions repetitions, each at least ${min_time}s"
if ((repetitions > 1)); then
  runs="median of $repetitions repetitions in random interleaved order, \
each at least ${min_time}s"
fi
o3_runs=$runs
rounds_text="in $rounds rounds alternating with an -O2 pass of the same hot \
paths (A B, B A, ...), one repetition of at least ${min_time}s each per \
round: median over the rounds"
[ "$o3_mode" = hot ] && o3_runs="hot paths only (BENCH_O3=hot), each \
suite's right after its -O2 run, $rounds_text"
[ -n "$filter" ] && runs="$runs, filter $filter"
[ -n "$filter" ] && [ "$o3_mode" = all ] && o3_runs="$o3_runs, filter $filter"
report_args+=(--settings "$bazel_opt_flags, link $bazel_opt_link (Bazel's -c \
opt, CMake build type BazelOpt); $runs")
[ "$o3_mode" = none ] ||
  report_args+=(--settings-o3 "-O3 -DNDEBUG (CMake Release); $o3_runs")
[ "$clang_pass" = 1 ] &&
  report_args+=(--compiler-clang "$clang_compiler" --settings-clang \
    "$clang_compiler, the -O2 and -O3 flags above; the hot paths (and the \
-O3 targets' benchmarks) only, whatever BENCH_FILTER, -O2 and -O3 \
alternating in $rounds rounds (A B, B A, ...), one repetition of at least \
${min_time}s each per round: median over the rounds")
echo "==> [report] bench/make_report.py ($(elapsed))"
python3 bench/make_report.py "${report_args[@]}" --out bench/REPORT.md \
  --plot-dir bench --compiler "$compiler"
results="$build_prefix-O2/results${builds[1]:+, $build_prefix-O3/results}"
[ "$clang_pass" = 1 ] &&
  results="$results, $build_prefix-clang-O2/results, $build_prefix-clang-O3/results"
echo "==> done in $(elapsed): bench/REPORT.md (raw results in $results)"
