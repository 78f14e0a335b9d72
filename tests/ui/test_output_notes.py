"""The app's output in the notes: its SGR colours as styles, anything else escaped."""

from __future__ import annotations

from asgi_scope.trace.events import ServerNote
from asgi_scope.ui.components.notes import note_text


def test_output_shows_its_colours_and_escapes_the_rest() -> None:
    note = ServerNote(1, 0, 0, "output", "\x1b[31mred\x1b[0m copy \x1b]52;c;aGk=\x07")
    text = note_text(note)
    assert text.plain == "red copy \\x1b]52;c;aGk=\\x07"
    assert [(s.start, s.end, s.style.color.number) for s in text.spans] == [(0, 3, 1)]  # red


def test_a_server_note_is_never_decoded_as_ansi() -> None:
    note = ServerNote(1, 0, 0, "info", "\x1b[31mnot from the app")
    assert note_text(note).plain == "\\x1b[31mnot from the app"
    assert not note_text(note).spans
