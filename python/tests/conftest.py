import glob
import os
import sys

# The tests import an installed or built package. The source tree's python/
# directory holds persist/ without the extension (pip builds elsewhere):
# drop it from sys.path unless the extension was built there (Bazel).
_python_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if not glob.glob(os.path.join(_python_dir, "persist", "_persist*.so")):
    sys.path[:] = [p for p in sys.path
                   if os.path.abspath(p or ".") != _python_dir]

# PERSIST_TEST_WITHOUT_GREENLET=1: run as if greenlet were not installed.
if os.environ.get("PERSIST_TEST_WITHOUT_GREENLET"):
    sys.modules["greenlet"] = None
    sys.modules["gevent"] = None
