"""persist: persistent data structures for Python, on the persist C++
library.

    persist.contextvars  PEP 567 context variables, greenlet-local
"""

from persist import _persist  # noqa: F401  (the C++ extension)
