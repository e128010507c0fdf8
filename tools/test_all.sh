#!/usr/bin/env bash
# Runs every test of the project, on a fresh Debian 12 machine too:
#   tools/test_all.sh
# Steps: Bazel (plain, ASan+UBSan, TSan), CMake with g++ and clang (warnings
# are errors), valgrind on a subset, the AArch64 switcher under qemu, a bounded
# libFuzzer run, the report generator's unit test, a benchmark smoke run and
# the consumer builds (Bazel, CMake find_package and add_subdirectory).
# Ends with "steps: N passed, M failed"; exits non-zero when a step failed.
set -u
cd "$(dirname "$0")/.."
. tools/require_packages.sh
require_packages bazel-bootstrap bazel-rules-java g++ clang libclang-rt-14-dev \
  cmake make libabsl-dev libbenchmark-dev librapidcheck-dev googletest \
  libgtest-dev libgmock-dev libboost-context-dev valgrind qemu-user \
  g++-aarch64-linux-gnu python3 gnuplot-nox

passed=0
failed=0
failed_steps=()
step() {
  local name=$1
  shift
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

cmake_build_and_test() {
  local compiler=$1 dir=build-test-$1
  local cxx=g++ cc=gcc
  [ "$compiler" = clang ] && cxx=clang++ cc=clang
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=$cc -DCMAKE_CXX_COMPILER=$cxx >/dev/null &&
    cmake --build "$dir" -j2 &&
    ctest --test-dir "$dir" --output-on-failure -j2
}

valgrind_subset() {
  local dir=build-test-gcc test
  for test in hamt/map_test contextvars/contextvars_test; do
    [ -x "$dir/$test" ] || { echo "missing $dir/$test"; return 1; }
    valgrind --quiet --error-exitcode=1 --leak-check=full \
      --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite "$dir/$test" --gtest_brief=1 || return 1
  done
}

benchmark_smoke() {
  local dir=build-test-gcc bench
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
step "aarch64 switcher under qemu" bash tools/test_aarch64.sh
step "libFuzzer, bounded" bash tools/fuzz.sh "${FUZZ_SECONDS:-60}"
step "benchmark report unit test" python3 bench/make_report_test.py
step "benchmark smoke run" benchmark_smoke
step "consumers: Bazel, CMake find_package, add_subdirectory" \
  bash tools/test_consumers.sh

echo
[ $failed -eq 0 ] || printf 'failed step: %s\n' "${failed_steps[@]}"
echo "steps: $passed passed, $failed failed"
[ $failed -eq 0 ]
