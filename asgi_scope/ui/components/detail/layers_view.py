"""The Layers tab: the app's middleware stack for one exchange, top to bottom,
with what each layer received, sent and changed (trace/layer_changes.py)."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from asgi_scope.trace.layer_changes import Change, changes_of, visits
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Exchange

NO_LAYERS = (
    "No middleware layers were traced for this exchange: the app has no chain of "
    "layers (.app), or it runs with --no-layers."
)


class LayersView(VerticalScroll):
    """The layers an exchange went through, outermost first: each layer's name,
    module, the messages that crossed its boundary, how its call ended, and its
    changes (headers, status, bodies, held messages, scope keys, answers)."""

    COMPONENT_CLASSES = {
        "layers-view--name",
        "layers-view--module",
        "layers-view--change",
        "layers-view--answered",
        "layers-view--error",
        "layers-view--legend",
    }

    def compose(self):
        yield Static(id="layers-text")

    def show(self, exchange: Exchange | None) -> None:
        """Render the layers of ``exchange`` (or why there are none)."""
        self.query_one("#layers-text", Static).update(self.render_layers(exchange))

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"layers-view--{name}", partial=True)

    def render_layers(self, exchange: Exchange | None) -> Text:
        """The stack of ``exchange`` as safe ``Text``."""
        layers = visits(exchange.events) if exchange is not None else []
        if not layers:
            return Text(NO_LAYERS, self._style("legend"))
        by_depth: dict[int, list[Change]] = {}
        for change in changes_of(exchange):  # type: ignore[arg-type]
            by_depth.setdefault(change.depth, []).append(change)
        text = Text("Outermost first: what each layer received (↓), sent (↑) and changed\n")
        text.stylize(self._style("legend"))
        for visit in layers:
            line = Text(f"{visit.depth:>2} ")
            line.append(safe_text(visit.layer), self._style("name"))
            if visit.module:
                line.append(f"  {safe_text(visit.module)}", self._style("module"))
            line.append(f"  ↓{len(visit.received)} ↑{len(visit.sent)}")
            if visit.outcome == "error":
                line.append(f"  raised {safe_text(visit.exc_type)}", self._style("error"))
            elif not visit.outcome:
                line.append("  running", self._style("module"))
            text.append_text(line)
            text.append("\n")
            for change in by_depth.get(visit.depth, []):
                style = self._style("answered" if change.kind == "answered" else "change")
                text.append(f"     {change.text}\n", style)
        text.rstrip()
        return text
