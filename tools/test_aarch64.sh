#!/usr/bin/env bash
# Cross-compiles the AArch64 stack switcher (fibers/internal/
# switch_stack_aarch64.S) with its self-contained test (fibers/internal/
# switch_stack_selftest.cc: no gtest, no absl) as a static binary and runs it
# under qemu-aarch64. The test checks values crossing the switch, entry stack
# alignment, and that x19-x29 and d8-d15 survive switches in both directions.
#   tools/test_aarch64.sh
# Needs g++-aarch64-linux-gnu and qemu-user: installed when missing and run as
# root, else the apt-get line is printed and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/require_packages.sh
require_packages g++-aarch64-linux-gnu qemu-user

out_dir=$(mktemp -d /tmp/persist-aarch64.XXXXXX)
trap 'rm -rf "$out_dir"' EXIT
for opt in -O0 -O2; do
  echo "==> aarch64-linux-gnu-g++ $opt -static"
  aarch64-linux-gnu-g++ -std=c++17 -Wall -Wextra -Werror "$opt" -static -I. \
    fibers/internal/switch_stack_selftest.cc \
    fibers/internal/switch_stack_aarch64.S \
    -o "$out_dir/switch_stack_selftest"
  qemu-aarch64 "$out_dir/switch_stack_selftest"
done
