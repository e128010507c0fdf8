#!/usr/bin/env bash
# Builds the `persist` Python package into a venv made from Debian's
# /usr/bin/python3 and runs its tests with pytest (python/tests: CPython's
# own test_context.ContextTest against persist.contextvars, greenlets,
# threads, reference counts):
#   tools/test_python.sh
# Three runs: plain; `python3 -X dev` with PYTHONMALLOC=debug; and without
# greenlet (the module is then thread-local). Settings, from the environment:
#   BUILD_DIR=build-python    where the venv goes
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/require_packages.sh
. tools/python_venv.sh
require_packages g++ libabsl-dev python3-dev python3-venv python3-setuptools \
  python3-pytest python3-greenlet python3-gevent libpython3.11-testsuite

build_dir=${BUILD_DIR:-build-python}
venv=$build_dir/venv
echo "==> pip install --no-build-isolation ./python into $venv"
python_venv "$venv"
# From inside the tests directory, so `import persist` finds the installed
# package, never the source tree's.
cd python/tests
python=../../$venv/bin/python
echo "==> pytest"
"$python" -m pytest -q -p no:cacheprovider .
echo "==> pytest under python3 -X dev, PYTHONMALLOC=debug"
PYTHONMALLOC=debug "$python" -X dev -m pytest -q -p no:cacheprovider .
echo "==> pytest without greenlet (thread-local)"
PERSIST_TEST_WITHOUT_GREENLET=1 "$python" -m pytest -q -p no:cacheprovider .
