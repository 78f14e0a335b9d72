"""Helpers for UI tests: run a ScopeApp on synthetic traffic and read its screen."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from asgi_scope.ui.app import ScopeApp
from tests.ui.fake_traffic import Traffic, standard_trace


def screen_text(app: ScopeApp) -> str:
    """Everything on the screen, as the terminal would show it (text only)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


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
