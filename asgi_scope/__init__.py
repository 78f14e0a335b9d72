"""asgi-scope: see ASGI.

Runs an ASGI application inside an embedded HTTP/1.1 server (h11) and records
every scope, every message crossing ``receive()`` and ``send()``, and every raw
byte on the socket, for a live terminal UI or a headless line-per-event trace.

``from asgi_scope import TraceMiddleware`` wraps an app served by any server and
streams its trace to ``asgi-scope attach``
(:class:`asgi_scope.remote.middleware.TraceMiddleware`). It is imported on first
use, so ``import asgi_scope`` stays cheap and the package root depends on no
room (every room may read ``__version__``).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = ["TraceMiddleware", "__version__"]


def __getattr__(name: str) -> Any:
    """``TraceMiddleware``, imported on first access (PEP 562)."""
    if name == "TraceMiddleware":
        return importlib.import_module("asgi_scope.remote.middleware").TraceMiddleware
    raise AttributeError(f"module 'asgi_scope' has no attribute {name!r}")
