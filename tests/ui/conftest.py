"""Helpers for UI tests: run a ScopeApp on synthetic traffic and read its screen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from asgi_scope.ui.app import ScopeApp
from tests.ui.fake_traffic import Traffic, standard_trace


def screen_text(app: ScopeApp) -> str:
    """Everything on the screen, as the terminal would show it (text only)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def settle(app: ScopeApp, pilot: Any, timeout: float = 10.0) -> None:
    """Pause until the screen is up to date: no layout, scroll or repaint pending,
    no widget with a dirty region, and every message queue of the app and the
    screen's widgets empty (what a refresh posts, such as a Resize that shows a
    scrollbar, handled too). A condition, not a guess of how long that takes."""
    deadline = time.monotonic() + timeout
    while True:
        await pilot._wait_for_screen()  # what pause() does, without its guess at idleness
        app.screen._on_timer_update()  # a pending layout and repaint, done now
        await asyncio.sleep(0)
        screen = app.screen
        pending = (
            screen._layout_required
            or screen._scroll_required
            or screen._repaint_required
            or screen._dirty_widgets
        )
        pumps = [app, *screen.walk_children(with_self=True)]
        if not pending and all(pump._message_queue.empty() for pump in pumps):
            return
        assert time.monotonic() < deadline, "the screen never settled"


def run_app(
    traffic: Traffic,
    check: Callable[[ScopeApp, Any], Awaitable[None]],
    *,
    size: tuple[int, int] = (120, 40),
    **kwargs: Any,
) -> ScopeApp:
    """Start a ScopeApp on ``traffic``'s recorder, let it drain, then run ``check``."""
    kwargs.setdefault("app_name", "demo:app")
    kwargs.setdefault("url", "http://127.0.0.1:8000")
    app = ScopeApp(traffic.recorder, **kwargs)

    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await pilot.pause()
            await check(app, pilot)

    asyncio.run(main())
    return app


@pytest.fixture(autouse=True)
def no_user_keymap(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UI under test reads no keymap of the person running the tests."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def traffic() -> Traffic:
    """The standard synthetic session, already recorded."""
    return standard_trace()
