"""The notes bar: the server's newest note (listening, lifespan, warnings) on a line;
:mod:`asgi_scope.ui.screens.notes` lists them all."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from asgi_scope.trace.events import ServerNote
from asgi_scope.trace.safe import keep_sgr, safe_text

LEVEL_STYLES = {
    "info": "bold",
    "warning": "bold yellow",
    "error": "bold red",
    "output": "bold",
    "reload": "bold cyan",
}
"""The levels a note may have, and the style of each in the notes panel."""


def note_text(note: ServerNote) -> Text:
    """A note's text, safe: the app's output (level ``output``) in its own SGR
    colours, every other control sequence escaped."""
    if note.level == "output" and "\x1b[" in note.text:
        return Text.from_ansi(keep_sgr(note.text), end="")
    return Text(safe_text(note.text))


class NotesBar(Static):
    """Shows the newest :class:`ServerNote`, styled by level, with a count of all of
    them. For a capture reopened (not ``live``) the server's notes are history: the
    bar shows only its warnings and errors, never "listening on", since nothing
    listens now."""

    COMPONENT_CLASSES = {
        "notes--info",
        "notes--warning",
        "notes--error",
        "notes--output",
        "notes--reload",
        "notes--count",
    }

    def __init__(self, live: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self._live = live

    def show(self, notes: Sequence[ServerNote]) -> None:
        """Show the last of ``notes`` (all notes of the store, oldest first)."""
        shown = notes if self._live else [n for n in notes if n.level in ("warning", "error")]
        if not shown:
            text = Text(f"recorded notes: {len(notes)}, l lists them", "dim") if notes else ""
            self.update(text)
            return
        # The newest note worth a line: a debug note (a traceback) waits in the panel.
        note = next((n for n in reversed(shown) if n.level != "debug"), shown[-1])
        level = note.level if note.level in LEVEL_STYLES else "info"
        style = self.get_component_rich_style(f"notes--{level}", partial=True)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{level}: ", style)
        text.append(note_text(note))
        if len(notes) > 1:
            count = self.get_component_rich_style("notes--count", partial=True)
            text.append(f"  ({len(notes)} notes: l lists them)", count)
        self.update(text)
