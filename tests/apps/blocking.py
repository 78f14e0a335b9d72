"""An app that blocks its event loop: ``/block`` calls ``time.sleep(60)``
inside its async handler (a common bug: sync I/O in async code); any other path
answers ``200 ok``."""

from __future__ import annotations

import time
from typing import Any

BLOCK_SECONDS = 60.0


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/block":
        time.sleep(BLOCK_SECONDS)  # the server's loop stops here
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
