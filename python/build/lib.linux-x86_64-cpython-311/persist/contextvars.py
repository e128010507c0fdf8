"""PEP 567 context variables on the persist C++ library, greenlet-local.

The API of the standard library's `contextvars` (ContextVar, Token, Context,
copy_context), with its errors and reprs. Each OS thread and, when greenlet
is installed, each greenlet has its own current context; a new greenlet
starts with an empty one (as with gevent.contextvars). GREENLET_LOCAL says
whether greenlet was found.
"""

import collections.abc as _abc

from persist._persist import (
    GREENLET_LOCAL,
    Context,
    ContextVar,
    Token,
    copy_context,
)

__all__ = ("Context", "ContextVar", "Token", "copy_context")

_abc.Mapping.register(Context)
