"""Every key of the inspector, in one table: a named action with an id.

Each :class:`Action` says what it does (``description``, ``help``), which key(s)
run it by default and where it applies (``where``: the app, or one component or
screen). From this table are made the ``BINDINGS`` of the app and of each
component (:func:`bindings`, Textual ``Binding``s carrying the action's id), the
help screen and the command palette; a user's keymap
(:mod:`asgi_scope.ui.keymap`) overrides the keys by id, through Textual's
``App.set_keymap``.

This module imports no widget: components import it, not the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class Action:
    """One named action and its default key(s)."""

    id: str
    """The action's id (``"app.quit"``, ``"exchanges.first"``): what a keymap names."""
    keys: str
    """The default key(s), Textual's names, comma-separated (``"j,n"``)."""
    action: str
    """The Textual action run, on the widget or screen ``where`` names."""
    description: str
    """A short name: the footer's and the command palette's title."""
    help: str
    """What it does, in a line: the help screen's text and the binding's tooltip."""
    where: str = "app"
    """Where it applies: ``app``, or the component or screen whose bindings hold it."""
    show: bool = False
    """Shown in the footer."""
    priority: bool = False
    """Checked before the focused widget's own keys."""

    def binding(self) -> Binding:
        """The Textual binding of this action (its id lets a keymap rebind it)."""
        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            tooltip=self.help,
            id=self.id,
        )


FIRST_ROW = "The first row of a list (exchanges, messages)"
LAST_ROW = "The last row of a list (exchanges, messages)"
"""What Home and End do in either list (the help shows them once)."""

_TAB = "Show the {} tab, focused"

ACTIONS: tuple[Action, ...] = (
    # -- the app ------------------------------------------------------------
    Action("app.quit", "q", "quit", "Quit", "Stop the server cleanly and quit", show=True),
    Action("app.quit_now", "ctrl+c", "quit", "Quit", "As q", priority=True),
    Action(
        "app.follow", "f", "toggle_follow", "Follow", "Follow the newest exchange on/off", show=True
    ),
    Action("app.clear", "c", "clear", "Clear", "Forget every exchange recorded so far", show=True),
    Action("exchanges.next", "j,n", "next_exchange", "Next", "Select the next exchange", show=True),
    Action(
        "exchanges.previous",
        "k,p",
        "previous_exchange",
        "Prev",
        "Select the previous exchange",
        show=True,
    ),
    Action("app.notes", "l", "show_notes", "Notes", "Show every note from the server", show=True),
    Action("app.filter", "slash", "filter", "Filter", "Filter the exchanges: ~m POST, ~c 4xx"),
    Action(
        "app.help", "question_mark", "help", "Help", "Every key and the filter syntax", show=True
    ),
    Action("app.search", "ctrl+f", "search", "Search", "Search the messages' full bodies"),
    Action("step.toggle", "S", "toggle_step", "Step mode", "Step mode on/off"),
    Action("app.explain", "i", "toggle_explain", "Explain", "Explain each event, for learners"),
    Action("step.one", "space", "step", "Step", "Step mode: let one message go"),
    Action("step.continue", "C", "continue_exchange", "Continue", "Step mode: finish it"),
    Action("step.continue_all", "G", "continue_all", "Continue all", "Step mode: stop"),
    Action("step.breakpoint", "B", "breakpoint", "Breakpoint", "Step mode: hold only a filter"),
    Action("step.edit", "M", "edit_held", "Edit", "Step mode: edit the held message, then send it"),
    Action("step.drop", "D", "drop_held", "Drop", "Step mode: drop the held WebSocket message"),
    Action(
        "websocket.compose",
        "I",
        "compose",
        "Compose",
        "Send the app a WebSocket message of your own (on an open WebSocket)",
    ),
    Action("share.save", "w", "save_capture", "Save", "Save the session as a capture file"),
    Action("share.save_exchange", "W", "save_exchange", "Save one", "Save the selected exchange"),
    Action("share.har", "e", "export_har", "HAR", "Export the session as HAR 1.2"),
    Action("share.curl", "u", "show_curl", "curl", "Show and copy the request as curl"),
    Action("share.pytest", "y", "show_pytest", "pytest", "Show and copy a pytest test of it"),
    Action("share.raw", "b", "show_raw", "Raw", "Show and copy the raw request bytes"),
    Action("share.resend", "r", "resend", "Re-send", "Send the selected request again"),
    Action("share.edit_resend", "R", "edit_resend", "Edit+send", "Edit the request, then send it"),
    Action("detail.tab.messages", "m", "show_tab('messages')", "Messages", _TAB.format("Messages")),
    Action(
        "detail.tab.body",
        "o",
        "show_tab('body')",
        "Body",
        _TAB.format("Body") + ": request and response bodies, decoded and read",
    ),
    Action(
        "detail.tab.stream",
        "E",
        "show_tab('stream')",
        "Stream",
        _TAB.format("Stream") + ": an event stream's events, a WebSocket's messages",
    ),
    Action("detail.tab.scope", "s", "show_tab('scope')", "Scope", _TAB.format("Scope")),
    Action("detail.tab.hex", "x", "show_tab('hex')", "Hex", _TAB.format("Hex")),
    Action("detail.tab.timeline", "t", "show_tab('timeline')", "Timeline", _TAB.format("Timeline")),
    Action(
        "detail.tab.sequence",
        "d",
        "show_tab('sequence')",
        "Sequence",
        _TAB.format("Sequence") + ": client, server and app as a sequence diagram",
    ),
    Action(
        "detail.tab.layers",
        "L",
        "show_tab('layers')",
        "Layers",
        _TAB.format("Layers") + ": each middleware layer and what it changed",
    ),
    # -- the exchange table (components/exchanges.py) ------------------------
    Action("exchanges.up", "up", "cursor_up", "Up", "The row above, in a list", "exchanges"),
    Action(
        "exchanges.down", "down", "cursor_down", "Down", "The row below, in a list", "exchanges"
    ),
    Action(
        "exchanges.page_up", "pageup", "page_up", "Page up", "A page up, in a list", "exchanges"
    ),
    Action("exchanges.page_down", "pagedown", "page_down", "Page down", "A page down", "exchanges"),
    Action("exchanges.first", "home", "cursor_first", "First", FIRST_ROW, "exchanges"),
    Action("exchanges.last", "end", "cursor_last", "Last", LAST_ROW, "exchanges"),
    # -- the message list (components/detail/messages.py) ----------------------
    Action("messages.first", "home", "scroll_top", "First", FIRST_ROW, "messages"),
    Action("messages.last", "end", "scroll_bottom", "Last", LAST_ROW, "messages"),
    Action(
        "messages.layers",
        "g",
        "toggle_layers",
        "Layers",
        "Messages: each middleware layer's messages too, grouped by layer",
        "messages",
    ),
    # -- the Hex tab (components/detail/hex_view.py) ---------------------------
    Action("hex.left", "left", "cursor(-1)", "Byte left", "Hex: cursor a byte left", "hex"),
    Action("hex.right", "right", "cursor(1)", "Byte right", "Hex: a byte right", "hex"),
    Action("hex.up", "up", "cursor_row(-1)", "Row up", "Hex: cursor a row up", "hex"),
    Action("hex.down", "down", "cursor_row(1)", "Row down", "Hex: a row down", "hex"),
    Action(
        "hex.part_previous",
        "left_square_bracket",
        "part(-1)",
        "Previous part",
        "Hex: to the previous part (head, chunk size, data...)",
        "hex",
    ),
    Action(
        "hex.part_next",
        "right_square_bracket",
        "part(1)",
        "Next part",
        "Hex: to the next part of the message",
        "hex",
    ),
    # -- the Body tab (components/detail/body_view.py) -------------------------
    Action(
        "body.raw",
        "v",
        "toggle_raw",
        "Raw/decoded",
        "Body: the bytes as kept, or decoded and read by type",
        "body",
        show=True,
    ),
    # -- the Stream tab (components/detail/stream_view.py) -----------------------
    Action(
        "stream.direction",
        "g",
        "cycle_direction",
        "Direction",
        "Stream: WebSocket messages of both directions, client → app, app → client",
        "stream",
        show=True,
    ),
    # -- the Sequence tab (components/detail/sequence.py) ----------------------
    Action(
        "sequence.connection",
        "a",
        "toggle_connection",
        "Exchange/connection",
        "Sequence: the exchange, or its whole connection",
        "sequence",
        show=True,
    ),
    # -- the filter bar (components/filter_bar.py) ------------------------------
    Action("filter.close", "escape", "close", "Close", "Back to the exchanges", "filter"),
    # -- screens ---------------------------------------------------------------
    Action(
        "help.close",
        "escape,question_mark,q",
        "dismiss",
        "Close",
        "Close the help",
        "help",
        show=True,
    ),
    Action(
        "notes.close", "escape,l", "dismiss", "Close", "Close the notes panel", "notes", show=True
    ),
    Action("search.cancel", "escape", "cancel", "Cancel", "Close the search", "search", show=True),
    Action(
        "breakpoint.cancel",
        "escape",
        "cancel",
        "Cancel",
        "Keep the breakpoint",
        "breakpoint",
        show=True,
    ),
    Action("editor.save", "ctrl+s", "save", "Send", "Send the edited message", "editor", show=True),
    Action("editor.cancel", "escape", "cancel", "Cancel", "Send nothing", "editor", show=True),
    Action(
        "editor.binary",
        "ctrl+t",
        "toggle_binary",
        "Text/binary",
        "A WebSocket message as text, or as bytes in hex",
        "editor",
        show=True,
    ),
    Action("path.cancel", "escape", "dismiss(None)", "Cancel", "Write nothing", "path", show=True),
    Action("text.close", "escape,q", "dismiss", "Close", "Close the text", "text", show=True),
    Action("text.copy", "c", "copy", "Copy", "Copy the text to the clipboard", "text", show=True),
    Action(
        "text.credentials",
        "a",
        "toggle_redact",
        "Credentials",
        "Show or hide the credentials",
        "text",
        show=True,
    ),
    Action(
        "resend.cancel", "escape", "dismiss(None)", "Cancel", "Send nothing", "resend", show=True
    ),
    Action("resend.send", "ctrl+s", "send", "Send", "Send the edited request", "resend", show=True),
)
"""Every action, the app's first; within each place, in the order the help lists them."""

BY_ID: Mapping[str, Action] = {action.id: action for action in ACTIONS}
"""The actions by id."""

HELP_PLACES = ("app", "exchanges", "messages", "body", "stream", "hex", "sequence")
"""The places whose keys the help screen lists, in its order (after the app's,
Textual's own Tab and Shift+Tab)."""


def actions(where: str) -> list[Action]:
    """The actions that apply ``where`` (``"app"``, ``"exchanges"``, ``"hex"``...)."""
    return [action for action in ACTIONS if action.where == where]


def bindings(where: str) -> list[Binding]:
    """The ``BINDINGS`` of the place ``where``, made from the table."""
    return [action.binding() for action in actions(where)]


def keys_of(action: Action, keymap: Mapping[str, str]) -> str:
    """The key(s) that run ``action`` under ``keymap`` (a user's keymap, by id)."""
    return keymap.get(action.id, action.keys)


def unknown_ids(ids: Iterable[str]) -> list[str]:
    """The ids of ``ids`` that name no action (a keymap's typos)."""
    return [i for i in ids if i not in BY_ID]
