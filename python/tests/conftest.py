import os
import sys

# The tests import the installed package; refuse the source tree's
# persist/ (which has no built extension) if pytest put it on sys.path.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path
               if os.path.abspath(p) != os.path.dirname(_here)]
