import os
import sys

# The tests import the installed package; drop the source tree's python/
# directory (whose persist/ has no built extension) if it is on sys.path.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path
               if os.path.abspath(p or ".") != os.path.dirname(_here)]

# PERSIST_TEST_WITHOUT_GREENLET=1: run as if greenlet were not installed.
if os.environ.get("PERSIST_TEST_WITHOUT_GREENLET"):
    sys.modules["greenlet"] = None
    sys.modules["gevent"] = None
