"""TraceMiddleware at lifespan shutdown: flushing what is queued for a listener
that does not read must not block the app's event loop (asyncio), and the
middleware still shuts down under trio. Real middleware, real Unix sockets."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import trio

from asgi_scope.remote.middleware import TraceMiddleware
from tests.remote.test_middleware import SCOPE, Deaf, echo

BODY = b"x" * 65536


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "lifespan":
        await echo(scope, receive, send)
        return
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _request(middleware: TraceMiddleware) -> None:
    pending = [{"type": "http.request", "body": BODY, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return pending.pop() if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        pass

    await middleware(dict(SCOPE), receive, send)


def test_shutdown_with_a_full_buffer_does_not_block_the_loop(sock_dir: Path):
    deaf = Deaf(str(sock_dir / "deaf.sock"))
    middleware = TraceMiddleware(app, f"unix:{sock_dir / 'deaf.sock'}")

    async def main() -> tuple[float, float]:
        messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await messages.put({"type": "lifespan.startup"})

        async def send(message: dict[str, Any]) -> None:
            pass

        lifespan = asyncio.ensure_future(
            middleware({"type": "lifespan", "asgi": {"version": "3.0"}}, messages.get, send)
        )
        deadline = time.monotonic() + 5
        while not (middleware.sender and middleware.sender.connected):
            assert time.monotonic() < deadline, "the sender never connected"
            await asyncio.sleep(0.01)
        for _ in range(40):  # far more than the deaf listener's socket takes
            await _request(middleware)
        await asyncio.sleep(0.2)
        gaps: list[float] = []

        async def tick() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticker = asyncio.ensure_future(tick())
        await asyncio.sleep(0.05)
        start = time.monotonic()
        await messages.put({"type": "lifespan.shutdown"})
        await lifespan
        took = time.monotonic() - start
        await asyncio.sleep(0.05)
        ticker.cancel()
        return max(gaps), took

    try:
        worst_gap, took = asyncio.run(main())
    finally:
        deaf.close()
    assert took >= 0.3, took  # it did wait for the sender (off the loop)
    assert worst_gap < 0.2, f"the loop was blocked for {worst_gap:.2f} s"


def test_shutdown_under_trio_stops_the_sender(sock_dir: Path):
    deaf = Deaf(str(sock_dir / "deaf.sock"))
    middleware = TraceMiddleware(app, f"unix:{sock_dir / 'deaf.sock'}")

    async def main() -> None:
        send_in, receive_out = trio.open_memory_channel[dict[str, Any]](2)
        await send_in.send({"type": "lifespan.startup"})
        await send_in.send({"type": "lifespan.shutdown"})

        async def send(message: dict[str, Any]) -> None:
            pass

        with trio.fail_after(2):
            await middleware(
                {"type": "lifespan", "asgi": {"version": "3.0"}}, receive_out.receive, send
            )

    try:
        trio.run(main)
        assert middleware.sender is not None
        middleware.sender._thread.join(2)
        assert not middleware.sender._thread.is_alive()
    finally:
        deaf.close()
