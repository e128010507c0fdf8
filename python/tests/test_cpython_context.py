"""CPython's own Lib/test/test_context.py (Debian's libpython3.11-testsuite),
unmodified: its ContextTest run against persist.contextvars. The only change
is the test module's `contextvars` global, re-pointed before any test runs.
"""

from test import test_context as cpython_test_context

import persist.contextvars

cpython_test_context.contextvars = persist.contextvars

ContextTest = cpython_test_context.ContextTest  # collected by pytest


def test_runner_points_at_persist():
    assert cpython_test_context.contextvars is persist.contextvars
    assert cpython_test_context.contextvars.ContextVar.__module__ == (
        "persist.contextvars")
