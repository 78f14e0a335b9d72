"""Synthetic traffic for UI tests: real Recorder, events built by hand, fixed clock."""

from __future__ import annotations

from typing import Any

from asgi_scope.trace.events import (
    AppRaised,
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    ConnectionOpened,
    Event,
    ExchangeEnded,
    MessageReceived,
    MessageSent,
    ProtocolError,
    ScopeCreated,
    ServerNote,
)
from asgi_scope.trace.recorder import Recorder

HOSTILE_PATH = "/[bold]x[/]"
OSC52 = "\x1b]52;c;SGVsbG8=\x07"


class ClockRecorder(Recorder):
    """A Recorder whose clock only moves when told: deterministic ``t_ns``."""

    def __init__(self, max_body: int = 1 << 20) -> None:
        super().__init__(max_body)
        self.clock = 0
        self._clock, self._t0 = lambda: self.clock, 0

    def advance(self, ms: float) -> None:
        """Move the clock ``ms`` milliseconds on."""
        self.clock += int(ms * 1_000_000)


class Traffic:
    """Builds realistic event sequences (bytes, scope, messages) into a recorder."""

    def __init__(self, recorder: Recorder | None = None) -> None:
        self.recorder = recorder or ClockRecorder()
        self.next_exchange = 1
        self._in: dict[int, int] = {}
        self._out: dict[int, int] = {}

    def rec(self, kind: type[Event], /, **fields: Any) -> Event:
        if isinstance(self.recorder, ClockRecorder):
            self.recorder.advance(0.25)
        return self.recorder.record(kind, **fields)

    def note(self, text: str, level: str = "info") -> None:
        self.rec(ServerNote, conn=0, level=level, text=text)

    def connect(self, conn: int, port: int = 50000) -> None:
        self._in[conn] = self._out[conn] = 0
        self.rec(
            ConnectionOpened,
            conn=conn,
            client=("127.0.0.1", port + conn),
            server=("127.0.0.1", 8000),
        )

    def close(self, conn: int, by: str = "client", reason: str = "keep-alive timeout") -> None:
        self.rec(ConnectionClosed, conn=conn, by=by, reason=reason)

    def lifespan(self) -> int:
        exchange = self._new()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self.rec(ScopeCreated, conn=0, exchange=exchange, scope=scope, wire=None)
        self.rec(
            MessageReceived,
            conn=0,
            exchange=exchange,
            message={"type": "lifespan.startup"},
            wire=None,
            dropped=0,
        )
        self.rec(
            MessageSent,
            conn=0,
            exchange=exchange,
            message={"type": "lifespan.startup.complete"},
            dropped=0,
        )
        return exchange

    def _new(self) -> int:
        exchange = self.next_exchange
        self.next_exchange += 1
        return exchange

    def _receive(self, conn: int, exchange: int, data: bytes) -> tuple[int, int]:
        start = self._in[conn]
        self.rec(
            BytesReceived, conn=conn, exchange=exchange, offset=start, data=data, size=len(data)
        )
        self._in[conn] = start + len(data)
        return (start, start + len(data))

    def _send(self, conn: int, exchange: int, data: bytes, cause: int) -> None:
        start = self._out[conn]
        self.rec(
            BytesSent,
            conn=conn,
            exchange=exchange,
            offset=start,
            data=data,
            size=len(data),
            cause=cause,
        )
        self._out[conn] = start + len(data)

    def http(
        self,
        conn: int,
        method: str = "GET",
        path: str = "/",
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
        status: int = 200,
        response: bytes = b'{"ok":true}',
        added: dict[str, Any] | None = None,
        raises: str | None = None,
        finish: bool = True,
    ) -> int:
        """One HTTP/1.1 exchange on ``conn``; returns its id."""
        exchange = self._new()
        headers = [(b"host", b"127.0.0.1:8000"), *(headers or [])]
        if body:
            headers.append((b"content-length", str(len(body)).encode()))
        head = f"{method} {path} HTTP/1.1\r\n".encode("utf-8", "surrogateescape")
        head += b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n"
        head_wire = self._receive(conn, exchange, head)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000 + conn),
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": path,
            "raw_path": path.encode("utf-8", "surrogateescape"),
            "query_string": b"",
            "headers": [[k, v] for k, v in headers],
            "state": {},
        }
        self.rec(ScopeCreated, conn=conn, exchange=exchange, scope=scope, wire=head_wire)
        body_wire = self._receive(conn, exchange, body) if body else None
        self.rec(
            MessageReceived,
            conn=conn,
            exchange=exchange,
            message={"type": "http.request", "body": body, "more_body": False},
            wire=body_wire,
            dropped=0,
        )
        after = {**scope, **(added or {})}
        if raises:
            self.rec(
                AppRaised,
                conn=conn,
                exchange=exchange,
                exc_type="ValueError",
                message=raises,
                traceback=f'Traceback (most recent call last):\n  File "app.py", line 3\n'
                f"ValueError: {raises}\n",
            )
            data = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"
            self._send(conn, exchange, data, 0)
            self.rec(
                ExchangeEnded,
                conn=conn,
                exchange=exchange,
                scope=after,
                outcome="error",
                status=500,
            )
            return exchange
        start = {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(response)).encode()),
            ],
        }
        sent = self.rec(MessageSent, conn=conn, exchange=exchange, message=start, dropped=0)
        self._send(
            conn,
            exchange,
            f"HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\n"
            f"content-length: {len(response)}\r\n\r\n".encode(),
            sent.seq,
        )
        if not finish:
            return exchange
        sent = self.rec(
            MessageSent,
            conn=conn,
            exchange=exchange,
            message={"type": "http.response.body", "body": response, "more_body": False},
            dropped=0,
        )
        self._send(conn, exchange, response, sent.seq)
        self.rec(
            ExchangeEnded,
            conn=conn,
            exchange=exchange,
            scope=after,
            outcome="complete",
            status=status,
        )
        return exchange

    def bad_request(self, conn: int, data: bytes = b"GARBAGE\r\n\r\n") -> int:
        exchange = self._new()
        wire = self._receive(conn, exchange, data)
        self.rec(
            ProtocolError,
            conn=conn,
            exchange=exchange,
            by="client",
            status=400,
            detail="illegal request line",
            wire=wire,
        )
        self._send(conn, exchange, b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n", 0)
        return exchange


def standard_trace(traffic: Traffic | None = None) -> Traffic:
    """A small fixed session: lifespan, GET, POST with a route added, an error, a 400."""
    t = traffic or Traffic()
    t.note("listening on http://127.0.0.1:8000 (Press q to quit)")
    t.lifespan()
    t.connect(1)
    t.http(1, "GET", "/")
    t.http(
        1,
        "POST",
        "/items/42",
        body=b'{"name": "widget"}',
        status=201,
        added={
            "route": "<Route /items/{id}>",
            "path_params": {"id": "42"},
            "endpoint": "create_item",
        },
    )
    t.close(1)
    t.connect(2)
    t.http(2, "GET", "/boom", raises="something broke")
    t.close(2, "server", "error")
    t.connect(3)
    t.bad_request(3)
    t.close(3, "server", "invalid request")
    return t


def main() -> None:  # pragma: no cover - by hand: python -m tests.ui.fake_traffic
    """Run the UI on the standard trace, then one more request every 1.5 s."""
    import threading
    import time

    from asgi_scope.ui.app import ScopeApp

    recorder = Recorder()
    traffic = Traffic(recorder)
    stop = threading.Event()

    def feed() -> None:
        standard_trace(traffic)
        traffic.connect(4)
        traffic.http(4, "GET", HOSTILE_PATH, headers=[(b"x-evil", OSC52.encode())])
        conn = 5
        while not stop.wait(1.5):
            traffic.connect(conn)
            traffic.http(conn, "GET", f"/tick/{conn}?a=1")
            traffic.close(conn)
            conn += 1

    threading.Thread(target=feed, daemon=True).start()
    ScopeApp(
        recorder,
        app_name="fake traffic",
        url="http://127.0.0.1:8000",
        on_quit=lambda: (stop.set(), time.sleep(0.2)),
    ).run()


if __name__ == "__main__":  # pragma: no cover
    main()
