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
  buffered whole; the request body is sent before the response is read;
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
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11

from asgi_scope.trace.events import ProxyTimings, UpstreamBytes
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.shim import Shim

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)
"""Fields never forwarded (RFC 9110 §7.6.1, and the proxy-* pair, which are for
a forward proxy's own authentication)."""

VIA = b"1.1 asgi-scope"
"""Our ``Via`` entry (RFC 9110 §7.6.3: protocol version and a pseudonym)."""

READ = 65536
"""Bytes read from the upstream at a time."""

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class UpstreamError(ValueError):
    """The upstream URL cannot be used; ``str()`` is one line for the user."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where every request goes: ``http://host:port``, an optional base path."""

    host: str
    port: int
    base: str = ""

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def authority(self) -> bytes:
        return self.origin.removeprefix("http://").encode("ascii")


def parse_upstream(url: str) -> Upstream:
    """``http://host[:port][/base]`` as an :class:`Upstream`. Raises
    :class:`UpstreamError` for another scheme (https is not spoken), no host, a
    query or fragment."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UpstreamError(f"{url!r} is not a URL: {exc}") from None
    if parts.scheme != "http":
        raise UpstreamError(f"{url!r}: the upstream must be an http:// URL (HTTP/1.1, no TLS)")
    if not parts.hostname:
        raise UpstreamError(f"{url!r}: no host")
    if parts.query or parts.fragment:
        raise UpstreamError(f"{url!r}: an upstream URL has no query or fragment")
    return Upstream(parts.hostname, port or 80, parts.path.rstrip("/"))


class _Wire:
    """One upstream connection: writes and reads that record
    :class:`UpstreamBytes` and time the upstream's share."""

    def __init__(self, recorder: Recorder | None, conn: int, exchange: int) -> None:
        self.recorder = recorder
        self.conn = conn
        self.exchange = exchange
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.offsets = {"in": 0, "out": 0}
        self.budget = {"in": recorder.max_body, "out": recorder.max_body} if recorder else {}
        self.first_out = 0
        self.last_in = 0

    def _record(self, direction: str, data: bytes) -> None:
        recorder = self.recorder
        if recorder is None or not data:
            return
        keep = data[: max(self.budget[direction], 0)]
        self.budget[direction] -= len(keep)
        recorder.record(
            UpstreamBytes,
            self.conn,
            self.exchange,
            direction,
            self.offsets[direction],
            bytes(keep),
            len(data),
        )
        self.offsets[direction] += len(data)

    def timings(
        self, upstream: str, status: int, connect_ns: int, client_ns: int, started: int, error: str
    ) -> None:
        """Record the exchange's :class:`ProxyTimings` once it is over: the upstream's
        share is this wire's, ``started`` the ``monotonic_ns`` it began at."""
        if self.recorder is not None:
            self.recorder.record(
                ProxyTimings,
                self.conn,
                self.exchange,
                upstream,
                status,
                connect_ns,
                self.upstream_ns,
                client_ns,
                time.monotonic_ns() - started,
                error,
            )

    async def connect(self, upstream: Upstream, timeout: float) -> None:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(upstream.host, upstream.port), timeout
        )

    async def write(self, data: bytes | None) -> None:
        if not data:
            return
        assert self.writer is not None
        if not self.first_out:
            self.first_out = time.monotonic_ns()
        self._record("out", data)
        self.writer.write(data)
        await self.writer.drain()

    async def read(self) -> bytes:
        assert self.reader is not None
        data = await self.reader.read(READ)
        self.last_in = time.monotonic_ns()
        self._record("in", data)
        return data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    @property
    def upstream_ns(self) -> int:
        return max(self.last_in - self.first_out, 0) if self.first_out else 0


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
            from asgi_scope.proxy_ws import relay_websocket

            await relay_websocket(self, scope, receive, send)

    def _ids(self, receive: Any) -> tuple[Recorder | None, int, int]:
        shim = getattr(receive, "__self__", None)
        if isinstance(shim, Shim) and self.recorder is not None:
            return self.recorder, shim.conn, shim.exchange
        return None, 0, 0

    def request_headers(self, scope: dict[str, Any], framing: bytes | None) -> list:
        """The headers to send upstream (see the module doc); ``framing`` is the
        ``Content-Length`` value to keep, ``b"chunked"``, or None for no body."""
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        named = _connection_tokens(headers)
        forwarded_for = [v for n, v in headers if n.lower() == b"x-forwarded-for"]
        host = next((v for n, v in headers if n.lower() == b"host"), b"")
        via = [v for n, v in headers if n.lower() == b"via"]
        out = [(b"host", self.upstream.authority)]
        for name, value in headers:
            lower = name.lower()
            if lower in HOP_BY_HOP or lower in named or lower in _REWRITTEN:
                continue
            out.append((name, value))
        if framing == b"chunked":
            out.append((b"transfer-encoding", b"chunked"))
        elif framing is not None:
            out.append((b"content-length", framing))
        out.append((b"via", b", ".join([*via, VIA])))
        client = scope.get("client")
        if client:
            address = str(client[0]).encode("ascii", "replace")
            out.append((b"x-forwarded-for", b", ".join([*forwarded_for, address])))
        elif forwarded_for:
            out.append((b"x-forwarded-for", b", ".join(forwarded_for)))
        out.append((b"x-forwarded-proto", str(scope.get("scheme", "http")).encode()))
        if host:
            out.append((b"x-forwarded-host", host))
        out.append((b"connection", b"close"))
        return out

    def target(self, scope: dict[str, Any]) -> bytes:
        """The request target sent upstream: the base path, then the raw path and query."""
        path = scope.get("raw_path") or scope["path"].encode("utf-8")
        target = self.upstream.base.encode() + path
        query = scope.get("query_string") or b""
        return target + b"?" + query if query else target

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        started = time.monotonic_ns()
        wire = _Wire(*self._ids(receive))
        client = _Clock()
        status, error, connect_ns = 0, "", 0
        try:
            if scope["method"] == "CONNECT":
                await _answer(send, 405, "asgi-scope proxy is a reverse proxy: no CONNECT\n")
                return
            t0 = time.monotonic_ns()
            try:
                await wire.connect(self.upstream, self.timeout)
            except (OSError, asyncio.TimeoutError) as exc:
                error = _why(exc, "cannot connect")
                await _answer(send, *self._failure(error))
                return
            finally:
                connect_ns = time.monotonic_ns() - t0
            try:
                status = await self._forward(scope, receive, send, wire, client)
            except _ClientGone:
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
        self, scope: dict[str, Any], receive: Receive, send: Send, wire: _Wire, client: _Clock
    ) -> int:
        h = h11.Connection(h11.CLIENT)
        framing = _request_framing(scope)
        request = h11.Request(
            method=scope["method"],
            target=self.target(scope),
            headers=self.request_headers(scope, framing),
        )
        started = False
        status = 0
        try:
            await wire.write(h.send(request))
            if framing is not None:
                while True:
                    message = await client.wait(receive())
                    if message["type"] == "http.disconnect":
                        raise _ClientGone
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
                    headers = _response_headers(event.headers)
                    started = True
                    start = {"type": "http.response.start", "status": status, "headers": headers}
                    await client.send(send, start)
                elif isinstance(event, h11.Data):
                    body = {"type": "http.response.body", "body": event.data, "more_body": True}
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
            raise _UpstreamFailed(_why(exc, "connection failed"), started, status) from None


_REWRITTEN = frozenset(
    {
        b"host",
        b"content-length",
        b"via",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
    }
)


class UpstreamFailed(Exception):
    """Raised out of the proxy app when the upstream failed after the response
    head was forwarded: the server then closes the client's connection (there is
    no way left to say so in HTTP/1.1), and the inspector shows this message."""


class _ClientGone(Exception):
    """The client disconnected while its request body was being forwarded."""


class _UpstreamFailed(Exception):
    def __init__(self, why: str, started: bool, status: int = 0, timeout: bool = False):
        super().__init__(why)
        self.why = why
        self.started = started
        self.status = status
        self.timeout = timeout


class _Clock:
    """Adds up the time spent awaiting the client (``receive`` and ``send``)."""

    __slots__ = ("waited",)

    def __init__(self) -> None:
        self.waited = 0

    async def wait(self, awaitable: Awaitable[Any]) -> Any:
        start = time.monotonic_ns()
        try:
            return await awaitable
        finally:
            self.waited += time.monotonic_ns() - start

    async def send(self, send: Send, message: dict[str, Any]) -> None:
        """``send(message)`` to the client, timed; the server's ``OSError`` for a
        client that went away becomes :class:`_ClientGone` (not the upstream's fault)."""
        try:
            await self.wait(send(message))
        except OSError:
            raise _ClientGone from None


def _why(exc: BaseException, default: str) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out connecting"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()  # asyncio's own strerror names no cause
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or default


def _connection_tokens(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    """Field names listed in ``Connection`` (hop-by-hop too, RFC 9110 §7.6.1)."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return tokens


def _request_framing(scope: dict[str, Any]) -> bytes | None:
    """``Content-Length`` to keep, ``b"chunked"`` or None (no body), from the
    client's framing fields (RFC 9112 §6.3)."""
    length = None
    chunked = False
    for name, value in scope.get("headers", []):
        lower = name.lower()
        if lower == b"content-length":
            length = value.strip()
        elif lower == b"transfer-encoding":
            chunked = True
    if chunked:
        return b"chunked"
    return length


def _response_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    """The upstream's response fields, hop-by-hop ones dropped, our Via added.
    ``Content-Length`` is kept: the body is forwarded byte for byte."""
    pairs = [(bytes(n), bytes(v)) for n, v in headers]
    named = _connection_tokens(pairs)
    out = [(n, v) for n, v in pairs if n not in HOP_BY_HOP and n not in named and n != b"via"]
    via = [v for n, v in pairs if n == b"via"]
    out.append((b"via", b", ".join([*via, VIA])))
    return out


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


def reachable(upstream: Upstream, timeout: float = 1.0) -> str:
    """``""`` if something accepts connections at ``upstream``, else why not (for
    a warning at start; the proxy runs either way and answers 502)."""
    import socket

    try:
        with socket.create_connection((upstream.host, upstream.port), timeout=timeout):
            return ""
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()


__all__ = ["ReverseProxy", "Upstream", "UpstreamError", "parse_upstream", "reachable"]
