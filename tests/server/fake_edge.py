"""An :class:`~asgi_scope.server.edge.Edge` with no I/O, for the state-machine tests.

It implements the narrow interface the sans-IO core uses, nothing of the
server: what the core writes is kept in :attr:`FakeEdge.written`, a close is
kept in :attr:`FakeEdge.closed`, timers are kept (never fired unless a test
fires them), and ``to_thread`` runs the function in place. The h11 side of a
test is a real ``h11.Connection`` fed the request's bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import h11

from asgi_scope.server.h11_private import header_fields
from asgi_scope.server.scope import connection_scope
from asgi_scope.trace.recorder import Recorder

T = TypeVar("T")


@dataclass
class FakeTimer:
    """A timer the fake edge keeps: ``callback(*args)`` due in ``delay`` seconds."""

    delay: float
    callback: Callable[..., object]
    args: tuple[Any, ...]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeEdge:
    """The core's whole world: bytes written, reading paused or not, closed or not."""

    def __init__(self) -> None:
        self.conn = 1
        self.recorder = Recorder()
        self.in_offset = 0
        self.out_offset = 0
        self.writable = asyncio.Event()
        self.writable.set()
        self.written = bytearray()
        self.closed: tuple[str, str] | None = None
        self.reading = True
        self.responses_complete = 0
        self.timers: list[FakeTimer] = []

    def write(self, data: bytes, exchange: int, cause: int, budget: int, hold: bool = False) -> int:
        self.written += data
        self.out_offset += len(data)
        return min(len(data), budget)

    def close(self, by: str, reason: str) -> None:
        if self.closed is None:
            self.closed = (by, reason)

    def is_closing(self) -> bool:
        return self.closed is not None

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def response_complete(self) -> None:
        self.responses_complete += 1

    def signal(self) -> asyncio.Event:
        return asyncio.Event()

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> FakeTimer:
        timer = FakeTimer(delay, callback, args)
        self.timers.append(timer)
        return timer

    async def to_thread(self, func: Callable[..., T], *args: Any) -> T:
        return func(*args)

    def take(self) -> bytes:
        """The bytes written since the last call."""
        data = bytes(self.written)
        self.written.clear()
        return data


def parse_request(edge: FakeEdge, data: bytes) -> tuple[h11.Connection, h11.Request]:
    """An h11 server connection fed ``data`` (a request head and maybe more),
    past the head as the edge leaves it for the core, and the request."""
    h = h11.Connection(h11.SERVER)
    h.receive_data(data)
    edge.in_offset += len(data)
    request = h.next_event()
    assert isinstance(request, h11.Request)
    return h, request


def scope_for(kind: str, request: h11.Request) -> dict[str, Any]:
    """The scope the edge would build for ``request``."""
    headers = header_fields(request.headers)
    return connection_scope(kind, request, headers, None, None, "", {})
