#!/usr/bin/env bash
# Runs every test of the project, on a fresh Debian 12 machine too:
#   tools/test_all.sh
# Steps: Bazel (plain; ASan+UBSan and TSan, see .bazelrc for what they build
# and run), CMake with g++ and clang (warnings are errors), valgrind on a
# subset, the AArch64 switcher and hamt tests under qemu, a bounded libFuzzer
# run, the report generator's unit test, a benchmark smoke run and the
# consumer builds (Bazel, CMake find_package and add_subdirectory), and the
# Python package's pytest (tools/test_python.sh).
# Ends with "steps: N passed, M failed"; exits non-zero when a step failed.
#
# Every step builds what it needs (cmake_build below configures a build
# directory when it has none and brings the targets it asks for up to date),
# so any step runs alone, in any order:
#   tools/test_all.sh --only valgrind        # steps whose name contains it
#   tools/test_all.sh --only asan --only tsan
#   TEST_ONLY=smoke tools/test_all.sh        # the same from the environment
#   tools/test_all.sh --list                 # the step names
# The match is a case-insensitive substring of the name printed after "==>".
set -u
cd "$(dirname "$0")/.."
only=()
[ -n "${TEST_ONLY:-}" ] && only+=("$TEST_ONLY")
list=0
while [ $# -gt 0 ]; do
  case $1 in
    --only) only+=("${2:?--only needs a step name}"); shift 2 ;;
    --only=*) only+=("${1#--only=}"); shift ;;
    --list) list=1; shift ;;
    *) echo "usage: $0 [--only STEP]... [--list]" >&2; exit 2 ;;
  esac
done
. tools/require_packages.sh
require_packages bazel-bootstrap bazel-rules-java g++ clang libclang-rt-14-dev \
  cmake make libabsl-dev libbenchmark-dev librapidcheck-dev googletest \
  libgtest-dev libgmock-dev libboost-context-dev valgrind qemu-user \
  g++-aarch64-linux-gnu python3 gnuplot-nox
# python/ (tools/test_python.sh)
require_packages python3-dev python3-venv python3-setuptools python3-pytest \
  python3-greenlet python3-gevent libpython3.11-testsuite

passed=0
failed=0
failed_steps=()
selected() {
  local name=${1,,} pattern
  [ ${#only[@]} -eq 0 ] && return 0
  for pattern in "${only[@]}"; do
    [[ $name == *"${pattern,,}"* ]] && return 0
  done
  return 1
}
step() {
  local name=$1
  shift
  if [ $list -eq 1 ]; then
    echo "$name"
    return
  fi
  selected "$name" || return 0
  echo
  echo "==> [$((passed + failed + 1))] $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "==> $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failed_steps+=("$name")
    echo "==> $name: FAILED ($((SECONDS - start)) s)"
  fi
}

bazel_test() { bazel test //... "$@"; }

# cmake_build gcc|clang [TARGET...]: configures build-test-<compiler>
# (-O2, tests and benchmarks on) if it is not yet, then builds the
# targets (default: all). Idempotent: whichever step runs first configures.
cmake_build() {
  local compiler=$1 dir=build-test-$1
  shift
  local cxx=g++ cc=gcc flags=()
  # clang: -O2 without -g, which costs a third more compile time; valgrind,
  # which wants the line tables, runs the g++ build.
  [ "$compiler" = clang ] && cxx=clang++ cc=clang flags=(
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG"
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG")
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=$cc -DCMAKE_CXX_COMPILER=$cxx "${flags[@]}" \
      -DPERSIST_BUILD_TESTS=ON -DPERSIST_BUILD_BENCHMARKS=ON >/dev/null ||
      return 1
  fi
  local targets=()
  [ $# -gt 0 ] && targets=(--target "$@")
  cmake --build "$dir" -j2 "${targets[@]}"
}

cmake_build_and_test() {
  cmake_build "$1" && ctest --test-dir "build-test-$1" --output-on-failure -j2
}

# The two tests run side by side (valgrind runs a program on one core).
valgrind_subset() {
  local dir=build-test-gcc test pids=() status=0
  cmake_build gcc map_test contextvars_test || return 1
  for test in hamt/map_test contextvars/contextvars_test; do
    [ -x "$dir/$test" ] || { echo "missing $dir/$test"; return 1; }
  done
  for test in hamt/map_test contextvars/contextvars_test; do
    valgrind --quiet --error-exitcode=1 --leak-check=full \
      --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite "$dir/$test" --gtest_brief=1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  return $status
}

benchmark_smoke() {
  local dir=build-test-gcc bench
  cmake_build gcc map_benchmark contextvars_benchmark fiber_benchmark ||
    return 1
  for bench in hamt/map_benchmark contextvars/contextvars_benchmark \
    fibers/fiber_benchmark; do
    "$dir/$bench" --benchmark_min_time=0.001 \
      --benchmark_filter='/(1|10|100)$|BM_Switch|BM_Fiber|BM_ThreadLocal' \
      >/dev/null || { echo "$bench failed"; return 1; }
  done
}

step "bazel test //..." bazel_test
step "bazel test //... --config=asan (ASan+UBSan)" bazel_test --config=asan
step "bazel test //... --config=tsan" bazel_test --config=tsan
step "cmake + ctest, g++" cmake_build_and_test gcc
step "cmake + ctest, clang" cmake_build_and_test clang
step "valgrind on a subset" valgrind_subset
step "aarch64 under qemu (switcher, hamt tests)" bash tools/test_aarch64.sh
step "libFuzzer, bounded" bash tools/fuzz.sh "${FUZZ_SECONDS:-60}"
step "benchmark report unit test" python3 bench/make_report_test.py
step "benchmark smoke run" benchmark_smoke
step "consumers: Bazel, CMake find_package, add_subdirectory" \
  bash tools/test_consumers.sh
step "python: pip install ./python, pytest (plain, -X dev + PYTHONMALLOC=debug, no greenlet)" \
  bash tools/test_python.sh

[ $list -eq 1 ] && exit 0
[ $((passed + failed)) -gt 0 ] || { echo "no step matches: ${only[*]}"; exit 2; }
echo
[ $failed -eq 0 ] || printf 'failed step: %s\n' "${failed_steps[@]}"
echo "steps: $passed passed, $failed failed"
[ $failed -eq 0 ]
