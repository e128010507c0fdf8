# Sourced by tools/test_python.sh and tools/bench_report.sh:
#   python_venv DIR   makes DIR (a venv from Debian's /usr/bin/python3 with
#                     the system site packages: greenlet, gevent, pytest) if
#                     needed and installs ./python into it, offline.
python_venv() {
  local venv=$1
  [ -x "$venv/bin/python" ] ||
    /usr/bin/python3 -m venv --system-site-packages "$venv" || return 1
  "$venv/bin/pip" install --quiet --no-build-isolation --no-index ./python
}
