"""The Textual app: drains the recorder on a timer and keeps every view current.

The server runs in another thread and appends events to a
:class:`~asgi_scope.trace.recorder.Recorder`. Thirty times a second the app drains
them in one batch into its :class:`~asgi_scope.trace.store.Store` and refreshes only
the rows, counters and tab the batch touched: never one Textual message per event.
Under sustained load the drains, and so the redraws, come less often (down to 16
a second), as browser devtools do: the UI thread shares the GIL with the server, and
each redraw costs about the same however many events it shows.
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
from functools import partial

from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.events import Event, Key, Print, Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from asgi_scope.trace.capture import Header, Playback
from asgi_scope.trace.events import ServerNote
from asgi_scope.trace.filter import parse as parse_filter
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.step import Gate
from asgi_scope.trace.store import Store
from asgi_scope.ui.detail import DetailPane
from asgi_scope.ui.exchanges import ExchangeTable
from asgi_scope.ui.filter_bar import FilterBar
from asgi_scope.ui.header import ScopeHeader
from asgi_scope.ui.help import HelpScreen, focus_bindings
from asgi_scope.ui.hex_view import HexView
from asgi_scope.ui.latency import LatencyLog
from asgi_scope.ui.messages import MessageList, MessagesView
from asgi_scope.ui.notes import NotesBar, NotesScreen
from asgi_scope.ui.search import SearchScreen
from asgi_scope.ui.sequence import SequenceView
from asgi_scope.ui.share import ShareActions
from asgi_scope.ui.step_bar import BreakpointScreen, StepBar

TICK = 1 / 30
"""Seconds between drains of a quiet recorder (the least between any two)."""

BUSY_TICK = 1 / 16
"""The most seconds between drains, reached under heavy load: a new row still
shows within 100 ms of its exchange's end (a drain's wait, then a redraw)."""

BUSY_RATE = 1500
"""Events a second up to which drains come every TICK; above it the wait grows in
proportion to the rate (twice the rate, twice the wait), up to BUSY_TICK."""

RUNNING_EVERY = 15
"""Idle ticks between refreshes of running durations (about twice a second)."""

DETAIL_EVERY_NS = 250_000_000
"""While following a busy server, the detail pane moves to the newest exchange at
most this often (ns); the table's rows are never held back, and a pane the user
moved to is drawn at once."""

NARROW = 110
"""Below this many columns the Messages tab stacks its list over the detail."""


def drain_wait(events: int, seconds: float) -> float:
    """Seconds until the next drain, after one that took ``events`` gathered over
    ``seconds``: TICK up to BUSY_RATE events a second, longer in proportion to the
    rate above it, BUSY_TICK at most."""
    rate = events / max(seconds, TICK)
    return min(max(TICK, TICK * rate / BUSY_RATE), BUSY_TICK)


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


def empty_state(url: str) -> Text:
    """The friendly text shown before the first request: how to send one."""
    url = safe_text(url)
    text = Text(justify="center")
    if not url.startswith("http"):  # asgi-scope attach: a stream address, not a server
        text.append("Waiting for a stream…\n\n", "bold")
        text.append("Wrap your app, served by uvicorn, hypercorn or any ASGI server:\n\n")
        text.append("  from asgi_scope import TraceMiddleware  \n", "reverse")
        text.append(f'  app = TraceMiddleware(app, sink="{url}")  \n\n', "reverse")
        text.append("Every worker that streams here shows up, with its pid.\n", "")
        text.append("Scopes and ASGI messages show here; raw bytes need our own server.", "dim")
        return text
    text.append("Waiting for the first request…\n\n", "bold")
    text.append("Send one from another terminal:\n\n")
    text.append(f"  curl {url.rstrip('/')}/  \n\n", "reverse")
    text.append(f"or open {url} in a browser.\n", "")
    text.append("Every scope, ASGI message and raw byte shows up here, live.", "dim")
    return text


class ScopeApp(ShareActions, App[None]):
    """Live view of one ASGI app: exchanges, messages, scopes, bytes and timings.

    ``recorder`` is filled by the server thread; ``app_name`` and ``url`` are shown
    in the header; ``on_quit`` is called in a worker thread when the user quits, and
    may block while the server shuts down gracefully; it is called once more if the
    user quits again meanwhile, to stop at once.
    """

    CSS_PATH = "scope.tcss"
    TITLE = "asgi-scope"

    BINDINGS = [
        Binding("q", "quit", "Quit", tooltip="Stop the server cleanly and quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, tooltip="As q"),
        Binding("f", "toggle_follow", "Follow", tooltip="Follow the newest exchange on/off"),
        Binding("c", "clear", "Clear", tooltip="Forget every exchange recorded so far"),
        Binding("j,n", "next_exchange", "Next", tooltip="Select the next exchange"),
        Binding("k,p", "previous_exchange", "Prev", tooltip="Select the previous exchange"),
        Binding("l", "show_notes", "Notes", tooltip="Show every note from the server"),
        Binding(
            "slash", "filter", "Filter", show=False, tooltip="Filter the exchanges: ~m POST, ~c 4xx"
        ),
        Binding("question_mark", "help", "Help", tooltip="Every key and the filter syntax"),
        Binding(
            "ctrl+f", "search", "Search", show=False, tooltip="Search the messages' full bodies"
        ),
        Binding("S", "toggle_step", "Step mode", show=False, tooltip="Step mode on/off"),
        Binding(
            "i", "toggle_explain", "Explain", show=False, tooltip="Explain each event, for learners"
        ),
        Binding("space", "step", "Step", show=False, tooltip="Step mode: let one message go"),
        Binding("C", "continue_exchange", "Continue", show=False, tooltip="Step mode: finish it"),
        Binding("G", "continue_all", "Continue all", show=False, tooltip="Step mode: stop"),
        Binding(
            "B", "breakpoint", "Breakpoint", show=False, tooltip="Step mode: hold only a filter"
        ),
        Binding(
            "w", "save_capture", "Save", show=False, tooltip="Save the session as a capture file"
        ),
        Binding("W", "save_exchange", "Save one", show=False, tooltip="Save the selected exchange"),
        Binding("e", "export_har", "HAR", show=False, tooltip="Export the session as HAR 1.2"),
        Binding("u", "show_curl", "curl", show=False, tooltip="Show and copy the request as curl"),
        Binding(
            "y", "show_pytest", "pytest", show=False, tooltip="Show and copy a pytest test of it"
        ),
        Binding("b", "show_raw", "Raw", show=False, tooltip="Show and copy the raw request bytes"),
        Binding("r", "resend", "Re-send", show=False, tooltip="Send the selected request again"),
        Binding(
            "R", "edit_resend", "Edit+send", show=False, tooltip="Edit the request, then send it"
        ),
        Binding(
            "m",
            "show_tab('messages')",
            "Messages",
            show=False,
            tooltip="Show the Messages tab, focused",
        ),
        Binding(
            "s", "show_tab('scope')", "Scope", show=False, tooltip="Show the Scope tab, focused"
        ),
        Binding("x", "show_tab('hex')", "Hex", show=False, tooltip="Show the Hex tab, focused"),
        Binding(
            "t",
            "show_tab('timeline')",
            "Timeline",
            show=False,
            tooltip="Show the Timeline tab, focused",
        ),
        Binding(
            "d",
            "show_tab('sequence')",
            "Sequence",
            show=False,
            tooltip="Show the Sequence tab, focused: client, server and app as a sequence diagram",
        ),
    ]

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
        self.follow = True
        """Whether new exchanges are selected as they arrive."""
        self.finished = isinstance(recorder, Playback)
        """No server runs (a capture opened): time stands at the capture's last event
        (``recorder.now()``), and nothing that had not ended is running any more."""
        self.explaining = False
        """Start in explain mode (``--explain``; i toggles it)."""
        self._quitting = False
        self._idle_ticks = 0
        self._drained_at = 0.0  # when the last drain ran (time.monotonic())
        self._wait = TICK  # seconds until the next drain
        self._notes_shown = 0
        self._latency = LatencyLog.from_environment()
        self._detail_at = -DETAIL_EVERY_NS  # when the detail pane last moved
        self._detail_pending: int | None = None  # where it is to move when it may
        self._followed: int | None = None  # the exchange follow mode last selected

    # -- layout -----------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ScopeHeader(self.app_name, self.url, id="header")
        yield Static(empty_state(self.url), id="empty")
        with Vertical(id="body"):
            yield FilterBar(id="filter-bar")
            yield ExchangeTable(id="exchanges")
            yield DetailPane(id="detail")
        yield StepBar(id="step-bar")
        yield NotesBar(id="notes")
        yield Footer()

    def on_mount(self) -> None:
        # Kept, not queried: query_one() searches the active screen, which is the
        # command palette's while it is open.
        self._table = self.query_one(ExchangeTable)
        self._table.finished = self.finished
        self._detail = self.query_one(DetailPane)
        self._header = self.query_one(ScopeHeader)
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
        self._tick()

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
        """Drain, then wait as long as the load asks (see BUSY_RATE) to drain again."""
        if self._table.is_attached:  # else: shutting down
            self.drain()
            self.set_timer(self._wait, self._tick, name="drain")

    def drain(self) -> None:
        """Take every pending event from the recorder and refresh what it touched."""
        table, detail = self._table, self._detail
        if not table.is_attached:
            return  # shutting down
        events = self.recorder.drain()
        now = self.recorder.now()
        drained_at, self._drained_at = self._drained_at, time.monotonic()
        self._wait = drain_wait(len(events), self._drained_at - drained_at)
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
        """Show every key and the filter syntax."""
        if not isinstance(self.screen, HelpScreen):
            widgets = (ExchangeTable, MessageList, HexView, SequenceView)  # the focused one's
            keys = (b for w in widgets for b in w.BINDINGS if isinstance(b, Binding))
            focus = focus_bindings(Screen.BINDINGS)  # Tab, Shift+Tab
            self.push_screen(HelpScreen([*self.described_bindings(), *focus, *keys]))

    def action_toggle_follow(self) -> None:
        """Follow the newest exchange, or stop following."""
        self._set_follow(not self.follow)
        if self.follow:
            self._table.select_last()

    def _set_follow(self, follow: bool) -> None:
        self.follow = follow
        self._header.set_follow(follow)

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
                threading.Thread(target=self.on_quit, name="force-quit", daemon=True).start()
            self.exit()
            return
        self._quitting = True
        self._notes.update(Text("Stopping the server… (press q again to quit at once)", "bold"))
        self.run_worker(self._shut_down(), name="shutdown", exit_on_error=False)

    async def _shut_down(self) -> None:
        assert self.on_quit is not None
        try:
            await asyncio.to_thread(self.on_quit)
        finally:
            self.exit()

    # -- command palette --------------------------------------------------

    def described_bindings(self) -> list[Binding]:
        """The app's key bindings as the help and the palette describe them: with no
        server to stop (a capture opened), q just quits."""
        bindings = [b for b in self.BINDINGS if isinstance(b, Binding)]
        if self.on_quit is None:
            bindings = [
                replace(b, tooltip="Quit") if b.action == "quit" and b.key == "q" else b
                for b in bindings
            ]
        return bindings

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers every key binding's action, plus Textual's own commands."""
        own = set()
        for binding in self.described_bindings():
            own.add(binding.description)
            yield SystemCommand(
                binding.description,
                f"{binding.tooltip} ({binding.key.replace(',', ' or ')})",
                partial(self.run_action, binding.action),
            )
        for command in super().get_system_commands(screen):
            if command.title not in own:
                yield command
