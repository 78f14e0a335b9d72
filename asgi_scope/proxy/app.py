"""``asgi-scope proxy``: a reverse proxy to one HTTP/1.1 server, traced both ways.

:class:`ReverseProxy` is an ASGI app that asgi-scope's own server runs, so the
client's side (its bytes, the scope, the ASGI messages an app would have seen)
is traced as for any app. For the upstream side it speaks HTTP/1.1 itself, with
h11 over a plain asyncio stream, so the bytes it writes to and reads from the
upstream are recorded too (:class:`~asgi_scope.trace.events.UpstreamBytes`),
with a :class:`~asgi_scope.trace.events.ProxyTimings` per exchange.

It is a *reverse* proxy (RFC 9110 §3.7, "gateway"): every request goes to the
one configured upstream, whatever host the client names; an absolute-form
target is reduced to its path by the server, and ``CONNECT`` is answered 405.
Never an open proxy.

Per request (RFC 9110 §7.6):

* a new upstream connection (no pooling: one exchange, one upstream stream,
  which keeps the Hex view of each exchange whole), closed after the response;
* hop-by-hop fields are not forwarded: ``Connection`` and every field it
  names, ``Keep-Alive``, ``Proxy-Connection``, ``TE``, ``Trailer``,
  ``Transfer-Encoding``, ``Upgrade`` (§7.6.1); the body is re-framed by h11
  (the client's ``Content-Length``, else chunked);
* ``Via: 1.1 asgi-scope`` is appended in both directions (§7.6.3);
  ``X-Forwarded-For`` gets the client's address appended, ``X-Forwarded-Proto``
  and ``X-Forwarded-Host`` are set (the de-facto fields; RFC 7239 ``Forwarded``
  is their standard form), and ``Host`` becomes the upstream's authority;
* bodies stream both ways, one ASGI message or socket read at a time, never
  buffered whole; the request body is sent before the response is read; an
  upstream response with Transfer-Encoding and Content-Length both loses its
  Content-Length (RFC 9112 §6.3), and the spec checker's
  ``http.transfer-encoding-length`` is recorded against the upstream;
* an upstream that cannot be reached, or that breaks HTTP before its response
  head, gets the client a ``502 Bad Gateway`` (§15.6.3) whose body says why;
  one that takes longer than ``timeout`` seconds, a ``504 Gateway Timeout``
  (§15.6.5). After the head was forwarded, a failure can only close the
  client's connection (the server does that when the app raises).

WebSocket (RFC 6455): the proxy opens the upstream handshake first (wsproto),
accepts the client with the subprotocol the upstream chose (or refuses it with
403 if the upstream refused), then relays messages both ways until either side
closes, passing the close code on.

The ids of the exchange come from the :class:`~asgi_scope.trace.shim.Shim` the
server hands the app as ``receive`` (``receive.__self__``); served by anything
else the proxy still works, and records nothing of the upstream.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import h11

from asgi_scope.proxy.fields import (
    VIA,
    request_framing,
    request_headers,
    response_headers,
    target,
)
from asgi_scope.proxy.upstream import (
    ClientGone,
    Clock,
    Receive,
    Send,
    Upstream,
    Wire,
    why,
)
from asgi_scope.proxy.websocket import relay_websocket
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.shim import Shim


class ReverseProxy:
    """The ASGI app of ``asgi-scope proxy``: forwards everything to ``upstream``.

    ``recorder`` is the session's (the one the server records into), for the
    upstream events; ``timeout`` seconds bound the connect and each read from
    the upstream (504 after).
    """

    def __init__(self, upstream: Upstream, recorder: Recorder | None, timeout: float = 60.0):
        self.upstream = upstream
        self.recorder = recorder
        self.timeout = timeout

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await relay_websocket(
                self.upstream, self.timeout, self._wire(receive), scope, receive, send
            )

    def _wire(self, receive: Any) -> Wire:
        """A wire to the upstream recording into the exchange ``receive`` belongs to."""
        shim = getattr(receive, "__self__", None)
        if isinstance(shim, Shim) and self.recorder is not None:
            return Wire(self.recorder, shim.conn, shim.exchange)
        return Wire(None, 0, 0)

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        started = time.monotonic_ns()
        wire = self._wire(receive)
        client = Clock()
        status, error, connect_ns = 0, "", 0
        try:
            if scope["method"] == "CONNECT":
                await _answer(send, 405, "asgi-scope proxy is a reverse proxy: no CONNECT\n")
                return
            t0 = time.monotonic_ns()
            try:
                await wire.connect(self.upstream, self.timeout)
            except (OSError, asyncio.TimeoutError) as exc:
                error = why(exc, "cannot connect")
                await _answer(send, *self._failure(error))
                return
            finally:
                connect_ns = time.monotonic_ns() - t0
            try:
                status = await self._forward(scope, receive, send, wire, client)
            except ClientGone:
                return  # the server records the disconnect; the upstream is not at fault
            except _UpstreamFailed as exc:
                error, status = exc.why, exc.status
                if not exc.started:
                    await _answer(send, *self._failure(error, timeout=exc.timeout))
                    return
                # The head went out: all that is left is to break the client's
                # connection, which the server does when the app raises.
                raise UpstreamFailed(
                    f"upstream {self.upstream.origin} {error} after its response began"
                ) from None
        finally:
            wire.close()
            wire.timings(self.upstream.origin, status, connect_ns, client.waited, started, error)

    def _failure(self, why: str, timeout: bool = False) -> tuple[int, str]:
        code = 504 if timeout else 502
        reason = "Gateway Timeout" if timeout else "Bad Gateway"
        return code, f"{code} {reason}: asgi-scope proxy: upstream {self.upstream.origin}: {why}\n"

    async def _forward(
        self, scope: dict[str, Any], receive: Receive, send: Send, wire: Wire, client: Clock
    ) -> int:
        h = h11.Connection(h11.CLIENT)
        framing = request_framing(scope)
        request = h11.Request(
            method=scope["method"],
            target=target(self.upstream, scope),
            headers=request_headers(self.upstream, scope, framing),
        )
        started = False
        status = 0
        try:
            await wire.write(h.send(request))
            if framing is not None:
                while True:
                    message = await client.wait(receive())
                    if message["type"] == "http.disconnect":
                        raise ClientGone
                    body = message.get("body", b"")
                    if body:
                        await wire.write(h.send(h11.Data(data=body)))
                    if not message.get("more_body", False):
                        break
            await wire.write(h.send(h11.EndOfMessage()))
            while True:
                event = h.next_event()
                if event is h11.NEED_DATA:
                    data = await asyncio.wait_for(wire.read(), self.timeout)
                    h.receive_data(data)
                    continue
                if isinstance(event, h11.InformationalResponse):
                    continue  # 100 Continue and friends: the server makes its own
                if isinstance(event, h11.Response):
                    status = event.status_code
                    headers = response_headers(event.headers)
                    if _framed_twice(event.headers):
                        headers = [(n, v) for n, v in headers if n != b"content-length"]
                        wire.violation("http.transfer-encoding-length", "the upstream sent "
                                       "Transfer-Encoding and Content-Length both (its "
                                       "Content-Length dropped: RFC 9112 §6.3)")  # fmt: skip
                    started = True
                    start = {"type": "http.response.start", "status": status, "headers": headers}
                    await client.send(send, start)
                elif isinstance(event, h11.Data):
                    data = bytes(event.data)  # h11 reads into a bytearray: asgi.bytes-exact
                    body = {"type": "http.response.body", "body": data, "more_body": True}
                    await client.send(send, body)
                elif isinstance(event, h11.EndOfMessage):
                    await client.send(send, {"type": "http.response.body", "body": b""})
                    return status
                elif isinstance(event, h11.ConnectionClosed):
                    what = "the response ended" if started else "a response"
                    why = f"closed the connection before {what}"
                    raise _UpstreamFailed(why, started, status)
        except h11.ProtocolError as exc:
            raise _UpstreamFailed(f"broke HTTP/1.1: {exc}", started, status) from None
        except asyncio.TimeoutError:
            raise _UpstreamFailed(
                f"no answer within {self.timeout:g} s", started, timeout=True
            ) from None
        except OSError as exc:
            raise _UpstreamFailed(why(exc, "connection failed"), started, status) from None


def _framed_twice(headers: Any) -> bool:
    """True when a response head has Transfer-Encoding and Content-Length both:
    RFC 9112 §6.1 forbids it, and §6.3 has an intermediary drop the Content-Length
    (the chunked body h11 reads need not be that long)."""
    names = {bytes(n) for n, _ in headers}
    return b"transfer-encoding" in names and b"content-length" in names


class UpstreamFailed(Exception):
    """Raised out of the proxy app when the upstream failed after the response
    head was forwarded: the server then closes the client's connection (there is
    no way left to say so in HTTP/1.1), and the inspector shows this message."""


class _UpstreamFailed(Exception):
    def __init__(self, why: str, started: bool, status: int = 0, timeout: bool = False):
        super().__init__(why)
        self.why = why
        self.started = started
        self.status = status
        self.timeout = timeout


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"via", VIA),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


__all__ = ["ReverseProxy", "UpstreamFailed"]
