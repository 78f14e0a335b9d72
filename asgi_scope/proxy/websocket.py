"""WebSocket forwarding for :mod:`asgi_scope.proxy.app` (RFC 6455, ASGI WebSocket 2.4).

The client's handshake has reached our server, which asks the proxy app with
``websocket.connect``. The proxy opens the upstream handshake first, as a
wsproto client on its own traced connection (its bytes are
:class:`~asgi_scope.trace.events.UpstreamBytes`), then answers the client the
way the upstream answered:

* the upstream accepted (101): ``websocket.accept`` with the subprotocol it
  chose, and messages are relayed both ways until either side closes; the
  close code and reason are passed on (§7.4); pings are answered on each side
  by its own end (our server for the client, wsproto here for the upstream);
* the upstream refused (any other status): the client gets the same status
  and body through the denial response extension
  (``websocket.http.response.start``), or a plain 403 if the server offers no
  such extension;
* the upstream is down or breaks the protocol: a 502 the same way, whose body
  says why; if it vanishes mid-session, the client is closed with 1011
  (1006 is never sent in a close frame, §7.4.1).

Forwarded handshake fields: everything the client sent except hop-by-hop
fields and the handshake's own (``Sec-WebSocket-Key``, ``-Version``,
``-Extensions``, ``-Protocol``, ``Upgrade``, ``Connection``, ``Host``), which
wsproto writes for the upstream connection; plus ``Via`` and the
``X-Forwarded-*`` fields as for HTTP. No extension (permessage-deflate) is
negotiated upstream, so every frame on both sides reads as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from asgi_scope.proxy.fields import request_headers, response_headers, target
from asgi_scope.proxy.upstream import ClientGone, Clock, Receive, Send, Upstream, Wire, why

HANDSHAKE = frozenset(
    {
        b"host",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"content-length",
    }
)
"""Handshake fields wsproto writes itself for the upstream connection."""


class _Refused(Exception):
    """The upstream did not accept: ``status`` and ``body`` for the client."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, why: str):
        super().__init__(why)
        self.status = status
        self.headers = headers
        self.body = body
        self.why = why


async def relay_websocket(
    upstream: Upstream,
    timeout: float,
    wire: Wire,
    scope: dict[str, Any],
    receive: Receive,
    send: Send,
) -> None:
    """Forward one WebSocket session to ``upstream`` over ``wire`` (see the module
    doc); ``timeout`` seconds bound the connect and the handshake's answer."""
    started = time.monotonic_ns()
    client = Clock()
    status, error, connect_ns = 0, "", 0
    first = await receive()
    if first.get("type") != "websocket.connect":
        return
    try:
        t0 = time.monotonic_ns()
        try:
            await wire.connect(upstream, timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise _Refused(502, [], b"", why(exc, "cannot connect")) from None
        finally:
            connect_ns = time.monotonic_ns() - t0
        ws = WSConnection(ConnectionType.CLIENT)
        accepted = await _handshake(upstream, timeout, scope, wire, ws)
        status = 101
        await client.send(send, {"type": "websocket.accept", "subprotocol": accepted.subprotocol})
        error = await _pump(receive, send, wire, ws, client)
    except ClientGone:
        pass  # the server records the disconnect; the upstream is not at fault
    except _Refused as refused:
        status = refused.status
        if refused.status == 502:
            error = refused.why
        await _deny(scope, send, refused, upstream.origin)
    finally:
        wire.close()
        wire.timings(upstream.origin, status, connect_ns, client.waited, started, error)


async def _handshake(
    upstream: Upstream, timeout: float, scope: dict[str, Any], wire: Wire, ws: WSConnection
) -> AcceptConnection:
    """Send the upstream handshake; return its acceptance or raise :class:`_Refused`."""
    headers = [
        (name, value)
        for name, value in request_headers(upstream, scope, None)
        if name.lower() not in HANDSHAKE and name.lower() != b"connection"
    ]
    request = Request(
        host=upstream.authority.decode("ascii"),
        target=target(upstream, scope).decode("latin-1"),
        subprotocols=list(scope.get("subprotocols") or []),
        extra_headers=headers,
    )
    try:
        await wire.write(ws.send(request))
        reject: RejectConnection | None = None
        body = b""
        while True:
            data = await asyncio.wait_for(wire.read(), timeout)
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, AcceptConnection):
                    return event
                if isinstance(event, RejectConnection):
                    reject = event
                    if not event.has_body:
                        raise _refusal(reject, b"")
                elif isinstance(event, RejectData):
                    body += event.data
                    if event.body_finished and reject is not None:
                        raise _refusal(reject, body)
            if not data:
                if reject is not None:
                    raise _refusal(reject, body)
                raise _Refused(502, [], b"", "closed the connection during the handshake")
    except asyncio.TimeoutError:
        raise _Refused(502, [], b"", f"no handshake answer within {timeout:g} s") from None
    except (RemoteProtocolError, LocalProtocolError) as exc:
        raise _Refused(502, [], b"", f"broke the WebSocket handshake: {exc}") from None
    except OSError as exc:
        raise _Refused(502, [], b"", str(exc) or "connection failed") from None


def _refusal(reject: RejectConnection, body: bytes) -> _Refused:
    headers = [(n, v) for n, v in response_headers(reject.headers) if n != b"content-length"]
    return _Refused(reject.status_code, headers, body, f"refused with {reject.status_code}")


async def _deny(scope: dict[str, Any], send: Send, refused: _Refused, origin: str) -> None:
    """Answer the client's handshake with the upstream's refusal (or our 502)."""
    body = refused.body
    headers = refused.headers
    if refused.status == 502:
        body = f"502 Bad Gateway: asgi-scope proxy: upstream {origin}: {refused.why}\n".encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1000})  # the server answers 403
        return
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "websocket.http.response.start", "status": refused.status, "headers": headers}
    )
    await send({"type": "websocket.http.response.body", "body": body})


async def _pump(receive: Receive, send: Send, wire: Wire, ws: WSConnection, client: Clock) -> str:
    """Relay messages both ways until one side closes; return why the upstream
    failed, or ``""`` for a clean close or a client that went away."""

    async def from_client() -> str:
        while True:
            message = await client.wait(receive())
            kind = message.get("type")
            if kind == "websocket.receive":
                text = message.get("text")
                data = message.get("bytes") if text is None else text
                event = TextMessage(data=text) if text is not None else BytesMessage(data=data)
                await wire.write(ws.send(event))
            elif kind == "websocket.disconnect":
                code = message.get("code", 1000)
                code = 1000 if code in (1005, 1006, 1015) else code  # never sent in a frame
                with contextlib.suppress(LocalProtocolError, OSError):
                    await wire.write(
                        ws.send(CloseConnection(code=code, reason=message.get("reason")))
                    )
                return ""

    async def from_upstream() -> str:
        parts: list[Any] = []
        while True:
            data = await wire.read()
            ws.receive_data(data or None)
            for event in ws.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    parts.append(event.data)
                    if event.message_finished:
                        whole = ("" if isinstance(event, TextMessage) else b"").join(parts)
                        parts = []
                        key = "text" if isinstance(event, TextMessage) else "bytes"
                        await client.send(send, {"type": "websocket.send", key: whole})
                elif isinstance(event, Ping):
                    await wire.write(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    with contextlib.suppress(LocalProtocolError, OSError):
                        await wire.write(ws.send(event.response()))
                    code = event.code if event.code not in (1005, 1006, 1015) else 1000
                    await client.send(
                        send,
                        {"type": "websocket.close", "code": code, "reason": event.reason or ""},
                    )
                    return ""
            if not data:
                await client.send(
                    send, {"type": "websocket.close", "code": 1011, "reason": "upstream went away"}
                )
                return "closed the connection without a close frame"

    tasks = [asyncio.ensure_future(from_client()), asyncio.ensure_future(from_upstream())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if any(isinstance(t.exception(), ClientGone) for t in done if not t.cancelled()):
        return ""  # the client went away: the server records that; the upstream is not at fault
    task = next(iter(done))
    try:
        return task.result()
    except (RemoteProtocolError, LocalProtocolError) as exc:
        with contextlib.suppress(Exception):
            await send(
                {"type": "websocket.close", "code": 1011, "reason": "upstream broke the protocol"}
            )
        return f"broke the WebSocket protocol: {exc}"
    except OSError as exc:
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": 1011, "reason": "upstream went away"})
        return str(exc) or "connection failed"
