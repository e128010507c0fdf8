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

# fibers: the same selftest (it also checks that FPCR is per side with
# persist_switch_stack and shared with persist_switch_stack_shared_fp_env,
# and calls the switches through a pointer) under qemu's BTI enforcement
# (-cpu max: ld.so maps a BTI-marked object's code guarded, so an indirect
# call to a switch without its `bti c` dies with SIGILL). Static binaries
# cannot be BTI-marked here (Debian's libc.a and crt files carry no BTI
# note), so the selftest goes into a shared object linked without them, and
# a plain executable calls it.
echo "==> BTI-marked shared object under qemu -cpu max (BTI enforced)"
aarch64-linux-gnu-g++ -std=c++17 -Wall -Wextra -Werror -O2 -fPIC -shared \
  -nostdlib -mbranch-protection=standard -Dmain=switch_stack_selftest_main \
  -I. fibers/internal/switch_stack_selftest.cc \
  fibers/internal/switch_stack_aarch64.S -o "$out_dir/libselftest.so"
notes=$(aarch64-linux-gnu-readelf -n "$out_dir/libselftest.so")
grep -q 'AArch64 feature: BTI' <<<"$notes" ||
  { echo "selftest .so not BTI-marked"; exit 1; }
echo 'int switch_stack_selftest_main(); int main() { return switch_stack_selftest_main(); }' \
  >"$out_dir/main.cc"
aarch64-linux-gnu-g++ -O2 "$out_dir/main.cc" -L"$out_dir" -lselftest \
  -o "$out_dir/selftest_main"
QEMU_LD_PREFIX=/usr/aarch64-linux-gnu LD_LIBRARY_PATH="$out_dir" \
  qemu-aarch64 -cpu max "$out_dir/selftest_main"

# fibers: landing pads, BTI property note, hidden symbols.
echo "==> switch_stack_elf_test.sh aarch64"
bash fibers/internal/switch_stack_elf_test.sh aarch64 aarch64-linux-gnu-g++ .
