"""The header: the app, the listening URL and live counters."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.summary import fmt_bytes

WIDE = 110
"""Columns from which the header spells its labels out."""


class ScopeHeader(Static):
    """One line: app name, URL, then connections, requests, bytes in/out, errors, follow."""

    COMPONENT_CLASSES = {
        "scope-header--title",
        "scope-header--app",
        "scope-header--url",
        "scope-header--label",
        "scope-header--errors",
        "scope-header--gone",
        "scope-header--follow",
        "scope-header--paused",
    }

    def __init__(self, app_name: str, url: str, live: bool = True, **kwargs) -> None:
        """``live``: a running server (else a capture reopened, where the header
        says nothing of following: no exchange is coming)."""
        super().__init__(**kwargs)
        self._live = live
        self._app_name = safe_text(app_name)
        self._url = safe_text(url)
        self._counters = (0, 0, 0, 0, 0, 0, 0)
        self._follow = True

    def on_mount(self) -> None:
        self._redraw()

    def set_counters(
        self,
        connections: int,
        requests: int,
        bytes_in: int,
        bytes_out: int,
        errors: int,
        dropped: int = 0,
        gone: int = 0,
    ) -> None:
        """Show new counter values (redraws only when they changed). ``dropped``:
        exchanges the store dropped to stay within its caps; ``gone``: exchanges
        whose client left mid-response (each shown once there are any)."""
        counters = (connections, requests, bytes_in, bytes_out, errors, dropped, gone)
        if counters != self._counters:
            self._counters = counters
            self._redraw()

    def set_follow(self, follow: bool) -> None:
        """Show whether the table follows the newest exchange."""
        self._follow = follow
        self._redraw()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"scope-header--{name}", partial=True)

    def on_resize(self) -> None:
        self._redraw()

    def _names(self, wide: bool, with_app: bool) -> Text:
        """The left part: the title (when wide), the app's name, the URL."""
        text = Text(no_wrap=True, overflow="ellipsis")
        if wide:
            text.append(" asgi-scope ", self._style("title"))
        text.append(" ")
        if with_app:
            text.append(self._app_name, self._style("app"))
            text.append("  ")
        text.append(self._url, self._style("url"))
        return text

    def _redraw(self) -> None:
        connections, requests, bytes_in, bytes_out, errors, dropped, gone = self._counters
        wide = self.size.width >= WIDE
        counters = Text(no_wrap=True)
        for wide_label, label, value, name in (
            ("connections ", "conn ", str(connections), ""),
            ("requests ", "req ", str(requests), ""),
            ("in ", "↓", fmt_bytes(bytes_in), ""),
            ("out ", "↑", fmt_bytes(bytes_out), ""),
            ("errors ", "err ", str(errors), "errors" if errors else ""),
        ):
            counters.append(wide_label if wide else label, self._style("label"))
            counters.append(value, self._style(name) if name else Style.null())
            counters.append("  ")
        if gone:  # not errors: a browser leaving an event stream is how streams end
            counters.append("client gone " if wide else "gone ", self._style("label"))
            counters.append(str(gone), self._style("gone"))
            counters.append("  ")
        if dropped:
            counters.append("dropped ", self._style("label"))
            counters.append(str(dropped))
            counters.append("  ")
        if self._live:  # a capture reopened has nothing to follow
            word = "follow" if self._follow else "paused"
            counters.append(word, self._style(word))
            counters.append(" ")
        room = self.size.width - counters.cell_len
        text = self._names(wide, with_app=True)
        if text.cell_len > room:  # the URL is what a user needs: the app name goes first
            text = self._names(wide, with_app=False)
        if text.cell_len > room:
            text.truncate(max(room - 1, 0), overflow="ellipsis")
        text.append(" " * max(room - text.cell_len, 1))
        text.append_text(counters)
        self.update(text, layout=False)  # one line, always
