"""The message editor: step mode's edit of a held message (M), and the WebSocket
composer (I). One text area; what it holds is read back by the caller's
``parse`` (:mod:`asgi_scope.trace.edit`) when the user saves."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from asgi_scope.trace.edit import EditError
from asgi_scope.trace.safe import safe_text
from asgi_scope.ui.actions import bindings

Parse = Callable[[str, "bool | None"], dict[str, Any]]
"""The editor's text (and whether it is hex) → the message; raises EditError."""


class EditorScreen(ModalScreen[dict[str, Any] | None]):
    """Edit ``text`` and save it as a message (``parse`` reads it back), or cancel.

    ``title`` names what is edited. ``binary`` says whether the text is a binary
    message's bytes in hex (None: no such choice; ctrl+t switches otherwise).
    Text that ``parse`` refuses shows why, in one line under it, and the editor
    stays open. Dismissed with the message, or None when cancelled.
    """

    CSS_PATH = "editor.tcss"
    BINDINGS = bindings("editor")

    def __init__(self, title: str, text: str, parse: Parse, binary: bool | None = None) -> None:
        super().__init__()
        self._title = title
        self._text = text
        self._parse = parse
        self.binary = binary

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-panel") as box:
            box.border_title = safe_text(self._title)
            box.border_subtitle = "ctrl+s send · Esc cancel"
            yield Static(self._mode(), id="editor-mode")
            yield TextArea(self._text, id="editor-text", soft_wrap=True)
            yield Static("", id="editor-error")

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)  # where a header or more text is added

    def _mode(self) -> Text:
        if self.binary is None:
            return Text("")
        kind = "binary, its bytes in hex" if self.binary else "text"
        return Text(f"a {kind} message (ctrl+t: {'text' if self.binary else 'binary'})", "dim")

    def action_save(self) -> None:
        """Send the edit on, if it reads as a message; else say why and stay."""
        text = self.query_one(TextArea).text
        try:
            message = self._parse(text, self.binary)
        except EditError as exc:
            self.query_one("#editor-error", Static).update(Text(safe_text(str(exc)), "bold red"))
            return
        self.dismiss(message)

    def action_toggle_binary(self) -> None:
        """A WebSocket message: text or binary (the text becomes its UTF-8 in hex,
        hex that is UTF-8 becomes its text)."""
        if self.binary is None:
            return
        area = self.query_one(TextArea)
        if self.binary:
            with contextlib.suppress(ValueError):  # not hex, or not UTF-8: read as text now
                area.text = bytes.fromhex("".join(area.text.split())).decode("utf-8")
        else:
            area.text = area.text.encode("utf-8", "replace").hex(" ")
        self.binary = not self.binary
        self.query_one("#editor-mode", Static).update(self._mode())

    def action_cancel(self) -> None:
        """Close; nothing is sent (a held message stays held)."""
        self.dismiss(None)
