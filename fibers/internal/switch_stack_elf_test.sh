#!/usr/bin/env bash
# Checks how the assembly switch (fibers/internal/switch_stack_*.S) links:
#  1. linked into a shared object, its symbols are hidden (absent from the
#     dynamic symbol table) and reached directly (no PLT entry, no GOT or
#     other dynamic relocation);
#  2. every symbol starts with the indirect-branch landing pad (x86-64
#     endbr64, AArch64 bti c);
#  3. built together with code compiled for control-flow protection
#     (x86-64 -fcf-protection=full, AArch64 -mbranch-protection=standard),
#     the shared object keeps the IBT / BTI marking in .note.gnu.property,
#     and on x86-64 does not claim shadow-stack support (SHSTK).
# The shared object is switch_stack_selftest.cc plus the switch, linked with
# -nostdlib: Debian's crti.o/crt1.o carry no property note, and any unmarked
# input object drops the marking from the output, so a normally linked
# program on this system is never marked, whatever our object says.
#   switch_stack_elf_test.sh ARCH CXX SOURCE_ROOT [SHARED_OBJECT...]
# ARCH is x86_64 or aarch64; CXX compiles for it (aarch64-linux-gnu-g++);
# each SHARED_OBJECT (one the build system linked with the fibers library)
# is checked for (1) as well.
set -euo pipefail
arch=$1 cxx=$2 root=$3
shift 3
tool_prefix=
case "$cxx" in *-g++) tool_prefix=${cxx%g++} ;; esac
readelf=${tool_prefix}readelf objdump=${tool_prefix}objdump
case "$arch" in
  x86_64) protect=-fcf-protection=full landing_pad='endbr64'
    feature_line='x86 feature: IBT' ;;
  aarch64) protect=-mbranch-protection=standard landing_pad='bti[[:space:]]+c'
    feature_line='AArch64 feature: BTI' ;;
  *) echo "unknown ARCH $arch" >&2; exit 2 ;;
esac
symbols="persist_switch_stack persist_switch_stack_shared_fp_env \
persist_prepare_stack persist_stack_entry_trampoline"
# x86-64's fibers switch inline (fibers/internal/inline_switch.h) and refer
# to the switch code only through this trampoline's address.
[ "$arch" = x86_64 ] && symbols="$symbols persist_inline_switch_entry_trampoline"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

out_dir=$(mktemp -d /tmp/persist-switch-elf.XXXXXX)
trap 'rm -rf "$out_dir"' EXIT
probe=$out_dir/switch_stack_probe.so
"$cxx" -std=c++17 -O2 -fPIC -shared -nostdlib $protect \
  -Dmain=switch_stack_selftest_main -I"$root" \
  "$root/fibers/internal/switch_stack_selftest.cc" \
  "$root/fibers/internal/switch_stack_$arch.S" -o "$probe"

# 1. Hidden, called directly: no dynamic symbol, no PLT stub, and the calls
# that do exist go to the switch itself.
check_direct_calls() {
  local so=$1 dynamic_symbols code
  # (Captured first: grep -q on a pipe would SIGPIPE the producer under
  # pipefail.)
  dynamic_symbols=$("$readelf" --dyn-syms -W "$so")
  code=$("$objdump" -d "$so")
  if grep -E 'persist_((switch|prepare)_stack|inline_switch)' <<<"$dynamic_symbols"; then
    fail "$so exports the switch symbols"
  fi
  if grep -E '<persist_[a-z_]*@plt>' <<<"$code"; then  # (@plt: objdump's name)
    fail "$so calls the switch through the PLT"
  fi
  if grep -E 'persist_((switch|prepare)_stack|inline_switch)' <<<"$("$readelf" -rW "$so")"; then
    fail "$so has dynamic relocations (GOT or PLT) for the switch"
  fi
  # Called (call/bl) or its address taken (lea/adr, annotated <symbol>)
  # pc-relatively, inside the object.
  grep -Eq '^ +[0-9a-f]+:.*<persist_(switch_stack(_shared_fp_env)?|inline_switch_entry_trampoline)>' \
    <<<"$code" || fail "$so never refers to the switch (is it linked in?)"
}
check_direct_calls "$probe"
for so in "$@"; do check_direct_calls "$so"; done

# 2. The first instruction of every symbol is the landing pad.
probe_code=$("$objdump" -d "$probe")
for symbol in $symbols; do
  first=$(awk -v s="<$symbol>:" '$2 == s { getline; print; exit }' \
    <<<"$probe_code")
  echo "$symbol: $first"
  echo "$first" | grep -Eq "[[:space:]]$landing_pad" ||
    fail "$symbol does not start with $landing_pad"
done

# 3. The property note survives the link.
notes=$("$readelf" -n "$probe")
grep -E 'feature:' <<<"$notes" || true
grep -q "$feature_line" <<<"$notes" || fail "no '$feature_line' note"
if [ "$arch" = x86_64 ] && grep -q SHSTK <<<"$notes"; then
  fail "the object claims SHSTK, which the switch does not support"
fi

[ "$failures" -eq 0 ] || { echo "switch_stack_elf_test: $failures FAILED"; exit 1; }
echo "switch_stack_elf_test ($arch): all checks passed"
