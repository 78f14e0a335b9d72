"""An app that breaks the ASGI spec on purpose, one route per mistake, for the spec
checker's CLI test, the screenshots and the README (``asgi-scope tests.apps.broken:app``).

- ``/`` answers correctly (``200 fine``);
- ``/str-body`` sends a str body (rule ``http.body-bytes``);
- ``/Upper`` sends a header name in capitals (``http.header-lowercase``);
- ``/short`` declares more Content-Length than it sends (``http.content-length``);
- ``/twice`` sends a body after the response completed (``http.after-complete``);
- ``/forget`` returns without finishing its response (``http.incomplete``);
- ``/leak`` echoes the request's Authorization in a header of three items
  (``http.headers-shape``): the finding quotes a secret, which a ``--report``
  must redact.

Lifespan is supported and correct, so only the routes are flagged.
"""

from __future__ import annotations

from typing import Any

TEXT = [(b"content-type", b"text/plain")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        await send({"type": "websocket.close"})
        return
    while (await receive()).get("more_body"):
        pass
    path = scope["path"]
    start = {"type": "http.response.start", "status": 200, "headers": TEXT}
    if path == "/str-body":
        await send(start)
        await send({"type": "http.response.body", "body": "a str, not bytes"})
    elif path == "/Upper":
        await send({**start, "headers": [(b"Content-Type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"capital letters\n"})
    elif path == "/short":
        await send({**start, "headers": [*TEXT, (b"content-length", b"100")]})
        await send({"type": "http.response.body", "body": b"only 17 bytes...\n"})
    elif path == "/twice":
        await send(start)
        await send({"type": "http.response.body", "body": b"done\n"})
        await send({"type": "http.response.body", "body": b"and more\n"})
    elif path == "/leak":
        secret = dict(scope["headers"]).get(b"authorization", b"")
        await send({**start, "headers": [(b"authorization", secret, b"x")]})
        await send({"type": "http.response.body", "body": b"leaked\n"})
    elif path == "/forget":
        await send(start)
        await send({"type": "http.response.body", "body": b"to be continued", "more_body": True})
    else:
        await send(start)
        await send({"type": "http.response.body", "body": b"fine\n"})
