"""Test apps wrapped in :class:`~asgi_scope.TraceMiddleware`, for tests that serve
them with uvicorn or hypercorn in a subprocess. The sink comes from the
environment (``ASGI_SCOPE_SINK``), as a user would configure it per deployment.

- ``app``: the FastAPI test app (:mod:`tests.apps.fastapi_app`), traced;
- ``plain``: the hand-written ``hello asgi3`` app (:mod:`tests.apps.plain`),
  traced, for measuring the middleware's own cost;
- ``untraced``: the same plain app without the middleware, the baseline;
- ``conformance``: the plain-ASGI conformance app (:mod:`tests.apps.conformance`),
  traced, to check what another server gives an app (its scope, ``receive()``);
- ``broken``: the app that breaks the spec on purpose (:mod:`tests.apps.broken`), traced.
"""

from __future__ import annotations

import os

from asgi_scope import TraceMiddleware
from tests.apps.broken import app as broken_app
from tests.apps.conformance import app as conformance_app
from tests.apps.fastapi_app import app as fastapi_app
from tests.apps.plain import app as untraced

SINK = os.environ.get("ASGI_SCOPE_SINK", "unix:/tmp/asgi-scope.sock")

app = TraceMiddleware(fastapi_app, sink=SINK, name="tests.apps.fastapi_app:app")
plain = TraceMiddleware(untraced, sink=SINK, name="tests.apps.plain:app")
conformance = TraceMiddleware(conformance_app, sink=SINK, name="tests.apps.conformance:app")
broken = TraceMiddleware(broken_app, sink=SINK, name="tests.apps.broken:app")

__all__ = ["app", "broken", "conformance", "plain", "untraced"]
