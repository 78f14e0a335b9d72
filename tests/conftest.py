"""Shared fixtures.

``serve(app, **config)`` starts a real asgi-scope server for ``app`` on
127.0.0.1 and a free port, with a fresh recorder, and returns a
:class:`tests.live.Live` (``.url``, ``.port``, ``.recorder``, ``.collect()``,
``.wait_for()``, ``.connect()``). Config defaults for tests: lifespan off, a
short graceful-shutdown timeout; keyword arguments override any ``Config``
field. Every server started is stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from asgi_scope.config import Config
from tests.live import Live

TEST_CONFIG: dict[str, Any] = {
    "port": 0,
    "lifespan": "off",
    "timeout_keep_alive": 5.0,
    "timeout_graceful_shutdown": 2.0,
}


@pytest.fixture
def serve() -> Iterator[Callable[..., Live]]:
    started: list[Live] = []

    def start(app: Any, **config: Any) -> Live:
        live = Live(app, Config(**{**TEST_CONFIG, **config}))
        live.start()
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()
