"""The Scope tab: the scope the app was called with, and what the app added or changed."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from asgi_scope.trace.events import OtelSpan
from asgi_scope.trace.layer_changes import changes_of
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Exchange
from asgi_scope.trace.tracecontext import SESSION
from asgi_scope.ui.render import key_text, pretty

ADDED, CHANGED, REMOVED, SAME = "+", "~", "-", " "


def _same(before: Any, after: Any) -> bool:
    if before is after:
        return True
    try:
        return bool(before == after)
    except Exception:  # an app object's __eq__ is untrusted code
        return False


def scope_diff(before: dict[str, Any], after: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """``(mark, key, value)`` for every key of both scopes, in the order the app saw them.

    ``mark`` is ``+`` (the app added the key), ``~`` (changed its value; ``value`` is
    the new one), ``-`` (removed it) or a space (unchanged). With no ``after`` (the app
    has not returned yet) every key is unchanged.
    """
    if after is None:
        return [(SAME, key, value) for key, value in before.items()]
    rows = []
    for key, value in before.items():
        if key not in after:
            rows.append((REMOVED, key, value))
        elif _same(value, after[key]):
            rows.append((SAME, key, value))
        else:
            rows.append((CHANGED, key, after[key]))
    rows.extend((ADDED, key, value) for key, value in after.items() if key not in before)
    return rows


class ScopeView(VerticalScroll):
    """The exchange's scope, pretty-printed, with keys the app added or changed marked."""

    COMPONENT_CLASSES = {
        "scope-view--added",
        "scope-view--changed",
        "scope-view--removed",
        "scope-view--legend",
    }

    def compose(self):
        yield Static(id="scope-text")

    def show(self, exchange: Exchange | None) -> None:
        """Render ``exchange``'s scope (or a hint when there is none yet)."""
        self.query_one("#scope-text", Static).update(self.render_scope(exchange))

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"scope-view--{name}", partial=True)

    def trace_line(self, exchange: Exchange) -> Text:
        """The exchange's OpenTelemetry ids (trace/tracecontext.py: what ``--otlp``
        sends and ``~tid`` finds; an imported SERVER span's own), and the caller's
        span when a ``traceparent`` came with the request."""
        span = exchange.otel_span()
        if span is not None:
            trace, span_id, parent = span.trace_id, span.span_id, span.parent_id
        else:
            context = SESSION.of(exchange.id, (exchange.scope or {}).get("headers"))
            trace, span_id = context.trace_hex, context.span_id.hex()
            parent = context.parent_id.hex()
        line = Text("OpenTelemetry: trace ", self._style("legend"))
        line.append(safe_text(trace))
        line.append("  span ", self._style("legend"))
        line.append(safe_text(span_id))
        if parent:
            line.append("  parent ", self._style("legend"))
            line.append(safe_text(parent))
            if span is None:
                line.append(" (traceparent)", self._style("legend"))
        line.append("\n")
        return line

    def render_otel(self, exchange: Exchange, span: OtelSpan) -> Text:
        """What an exchange made of an OpenTelemetry SERVER span shows instead of a
        scope: that there is none, and the span's attributes."""
        text = Text(
            "From OpenTelemetry (an OTLP SERVER span): no scope snapshot, no bytes.\n"
            "What the span says:\n",
            self._style("legend"),
        )
        text.append(f"{safe_text(span.name)}  ({safe_text(span.status)}", "bold")
        text.append(f": {safe_text(span.status_message)})\n" if span.status_message else ")\n")
        text.append_text(pretty(span.attributes, width=max(self.size.width - 8, 40)))
        text.append("\n\n")
        text.append_text(self.trace_line(exchange))
        text.rstrip()
        return text

    def render_scope(self, exchange: Exchange | None) -> Text:
        """The scope of ``exchange`` as safe ``Text`` with the diff marks."""
        span = exchange.otel_span() if exchange is not None else None
        if exchange is not None and span is not None:
            return self.render_otel(exchange, span)
        if exchange is None or exchange.scope is None:
            return Text("No scope yet: the request head has not been read.", self._style("legend"))
        styles = {
            ADDED: self._style("added"),
            CHANGED: self._style("changed"),
            REMOVED: self._style("removed"),
            SAME: Style.null(),
        }
        text = Text()
        if exchange.scope_after is None:
            text.append(
                "The app is still running; changes show once it returns.\n", self._style("legend")
            )
        else:
            text.append("As the app left it:  ", self._style("legend"))
            text.append("+ added", styles[ADDED])
            text.append("  ")
            text.append("~ changed", styles[CHANGED])
            text.append("  ")
            text.append("- removed", styles[REMOVED])
            text.append(" by the app\n", self._style("legend"))
        width = max(self.size.width - 8, 40)
        for mark, key, value in scope_diff(exchange.scope, exchange.scope_after):
            line = Text(f"{mark} ", styles[mark])
            line.append_text(key_text(key))
            line.append(": ")
            body = pretty(value, width=width)
            # Indent continuation lines of nested values under the key.
            body = Text("\n  ").join(body.split("\n", allow_blank=True))
            line.append_text(body)
            if mark != SAME:
                line.stylize(styles[mark], 0, len(line))
            text.append_text(line)
            text.append("\n")
        by_layer = [c.line for c in changes_of(exchange) if c.kind == "scope"]
        if by_layer:  # the middleware layers that changed it (trace/layer_changes.py)
            legend = "\nDown the middleware layers (each one's whole scope: g in Messages):\n"
            text.append(legend, self._style("legend"))
            for line in by_layer:
                text.append(f"  {line}\n", styles[CHANGED])
        if exchange.kind != "lifespan":
            text.append("\n")
            text.append_text(self.trace_line(exchange))
        text.rstrip()
        return text
