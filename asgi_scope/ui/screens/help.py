"""The help screen: every key, from the action table, and the filter syntax.

Keys come from :mod:`asgi_scope.ui.actions`, the table the bindings are made
from, with the user's keymap applied, so the help can never disagree with what
the keys do; the filter
syntax is :data:`asgi_scope.trace.filter.HELP`, the table the README shows too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from asgi_scope.trace.filter import HELP as FILTER_HELP
from asgi_scope.ui.actions import bindings

FOCUS_TOOLTIPS = {
    "app.focus_next": "Move the focus on: exchange table, message list, message detail "
    "(arrows and the tabs' own keys act where the focus is)",
    "app.focus_previous": "Move the focus back",
}
"""What Textual's own Tab and Shift+Tab (the screen's bindings) do here."""


def focus_bindings(bindings: Iterable[Binding]) -> list[Binding]:
    """The Tab and Shift+Tab of a screen's ``bindings``, described for the help."""
    return [
        replace(binding, tooltip=FOCUS_TOOLTIPS[binding.action])
        for binding in bindings
        if isinstance(binding, Binding) and binding.action in FOCUS_TOOLTIPS
    ]


def key_label(keys: str) -> str:
    """``"j,n"`` as ``j / n``; Textual's key names as people write them."""
    names = {
        "question_mark": "?",
        "slash": "/",
        "escape": "Esc",
        "ctrl+c": "Ctrl-C",
        "ctrl+f": "Ctrl-F",
        "ctrl+p": "Ctrl-P",
        "space": "Space",
        "enter": "Enter",
        "left": "←",
        "right": "→",
        "up": "↑",
        "down": "↓",
        "pageup": "PgUp",
        "pagedown": "PgDn",
        "home": "Home",
        "end": "End",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "tab": "Tab",
        "shift+tab": "Shift+Tab",
    }
    return " / ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))


def keys_table(bindings: Iterable[Binding]) -> Table:
    """A two-column table, key and what it does, one row per binding. Cells are
    ``Text`` (a Rich table reads a plain str as markup: ``[`` as a key, or a
    description with brackets, would be eaten or raise)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    seen = set()
    for binding in bindings:
        row = (key_label(binding.key), binding.tooltip or binding.description)
        if row in seen:
            continue
        seen.add(row)
        table.add_row(Text(row[0]), Text(row[1]))
    return table


def filter_table() -> Table:
    """The filter syntax, one row per form."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold green", no_wrap=True)
    table.add_column()
    for syntax, meaning in FILTER_HELP:
        table.add_row(Text(syntax), Text(meaning))
    return table


class HelpScreen(ModalScreen[None]):
    """Every key and the filter syntax, in a scrollable panel; Esc, q or ? closes it."""

    CSS_PATH = "help.tcss"
    BINDINGS = bindings("help")

    def __init__(self, keys: Iterable[Binding]) -> None:
        super().__init__()
        self._keys = list(keys)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-panel") as panel:
            panel.border_title = "Help"
            panel.border_subtitle = "Esc to close"
            yield Static(Text("Keys", "bold underline"), classes="help-heading")
            yield Static(keys_table(self._keys), id="help-keys")
            yield Static(Text("\nFilters (/)", "bold underline"), classes="help-heading")
            yield Static(filter_table(), id="help-filters")
            yield Static(
                Text(
                    "\nCtrl-P opens the command palette: every key above, by name. The README "
                    "has the same tables, with examples.",
                    "dim",
                )
            )
