"""A coverage-guided fuzz target (atheris) for the request parsing path.

Each input is one connection's bytes: the first byte picks how they are cut
into ``data_received`` calls, the rest are the bytes. They go into the real
:class:`~asgi_scope.server.http.HTTPProtocol` (h11, the head and framing
checks, the request cycle, the WebSocket handover) on a real event loop, with
an in-memory transport in place of the socket, serving a small app that reads
the body and answers. A crash is an exception out of the protocol, an
exception the loop's handler saw, or bytes written that are not valid
HTTP/1.1 responses.

One command runs it (atheris, libFuzzer flags after the corpus)::

    .venv/bin/python -m tests.fuzz.request_parsing tests/fuzz/corpus -max_total_time=600

New inputs it finds go into the corpus directory; keep only the few that add
coverage (``-merge=1`` into a fresh directory). ``tests/fuzz/test_corpus.py``
replays the corpus in the normal test run, without atheris.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

try:
    import atheris
except ImportError:  # replaying the corpus needs no atheris
    atheris = None

if atheris is not None and __name__ == "__main__":
    with atheris.instrument_imports(include=["h11", "asgi_scope", "wsproto"]):
        from asgi_scope.config import Config
        from asgi_scope.server.http import HTTPProtocol
        from asgi_scope.server.state import ServerState
        from asgi_scope.trace.recorder import Recorder
else:
    from asgi_scope.config import Config
    from asgi_scope.server.http import HTTPProtocol
    from asgi_scope.server.state import ServerState
    from asgi_scope.trace.recorder import Recorder

from tests.server.test_fuzz import parse_responses


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = str(size).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class Transport(asyncio.Transport):
    """The socket's place: keeps what is written, closes as asyncio's would
    (``connection_lost`` on the next turn of the loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.written = bytearray()
        self.closing = False
        self.protocol: Any = None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def write(self, data: Any) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.loop.call_soon(self.protocol.connection_lost, None)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Target:
    """The server state and loop shared by every input."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.errors: list[dict[str, Any]] = []
        self.loop.set_exception_handler(lambda _, context: self.errors.append(context))
        self.recorder = Recorder()
        config = Config(port=0, lifespan="off", timeout_keep_alive=5.0)
        self.state = ServerState(config, app, self.recorder)

    def run(self, data: bytes) -> None:
        self.loop.run_until_complete(self._one(data))
        self.recorder.drain()
        if self.errors:
            raise AssertionError(f"the loop's exception handler saw {self.errors}")

    async def _one(self, data: bytes) -> None:
        if not data:
            return
        step, data = data[0] % 16 + 1, data[1:]
        transport = Transport(self.loop)
        proto = HTTPProtocol(self.state)
        transport.protocol = proto
        proto.connection_made(transport)
        cut = 0
        while cut < len(data) and not transport.closing:
            size = step * 7 if cut else step  # a small first segment, then larger
            proto.data_received(data[cut : cut + size])
            cut += size
            for _ in range(3):
                await asyncio.sleep(0)
        for _ in range(5):
            await asyncio.sleep(0)
        closed_by_server = transport.closing
        if not transport.closing:
            proto.eof_received()
            transport.close()
        await asyncio.sleep(0)
        pending = [t for t in self.state.tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        assert not [t for t in pending if not t.done()], "an app task outlived its connection"
        written = bytes(transport.written)
        if b" 101 " not in written[:16]:
            parse_responses(written, closed_by_server, b"HEAD" in data)


TARGET: Target | None = None


def one_input(data: bytes) -> None:
    """The fuzz target: one connection's bytes."""
    global TARGET
    if TARGET is None:
        TARGET = Target()
    TARGET.run(data)


def main() -> None:  # pragma: no cover - the long fuzz run
    if atheris is None:
        sys.exit("atheris is not installed: pip install atheris")
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
