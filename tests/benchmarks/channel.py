"""What the channel to the inspector costs the app process, per event, on hello.

    python -m tests.benchmarks.channel [--requests N]

Runs our server on the demo app in this process with the app process's own
channel writer (:class:`asgi_scope.server.worker.Link`: the loop-turn and
hand-back flushes) writing to a Unix socket pair whose other end ``cat``
drains to ``/dev/null`` in another process (the inspector's reading costs the
app process nothing). A client in another process sends N keep-alive ``GET /``.
Every flush is timed; the report is the time spent in them divided by the
events they carried (µs per event), with events and frames per request, and
the requests per second with the channel and without it (the same flush points
emptying the recorder without encoding or writing), best of three alternating
rounds each.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time

from asgi_scope.config import Config
from asgi_scope.importer import load_app
from asgi_scope.server.runner import Server
from asgi_scope.server.worker import Link, _FlushingSelector
from asgi_scope.trace.recorder import Recorder

CLIENT = """
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
sock = socket.create_connection(("127.0.0.1", port))
request = b"GET / HTTP/1.1\\r\\nhost: x\\r\\n\\r\\n"
for _ in range(n):
    sock.sendall(request)
    data = b""
    while True:
        data += sock.recv(65536)
        head, sep, rest = data.partition(b"\\r\\n\\r\\n")
        if sep:
            length = int(head.lower().split(b"content-length: ")[1].split(b"\\r\\n")[0])
            while len(rest) < length:
                rest += sock.recv(65536)
            break
"""


POLLER = """
import socket, time
sock = socket.socket(fileno=0)
sock.setblocking(False)
while True:
    time.sleep(0.005)
    try:
        while True:
            if not sock.recv(1 << 20):
                raise SystemExit
    except BlockingIOError:
        pass
"""
"""The inspector's way of reading: every 5 ms, all there is (never woken per frame)."""


class TimedLink(Link):
    """The app process's channel writer, timing each flush."""

    def __init__(self, sock: socket.socket, recorder: Recorder) -> None:
        super().__init__(sock, recorder)
        self.seconds = 0.0
        self.events = 0
        self.frames = 0

    def flush(self) -> None:
        pending = len(self._pending)
        if not pending:
            return
        start = time.perf_counter()
        super().flush()
        self.seconds += time.perf_counter() - start
        self.events += pending
        self.frames += 1


class DrainingLink(TimedLink):
    """The same flush points, emptying the recorder without encoding or writing:
    the round without a channel."""

    def flush(self) -> None:
        self._pending.clear()


def one_round(requests: int, channel: bool) -> tuple[float, TimedLink]:
    """Requests per second for one round, and the link's figures."""
    recorder = Recorder()
    ours, theirs = socket.socketpair()
    drain = subprocess.Popen([sys.executable, "-c", POLLER], stdin=theirs)
    theirs.close()
    link = (TimedLink if channel else DrainingLink)(ours, recorder)
    recorder.handoff = link.flush
    server = Server(Config(port=0, lifespan="off"), load_app("asgi_scope.demo:app"), recorder)
    link.server = server

    async def serve_and_load() -> float:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        serving = loop.create_task(server.serve(handle_signals=False, ready=ready.set))
        await ready.wait()
        start = time.perf_counter()
        client = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CLIENT, str(server.port), str(requests)
        )
        await client.wait()
        took = time.perf_counter() - start
        server.stop()
        await serving
        return requests / took

    loop = asyncio.SelectorEventLoop(_FlushingSelector(link))
    try:
        rate = loop.run_until_complete(serve_and_load())
    finally:
        loop.close()
        link.sock.close()
        drain.wait()
    return rate, link


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with_channel, without = [], []
    for _ in range(args.rounds):  # alternating, so that both see the same machine
        with_channel.append(one_round(args.requests, True))
        without.append(one_round(args.requests, False)[0])
    rate, link = max(with_channel, key=lambda r: r[0])
    per_event = min(r[1].seconds / r[1].events for r in with_channel)
    print(f"channel cost in the app process: {per_event * 1e6:.2f} µs per event (best round)")
    print(
        f"events per request: {link.events / args.requests:.1f}; "
        f"frames per request: {link.frames / args.requests:.1f}"
    )
    print(
        f"requests/s with the channel: {rate:,.0f}; without: {max(without):,.0f} "
        f"({rate / max(without):.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
