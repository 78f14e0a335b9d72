"""The filter bar over the exchange table: type a filter, see the table narrow.

The text is parsed by :func:`asgi_scope.trace.filter.parse` as you type. A filter
that parses is applied at once (:class:`FilterBar.Changed`); one that does not
shows its error inline, under the text, with a caret at the position of the
problem, and the last good filter stays applied. Escape or Enter hands the keys
back to the table; the bar stays in view while a filter is active.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from asgi_scope.trace.filter import Filter, FilterError, parse
from asgi_scope.trace.safe import safe_text
from asgi_scope.ui.actions import bindings

PLACEHOLDER = "filter: ~m POST  ~c 4xx  ~p '/api/*'  ~v  ~b text  ! & |   (? for help)"


class FilterBar(Vertical):
    """An input for a filter expression, and a line for its error."""

    BINDINGS = bindings("filter")

    class Changed(Message):
        """A new filter parsed (None: the text is empty, show everything)."""

        def __init__(self, filter: Filter | None) -> None:
            super().__init__()
            self.filter = filter

    class Closed(Message):
        """The user is done typing (Escape or Enter)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.active: Filter | None = None
        """The filter applied now (the last one that parsed)."""
        self.error: FilterError | None = None
        """Why the text typed does not parse, if it does not."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="filter-input", compact=True)
        yield Static("", id="filter-error")

    @property
    def text(self) -> str:
        """The text typed."""
        return self.query_one(Input).value

    def open(self) -> None:
        """Show the bar and put the cursor in it."""
        self.display = True
        self.query_one(Input).focus()

    def set_text(self, text: str) -> None:
        """Replace the text (as if typed); the filter follows."""
        self.query_one(Input).value = text

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        error_line = self.query_one("#filter-error", Static)
        try:
            flt = parse(event.value)
        except FilterError as exc:
            self.error = exc
            error_line.display = True
            error_line.update(_error_text(event.value, exc))
            return
        self.error = None
        error_line.display = False
        error_line.update("")
        self.active = flt
        self.post_message(self.Changed(flt))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_close()

    def action_close(self) -> None:
        """Hand the keys back; hide the bar if no filter is active."""
        self.display = self.active is not None or self.error is not None
        self.post_message(self.Closed())


def _error_text(text: str, error: FilterError) -> Text:
    """A caret under the problem and what it is (the input has no border: column 0)."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(" " * min(error.position, max(len(text), 0)) + "^ ", "bold red")
    line.append(safe_text(str(error)), "red")
    line.append("  (the last good filter stays applied)", "dim")
    return line
