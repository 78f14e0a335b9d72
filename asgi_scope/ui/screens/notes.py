"""The panel of every server note (listening, lifespan, warnings, the app's output)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from asgi_scope.trace.events import ServerNote
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.summary import fmt_duration
from asgi_scope.ui.actions import bindings
from asgi_scope.ui.components.notes import LEVEL_STYLES, note_text


def notes_text(notes: Sequence[ServerNote]) -> Text:
    """Every note, oldest first, one per line: time since start, level, the exchange
    an output line was written in (``#7``), safe text."""
    text = Text()
    for note in notes:
        text.append(f"{fmt_duration(note.t_ns):>9}  ", "dim")
        text.append(f"{safe_text(note.level):<8}", LEVEL_STYLES.get(note.level, ""))
        if note.level == "output" and note.exchange:  # written while exchange 7 ran
            text.append(f"#{note.exchange} ", "bold")
        if note.level == "debug":  # a traceback: its lines, dim, below the note before it
            text.append(safe_text(note.text, keep_newlines=True), "dim")
        else:
            text.append(note_text(note))
        text.append("\n")
    if not notes:
        text.append("No notes yet.", "dim")
    text.rstrip()
    return text


class NotesScreen(ModalScreen[None]):
    """All of the server's notes in a scrollable panel, opened at the newest and
    following new ones as a log view does (Textual's anchor: a reader who scrolls
    up keeps their place; back at the end, it follows again); Escape or l
    closes it."""

    CSS_PATH = "notes.tcss"
    BINDINGS = bindings("notes")

    def __init__(self, notes: Sequence[ServerNote]) -> None:
        super().__init__()
        self._notes = list(notes)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="notes-panel") as panel:
            panel.border_title = "Server notes"
            panel.border_subtitle = "Esc to close"
            yield Static(notes_text(self._notes), id="notes-text")

    def on_mount(self) -> None:
        self.query_one("#notes-panel", VerticalScroll).anchor()

    def show(self, notes: Sequence[ServerNote]) -> None:
        """Redraw with ``notes`` (the store's, oldest first)."""
        self._notes = list(notes)
        self.query_one("#notes-text", Static).update(notes_text(self._notes))
