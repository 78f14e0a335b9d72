"""asgi-scope: see ASGI.

Runs an ASGI application inside an embedded HTTP/1.1 server (h11) and records
every scope, every message crossing ``receive()`` and ``send()``, and every raw
byte on the socket, for a live terminal UI or a headless line-per-event trace.

``from asgi_scope import TraceMiddleware`` wraps an app served by any server and
streams its trace to ``asgi-scope attach`` (:mod:`asgi_scope.middleware`). It is
imported on first use, so ``import asgi_scope`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asgi_scope.middleware import TraceMiddleware

__version__ = "0.1.0"

__all__ = ["TraceMiddleware", "__version__"]


def __getattr__(name: str) -> Any:
    """``TraceMiddleware``, imported on first access (PEP 562)."""
    if name == "TraceMiddleware":
        from asgi_scope.middleware import TraceMiddleware

        return TraceMiddleware
    raise AttributeError(f"module 'asgi_scope' has no attribute {name!r}")
