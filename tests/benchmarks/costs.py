"""Where a request's time goes: a cost model of hello, in microseconds per request.

    python -m tests.benchmarks.costs [--requests N] [--rounds R] [--route /bytes?n=65536]

``--route`` asks the demo app for another target than ``/`` (the 64 KiB
scenario: ``/bytes?n=65536``), every row alike.

Measured without the network: each row drives our server's connection
(:class:`~asgi_scope.server.http.HTTPProtocol`) with an in-memory transport, one
keep-alive ``GET /`` of the demo app after another, on a real event loop (the
app process's own, which writes the channel at each turn), as the h11 ceiling
drives h11 alone. The rows, each measured on its own:

- **h11**: h11 alone parses the request and serializes the response;
- **app**: the demo app alone answers hello (``receive``/``send`` that do nothing);
- **server, tracing off**: our server with no recorder, no shim, no snapshot
  (:func:`untraced`), minus the two rows above: what the server itself costs
  (its loop turns, its task per request, scope, framing, writes);

and then each tracing step added to the previous one, its cost the difference:

- **events**: every event built and queued, the shim in place (messages kept
  by reference, no spec checker);
- **snapshots**: the scope and every message snapshotted as they cross;
- **spec checker**: every message checked;
- **channel**: the app process's writer (:class:`~asgi_scope.server.worker.Link`)
  encoding every batch and writing it to a Unix socket (this is ``--quiet``'s
  app process);
- **inspector decode/relay**: the inspector reading those frames back, decoding
  the events and relaying them into its recorder (another process: it costs the
  app process nothing while a core is free);
- **capture writer**: ``--record``'s thread encoding those events as capture
  lines and writing them to a file (in the inspector, in a thread).

Time is this process's CPU time (``time.process_time``), so that the moments a
loaded machine gives the core to another process do not count; rows are
measured in turn, round after round, so that what load still changes (caches,
clock speed) hits them alike, and each figure is the median over the rounds.

``python -m tests.benchmarks.costs --serve PORT`` serves the demo app with
tracing off (the benchmark's ``off`` server: a benchmark-only switch, not a
user flag).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import os
import selectors
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import h11

import asgi_scope.server.cycle
import asgi_scope.server.http
import asgi_scope.trace.shim
from asgi_scope import demo
from asgi_scope.config import Config
from asgi_scope.server.http import HTTPProtocol
from asgi_scope.server.runner import Server
from asgi_scope.server.state import ServerState
from asgi_scope.server.supervisor import CHANNEL_BUFFER, AppProcess
from asgi_scope.server.worker import Link, _FlushingSelector
from asgi_scope.trace.capture import event_lines
from asgi_scope.trace.channel import FrameReader, RelayRecorder
from asgi_scope.trace.recorder import Recorder


def request_for(route: str) -> bytes:
    """What wrk sends for ``GET route`` (``route``: a path and query, ASCII)."""
    return f"GET {route} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: wrk\r\n\r\n".encode()


REQUEST = request_for("/")
"""What wrk sends for hello."""

CLOCK = time.process_time
"""This process's CPU time, in seconds: what every row is timed with."""

STEPS = ("off", "events", "snapshots", "checker", "channel")
"""The server's configurations, each adding one tracing step to the one before."""

ROWS = {
    "h11": "h11 alone (parse, serialize)",
    "app": "the demo app alone",
    "off": "our server's own work, tracing off",
    "events": "+ events built and queued, the shim",
    "snapshots": "+ snapshots of scope and messages",
    "checker": "+ the spec checker",
    "channel": "+ the channel to the inspector (encode, write)",
    "decode": "inspector: decode and relay (its process)",
    "capture": "capture writer, --record (its thread)",
}


# -- the switch: tracing off ---------------------------------------------------


class _Nothing:
    """What an emitter of the untraced recorder returns: no event, ``seq`` 0."""

    __slots__ = ()
    seq = 0


_NOTHING = _Nothing()


class UntracedRecorder(Recorder):
    """A recorder whose emitters build and keep nothing (called as the real ones
    are: keywords bound to named parameters, no dict)."""

    __slots__ = ()

    def _emitter(self, kind: type) -> Callable[..., Any]:
        fields = dataclasses.fields(kind)[2:]
        params = ", ".join(
            f.name if f.default is dataclasses.MISSING else f"{f.name}=None" for f in fields
        )
        scope = {"nothing": _NOTHING}
        exec(f"def emit(*, {params}):\n    return nothing\n", scope)
        return scope["emit"]


class UntracedShim:
    """The shim's place taken by the server's own ``receive`` and ``send``: the
    app sees plain ASGI, nothing is recorded or copied."""

    __slots__ = ("__weakref__", "_receive", "conn", "exchange", "last_sent", "send")

    def __init__(self, recorder: Recorder, conn: int, exchange: int, receive: Any, send: Any):
        self._receive = receive
        self.send = send
        self.conn = conn
        self.exchange = exchange
        self.last_sent = 0

    def scope_created(self, scope: Any, wire: Any, snap: Any = None) -> None:
        pass

    async def receive(self) -> dict[str, Any]:
        return (await self._receive())[0]

    def raised(self, exc: BaseException) -> None:
        pass

    def ended(self, scope: Any, outcome: str, status: int) -> None:
        pass


def _same(value: Any, *_: Any) -> Any:
    return value


@contextlib.contextmanager
def tracing(step: str) -> Iterator[None]:
    """Our server as configured for ``step`` (one of :data:`STEPS`) while inside:
    module globals of the server and the shim replaced, and put back after."""
    shim, cycle, http = asgi_scope.trace.shim, asgi_scope.server.cycle, asgi_scope.server.http
    patches: list[tuple[Any, str, Any]] = []
    level = STEPS.index(step)
    if level == 0:
        patches += [(cycle, "Shim", UntracedShim)]
    if level <= 1:  # no snapshot: messages and the scope kept by reference
        patches += [
            (http, "snapshot_scope", _same),
            (shim, "snapshot", _same),
            (shim, "snapshot_since", _same),
            (shim, "snapshot_message", lambda message, budget: (message, 0, 0)),
        ]
    if level <= 2:
        patches += [(shim, "checker_for", lambda scope: None)]
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    try:
        for module, name, value in patches:
            setattr(module, name, value)
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


# -- the in-memory connection ------------------------------------------------------


class MemoryTransport(asyncio.Transport):
    """A connection's transport that keeps nothing: counts the bytes written and
    keeps the first response, so a run can check it was answered."""

    def __init__(self) -> None:
        super().__init__()
        self.first = b""
        self.written = 0
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.first:
            self.first = bytes(data)
        self.written += len(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )


class _Channel:
    """A Unix socket pair as the app process's channel: ``link`` writes one end,
    :meth:`read` empties the other and keeps what it read."""

    def __init__(self, recorder: Recorder) -> None:
        ours, self.theirs = socket.socketpair()
        for sock, option in ((ours, socket.SO_SNDBUF), (self.theirs, socket.SO_RCVBUF)):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, CHANNEL_BUFFER)
        self.theirs.setblocking(False)
        self.link = Link(ours, recorder)
        recorder.handoff = self.link.flush
        self.chunks: list[bytes] = []

    def read(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while True:
                self.chunks.append(self.theirs.recv(1 << 20))

    def close(self) -> None:
        self.link.sock.close()
        self.theirs.close()


def serve_in_memory(
    step: str, requests: int, request: bytes = REQUEST
) -> tuple[float, list[bytes], bytes]:
    """Serve ``requests`` requests (``request``'s bytes, hello by default) on one
    in-memory connection with the server configured for ``step``: (µs per
    request, what the channel carried, the first response). The first 100
    requests warm up, untimed."""
    recorder: Recorder = UntracedRecorder() if step == "off" else Recorder()
    channel = _Channel(recorder) if step == "channel" else None
    selector = _FlushingSelector(channel.link) if channel else selectors.DefaultSelector()
    loop = asyncio.SelectorEventLoop(selector)
    state = ServerState(Config(port=0, lifespan="off"), demo.app, recorder)
    pending = recorder._pending

    async def run(n: int) -> float:
        proto = HTTPProtocol(state)
        transport = MemoryTransport()
        proto.connection_made(transport)
        tasks = state.tasks
        received = proto.data_received
        start = CLOCK()
        for i in range(n):
            received(request)
            await next(iter(tasks))
            if channel is None:
                pending.clear()  # the events of a row without a channel: nobody reads them
            elif i % 32 == 0:
                channel.read()
        took = CLOCK() - start
        proto.connection_lost(None)
        for _ in range(3):  # its last events, ConnectionClosed too, on the channel
            await asyncio.sleep(0)
        if channel is not None:
            channel.read()
        if transport.written == 0:
            raise RuntimeError("the server wrote nothing")
        run.first = transport.first  # type: ignore[attr-defined]
        return took / n * 1e6

    try:
        with tracing(step):
            loop.run_until_complete(run(100))
            if channel is not None:
                channel.chunks.clear()
            per_request = loop.run_until_complete(run(requests))
    finally:
        loop.close()
        if channel is not None:
            channel.close()
    return per_request, channel.chunks if channel else [], run.first  # type: ignore[attr-defined]


# -- the other rows ------------------------------------------------------------------


def h11_rate(
    body: bytes,
    seconds: float,
    clock: Callable[[], float] = time.perf_counter,
    request: bytes = REQUEST,
) -> float:
    """Requests per second of h11 alone, for ``seconds`` of ``clock``: parse
    ``request`` (hello's by default), serialize a 200 response with ``body``,
    start the next cycle."""
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"server", b"asgi-scope"),
        (b"date", b"Sun, 22 Nov 2026 00:00:00 GMT"),
    ]
    conn = h11.Connection(h11.SERVER)
    n = 0
    start = clock()
    while clock() - start < seconds:
        for _ in range(100):
            conn.receive_data(request)
            conn.next_event()  # Request
            conn.next_event()  # EndOfMessage
            conn.send(h11.Response(status_code=200, headers=headers, reason=b"OK"))
            conn.send(h11.Data(data=body))
            conn.send(h11.EndOfMessage())
            conn.start_next_cycle()
        n += 100
    return n / (clock() - start)


def app_alone(requests: int, route: str = "/") -> tuple[float, bytes]:
    """µs per request of the demo app called directly for ``GET route``, its
    ``send`` keeping only the last body; and that body."""
    path, _, query = route.partition("?")
    scope = {
        "type": "http", "method": "GET", "path": path, "query_string": query.encode(),
        "headers": [(b"host", b"x")],
    }  # fmt: skip
    body = [b""]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            body[0] = message.get("body", b"")

    async def run() -> float:
        app = demo.app
        start = CLOCK()
        for _ in range(requests):
            await app(dict(scope), receive, send)
        return (CLOCK() - start) / requests * 1e6

    return asyncio.run(run()), body[0]


class _Inspector:
    """What :class:`AppProcess` reads of its supervisor when it relays events."""

    hidden: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.recorder = RelayRecorder()


def decode_and_relay(chunks: list[bytes], requests: int) -> tuple[float, list[list[Any]]]:
    """µs per request the inspector spends on what the channel carried: frames cut
    and decoded, events relayed into its recorder and drained; and the batches."""

    async def run() -> tuple[float, list[list[Any]]]:
        inspector = _Inspector()
        child = AppProcess(inspector)  # type: ignore[arg-type]
        reader, recorder = FrameReader(), inspector.recorder
        batches = []
        start = CLOCK()
        for chunk in chunks:
            child.received(reader.feed(chunk))
            batches.append(recorder.drain())
        return (CLOCK() - start) / requests * 1e6, batches

    return asyncio.run(run())


def capture_writer(batches: list[list[Any]], requests: int) -> float:
    """µs per request ``--record``'s writer spends encoding ``batches`` as capture
    lines and writing them to a file."""
    with tempfile.TemporaryFile("w", encoding="utf-8") as out:
        start = CLOCK()
        for batch in batches:
            lines, _ = event_lines(batch)
            out.writelines(lines)
            out.flush()
        return (CLOCK() - start) / requests * 1e6


# -- the model ---------------------------------------------------------------------


def measure(requests: int = 1000, rounds: int = 15, route: str = "/") -> dict[str, float]:
    """Each row of :data:`ROWS`, µs per request of ``GET route`` (hello by
    default): the median over ``rounds``, rows measured in turn; the server rows
    are differences (see the module docstring)."""
    figures: dict[str, list[float]] = {row: [] for row in ROWS}
    totals: dict[str, list[float]] = {step: [] for step in STEPS}
    request = request_for(route)
    for _ in range(rounds):
        per_request, body = app_alone(requests, route)
        figures["h11"].append(1e6 / h11_rate(body, 0.3, CLOCK, request))
        figures["app"].append(per_request)
        chunks: list[bytes] = []
        for step in STEPS:
            per_request, carried, first = serve_in_memory(step, requests, request)
            if not first.startswith(b"HTTP/1.1 200 "):
                raise RuntimeError(f"{step}: not answered 200: {first[:40]!r}")
            totals[step].append(per_request)
            chunks = carried or chunks
        decode, batches = decode_and_relay(chunks, requests)
        figures["decode"].append(decode)
        figures["capture"].append(capture_writer(batches, requests))
    median = {key: statistics.median(values) for key, values in figures.items() if values}
    served = {step: statistics.median(values) for step, values in totals.items()}
    median["off"] = served["off"] - median["h11"] - median["app"]
    for before, step in itertools.pairwise(STEPS):
        median[step] = served[step] - served[before]
    median["events per request"] = sum(len(b) for b in batches) / requests
    return median


def report(figures: dict[str, float], requests: int, rounds: int, route: str = "/") -> list[str]:
    """The table: one line per row of :data:`ROWS`, then the totals."""
    name = "hello" if route == "/" else f"GET {route}"
    lines = [
        "",
        f"## Cost model: {name}, in memory (no sockets), µs per request, median of "
        f"{rounds} rounds of {requests:,}",
        "",
    ]
    for row, label in ROWS.items():
        lines.append(f"  {label:<50} {figures[row]:7.1f}")
    app_process = sum(figures[row] for row in ("h11", "app", *STEPS))
    lines += [
        f"  {'total, app process (--quiet)':<50} {app_process:7.1f}",
        f"  {'total, with the inspector and --record':<50} "
        f"{app_process + figures['decode'] + figures['capture']:7.1f}",
        f"  events per request: {figures['events per request']:.1f}; "
        f"load average {os.getloadavg()[0]:.1f} (a loaded machine moves every figure)",
    ]
    return lines


def serve_untraced(port: int) -> None:
    """Serve the demo app on 127.0.0.1:``port`` with tracing off, in this process,
    until SIGINT or SIGTERM (the benchmark's ``off`` server)."""
    with tracing("off"):
        server = Server(Config(port=port), demo.app, UntracedRecorder())
        asyncio.run(server.serve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.costs", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--requests", type=int, default=1000, help="per row and round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--route", default="/", help="the demo app's target (default: hello)")
    parser.add_argument("--serve", type=int, metavar="PORT", help="serve with tracing off")
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve_untraced(args.serve)
        return 0
    figures = measure(args.requests, args.rounds, args.route)
    print("\n".join(report(figures, args.requests, args.rounds, args.route)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
