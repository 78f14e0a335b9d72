"""UI tests render notification toasts (``run_test(notifications=True)``), so a
notification whose text Textual would read as markup fails the test instead of
passing unseen."""

from __future__ import annotations

from asgi_scope.trace.events import ServerNote
from tests.ui.conftest import run_app, screen_text
from tests.ui.fake_traffic import Traffic


def test_a_warning_with_markup_like_text_is_shown_as_a_toast_literally():
    traffic = Traffic()
    traffic.rec(ServerNote, conn=0, level="warning", text="app said [/] and [bold]x[/bold]")

    async def check(app, pilot):
        await pilot.pause(0.2)
        toasts = list(app.screen.query("Toast"))
        assert toasts, "no toast on screen"
        lines = [line for line in screen_text(app).splitlines() if "app said" in line]
        assert any("app said [/] and [bold]x[/bold]" in line for line in lines), lines
        assert len(lines) >= 2  # the notes bar and the toast

    run_app(traffic, check)
