"""Pin the look of the UI on a fixed synthetic trace (pytest-textual-snapshot)."""

from __future__ import annotations

from asgi_scope.trace.tracecontext import SESSION
from asgi_scope.ui.app import ScopeApp
from tests.ui.fake_traffic import standard_trace


def make_app() -> ScopeApp:
    traffic = standard_trace()
    return ScopeApp(traffic.recorder, app_name="demo:app", url="http://127.0.0.1:8000")


async def select_post(pilot) -> None:
    await pilot.pause()
    await pilot.press("k", "k")  # from exchange 5 (newest) to 3, the POST
    await pilot.pause()


def test_snapshot_messages_80x24(snap_compare):
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=select_post)


def test_snapshot_scope_120x36(snap_compare, monkeypatch):
    # The OpenTelemetry ids are keyed per process (trace/tracecontext.py): fixed here.
    monkeypatch.setattr(SESSION, "_key", bytes(16))

    async def scope_tab(pilot) -> None:
        await select_post(pilot)
        await pilot.press("s")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(120, 36), run_before=scope_tab)
