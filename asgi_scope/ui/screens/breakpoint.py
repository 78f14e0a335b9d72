"""The prompt for step mode's breakpoint: a filter of the exchanges to step through."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from asgi_scope.trace.filter import FilterError, parse
from asgi_scope.trace.safe import safe_text
from asgi_scope.ui.actions import bindings


class BreakpointScreen(ModalScreen[str | None]):
    """A prompt for step mode's breakpoint: a filter (empty: every exchange).

    A filter that does not parse shows why under the text and cannot be
    submitted; Escape keeps the breakpoint as it was.
    """

    CSS_PATH = "breakpoint.tcss"
    BINDINGS = bindings("breakpoint")

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="breakpoint-panel"):
            yield Static(
                Text("Step only through exchanges matching (a filter; empty: all)", "bold")
            )
            yield Input(
                value=self._text, placeholder="~m POST & ~p '/api/*'", id="breakpoint-input"
            )
            yield Static("", id="breakpoint-error")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        error = self.query_one("#breakpoint-error", Static)
        try:
            parse(event.value)
        except FilterError as exc:
            error.update(Text(f"^ at {exc.position + 1}: {safe_text(str(exc))}", "red"))
        else:
            error.update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            parse(event.value)
        except FilterError:
            return  # the error is on screen
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
