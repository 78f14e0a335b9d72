"""The step bar: in step mode, what is held at the shim and what stepping will do.

Reads :meth:`asgi_scope.trace.step.Gate.held` (a snapshot taken under the gate's
lock) on the app's drain tick, and redraws only when the gate's ``version``
changed. Hidden while step mode is off and nothing is held.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from asgi_scope.trace.step import Gate, Held
from asgi_scope.trace.summary import message_summary, message_type

KEYS = (
    "space step · M edit · D drop · C continue this exchange · G continue all"
    " · B breakpoint · S step off"
)


def next_words(held: Held) -> str:
    """What releasing ``held`` does, in plain words."""
    kind = held.message.get("type") if isinstance(held.message, dict) else None
    if held.direction == "receive":
        return "on step, the app's receive() returns it"
    if kind == "http.response.start":
        return "on step, the server writes the status line and headers"
    if kind == "http.response.body":
        more = isinstance(held.message, dict) and held.message.get("more_body")
        return "on step, the server writes this body" + ("" if more else " and ends the response")
    if kind == "websocket.accept":
        return "on step, the server completes the handshake (101)"
    if kind == "websocket.send":
        return "on step, the server sends it as a frame"
    if kind == "websocket.close":
        return "on step, the server closes the WebSocket"
    return "on step, the server takes it"


class StepBar(Static):
    """One or two lines: step mode's state, the held message, the keys."""

    COMPONENT_CLASSES = {"step-bar--held", "step-bar--keys", "step-bar--title"}

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self._version = -1

    def sync(self, gate: Gate | None, force: bool = False) -> list[Held]:
        """Redraw from ``gate`` if it changed; return what is held (oldest first)."""
        if gate is None:
            self.display = False
            return []
        if gate.version == self._version and not force:
            return []
        self._version = gate.version
        held = gate.held()
        self.display = gate.stepping or bool(held)
        self.update(self.describe(gate, held))
        return held

    def describe(self, gate: Gate, held: list[Held]) -> Text:
        """The bar's text for ``held`` (safe: summaries escape the app's values)."""
        title = self.get_component_rich_style("step-bar--title", partial=True)
        keys = self.get_component_rich_style("step-bar--keys", partial=True)
        text = Text(no_wrap=True, overflow="ellipsis")
        if not held:
            text.append("▮▮ step mode", title)
            where = "the next message" if gate.breakpoint is None else "messages of exchanges"
            text.append(f": {where} will wait here" + (
                " matching the breakpoint" if gate.breakpoint is not None else ""
            ))  # fmt: skip
            text.append(f"\n{KEYS}", keys)
            return text
        first = held[0]
        arrow = "server → app" if first.direction == "receive" else "server ← app"
        text.append(f"▮▮ #{first.exchange} held ", title)
        text.append(f"{arrow}  ")
        text.append(message_type(first.message), self.get_component_rich_style(
            "step-bar--held", partial=True))  # fmt: skip
        summary = message_summary(first.message)
        if summary:
            text.append(f"  {summary}")
        text.append(f"  ({next_words(first)})")
        if len(held) > 1:
            text.append(f"  +{len(held) - 1} more held")
        text.append(f"\n{KEYS}", keys)
        return text
