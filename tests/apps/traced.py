"""The FastAPI test app wrapped in :class:`~asgi_scope.TraceMiddleware`, for tests
that serve it with uvicorn or hypercorn. The sink is read from the environment
(``ASGI_SCOPE_SINK``), as a user would configure it per deployment."""

from __future__ import annotations

import os

from asgi_scope import TraceMiddleware
from tests.apps.fastapi_app import app as fastapi_app

app = TraceMiddleware(fastapi_app, sink=os.environ.get("ASGI_SCOPE_SINK", "unix:/tmp/asgi-scope.sock"))
