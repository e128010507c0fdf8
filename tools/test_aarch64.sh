#!/usr/bin/env bash
# Runs the AArch64 code paths under qemu-aarch64:
#   tools/test_aarch64.sh
# 1. The AArch64 stack switcher (fibers/internal/switch_stack_aarch64.S) with
#    its self-contained test (fibers/internal/switch_stack_selftest.cc: no
#    gtest, no absl), at -O0 and -O2: values crossing the switch, entry stack
#    alignment, and that x19-x29 and d8-d15 survive switches both ways.
# 2. The hamt tests (the lookup code every CPU but x86-64 runs: table
#    popcount, no inline asm), cross-compiled at -O2 into one static binary
#    against Debian's arm64 gtest and absl (multiarch :arm64 packages).
# Needs g++-aarch64-linux-gnu, qemu-user and the arm64 architecture with
# libgtest-dev:arm64 and libabsl-dev:arm64: installed when missing and run as
# root, else the commands are printed and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/require_packages.sh
require_packages g++-aarch64-linux-gnu qemu-user
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The arm64 architecture is missing. Add it with:" >&2
    echo "  sudo dpkg --add-architecture arm64 && sudo apt-get update" >&2
    exit 1
  fi
  echo "==> dpkg --add-architecture arm64"
  dpkg --add-architecture arm64
fi
require_packages libgtest-dev:arm64 libabsl-dev:arm64

out_dir=$(mktemp -d /tmp/persist-aarch64.XXXXXX)
trap 'rm -rf "$out_dir"' EXIT
for opt in -O0 -O2; do
  echo "==> aarch64-linux-gnu-g++ $opt -static: switch_stack_selftest"
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

# Only absl's and gtest's headers from /usr/include: the rest of it is the
# host's.
mkdir -p "$out_dir/include"
ln -s /usr/include/absl /usr/include/gtest "$out_dir/include/"
hamt_tests=(hamt/map_test.cc hamt/transient_test.cc hamt/diff_test.cc
  hamt/exception_test.cc hamt/set_test.cc hamt/algorithm_test.cc
  hamt/internal/bits_test.cc
  hamt/internal/node_test.cc hamt/internal/lookup_test.cc)
# Two compiles at a time (one a core).
objects=()
compiles=()
for test in "${hamt_tests[@]}"; do
  echo "==> aarch64-linux-gnu-g++ -O2 -c $test"
  object="$out_dir/$(basename "$test" .cc).o"
  aarch64-linux-gnu-g++ -std=c++17 -Wall -Wextra -Werror -O2 -I. \
    -isystem "$out_dir/include" -c "$test" -o "$object" &
  compiles+=($!)
  objects+=("$object")
  if [ ${#compiles[@]} -ge 2 ]; then
    wait "${compiles[0]}"
    compiles=("${compiles[@]:1}")
  fi
done
for compile in "${compiles[@]}"; do wait "$compile"; done
# getaddrinfo in a static binary: gtest's unused streaming listener.
aarch64-linux-gnu-g++ -static "${objects[@]}" -o "$out_dir/hamt_tests" \
  -L/usr/lib/aarch64-linux-gnu -lgtest_main -lgtest -labsl_hash -labsl_city \
  -labsl_low_level_hash -lpthread 2>&1 | grep -v "getaddrinfo\|in function" >&2 || true
[ -x "$out_dir/hamt_tests" ]
echo "==> qemu-aarch64 hamt_tests"
qemu-aarch64 "$out_dir/hamt_tests" --gtest_brief=1
