"""Keeping and sharing what the inspector shows: save a capture, export HAR,
show (and copy) a curl command or a pytest test, re-send a request.

:class:`Sharing` does them for :class:`~asgi_scope.ui.app.ScopeApp`, whose
``action_*`` methods (the targets of the key bindings) hand it the selected
exchange; the dialogs are in :mod:`asgi_scope.ui.screens.share`. Everything
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

from asgi_scope.export.curl import curl
from asgi_scope.export.har import har, write_har
from asgi_scope.export.pytest_test import pytest_test
from asgi_scope.export.redact import DEFAULT, Redactor
from asgi_scope.trace.capture import Header, write_capture
from asgi_scope.trace.events import ConnectionClosed, ConnectionOpened, Event
from asgi_scope.trace.flow import Flow, Request, flow_of
from asgi_scope.trace.safe import safe_text
from asgi_scope.ui.screens.share import PathScreen, ResendScreen, TextScreen

if TYPE_CHECKING:
    from textual.app import App

    from asgi_scope.trace.store import Exchange, Store


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


def export_har(
    path: str, events: list[Event], kept: list[int], started_ns: int, redact: Redactor
) -> str:
    """Write the HAR of the exchanges ``kept`` (those the inspector still shows)
    rebuilt from ``events``, redacted by ``redact``; return what was written
    ("3 entries"). Runs in a worker thread, on its own store."""
    from asgi_scope.trace.flow import flows
    from asgi_scope.trace.store import Store

    store = Store()
    store.add(events)
    chosen = flows(store, [i for i in kept if i in store.exchanges])
    write_har(path, har(chosen, started_ns, redact=redact))
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


class Sharing:
    """The save, export and re-send actions of the inspector.

    Each action is given the exchange it is about (the app's
    ``selected_exchange``); the class opens its dialogs and notifications on
    ``app``, reads ``store``, stamps files with ``session_header()``, redacts
    what it exports with ``redact`` (the share dialog's ``a`` shows all) and
    re-sends to ``resend_url`` (None: no server runs, a capture was opened).
    """

    def __init__(
        self,
        app: App[Any],
        store: Store,
        session_header: Callable[[], Header],
        resend_url: str | None,
        redact: Redactor = DEFAULT,
    ) -> None:
        self.app = app
        self.redact = redact
        self.store = store
        self.session_header = session_header
        self.resend_url = resend_url

    # -- helpers --------------------------------------------------------------

    def _redactor(self, redact: bool) -> Redactor | None:
        """The redactor for the share dialog's state (``a`` toggles it off)."""
        return self.redact if redact else None

    def _http_flow(self, exchange: Exchange | None) -> Flow | None:
        flow = flow_of(self.store, exchange) if exchange is not None else None
        if flow is None or flow.kind != "http":
            self.app.notify("Select an HTTP exchange first", severity="warning")
            return None
        return flow

    def _write_in_worker(self, what: str, path: str, write: Callable[[], object]) -> None:
        self.app.run_worker(self._write_file(what, path, write), exit_on_error=False)

    async def _write_file(self, what: str, path: str, write: Callable[[], object]) -> None:
        app = self.app
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

    def save_capture(self) -> None:
        """Save the whole session as a capture file (asgi-scope open reads it)."""
        events = list(self.store.events)
        header = self.session_header()

        def chosen(path: str | None) -> None:
            if path:
                self._write_in_worker(
                    "the session", path, lambda: write_capture(path, header, events)
                )

        self.app.push_screen(PathScreen("Save the session", default_name(".jsonl")), chosen)

    def save_exchange(self, exchange: Exchange | None) -> None:
        """Save ``exchange`` (and its connection's open and close) as a capture file."""
        if exchange is None:
            self.app.notify("Select an exchange first", severity="warning")
            return
        selected = exchange.id
        events = exchange_events(self.store, selected)
        header = self.session_header()

        def chosen(path: str | None) -> None:
            if path:
                self._write_in_worker(
                    f"exchange #{selected}", path, lambda: write_capture(path, header, events)
                )

        self.app.push_screen(
            PathScreen(f"Save exchange #{selected}", default_name(f"-{selected}.jsonl")), chosen
        )

    def export_har(self) -> None:
        """Export every HTTP and WebSocket exchange as HAR 1.2 (credentials redacted).

        The HAR is built in the worker thread, from a copy of the session (the
        live store is not thread-safe): a big session does not freeze the UI,
        and a capture the exporter cannot handle is a notification.
        """
        events = list(self.store.events)
        kept = sorted(self.store.exchanges)
        header = self.session_header()

        def chosen(path: str | None) -> None:
            if path:
                self._write_in_worker(
                    "HAR",
                    path,
                    lambda: export_har(path, events, kept, header.started_ns, self.redact),
                )

        self.app.push_screen(PathScreen("Export HAR 1.2", default_name(".har")), chosen)

    def show_curl(self, exchange: Exchange | None) -> None:
        """Show ``exchange``'s request as a curl command, and copy it."""
        flow = self._http_flow(exchange)
        if flow is not None:
            request = flow.request
            title = f"curl for exchange #{flow.exchange}"
            self.app.push_screen(
                TextScreen(title, lambda redact: curl(request, redact=self._redactor(redact)))
            )

    def show_pytest(self, exchange: Exchange | None) -> None:
        """Show a pytest regression test of ``exchange``, and copy it."""
        flow = self._http_flow(exchange)
        if flow is None:
            return
        header = self.session_header()
        factory = bool(header.options.get("factory"))
        try:
            pytest_test(flow, header.app, factory=factory)
        except (ValueError, RecursionError) as exc:  # json.loads of a hostile body
            self.app.notify(safe_text(str(exc)), severity="warning", markup=False)
            return
        self.app.push_screen(
            TextScreen(
                f"pytest test for exchange #{flow.exchange}",
                lambda redact: pytest_test(
                    flow, header.app, factory=factory, redact=self._redactor(redact)
                ),
            )
        )

    def show_raw(self, exchange: Exchange | None) -> None:
        """Show ``exchange``'s raw request bytes as received (escaped), and copy them."""
        from asgi_scope.export.raw import raw_request

        if exchange is None:
            self.app.notify("Select an exchange first", severity="warning")
            return
        store = self.store

        def render(redact: bool) -> str:
            return raw_request(store, exchange, redact=self._redactor(redact)).decode("latin-1")

        self.app.push_screen(TextScreen(f"raw request bytes of exchange #{exchange.id}", render))

    def resend(self, exchange: Exchange | None) -> None:
        """Send ``exchange``'s request again to the app; the new exchange appears."""
        flow = self._http_flow(exchange)
        if flow is not None:
            self._resend(flow.request, flow.exchange)

    def edit_resend(self, exchange: Exchange | None) -> None:
        """Edit ``exchange``'s request (method, target, headers, body), then send it."""
        flow = self._http_flow(exchange)
        if flow is None:
            return
        why = not_editable(flow.request)
        if why:
            self.app.notify(
                f"Cannot edit this request: {why}. Press r to re-send it unchanged.",
                severity="warning",
                markup=False,
            )
            return

        def chosen(request: Request | None) -> None:
            if request is not None:
                self._resend(request, flow.exchange)

        self.app.push_screen(ResendScreen(flow.request), chosen)

    def _resend(self, request: Request, origin: int) -> None:
        app = self.app
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
