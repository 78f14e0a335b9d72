"""The prompt for a search of the selected exchange's messages
(:mod:`asgi_scope.ui.search` does the matching)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from asgi_scope.ui.actions import bindings


class SearchScreen(ModalScreen[str | None]):
    """A one-line prompt for a search term; Enter returns it, Escape returns None."""

    CSS_PATH = "search.tcss"
    BINDINGS = bindings("search")

    def __init__(self, term: str = "") -> None:
        super().__init__()
        self._term = term

    def compose(self) -> ComposeResult:
        with Vertical(id="search-panel"):
            yield Static(
                Text("Search the messages (full stored bodies; Enter again: next)", "bold")
            )
            yield Input(value=self._term, placeholder="text", id="search-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
