"""The upstream side of ``asgi-scope proxy``: where it is, one traced connection
to it, the client's clock, and the errors of an exchange.

:class:`Wire` records every byte written to and read from the upstream as
:class:`~asgi_scope.trace.events.UpstreamBytes` (within the recorder's body
budget) and, once the exchange is over, its
:class:`~asgi_scope.trace.events.ProxyTimings`; :class:`Clock` adds up the time
spent waiting for the client, so the two shares can be told apart.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from asgi_scope.trace.events import ProxyTimings, SpecViolation, UpstreamBytes
from asgi_scope.trace.recorder import Recorder

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


class Wire:
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
        recorder.emit[UpstreamBytes](
            conn=self.conn,
            exchange=self.exchange,
            direction=direction,
            offset=self.offsets[direction],
            data=bytes(keep),
            size=len(data),
        )
        self.offsets[direction] += len(data)

    def violation(self, rule_id: str, detail: str) -> None:
        """Record a :class:`SpecViolation` of the catalogue's rule ``rule_id`` that the
        upstream's response broke on the wire, where the ASGI messages the proxy
        makes of it can no longer show it (a hop-by-hop field, dropped)."""
        if self.recorder is not None:
            from asgi_scope.trace.rules import RULES

            rule = RULES.get(rule_id)
            self.recorder.record(
                SpecViolation,
                conn=self.conn,
                exchange=self.exchange,
                rule=rule_id,
                section=rule.section if rule is not None else "",
                detail=detail,
                cause=0,
            )

    def timings(
        self, upstream: str, status: int, connect_ns: int, client_ns: int, started: int, error: str
    ) -> None:
        """Record the exchange's :class:`ProxyTimings` once it is over: the upstream's
        share is this wire's, ``started`` the ``monotonic_ns`` it began at."""
        if self.recorder is not None:
            self.recorder.record(
                ProxyTimings,
                conn=self.conn,
                exchange=self.exchange,
                upstream=upstream,
                status=status,
                connect_ns=connect_ns,
                upstream_ns=self.upstream_ns,
                client_ns=client_ns,
                total_ns=time.monotonic_ns() - started,
                error=error,
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


class ClientGone(Exception):
    """The client disconnected while its request body was being forwarded."""


class Clock:
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
        client that went away becomes :class:`ClientGone` (not the upstream's fault)."""
        try:
            await self.wait(send(message))
        except OSError:
            raise ClientGone from None


def why(exc: BaseException, default: str) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out connecting"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()  # asyncio's own strerror names no cause
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or default


def reachable(upstream: Upstream, timeout: float = 1.0) -> str:
    """``""`` if something accepts connections at ``upstream``, else why not (for
    a warning at start; the proxy runs either way and answers 502)."""
    import socket

    try:
        with socket.create_connection((upstream.host, upstream.port), timeout=timeout):
            return ""
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
