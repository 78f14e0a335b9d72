"""Keeping and sharing what the inspector shows: save a capture, export HAR,
show (and copy) a curl command or a pytest test, re-send a request.

:class:`ShareActions` is mixed into :class:`~asgi_scope.ui.app.ScopeApp`; its
``action_*`` methods are the targets of the app's key bindings. Everything
written is built by :mod:`asgi_scope.trace.capture` and :mod:`asgi_scope.export`
from the same store the views read; files are written in a worker thread, and
a re-send goes to the server's URL over HTTP from a worker thread (the UI never
touches the server itself).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static, TextArea

from asgi_scope.export.curl import curl
from asgi_scope.export.har import har, write_har
from asgi_scope.export.pytest_test import pytest_test
from asgi_scope.trace.capture import Header, wall_clock_at_zero, write_capture
from asgi_scope.trace.events import ConnectionClosed, ConnectionOpened, Event
from asgi_scope.trace.flow import Flow, Request, flow_of
from asgi_scope.trace.safe import safe_text

if TYPE_CHECKING:
    from asgi_scope.trace.store import Store


def default_name(suffix: str) -> str:
    """``asgi-scope-20261122-001500.jsonl``: a file name for now, local time."""
    return time.strftime(f"asgi-scope-%Y%m%d-%H%M%S{suffix}")


def exchange_events(store: Store, exchange_id: int) -> list[Event]:
    """The events of one exchange, with its connection's open and close, in order
    (what "save the selected exchange" writes; byte offsets stay valid)."""
    exchange = store.exchanges[exchange_id]
    return [
        e
        for e in store.events
        if getattr(e, "exchange", None) == exchange_id
        or (e.conn == exchange.conn and isinstance(e, (ConnectionOpened, ConnectionClosed)))
    ]


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


def export_har(path: str, events: list[Event], kept: list[int], started_ns: int) -> str:
    """Write the HAR of the exchanges ``kept`` (those the inspector still shows)
    rebuilt from ``events``; return what was written ("3 entries"). Runs in a
    worker thread, on its own store."""
    from asgi_scope.trace.flow import flows
    from asgi_scope.trace.store import Store

    store = Store()
    store.add(events)
    chosen = flows(store, [i for i in kept if i in store.exchanges])
    write_har(path, har(chosen, started_ns))
    return f"{len(chosen)} entries"


def not_editable(request: Request) -> str:
    """Why ``request`` cannot go into the edit form, or "" if it can.

    Textual's ``Input`` and ``TextArea`` write their text to the terminal as it
    is (ESC, OSC and C1 bytes included), and the form edits text: a body that
    is not UTF-8, or a target, header or body with control characters (or
    bidi tricks), is refused; ``r`` re-sends it byte for byte.
    """
    try:
        body = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return "its body is not UTF-8 text"
    if safe_text(body, keep_newlines=True) != body:
        return "its body has control characters"
    if safe_text(request.target) != request.target:
        return "its target has control characters"
    for name, value in request.headers:
        for text in (name.decode("latin-1"), value.decode("latin-1")):
            if safe_text(text) != text:
                return f"header {safe_text(name.decode('latin-1'))} has control characters"
    return ""


class PathScreen(ModalScreen[str | None]):
    """Asks for a file name; dismisses with it (Enter) or None (Escape)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

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

    BINDINGS = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("c", "copy", "Copy"),
        Binding("a", "toggle_redact", "Credentials"),
    ]

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

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "send", "Send"),
    ]

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


class ShareActions:
    """The save, export and re-send actions of the inspector (a mixin for
    :class:`~asgi_scope.ui.app.ScopeApp`, which provides ``store``, ``recorder``,
    ``app_name``, ``capture_header``, ``resend_url`` and the selected exchange)."""

    store: Store
    recorder: Any
    app_name: str
    capture_header: Header | None
    resend_url: str | None

    # -- helpers (self is the App) --------------------------------------------

    def _session_header(self) -> Header:
        if self.capture_header is not None:
            return self.capture_header
        now = self.recorder.now()
        return Header(self.app_name, wall_clock_at_zero(now), {"max_body": self.recorder.max_body})

    def _selected_flow(self) -> Flow | None:
        app: Any = self
        selected = app._table.selected_id
        exchange = self.store.exchanges.get(selected) if selected is not None else None
        flow = flow_of(self.store, exchange) if exchange is not None else None
        if flow is None or flow.kind != "http":
            app.notify("Select an HTTP exchange first", severity="warning")
            return None
        return flow

    async def _write_file(self, what: str, path: str, write: Callable[[], object]) -> None:
        app: Any = self
        try:
            result = await asyncio.to_thread(write)
        except Exception as exc:  # a full disk, a bad path, a capture the exporter cannot handle
            app.notify(
                f"Could not write {safe_text(path)}: {type(exc).__name__}: {safe_text(str(exc))}",
                severity="error",
                markup=False,
            )
            return
        count = (
            f" ({result} events)"
            if isinstance(result, int)
            else f" ({result})"
            if isinstance(result, str)
            else ""
        )
        app.notify(f"Wrote {what} to {safe_text(path)}{count}", markup=False)

    # -- actions ----------------------------------------------------------------

    def action_save_capture(self) -> None:
        """Save the whole session as a capture file (asgi-scope open reads it)."""
        app: Any = self
        events = list(self.store.events)
        header = self._session_header()

        def chosen(path: str | None) -> None:
            if path:
                write = lambda: write_capture(path, header, events)  # noqa: E731
                app.run_worker(self._write_file("the session", path, write), exit_on_error=False)

        app.push_screen(PathScreen("Save the session", default_name(".jsonl")), chosen)

    def action_save_exchange(self) -> None:
        """Save the selected exchange (and its connection) as a capture file."""
        app: Any = self
        selected = app._table.selected_id
        if selected is None or selected not in self.store.exchanges:
            app.notify("Select an exchange first", severity="warning")
            return
        events = exchange_events(self.store, selected)
        header = self._session_header()

        def chosen(path: str | None) -> None:
            if path:
                app.run_worker(
                    self._write_file(
                        f"exchange #{selected}", path, lambda: write_capture(path, header, events)
                    ),
                    exit_on_error=False,
                )

        app.push_screen(
            PathScreen(f"Save exchange #{selected}", default_name(f"-{selected}.jsonl")), chosen
        )

    def action_export_har(self) -> None:
        """Export every HTTP and WebSocket exchange as HAR 1.2 (credentials redacted).

        The HAR is built in the worker thread, from a copy of the session (the
        live store is not thread-safe): a big session does not freeze the UI,
        and a capture the exporter cannot handle is a notification.
        """
        app: Any = self
        events = list(self.store.events)
        kept = sorted(self.store.exchanges)
        header = self._session_header()

        def chosen(path: str | None) -> None:
            if path:
                app.run_worker(
                    self._write_file(
                        "HAR", path, lambda: export_har(path, events, kept, header.started_ns)
                    ),
                    exit_on_error=False,
                )

        app.push_screen(PathScreen("Export HAR 1.2", default_name(".har")), chosen)

    def action_show_curl(self) -> None:
        """Show the selected request as a curl command, and copy it."""
        flow = self._selected_flow()
        if flow is not None:
            request = flow.request
            title = f"curl for exchange #{flow.exchange}"
            app: Any = self
            app.push_screen(TextScreen(title, lambda redact: curl(request, redact=redact)))

    def action_show_pytest(self) -> None:
        """Show a pytest regression test of the selected exchange, and copy it."""
        flow = self._selected_flow()
        if flow is None:
            return
        header = self._session_header()
        factory = bool(header.options.get("factory"))
        app: Any = self
        try:
            pytest_test(flow, header.app, factory=factory)
        except (ValueError, RecursionError) as exc:  # json.loads of a hostile body
            app.notify(safe_text(str(exc)), severity="warning", markup=False)
            return
        app.push_screen(
            TextScreen(
                f"pytest test for exchange #{flow.exchange}",
                lambda redact: pytest_test(flow, header.app, factory=factory, redact=redact),
            )
        )

    def action_show_raw(self) -> None:
        """Show the selected request's raw bytes as received (escaped), and copy them."""
        from asgi_scope.export.raw import raw_request

        app: Any = self
        selected = app._table.selected_id
        exchange = self.store.exchanges.get(selected) if selected is not None else None
        if exchange is None:
            app.notify("Select an exchange first", severity="warning")
            return
        store = self.store

        def render(redact: bool) -> str:
            return raw_request(store, exchange, redact=redact).decode("latin-1")

        app.push_screen(TextScreen(f"raw request bytes of exchange #{exchange.id}", render))

    def action_resend(self) -> None:
        """Send the selected request again to the app; the new exchange appears."""
        flow = self._selected_flow()
        if flow is not None:
            self._resend(flow.request, flow.exchange)

    def action_edit_resend(self) -> None:
        """Edit the selected request (method, target, headers, body), then send it."""
        flow = self._selected_flow()
        if flow is None:
            return
        app: Any = self
        why = not_editable(flow.request)
        if why:
            app.notify(
                f"Cannot edit this request: {why}. Press r to re-send it unchanged.",
                severity="warning",
                markup=False,
            )
            return

        def chosen(request: Request | None) -> None:
            if request is not None:
                self._resend(request, flow.exchange)

        app.push_screen(ResendScreen(flow.request), chosen)

    def _resend(self, request: Request, origin: int) -> None:
        app: Any = self
        if not self.resend_url:
            app.notify("No server is running: re-send works on a live session", severity="warning")
            return
        url = self.resend_url

        async def send() -> None:
            from asgi_scope.export.resend import resend

            try:
                answer = await asyncio.to_thread(resend, request, url)
            except Exception as exc:  # refused, timed out, broken response: say so
                app.notify(f"Re-send failed: {safe_text(str(exc))}", severity="error", markup=False)
                return
            app.notify(
                f"Re-sent #{origin}: {answer.status} {safe_text(answer.reason)}", markup=False
            )

        app.run_worker(send(), exit_on_error=False)
