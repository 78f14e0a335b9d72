"""Regenerate ``screenshots/``: SVGs of the TUI showing real traffic.

Run from the repository root::

    .venv/bin/python -m tests.screenshots               # all of them
    .venv/bin/python -m tests.screenshots inspect proxy  # some of: demo fastapi bodies
                                                         # layers attach proxy inspect

Each shot starts the real server on a free port with a real app (the demo app,
the FastAPI test app), sends real requests with httpx, and saves what the
Textual app shows, at 120x36.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from asgi_scope.config import DEMO_APP, Config
from asgi_scope.importer import load_app
from asgi_scope.server.runner import Server
from asgi_scope.session import LoopThread
from asgi_scope.trace.layers import wrap_layers
from asgi_scope.trace.recorder import Recorder
from asgi_scope.ui.app import ScopeApp

OUT = Path(__file__).resolve().parents[1] / "screenshots"
SIZE = (120, 36)

Traffic = Callable[[httpx.Client], None]


def demo_traffic(client: httpx.Client) -> None:
    client.get("/")
    client.get("/stream")
    client.get("/error")
    client.post("/echo", content=b"name=Ada&lang=python", headers={"content-type": "text/plain"})


def fastapi_traffic(client: httpx.Client) -> None:
    client.get("/")
    client.post("/user", json={"name": "Ada", "age": 36})
    client.get("/boom")
    client.get("/items/42", params={"q": "hello"})


def bodies_traffic(client: httpx.Client) -> None:
    client.get("/json", headers={"accept-encoding": "gzip"})
    with client.stream("GET", "/events?gap=0.05") as response:  # left after five events
        seen = 0
        for line in response.iter_lines():
            seen += line.startswith("data:")
            if seen == 5:
                break


def layered_traffic(client: httpx.Client) -> None:
    preflight = {"origin": "http://example.test", "access-control-request-method": "GET"}
    client.options("/big", headers=preflight)
    client.get("/boom")
    client.get("/big", headers={"origin": "http://example.test", "accept-encoding": "gzip"})


async def shoot(
    spec: str, traffic: Traffic, shots: dict[str, list[str]], layers: bool = False
) -> None:
    """Serve ``spec`` (its middleware layers traced, with ``layers``), send
    ``traffic``, then for each ``name: keys`` press the keys and save
    ``screenshots/NAME.svg``."""
    recorder = Recorder()
    app = load_app(spec)
    if layers:
        app, _ = wrap_layers(app)
    server = LoopThread(Server(Config(app=spec, port=0), app, recorder))
    server.start()
    try:
        app = ScopeApp(recorder, app_name=spec, url=server.url)
        async with app.run_test(size=SIZE) as pilot:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                await asyncio.to_thread(traffic, client)
            await settle(pilot.pause)
            for name, keys in shots.items():
                await pilot.press(*keys)
                await settle(pilot.pause)
                _save(app, name)
    finally:
        server.stop()


async def settle(pause: Callable[[float], Awaitable[None]]) -> None:
    """Let a few drains and refreshes happen."""
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        await pause(0.05)


async def shoot_attach() -> None:
    """``uvicorn --workers 4`` running the FastAPI app in TraceMiddleware, streaming
    into ``asgi-scope attach`` (the listener and the TUI in this process)."""
    import tempfile

    from asgi_scope.remote.attach import AttachRecorder, Listener
    from asgi_scope.remote.stream import parse_address
    from asgi_scope.session import LoopThread
    from tests.live import wait_for_peers
    from tests.remote.servers import Processes

    folder = tempfile.mkdtemp(prefix="as-shot-", dir="/tmp")
    address = f"unix:{folder}/s.sock"
    recorder = AttachRecorder()
    listener = LoopThread(Listener(parse_address(address), recorder))
    listener.start()
    procs = Processes()
    try:
        _, url = procs.server("uvicorn", "tests.apps.traced:app", address, workers=4)
        wait_for_peers(listener.source, 4, 30)
        app = ScopeApp(recorder, app_name=f"attached to {address}", url=address)
        async with app.run_test(size=SIZE) as pilot:

            def traffic() -> None:
                for i in range(6):  # a new connection each: spread over the workers
                    httpx.get(f"{url}/items/{i}", params={"q": "hi"}, timeout=10)
                httpx.post(f"{url}/user", json={"name": "Ada", "age": 36}, timeout=10)

            await asyncio.to_thread(traffic)
            await settle(pilot.pause)
            for name, keys in {"attach-workers": ["m"], "attach-hex": ["x"]}.items():
                await pilot.press(*keys)
                await settle(pilot.pause)
                _save(app, name)
    finally:
        procs.stop_all()
        listener.stop()


async def shoot_proxy() -> None:
    """``asgi-scope proxy`` in front of uvicorn serving the FastAPI app."""
    from asgi_scope.proxy.app import ReverseProxy
    from asgi_scope.proxy.upstream import parse_upstream
    from tests.remote.servers import Processes

    procs = Processes()
    try:
        _, upstream = procs.server("uvicorn", "tests.apps.fastapi_app:app")
        recorder = Recorder()
        proxy = ReverseProxy(parse_upstream(upstream), recorder)
        name = f"proxy → {upstream}"
        server = LoopThread(Server(Config(app=name, port=0, lifespan="off"), proxy, recorder))
        server.start()
        try:
            app = ScopeApp(recorder, app_name=name, url=server.url)
            async with app.run_test(size=SIZE) as pilot:
                with httpx.Client(base_url=server.url, timeout=10) as client:
                    await asyncio.to_thread(fastapi_traffic, client)
                await settle(pilot.pause)
                shots = {"proxy-hex": ["k", "k", "x"], "proxy-timeline": ["t"]}
                for shot, keys in shots.items():
                    await pilot.press(*keys)
                    await settle(pilot.pause)
                    if shot == "proxy-hex":  # from the client's request to the upstream's
                        hex_view = app.query_one("#hex")
                        hex_view.scroll_to(y=max(_line_of(hex_view, "upstream request") - 4, 0))
                        await settle(pilot.pause)
                    _save(app, shot)
        finally:
            server.stop()
    finally:
        procs.stop_all()


def _line_of(hex_view: Any, title: str) -> int:
    """The line of the Hex view's first title that starts with ``title``."""
    for block, line in zip(hex_view._blocks, hex_view._starts, strict=True):
        text = getattr(block, "text", None)
        if text is not None and text.plain.startswith(title):
            return line
    return 0


async def shoot_inspect() -> None:
    """The inspector's depth: a flagged spec violation, the filter bar, the
    Sequence tab, the Hex tab's message parts, and step mode holding a request."""
    import threading

    from asgi_scope.trace.events import SpecViolation
    from asgi_scope.trace.step import Gate

    spec = "tests.apps.broken:app"
    recorder = Recorder()
    recorder.gate = Gate(now=recorder.now)
    server = LoopThread(Server(Config(app=spec, port=0), load_app(spec), recorder))
    server.start()
    try:
        app = ScopeApp(recorder, app_name=spec, url=server.url)
        async with app.run_test(size=SIZE) as pilot:

            def traffic() -> None:
                with httpx.Client(base_url=server.url, timeout=10) as client:
                    client.get("/")
                    client.get("/Upper")
                    client.get("/short", headers={"accept": "text/plain"}).close()

            await asyncio.to_thread(lambda: _quietly(traffic))
            await settle(pilot.pause)
            # The flagged exchange, its violation selected under its message.
            app.action_toggle_follow()
            table = app.query_one("#exchanges")
            table.move_cursor(row=table.get_row_index("3"))
            await settle(pilot.pause)
            messages = app.query_one("#messages")
            violation = next(
                e for e in app.store.exchanges[3].events if isinstance(e, SpecViolation)
            )
            messages.select_seq(violation.seq)
            await settle(pilot.pause)
            _save(app, "inspect-violation")
            # The filter bar: only exchanges that broke a rule.
            await pilot.press("slash")
            app.query_one("#filter-bar").set_text("~v | ~c 4xx")
            await settle(pilot.pause)
            _save(app, "inspect-filter")
            app.query_one("#filter-bar").set_text("")
            await pilot.press("enter")
            # The Sequence tab of the plain GET /.
            table.move_cursor(row=table.get_row_index("2"))
            await pilot.press("d")
            await settle(pilot.pause)
            _save(app, "inspect-sequence")
            # Step mode: a POST held at the shim, the client waiting.
            await pilot.press("S")
            thread = threading.Thread(
                target=_quietly,
                args=(lambda: httpx.post(f"{server.url}/echo", content=b"hi", timeout=10),),
                daemon=True,
            )
            thread.start()
            app.action_toggle_follow()
            await settle(pilot.pause)
            await pilot.press("m")
            await settle(pilot.pause)
            await pilot.press("space")  # the request went in; the answer is held
            await settle(pilot.pause)
            _save(app, "inspect-step")
            await pilot.press("G")
            await asyncio.to_thread(thread.join, 10)
    finally:
        server.stop()


def _quietly(call: Callable[[], Any]) -> None:
    """Run ``call``; a connection the server closed (a broken app's) is expected."""
    with contextlib.suppress(httpx.HTTPError):
        call()


def _save(app: ScopeApp, name: str) -> None:
    # Printed once the app is gone: while it runs, print() shows as a note in it.
    app.save_screenshot(f"{name}.svg", str(OUT))
    _SAVED.append(name)


_SAVED: list[str] = []


async def shoot_stream_hex() -> None:
    """The Hex tab of a chunked response, its parts coloured, the cursor on a chunk."""
    recorder = Recorder()
    server = LoopThread(Server(Config(port=0), load_app(DEMO_APP), recorder))
    server.start()
    try:
        app = ScopeApp(recorder, app_name=DEMO_APP, url=server.url)
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.to_thread(httpx.get, f"{server.url}/stream", timeout=10)
            await settle(pilot.pause)
            await pilot.press("x")
            await settle(pilot.pause)
            hex_view = app.query_one("#hex")
            hex_view.focus()
            await pilot.press("right", *["right_square_bracket"] * 6)
            await settle(pilot.pause)
            _save(app, "inspect-hex-parts")
    finally:
        server.stop()


async def main(groups: list[str]) -> None:
    """Take the screenshots of ``groups`` (demo, fastapi, bodies, layers, attach, proxy,
    inspect; all if none)."""
    OUT.mkdir(exist_ok=True)
    if not groups or "demo" in groups:
        await shoot(
            DEMO_APP,
            demo_traffic,
            {"demo-messages": ["m", "tab", "down", "down"], "demo-hex": ["x"], "demo-scope": ["s"]},
        )
    if not groups or "fastapi" in groups:
        await shoot(
            "tests.apps.fastapi_app:app",
            fastapi_traffic,
            {
                "fastapi-scope": ["s"],
                "fastapi-messages": ["m"],
                "fastapi-hex": ["x"],
                "fastapi-timeline": ["t"],
            },
        )
    if not groups or "bodies" in groups:
        await shoot(
            "tests.apps.bodies:app",
            bodies_traffic,
            {"bodies-stream": ["E", "down"], "bodies-json": ["k", "o"]},
        )
    if not groups or "layers" in groups:
        await shoot(
            "tests.apps.layered:app",
            layered_traffic,
            {"layers-sequence": ["d"], "layers-tab": ["L"]},
            layers=True,
        )
    if not groups or "attach" in groups:
        await shoot_attach()
    if not groups or "proxy" in groups:
        await shoot_proxy()
    if not groups or "inspect" in groups:
        await shoot_inspect()
        await shoot_stream_hex()
    for name in _SAVED:
        print(f"wrote screenshots/{name}.svg")


if __name__ == "__main__":
    import sys

    asyncio.run(main(sys.argv[1:]))
