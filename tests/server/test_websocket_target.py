"""The WebSocket scope's path from an absolute-form target (RFC 9112 §3.2.2), like
the HTTP scope's: over a real socket."""

from __future__ import annotations

import json

from asgi_scope.trace.events import ScopeCreated
from tests.live import Raw
from tests.server import ws_client as wsc


async def echo_scope(scope, receive, send):
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    path = {k: scope[k] for k in ("path", "raw_path", "query_string")}
    await send({"type": "websocket.send", "text": json.dumps(path, default=bytes.decode)})
    await send({"type": "websocket.close", "code": 1000})


def test_an_absolute_form_target_gives_the_same_path_as_http(serve):
    live = serve(echo_scope)
    raw = Raw(live.port)
    try:
        status, _ = wsc.open_socket(raw, "http://test/ws/a%20b?q=1")
        assert status == 101
        fin, opcode, payload = wsc.read_frame(raw)
        assert (fin, opcode) == (True, wsc.TEXT)
        assert json.loads(payload) == {
            "path": "/ws/a b",
            "raw_path": "/ws/a%20b",
            "query_string": "q=1",
        }
    finally:
        raw.close()
    scope = live.wait_for(ScopeCreated).scope
    assert scope["path"] == "/ws/a b"
