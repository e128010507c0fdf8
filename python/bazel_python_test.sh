#!/usr/bin/env bash
# Bazel's //python:python_test: runs python/tests with Debian's python3 and
# pytest against the module Bazel built (python/persist/_persist.so in the
# runfiles, next to the package's .py files).
# --config=asan: python3 is not instrumented, so the sanitizer runtimes are
# preloaded and Python allocates with malloc (PYTHONMALLOC=malloc), so ASan
# sees every object. greenlet copies stacks with memcpy, which ASan reports
# as stack-buffer-underflow in greenlet itself: that run hides greenlet
# (the module is then thread-local), and skips the RSS bound (ASan's
# quarantine holds freed memory). Leak detection is off: CPython does not
# free everything at exit. --config=tsan: only the build is checked.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
package=$here
[ -f "$package/persist/_persist.so" ] || package=$PWD/python
module=$package/persist/_persist.so
cd "$package/tests"
export PYTHONPATH=$package
# Read ldd once: `ldd | grep -q` under pipefail fails at random when grep
# exits before ldd has written everything (SIGPIPE).
libraries=$(ldd "$module")
if grep -q libtsan <<<"$libraries"; then
  echo "built with TSan: python3 cannot run it; only the build is checked"
  exit 0
fi
if grep -q libasan <<<"$libraries"; then
  preload="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
  LD_PRELOAD=$preload ASAN_OPTIONS=detect_leaks=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 PYTHONMALLOC=malloc \
    PERSIST_TEST_WITHOUT_GREENLET=1 PERSIST_TEST_SANITIZER=1 \
    exec /usr/bin/python3 -m pytest -q -p no:cacheprovider .
fi
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider .
