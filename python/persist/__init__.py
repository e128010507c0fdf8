"""persist: persistent data structures for Python, on the persist C++
library.

    persist.contextvars  PEP 567 context variables, greenlet-local
    persist.Map          an immutable mapping (a HAMT), API of immutables.Map
"""

from persist import _persist  # noqa: F401  (the C++ extension)
from persist._persist import Map, MapMutation  # noqa: E402,F401
