"""Regenerate ``screenshots/``: SVGs of the TUI showing real traffic.

Run from the repository root::

    .venv/bin/python -m tests.screenshots

Each shot starts the real server on a free port with a real app (the demo app,
the FastAPI test app), sends real requests with httpx, and saves what the
Textual app shows, at 120x36.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from asgi_scope.config import DEMO_APP, Config
from asgi_scope.importer import load_app
from asgi_scope.server.runner import ServerThread
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


async def shoot(spec: str, traffic: Traffic, shots: dict[str, list[str]]) -> None:
    """Serve ``spec``, send ``traffic``, then for each ``name: keys`` press the
    keys and save ``screenshots/NAME.svg``."""
    recorder = Recorder()
    server = ServerThread(Config(app=spec, port=0), load_app(spec), recorder)
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
                app.save_screenshot(f"{name}.svg", str(OUT))
                print(f"wrote screenshots/{name}.svg")
    finally:
        server.stop()


async def settle(pause: Callable[[float], Awaitable[None]]) -> None:
    """Let a few drains and refreshes happen."""
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        await pause(0.05)


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    await shoot(
        DEMO_APP,
        demo_traffic,
        {"demo-messages": ["m", "tab", "down", "down"], "demo-hex": ["x"], "demo-scope": ["s"]},
    )
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


if __name__ == "__main__":
    asyncio.run(main())
