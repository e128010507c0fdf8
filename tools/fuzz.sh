#!/usr/bin/env bash
# Builds the libFuzzer harnesses with ASan and UBSan (clang, no Bazel) and
# fuzzes each for a bounded time on a copy of its seed corpus:
#   proptest/hamt_fuzzer.cc         hamt::Map against std::unordered_map
#   proptest/contextvars_fuzzer.cc  contextvars against contextvars::naive
# Usage:
#   tools/fuzz.sh [seconds]                  # default 60, split between both
#                                            # (which run side by side)
#   tools/fuzz.sh --only contextvars [seconds]   # one fuzzer, all the time
#   tools/fuzz.sh --update-corpus [seconds]  # then merge the finds into
#                                            # proptest/corpus/<fuzzer>
# Exits non-zero when a fuzzer finds a crash; the input that crashed is left
# in build-fuzz/ (<fuzzer>-crash-*), replay it with build-fuzz/<fuzzer> FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/require_packages.sh
require_packages clang libclang-rt-14-dev libabsl-dev python3

update_corpus=0
only=
while [ $# -gt 0 ]; do
  case "$1" in
    --update-corpus) update_corpus=1; shift ;;
    --only) only=$2; shift 2 ;;
    *) break ;;
  esac
done
seconds=${1:-60}
out=${FUZZ_BUILD_DIR:-build-fuzz}
cxx=${FUZZ_CXX:-clang++}
mkdir -p "$out"
case "$only" in
  "") fuzzers=(hamt_fuzzer contextvars_fuzzer) ;;
  hamt|contextvars) fuzzers=("${only}_fuzzer") ;;
  *) echo "--only takes hamt or contextvars" >&2; exit 2 ;;
esac
share=$((seconds / ${#fuzzers[@]}))
[ "$share" -ge 1 ] || share=1

build() {
  local fuzzer=$1 sources=(proptest/$1.cc)
  if [ "$fuzzer" = contextvars_fuzzer ]; then
    local arch
    arch=$(uname -m)
    [ "$arch" = aarch64 ] || arch=x86_64
    sources+=(fibers/fiber.cc fibers/internal/stack.cc
      "fibers/internal/switch_stack_$arch.S")
  fi
  echo "==> building $out/$fuzzer with $cxx"
  "$cxx" -std=c++17 -O1 -g -I. -Wall -Wextra -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -fno-omit-frame-pointer "${sources[@]}" \
    -labsl_hash -labsl_city -labsl_low_level_hash -o "$out/$fuzzer"
}

# The HAMT corpus is kept small (tens of files) with the coverage of all the
# finds: merge on edges alone, pack the merged programs of each hash eight to
# a file (a program is a byte naming the hash, then operations, so bodies
# concatenate), keep the packs that add coverage, then the single programs
# that still add some. The contextvars corpus is merged on edges alone.
update_seeds() {
  local fuzzer=$1 work=$2 seeds=proptest/corpus/$1
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/${fuzzer}_merge.XXXXXX")
  mkdir "$tmp/edges" "$tmp/packed" "$tmp/seeds"
  merge() { "$out/$fuzzer" -merge=1 -use_counters=0 "$@" \
    >>"$out/$fuzzer.log" 2>&1; }
  if [ "$fuzzer" = hamt_fuzzer ]; then
    merge "$tmp/edges" "$work"
    python3 - "$tmp/edges" "$tmp/packed" <<'PACK'
import os, sys
source, packed = sys.argv[1:]
bodies = {}
for name in sorted(os.listdir(source)):
    with open(os.path.join(source, name), "rb") as f:
        program = f.read()
    if program:
        bodies.setdefault(program[0] % 4, []).append(program[1:])
for hash_choice, group in bodies.items():
    for i in range(0, len(group), 8):
        with open(os.path.join(packed, "%d_%03d" % (hash_choice, i)), "wb") as f:
            f.write(bytes([hash_choice]) + b"".join(group[i:i + 8]))
PACK
    merge "$tmp/seeds" "$tmp/packed"
    merge "$tmp/seeds" "$tmp/edges"
  else
    merge "$tmp/seeds" "$work"
  fi
  rm -rf "$seeds"
  mkdir -p "$seeds"
  cp "$tmp/seeds"/* "$seeds"/
  rm -rf "$tmp"
  echo "==> $seeds now holds $(ls "$seeds" | wc -l) inputs"
}

fuzz() {
  local fuzzer=$1 seeds=proptest/corpus/$1 work status=0
  work=$(mktemp -d "${TMPDIR:-/tmp}/${fuzzer}_corpus.XXXXXX")
  cp "$seeds"/* "$work"/ 2>/dev/null || true
  echo "==> fuzzing $fuzzer for ${share}s from $(ls "$work" | wc -l) seeds" \
    "(log: $out/$fuzzer.log)"
  "$out/$fuzzer" "$work" -max_total_time="$share" -max_len=512 \
    -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/$fuzzer-" >"$out/$fuzzer.log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' \
    "$out/$fuzzer.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$out/$fuzzer.log"
    echo "==> $fuzzer failed (status $status); inputs:" \
      "$(ls "$out/$fuzzer"-crash-* "$out/$fuzzer"-timeout-* \
        "$out/$fuzzer"-oom-* 2>/dev/null | tr '\n' ' ')"
    rm -rf "$work"
    return 1
  fi
  echo "==> $fuzzer: no crash; corpus grew to $(ls "$work" | wc -l) inputs"
  [ "$update_corpus" -eq 0 ] || update_seeds "$fuzzer" "$work"
  rm -rf "$work"
}

# The fuzzers build and run side by side (each compile and each libFuzzer
# process keeps one core busy); each one's output is printed when it is done.
failed=0
pids=()
for fuzzer in "${fuzzers[@]}"; do
  { build "$fuzzer" && fuzz "$fuzzer"; } >"$out/$fuzzer.out" 2>&1 &
  pids+=($!)
done
for i in "${!fuzzers[@]}"; do
  wait "${pids[$i]}" || failed=1
  cat "$out/${fuzzers[$i]}.out"
done
exit "$failed"
