"""WebSocket forwarding for :mod:`asgi_scope.proxy` (not written yet)."""

from __future__ import annotations

from typing import Any


async def relay_websocket(proxy: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Refuse the upgrade for now (403)."""
    await receive()
    await send({"type": "websocket.close", "code": 1000})
