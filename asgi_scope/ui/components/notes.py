"""The server's notes (listening, lifespan, warnings): the latest on a line, all in a panel."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from asgi_scope.trace.events import ServerNote
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.summary import fmt_duration

_LEVEL_STYLES = {"info": "bold", "warning": "bold yellow", "error": "bold red", "output": "bold"}


class NotesBar(Static):
    """Shows the newest :class:`ServerNote`, styled by level, with a count of all of them."""

    COMPONENT_CLASSES = {
        "notes--info",
        "notes--warning",
        "notes--error",
        "notes--output",
        "notes--count",
    }

    def show(self, notes: Sequence[ServerNote]) -> None:
        """Show the last of ``notes`` (all notes of the store, oldest first)."""
        if not notes:
            self.update("")
            return
        note = notes[-1]
        level = note.level if note.level in _LEVEL_STYLES else "info"
        style = self.get_component_rich_style(f"notes--{level}", partial=True)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{level}: ", style)
        text.append(safe_text(note.text))
        if len(notes) > 1:
            count = self.get_component_rich_style("notes--count", partial=True)
            text.append(f"  ({len(notes)} notes: l lists them)", count)
        self.update(text)


def notes_text(notes: Sequence[ServerNote]) -> Text:
    """Every note, oldest first, one per line: time since start, level, safe text."""
    text = Text()
    for note in notes:
        text.append(f"{fmt_duration(note.t_ns):>9}  ", "dim")
        text.append(f"{safe_text(note.level):<8}", _LEVEL_STYLES.get(note.level, ""))
        text.append(safe_text(note.text) + "\n")
    if not notes:
        text.append("No notes yet.", "dim")
    text.rstrip()
    return text


class NotesScreen(ModalScreen[None]):
    """All of the server's notes in a scrollable panel; Escape or l closes it."""

    BINDINGS = [
        Binding("escape,l", "dismiss", "Close", tooltip="Close the notes panel"),
    ]

    def __init__(self, notes: Sequence[ServerNote]) -> None:
        super().__init__()
        self._notes = list(notes)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="notes-panel") as panel:
            panel.border_title = "Server notes"
            panel.border_subtitle = "Esc to close"
            yield Static(notes_text(self._notes), id="notes-text")
