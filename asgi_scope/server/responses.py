"""Responses the server writes on its own: error answers and the 503 app."""

from __future__ import annotations

import http
from typing import Any

import h11

from asgi_scope.server.h11_private import answering_head
from asgi_scope.server.scope import Headers

REASONS = {status.value: status.phrase.encode() for status in http.HTTPStatus}
"""Reason phrases by status code (RFC 9110 §15), as the bytes h11 sends."""

_TEXT_PLAIN = (b"content-type", b"text/plain; charset=utf-8")


def error_response(
    h: h11.Connection, status: int, body: bytes, headers: Headers, defaults: Headers
) -> bytes:
    """The bytes of a whole short response of the server's own, serialized by
    ``h`` (which must be able to send a response): an error answer (400, 408,
    414, 431, 500, 503) or a refused WebSocket handshake (400, 403, 426).

    ``body`` is plain text (sent with ``Content-Type: text/plain``, none when
    empty), framed by ``Content-Length`` and followed by ``Connection: close``
    (RFC 9112 §9.6: the server closes after it); ``headers`` come first, then
    the server's ``defaults`` (``server``, ``date``). The answer to a HEAD
    request has no body (RFC 9110 §9.3.2). Raises ``h11.LocalProtocolError`` if
    ``h`` is not in a state to send a response.
    """
    fields = [
        *headers,
        *((_TEXT_PLAIN,) if body else ()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *defaults,
    ]
    data = h.send(h11.Response(status_code=status, headers=fields, reason=REASONS.get(status, b"")))
    if body and not answering_head(h):
        data += h.send(h11.Data(data=body))
    return data + h.send(h11.EndOfMessage())


async def service_unavailable(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The answer past ``--limit-concurrency``: 503 and close (as uvicorn's)."""
    body = b"Service Unavailable"
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
