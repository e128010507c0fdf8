#!/usr/bin/env bash
# Builds proptest/hamt_fuzzer.cc with libFuzzer, ASan and UBSan (clang, no
# Bazel) and fuzzes hamt::Map for a bounded time on a copy of the seed corpus:
#   tools/fuzz.sh [seconds]                  # default 60
#   tools/fuzz.sh --update-corpus [seconds]  # then merge the finds into
#                                            # proptest/corpus/hamt_fuzzer
# Exits non-zero when the fuzzer finds a crash; the input that crashed is left
# in build-fuzz/ (crash-*), replay it with build-fuzz/hamt_fuzzer FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/require_packages.sh
require_packages clang libclang-rt-14-dev libabsl-dev python3

update_corpus=0
if [ "${1:-}" = --update-corpus ]; then
  update_corpus=1
  shift
fi
seconds=${1:-60}
out=${FUZZ_BUILD_DIR:-build-fuzz}
seeds=proptest/corpus/hamt_fuzzer
cxx=${FUZZ_CXX:-clang++}
mkdir -p "$out"

echo "==> building $out/hamt_fuzzer with $cxx"
"$cxx" -std=c++17 -O1 -g -I. -Wall -Wextra -Werror \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -fno-omit-frame-pointer proptest/hamt_fuzzer.cc \
  -labsl_hash -labsl_city -labsl_low_level_hash -o "$out/hamt_fuzzer"

work=$(mktemp -d "${TMPDIR:-/tmp}/hamt_fuzzer_corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$seeds"/* "$work"/ 2>/dev/null || true
echo "==> fuzzing for ${seconds}s from $(ls "$work" | wc -l) seeds" \
  "(log: $out/hamt_fuzzer.log)"
status=0
"$out/hamt_fuzzer" "$work" -max_total_time="$seconds" -max_len=512 \
  -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$out/" >"$out/hamt_fuzzer.log" 2>&1 || status=$?
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' \
  "$out/hamt_fuzzer.log" || true
if [ "$status" -ne 0 ]; then
  tail -n 40 "$out/hamt_fuzzer.log"
  echo "==> the fuzzer failed (status $status); inputs: $(ls "$out"/crash-* \
    "$out"/timeout-* "$out"/oom-* 2>/dev/null | tr '\n' ' ')"
  exit 1
fi
echo "==> no crash; corpus grew to $(ls "$work" | wc -l) inputs"

if [ "$update_corpus" -eq 1 ]; then
  # Keep the seed corpus small (tens of files) with the coverage of all the
  # finds: merge on edges alone, pack the merged programs of each hash eight
  # to a file (a program is a byte naming the hash, then operations, so
  # bodies concatenate), keep the packs that add coverage, then the single
  # programs that still add some.
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/hamt_fuzzer_merge.XXXXXX")
  mkdir "$tmp/edges" "$tmp/packed" "$tmp/seeds"
  merge() { "$out/hamt_fuzzer" -merge=1 -use_counters=0 "$@" \
    >>"$out/hamt_fuzzer.log" 2>&1; }
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
  rm -rf "$seeds"
  mkdir -p "$seeds"
  cp "$tmp/seeds"/* "$seeds"/
  rm -rf "$tmp"
  echo "==> $seeds now holds $(ls "$seeds" | wc -l) inputs"
fi
