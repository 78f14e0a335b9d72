"""The Textual app: drains the recorder on a timer and keeps every view current.

The server runs in another thread and appends events to a
:class:`~asgi_scope.trace.recorder.Recorder`. Thirty times a second the app drains
them in one batch into its :class:`~asgi_scope.trace.store.Store` and refreshes only
the rows, counters and tab the batch touched: never one Textual message per event.
The drains keep that pace under load too: the server runs in the app process, so a
redraw takes nothing from it, and a new row waits at most one TICK for its drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Vertical
from textual.events import Event, Key, Print, Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from asgi_scope.export.redact import DEFAULT, Redactor
from asgi_scope.trace.capture import Header, Playback, wall_clock_at_zero
from asgi_scope.trace.edit import DROPPABLE, NotEditable, composed, editable, edited
from asgi_scope.trace.events import ServerNote
from asgi_scope.trace.filter import parse as parse_filter
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.step import Gate, Held
from asgi_scope.trace.store import Exchange, Store
from asgi_scope.trace.summary import message_type
from asgi_scope.trace.view import Change, View
from asgi_scope.ui.actions import HELP_PLACES, Action, actions, bindings, keys_of
from asgi_scope.ui.components.detail.messages import MessagesView
from asgi_scope.ui.components.detail.pane import DetailPane
from asgi_scope.ui.components.exchanges import ExchangeTable
from asgi_scope.ui.components.filter_bar import FilterBar
from asgi_scope.ui.components.header import ScopeHeader
from asgi_scope.ui.components.notes import NotesBar
from asgi_scope.ui.components.step_bar import StepBar, next_words
from asgi_scope.ui.keymap import keymap_path, load_keymap
from asgi_scope.ui.latency import LatencyLog
from asgi_scope.ui.palette import ActionsProvider
from asgi_scope.ui.screens.breakpoint import BreakpointScreen
from asgi_scope.ui.screens.editor import EditorScreen
from asgi_scope.ui.screens.help import HelpScreen, focus_bindings
from asgi_scope.ui.screens.notes import NotesScreen
from asgi_scope.ui.screens.search import SearchScreen
from asgi_scope.ui.share import Sharing

TICK = 1 / 30
"""Seconds from one drain's start to the next's (a tenth of it after the drain's
end if the drain took longer): a new row shows within 100 ms of its exchange's
end (a drain's wait, the drain, then a redraw)."""

RUNNING_EVERY = 15
"""Idle ticks between refreshes of running durations (about twice a second)."""

DETAIL_EVERY_NS = 250_000_000
"""While following a busy server, the detail pane moves to the newest exchange at
most this often (ns); the table's rows are never held back, and a pane the user
moved to is drawn at once."""

NARROW = 110
"""Below this many columns the Messages tab stacks its list over the detail."""


class _CurrentStream:
    """A stream that writes to ``sys.stdout`` or ``sys.stderr`` as they are at each
    write (``name``: ``"stdout"`` or ``"stderr"``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        return getattr(sys, self.name).write(text)

    def flush(self) -> None:
        getattr(sys, self.name).flush()


@contextlib.contextmanager
def logging_follows_stdio() -> Iterator[None]:
    """While the block runs (the TUI), every logging handler that writes to the
    terminal writes to ``sys.stdout``/``sys.stderr`` as they are at the time:
    under the TUI, Textual's capture, which shows each line as an output note.

    An app that set up logging when it was imported (``logging.basicConfig()``)
    holds the terminal's own streams in its handlers; their lines would
    otherwise be written raw over the TUI's screen. The handlers get their
    streams back at the end.
    """
    terminal = {
        id(stream): name
        for name in ("stdout", "stderr")
        for stream in (getattr(sys, name), getattr(sys, f"__{name}__"))
        if stream is not None
    }
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    moved = []
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):  # placeholders have none
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and id(stream) in terminal:
                moved.append((handler, handler.setStream(_CurrentStream(terminal[id(stream)]))))
    try:
        yield
    finally:
        for handler, stream in moved:
            handler.setStream(stream)


OTLP_AT = "OTLP at "
"""How the URL of ``attach --otlp-listen`` starts (remote/otlp_listen.py)."""


def empty_state(url: str) -> Text:
    """The friendly text shown before the first request: how to send one."""
    url = safe_text(url)
    text = Text(justify="center")
    # asgi-scope attach: a stream address and/or "OTLP at http://…", not a server
    parts = url.split(" + ")
    otlp = [p.removeprefix(OTLP_AT) for p in parts if p.startswith(OTLP_AT)]
    streams = [p for p in parts if not p.startswith(("http", OTLP_AT))]
    if streams:
        text.append("Waiting for a stream…\n\n", "bold")
        text.append("Wrap your app, served by uvicorn, hypercorn or any ASGI server:\n\n")
        text.append("  from asgi_scope import TraceMiddleware  \n", "reverse")
        text.append(f'  app = TraceMiddleware(app, sink="{streams[0]}")  \n\n', "reverse")
        text.append("Every worker that streams here shows up, with its pid.\n", "")
        text.append("Scopes and ASGI messages show here; raw bytes need our own server.", "dim")
    if otlp:
        text.append("\n\n" if streams else "")
        text.append("Waiting for OpenTelemetry spans…\n\n", "bold")
        text.append("Point an OpenTelemetry-instrumented app's OTLP/HTTP exporter here:\n\n")
        text.append(f"  OTEL_EXPORTER_OTLP_ENDPOINT={otlp[0]}  \n\n", "reverse")
        text.append("Each SERVER span shows up as an exchange: no bytes, no scope.", "dim")
    if streams or otlp:
        return text
    text.append("Waiting for the first request…\n\n", "bold")
    text.append("Send one from another terminal:\n\n")
    text.append(f"  curl {url.rstrip('/')}/  \n\n", "reverse")
    text.append(f"or open {url} in a browser.\n", "")
    text.append("Every scope, ASGI message and raw byte shows up here, live.", "dim")
    return text


def _open_websocket(exchange: Exchange) -> bool:
    """Whether ``exchange`` is a WebSocket the app accepted that is still open."""
    return (
        exchange.kind == "websocket"
        and exchange.status == 101
        and exchange.close_code is None
        and exchange.t_end is None
    )


class ScopeApp(App[None]):
    """Live view of one ASGI app: exchanges, messages, scopes, bytes and timings.

    ``recorder`` is filled by the server thread; ``app_name`` and ``url`` are shown
    in the header; ``on_quit`` is called in a worker thread when the user quits, and
    may block while the server shuts down gracefully; it is called once more if the
    user quits again meanwhile, to stop at once.
    """

    CSS_PATH = [
        "app.tcss",
        "components/header.tcss",
        "components/notes.tcss",
        "components/exchanges.tcss",
        "components/detail/pane.tcss",
        "components/detail/messages.tcss",
        "components/detail/body_view.tcss",
        "components/detail/stream_view.tcss",
        "components/detail/scope_view.tcss",
        "components/detail/hex_view.tcss",
        "components/detail/timeline.tcss",
        "components/detail/sequence.tcss",
        "components/detail/layers_view.tcss",
        "components/filter_bar.tcss",
        "components/step_bar.tcss",
    ]
    """The main screen's styles, a file beside each component; each modal screen
    loads its own (its ``CSS_PATH``) when first shown."""
    TITLE = "asgi-scope"

    BINDINGS = bindings("app")
    COMMANDS = App.COMMANDS | {ActionsProvider}

    def __init__(
        self,
        recorder: Recorder,
        *,
        app_name: str,
        url: str,
        on_quit: Callable[[], None] | None = None,
        header: Header | None = None,
        resend_url: str | None = None,
        keep: int | None = None,
        keep_bytes: int | None = None,
        redact: Redactor = DEFAULT,
    ) -> None:
        super().__init__()
        self.recorder = recorder
        """Where the server appends events; drained on a timer."""
        self.store = Store(keep, keep_bytes)
        """Everything drained so far (read-only for views)."""
        self.app_name = app_name
        self.url = url
        self.on_quit = on_quit
        self.capture_header = header
        """What a saved capture's header says (app, start time, options)."""
        self.resend_url = resend_url
        """The server a re-sent request goes to; None when no server runs."""
        self.view = View()
        """The exchange table's rows, filter, focus and follow mode (trace/view.py)."""
        self.finished = isinstance(recorder, Playback)
        """No server runs (a capture opened): time stands at the capture's last event
        (``recorder.now()``), and nothing that had not ended is running any more."""
        self.explaining = False
        """Start in explain mode (``--explain``; i toggles it)."""
        self._quitting = False
        self.quit_at_once = False
        """True once the user quit a second time: nothing more is waited for."""
        self._idle_ticks = 0
        self._notes_shown = 0
        self._latency = LatencyLog.from_environment()
        self._detail_at = -DETAIL_EVERY_NS  # when the detail pane last moved
        self._detail_pending: int | None = None  # where it is to move when it may
        self._followed: int | None = None  # the exchange follow mode last selected
        self.sharing = Sharing(self, self.store, self.session_header, resend_url, redact)
        """Save, export, show and re-send: given the selected exchange."""
        self.keymap: dict[str, str] = {}
        """The user's keymap (action id to keys), loaded when the app starts."""

    # -- layout -----------------------------------------------------------

    def compose(self) -> ComposeResult:
        live = not self.finished  # a capture opened: nothing listens, nothing comes
        yield ScopeHeader(self.app_name, self.url, live=live, id="header")
        yield Static(empty_state(self.url), id="empty")
        with Vertical(id="body"):
            yield FilterBar(id="filter-bar")
            yield ExchangeTable(self.view, id="exchanges")
            yield DetailPane(id="detail")
        yield StepBar(id="step-bar")
        yield NotesBar(live=live, id="notes")
        yield Footer()

    def on_mount(self) -> None:
        # Kept, not queried: query_one() searches the active screen, which is the
        # command palette's while it is open.
        self._table = self.query_one(ExchangeTable)
        self._table.finished = self.finished
        self._detail = self.query_one(DetailPane)
        self._header = self.query_one(ScopeHeader)
        self.view.on_change.append(self._view_changed)
        self._notes = self.query_one(NotesBar)
        self._empty = self.query_one("#empty")
        self._body = self.query_one("#body")
        self._filter_bar = self.query_one(FilterBar)
        self._filter_bar.display = False
        self._step_bar = self.query_one(StepBar)
        self._step_bar.sync(self.gate, force=True)
        self._breakpoint_text = ""
        if self.explaining:  # --explain
            self._detail.query_one(MessagesView).explain = True
        self._table.focus()
        self._show_empty(True)
        self._pin_console_size()
        if self._latency is not None:
            self._table.on_drawn = self._latency.rendered
        # The app's print() would go nowhere under the TUI: show it as notes.
        self._output = ""
        self.begin_capture_print(self)
        self._load_keymap()
        self._tick()

    def _load_keymap(self) -> None:
        """Apply the user's keymap file (ui/keymap.py); a bad one is a warning note."""
        self.keymap, problem = load_keymap(keymap_path())
        if self.keymap:
            self.set_keymap(self.keymap)
        if problem:
            self.store.add([ServerNote(0, self.recorder.now(), 0, "warning", problem)])
            self._update_notes()

    def on_resize(self, event: Resize) -> None:
        # The main screen, even while the notes panel or the palette is on top.
        self.screen_stack[0].set_class(event.size.width < NARROW, "-narrow")
        self._pin_console_size()

    async def on_event(self, event: Event) -> None:
        if self._latency is not None and isinstance(event, Key):
            self._latency.key(event, self)
        await super().on_event(event)

    def _pin_console_size(self) -> None:
        # Rich asks the terminal for its size (system calls) each time a cell
        # is measured unless the console's size is set; the table measures every
        # new cell, so under load that was most of the UI's time.
        self.console.size = tuple(self.size)

    def _show_empty(self, empty: bool) -> None:
        self._empty.display = empty
        self._body.display = not empty

    # -- the drain loop ---------------------------------------------------

    def _tick(self) -> None:
        """Drain, then drain again TICK after this drain started (see TICK)."""
        if self._table.is_attached:  # else: shutting down
            started = time.monotonic()
            self.drain()
            wait = max(TICK - (time.monotonic() - started), TICK / 10)  # > 0: Textual's
            self.set_timer(wait, self._tick, name="drain")  # timers divide by it

    def drain(self) -> None:
        """Take every pending event from the recorder and refresh what it touched."""
        table, detail = self._table, self._detail
        if not table.is_attached:
            return  # shutting down
        events = self.recorder.drain()
        now = self.recorder.now()
        if self.gate is not None:
            self._sync_step()
        if not events:
            self._idle_ticks += 1
            if self._detail_pending is not None:  # the server has gone quiet
                self._show_detail(self._detail_pending, now)
            if self._idle_ticks % RUNNING_EVERY == 0 and not self.finished:
                table.tick(self.store, now)
                detail.tick(now)
            return
        touched = self.store.add(events)
        evicted = self.store.take_evicted()
        if evicted:
            table.drop(evicted)
        added = table.sync(self.store, touched, now)
        if self._latency is not None:
            self._latency.rows(events, self, self.recorder)
        self._update_counters()
        self._update_notes()
        followed = False
        if added:
            self._show_empty(table.requests == 0)
            if self.follow or table.selected_id is None:
                table.select_last()
                self._followed = table.selected_id
                followed = True
        selected = table.selected_id
        exchange = self.store.exchanges.get(selected) if selected is not None else None
        if exchange is not None and self._concerns(exchange.id, exchange.conn, touched, events):
            self._show_detail(exchange.id, now, throttle=followed)
        elif self._detail_pending is not None:
            self._show_detail(self._detail_pending, now, throttle=True)

    def _show_detail(self, exchange_id: int | None, now: int, throttle: bool = False) -> None:
        """Show ``exchange_id`` in the detail pane, at most every DETAIL_EVERY_NS
        when ``throttle`` (follow mode moving it on a busy server)."""
        if throttle and now - self._detail_at < DETAIL_EVERY_NS:
            self._detail_pending = exchange_id
            return
        self._detail_pending = None
        self._detail_at = now
        self._detail.show(self.store, exchange_id, now)

    @staticmethod
    def _concerns(exchange_id: int, conn: int, touched: set[int], events: Iterable) -> bool:
        return exchange_id in touched or any(e.conn == conn for e in events)

    def _update_counters(self) -> None:
        store = self.store
        self._header.set_counters(
            connections=len(store.connections),
            requests=self._table.requests,
            bytes_in=store.bytes_in,
            bytes_out=store.bytes_out,
            errors=store.errors,
            dropped=store.dropped,
            gone=store.clients_gone,
        )

    def on_print(self, event: Print) -> None:
        """A print() of the app (or anything) while the TUI runs: a note per line."""
        self._output += event.text
        *lines, self._output = self._output.split("\n")
        now = self.recorder.now()
        self.store.add(ServerNote(0, now, 0, "output", line) for line in lines if line.strip())
        self._update_notes()  # no drain may be due: nothing else may arrive

    def _update_notes(self) -> None:
        store = self.store
        notes = store.notes
        total = store.notes_dropped + len(notes)
        if total == self._notes_shown:
            return
        fresh = notes[max(self._notes_shown - store.notes_dropped, 0) :]
        loud = [note for note in fresh if note.level in ("warning", "error")]
        if loud:  # one toast a drain, however many came
            more = f"  (+{len(loud) - 1} more: l lists them)" if len(loud) > 1 else ""
            last = loud[-1]
            self.notify(safe_text(last.text) + more, severity=last.level, markup=False)
        self._notes_shown = total
        if not self._quitting:  # keep "Stopping the server…" in view
            self._notes.show(notes)
        if isinstance(self.screen, NotesScreen):  # the open panel follows
            self.screen.show(notes)

    def on_exchange_table_selected(self, event: ExchangeTable.Selected) -> None:
        if not self.is_running:  # a selection handled while quitting: the panes are going
            return
        detail = self._detail
        shown = detail.exchange
        if shown is not None and shown is self.store.exchanges.get(event.exchange_id or 0):
            return  # already drawn by drain() in the same batch
        followed = self.follow and event.exchange_id == self._followed
        self._show_detail(event.exchange_id, self.recorder.now(), throttle=followed)

    def on_filter_bar_changed(self, event: FilterBar.Changed) -> None:
        self._table.set_filter(event.filter, self.store, self.recorder.now())

    def on_filter_bar_closed(self, _: FilterBar.Closed) -> None:
        self._table.focus()

    # -- actions ----------------------------------------------------------

    def action_filter(self) -> None:
        """Open the filter bar over the exchanges (trace/filter.py has the syntax)."""
        self._filter_bar.open()

    def action_toggle_explain(self) -> None:
        """Explain mode: each event's detail opens with what it means and why."""
        messages = self._detail.query_one(MessagesView)
        messages.set_explain(not messages.explain)
        self.notify(f"Explain mode {'on' if messages.explain else 'off'}", markup=False)

    # -- step mode (trace/step.py) ---------------------------------------

    @property
    def gate(self) -> Gate | None:
        """Step mode's gate, when a server runs (a reopened capture has none)."""
        return getattr(self.recorder, "gate", None)

    def _sync_step(self) -> None:
        """Redraw the step bar if the gate changed; select a newly held exchange."""
        held = self._step_bar.sync(self.gate)
        if held and self.follow and str(held[0].exchange) in self._table.rows:
            self._table.move_cursor(row=self._table.get_row_index(str(held[0].exchange)))

    def _gate_or_say(self) -> Gate | None:
        gate = self.gate
        if gate is None:
            self.notify("No server runs here: nothing to step.", markup=False)
        return gate

    def action_toggle_step(self) -> None:
        """Step mode on or off (off lets everything held go)."""
        gate = self._gate_or_say()
        if gate is not None:
            gate.set_stepping(not gate.stepping)
            self._step_bar.sync(gate, force=True)

    def action_step(self) -> None:
        """Let one held message go: the selected exchange's, else the oldest."""
        gate = self._gate_or_say()
        if gate is not None:
            gate.step(self._table.selected_id)

    def action_continue_exchange(self) -> None:
        """Let the held exchange (the selected one, else the oldest held) finish."""
        gate = self._gate_or_say()
        if gate is None:
            return
        held = gate.held()
        mine = [h for h in held if h.exchange == self._table.selected_id]
        if mine or held:
            gate.continue_exchange((mine or held)[0].exchange)

    def action_continue_all(self) -> None:
        """Release everything held and stop stepping."""
        gate = self._gate_or_say()
        if gate is not None:
            gate.continue_all()
            self._step_bar.sync(gate, force=True)

    def action_breakpoint(self) -> None:
        """Step only through exchanges matching a filter (turns step mode on)."""
        gate = self._gate_or_say()
        if gate is None:
            return

        def chosen(text: str | None) -> None:
            if text is None:
                return
            self._breakpoint_text = text
            gate.set_breakpoint(parse_filter(text))
            gate.set_stepping(True)
            self._step_bar.sync(gate, force=True)

        self.push_screen(BreakpointScreen(self._breakpoint_text), chosen)

    def _next_held(self, gate: Gate) -> Held | None:
        """The message space would let go: the selected exchange's oldest held, else
        the oldest held (None: nothing is held)."""
        held = gate.held()
        mine = [h for h in held if h.exchange == self._table.selected_id]
        return (mine or held or [None])[0]

    def action_edit_held(self) -> None:
        """Edit the held message (the one space would let go), then send the edit on."""
        gate = self._gate_or_say()
        held = self._next_held(gate) if gate is not None else None
        if gate is None:
            return
        if held is None:
            self.notify("Nothing is held: in step mode, M edits the held message.", markup=False)
            return
        try:
            text, binary = editable(held.message, held.cut)
        except NotEditable as exc:
            self.notify(f"Not editable: {safe_text(str(exc))}", severity="warning", markup=False)
            return

        def done(message: dict[str, Any] | None) -> None:
            if message is not None and not gate.edit(held.number, message):
                self.notify("It is no longer held: the edit was not sent.", markup=False)

        kind = message_type(held.message)
        title = f"Edit #{held.exchange} {kind} ({next_words(held).replace('on step', 'on send')})"
        screen = EditorScreen(title, text, lambda t, b: edited(held.message, t, b), binary)
        self.push_screen(screen, done)

    def action_drop_held(self) -> None:
        """Drop the held WebSocket message: the app or the client never gets it."""
        gate = self._gate_or_say()
        held = self._next_held(gate) if gate is not None else None
        if gate is None:
            return
        if held is None or message_type(held.message) not in DROPPABLE:
            self.notify("D drops a held WebSocket message; none is held.", markup=False)
        elif not gate.drop(held.number):
            self.notify("It is no longer held.", markup=False)

    def action_compose(self) -> None:
        """Write a message (text, or bytes in hex) and give it to the app of the
        selected WebSocket as a ``websocket.receive``, as if the client sent it."""
        gate = self._gate_or_say()
        exchange = self.selected_exchange
        if gate is None:
            return
        if exchange is None or not _open_websocket(exchange):
            self.notify("I composes a message on an open WebSocket: select one.", markup=False)
            return

        def done(message: dict[str, Any] | None) -> None:
            if message is not None and not gate.compose(exchange.id, message):
                self.notify(f"#{exchange.id} is closed: the message was not sent.", markup=False)

        title = f"Compose a message to the app of #{exchange.id} (websocket.receive)"
        self.push_screen(EditorScreen(title, "", lambda t, b: composed(t, bool(b)), False), done)

    def action_search(self) -> None:
        """Search the selected exchange's messages (Enter again: the next match)."""
        messages = self._detail.query_one(MessagesView)

        def found(term: str | None) -> None:
            if term is None:
                return
            if not messages.find_next(term) and term:
                self.notify(f"No message contains {safe_text(term)!r}", markup=False)

        self._detail.show_tab("messages")
        self.push_screen(SearchScreen(messages.search_term), found)

    def action_help(self) -> None:
        """Show every key (as the user's keymap has them) and the filter syntax."""
        if not isinstance(self.screen, HelpScreen):
            app_keys = [a.binding() for a in self.described_actions()]
            focus = focus_bindings(Screen.BINDINGS)  # Tab, Shift+Tab
            widget_keys = [a.binding() for a in self.described_actions(HELP_PLACES[1:])]
            self.push_screen(HelpScreen([*app_keys, *focus, *widget_keys]))

    def action_toggle_follow(self) -> None:
        """Follow the newest exchange, or stop following."""
        self._set_follow(not self.follow)
        if self.follow:
            self._table.select_last()

    @property
    def follow(self) -> bool:
        """Whether new exchanges are selected as they arrive (the view's follow mode)."""
        return self.view.follow

    def _set_follow(self, follow: bool) -> None:
        self.view.follow = follow

    def _view_changed(self, change: Change) -> None:
        if change == "follow":
            self._header.set_follow(self.view.follow)

    def action_clear(self) -> None:
        """Forget everything recorded so far."""
        self.store.clear()
        self._notes_shown = 0
        self._table.reset()
        self._notes.show([])
        self._update_counters()
        self._detail.show(self.store, None, self.recorder.now())
        self._show_empty(True)

    def action_next_exchange(self) -> None:
        """Select the next (newer) exchange."""
        self._table.action_cursor_down()

    def action_previous_exchange(self) -> None:
        """Select the previous (older) exchange; stops following."""
        self._set_follow(False)
        self._table.action_cursor_up()

    def action_show_tab(self, tab: str) -> None:
        """Show one tab of the detail pane (messages, scope, hex, timeline or sequence)
        and focus it, so its own keys (the Hex cursor, the Sequence's a) work at once;
        j/k still move between exchanges; Tab and Shift+Tab move the focus on and back."""
        self._detail.show_tab(tab, focus=True)

    def action_show_notes(self) -> None:
        """Open the panel of every server note."""
        if not isinstance(self.screen, NotesScreen):
            self.push_screen(NotesScreen(self.store.notes))

    async def action_quit(self) -> None:
        """Stop the server cleanly (``on_quit``) and exit; a second quit exits at once
        (``on_quit`` is called again, which the server takes as "stop now")."""
        if self.gate is not None:  # nothing may wait for a key any more
            self.gate.continue_all()
        if self._quitting or self.on_quit is None:
            if self.on_quit is not None:
                self.quit_at_once = True
                threading.Thread(target=self.on_quit, name="force-quit", daemon=True).start()
            self.exit()
            return
        self._quitting = True
        self._notes.update(Text("Stopping the server… (press q again to quit at once)", "bold"))
        self.run_worker(self._shut_down(), name="shutdown", exit_on_error=False)

    async def _shut_down(self) -> None:
        """Stop the server in a thread of its own, then exit. Not in asyncio's
        executor: an app blocking the server's loop would hold that thread, and
        the UI's loop waits for its executor before it ends (a second ``q``
        must quit at once)."""
        on_quit = self.on_quit
        assert on_quit is not None
        loop = asyncio.get_running_loop()
        stopped = asyncio.Event()

        def stop() -> None:
            try:
                on_quit()
            finally:
                with contextlib.suppress(RuntimeError):  # the UI's loop is gone
                    loop.call_soon_threadsafe(stopped.set)

        threading.Thread(target=stop, name="quit", daemon=True).start()
        try:
            await stopped.wait()
        finally:
            self.exit()

    # -- sharing (ui/share.py) ------------------------------------------------

    @property
    def selected_exchange(self) -> Exchange | None:
        """The exchange selected in the table, if it is still in the store."""
        selected = self._table.selected_id
        return self.store.exchanges.get(selected) if selected is not None else None

    def session_header(self) -> Header:
        """What a capture saved now says: the opened capture's header, or this session's."""
        if self.capture_header is not None:
            return self.capture_header
        now = self.recorder.now()
        return Header(self.app_name, wall_clock_at_zero(now), {"max_body": self.recorder.max_body})

    def action_save_capture(self) -> None:
        """Save the whole session as a capture file (asgi-scope open reads it)."""
        self.sharing.save_capture()

    def action_save_exchange(self) -> None:
        """Save the selected exchange (and its connection) as a capture file."""
        self.sharing.save_exchange(self.selected_exchange)

    def action_export_har(self) -> None:
        """Export every HTTP and WebSocket exchange as HAR 1.2 (credentials redacted)."""
        self.sharing.export_har()

    def action_show_curl(self) -> None:
        """Show the selected request as a curl command, and copy it."""
        self.sharing.show_curl(self.selected_exchange)

    def action_show_pytest(self) -> None:
        """Show a pytest regression test of the selected exchange, and copy it."""
        self.sharing.show_pytest(self.selected_exchange)

    def action_show_raw(self) -> None:
        """Show the selected request's raw bytes as received (escaped), and copy them."""
        self.sharing.show_raw(self.selected_exchange)

    def action_resend(self) -> None:
        """Send the selected request again to the app; the new exchange appears."""
        self.sharing.resend(self.selected_exchange)

    def action_edit_resend(self) -> None:
        """Edit the selected request (method, target, headers, body), then send it."""
        self.sharing.edit_resend(self.selected_exchange)

    # -- command palette --------------------------------------------------

    def described_actions(self, places: Iterable[str] = ("app",)) -> list[Action]:
        """The actions of ``places`` as the help and the palette describe them: with
        the keys of the user's keymap and, with no server to stop (a capture
        opened), q just quits."""
        described = []
        for where in places:
            for action in actions(where):
                action = replace(action, keys=keys_of(action, self.keymap))
                if action.id == "app.quit" and self.on_quit is None:
                    action = replace(action, help="Quit")
                described.append(action)
        return described

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands, but those the action table names (the palette's
        :class:`~asgi_scope.ui.palette.ActionsProvider` offers them)."""
        own = {action.description for action in actions("app")}
        for command in super().get_system_commands(screen):
            if command.title not in own:
                yield command
