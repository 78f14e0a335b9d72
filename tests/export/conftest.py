"""A real session for the export tests: the export test app served on 127.0.0.1,
real requests (httpx, a raw socket, a WebSocket client), drained into a store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from websockets.sync.client import connect

from asgi_scope.trace.events import ExchangeEnded
from asgi_scope.trace.flow import Flow, flows
from asgi_scope.trace.store import Store
from tests.apps.exports import app
from tests.live import TIMEOUT, Live


@dataclass
class Session:
    live: Live
    store: Store

    def flows(self) -> list[Flow]:
        return flows(self.store)

    def flow(self, method: str, path: str) -> Flow:
        return next(
            f
            for f in self.flows()
            if f.request.method == method and f.request.target.split("?")[0] == path
        )


def ended(n: int) -> Callable[[Store], bool]:
    def check(store: Store) -> bool:
        return sum(isinstance(e, ExchangeEnded) and e.conn > 0 for e in store.events) >= n

    return check


@pytest.fixture
def session(serve) -> Session:
    live = serve(app)
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        client.get("/json", params={"q": "a b", "n": "1"}, headers={"cookie": "id=42; theme=dark"})
        client.post(
            "/echo", content=b"\x00\x01binary\xff", headers={"authorization": "Bearer s3cr3t"}
        )
        client.get("/stream")
    with connect(f"ws://127.0.0.1:{live.port}/ws", open_timeout=TIMEOUT) as ws:
        ws.send("hello")
        assert ws.recv(timeout=TIMEOUT) == "hello"
        ws.send(b"\x01\x02")
        assert ws.recv(timeout=TIMEOUT) == b"\x01\x02"
    store = live.collect(ended(4))
    return Session(live, store)
