"""The dialogs of sharing: a file name to write, generated text to read and copy
(curl, a pytest test, raw bytes), and a form to edit a request before re-sending it."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static, TextArea

from asgi_scope.trace.flow import Request
from asgi_scope.trace.safe import safe_text
from asgi_scope.ui.actions import bindings


def parse_headers(text: str) -> list[tuple[bytes, bytes]]:
    """``name: value`` lines (blank lines skipped) as header pairs. Raises
    ``ValueError`` for a line without a colon."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"header line {number} is not 'name: value'")
        out.append((name.strip().lower().encode("latin-1"), value.strip().encode("latin-1")))
    return out


class PathScreen(ModalScreen[str | None]):
    """Asks for a file name; dismisses with it (Enter) or None (Escape)."""

    CSS_PATH = "share.tcss"
    BINDINGS = bindings("path")

    def __init__(self, title: str, default: str) -> None:
        super().__init__()
        self._title = title
        self._default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="share-dialog") as box:
            box.border_title = self._title
            box.border_subtitle = "Enter to write, Esc to cancel"
            yield Input(self._default, id="share-path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class TextScreen(ModalScreen[None]):
    """Shows generated text (a curl command, a pytest test), copied to the
    clipboard when it opens and again with ``c``; ``a`` shows or hides the
    credentials (it is made by ``render(redact)``)."""

    CSS_PATH = "share.tcss"
    BINDINGS = bindings("text")

    def __init__(self, title: str, render: Callable[[bool], str]) -> None:
        super().__init__()
        self._title = title
        self._make = render
        self.redact = True
        self.text = render(True)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="share-text-panel") as panel:
            panel.border_title = self._title
            panel.border_subtitle = "c copy · a credentials · Esc close"
            yield Static(self._display(), id="share-text")

    def _display(self) -> Text:
        return Text(safe_text(self.text, keep_newlines=True))

    def on_mount(self) -> None:
        self.action_copy()

    def action_copy(self) -> None:
        """Copy the text to the clipboard (OSC 52: where the terminal allows it)."""
        self.app.copy_to_clipboard(self.text)
        self.notify("Copied to the clipboard (if the terminal allows it)", timeout=2)

    def action_toggle_redact(self) -> None:
        """Show or hide the values of credential headers."""
        self.redact = not self.redact
        self.text = self._make(self.redact)
        self.query_one("#share-text", Static).update(self._display())


class ResendScreen(ModalScreen[Request | None]):
    """A small form to edit a request before re-sending it: method, target,
    headers (one ``name: value`` a line) and body (UTF-8 text)."""

    CSS_PATH = "share.tcss"
    BINDINGS = bindings("resend")

    def __init__(self, request: Request) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        req = self.request
        headers = "\n".join(f"{n.decode('latin-1')}: {v.decode('latin-1')}" for n, v in req.headers)
        with Vertical(id="resend-form") as box:
            box.border_title = "Edit and re-send"
            box.border_subtitle = "ctrl+s send · Esc cancel"
            yield Label("Method and target")
            yield Input(req.method, id="resend-method")
            yield Input(req.target, id="resend-target")
            yield Label("Headers (name: value)")
            yield TextArea(headers, id="resend-headers")
            yield Label("Body")
            yield TextArea(req.body.decode("utf-8", "replace"), id="resend-body")

    def action_send(self) -> None:
        method = self.query_one("#resend-method", Input).value.strip().upper()
        target = self.query_one("#resend-target", Input).value.strip()
        if not method.isalpha() or not target.startswith("/"):
            self.notify(
                "A method (letters) and a target starting with /", severity="error", markup=False
            )
            return
        try:
            headers = parse_headers(self.query_one("#resend-headers", TextArea).text)
        except ValueError as exc:  # a UnicodeEncodeError quotes what was typed
            self.notify(safe_text(str(exc)), severity="error", markup=False)
            return
        body = self.query_one("#resend-body", TextArea).text.encode("utf-8")
        req = self.request
        self.dismiss(
            Request(
                method, req.scheme, req.host, target, req.http_version, headers, body, len(body)
            )
        )
