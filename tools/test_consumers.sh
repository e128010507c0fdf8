#!/usr/bin/env bash
# Builds and runs examples/consumer.cc as three kinds of users would: a Bazel
# workspace naming persist with local_repository, a CMake project using
# find_package after `cmake --install` to a temporary prefix, and a CMake
# project vendoring persist with add_subdirectory.
set -eu
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "--> Bazel consumer (examples/WORKSPACE)"
(cd examples && bazel test //:consumer_test)

echo "--> CMake find_package consumer"
cmake -S . -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DPERSIST_BUILD_TESTS=OFF -DPERSIST_BUILD_BENCHMARKS=OFF \
  -DPERSIST_INSTALL=ON >/dev/null
cmake --build "$work/build" -j2
cmake --install "$work/build" --prefix "$work/prefix" >/dev/null
cmake -S examples/cmake_find_package -B "$work/find_package" \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/find_package" -j2
"$work/find_package/consumer"

echo "--> CMake add_subdirectory consumer"
cmake -S examples/cmake_add_subdirectory -B "$work/add_subdirectory" >/dev/null
cmake --build "$work/add_subdirectory" -j2
"$work/add_subdirectory/consumer"
echo "consumers: ok ($root)"
