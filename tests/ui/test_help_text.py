"""The help tables hold Text, never markup: a key ``[`` or a description with
brackets shows as written (a Rich table parses a plain str as markup)."""

from __future__ import annotations

import io

from rich.console import Console
from textual.binding import Binding

from asgi_scope.ui.screens.help import filter_table, keys_table


def rendered(renderable) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_key_descriptions_with_brackets_show_as_written() -> None:
    table = keys_table(
        [
            Binding("left_square_bracket", "a", "Prev", tooltip="Previous [bold]match[/bold]"),
            Binding("right_square_bracket", "b", "Next", tooltip="closes [/] nothing"),
        ]
    )
    text = rendered(table)
    assert "Previous [bold]match[/bold]" in text
    assert "closes [/] nothing" in text


def test_the_filter_table_renders() -> None:
    assert "status" in rendered(filter_table())
