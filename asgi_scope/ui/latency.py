"""How long the UI takes to show what happened: a hook for the benchmark.

With ``ASGI_SCOPE_LATENCY_LOG=PATH`` in the environment the app appends one line
per measurement to PATH (nothing is measured otherwise):

- ``row MS``: from an exchange's end (its :class:`ExchangeEnded` time) to the
  end of the first screen refresh after the drain that added its row;
- ``key MS``: from a key press (when Textual read it) to the end of the first
  screen refresh after it was handled;
- ``rendered N``: table lines rendered in one refresh (the table renders only
  the lines on screen, however many rows it has).

``python -m tests.benchmarks`` reads the file and reports p50 and p95.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable
from typing import IO

from textual.app import App
from textual.events import Key

from asgi_scope.trace.events import Event, ExchangeEnded
from asgi_scope.trace.recorder import Recorder

ENVIRONMENT = "ASGI_SCOPE_LATENCY_LOG"
SAMPLES = 20
"""Exchange ends measured per drain at most (spread evenly over the batch, the
oldest first: they waited longest), to keep the log small."""


class LatencyLog:
    """Appends measurements to a file; see the module docstring."""

    def __init__(self, file: IO[str]) -> None:
        self.file = file

    @classmethod
    def from_environment(cls) -> LatencyLog | None:
        """A log if ``ASGI_SCOPE_LATENCY_LOG`` names a file, else None."""
        path = os.environ.get(ENVIRONMENT)
        if not path:
            return None
        return cls(open(path, "a", buffering=1, encoding="utf-8"))

    def rows(self, events: Iterable[Event], app: App, recorder: Recorder) -> None:
        """Measure, at the next refresh, how long the batch's exchange ends waited."""
        ends = [e.t_ns for e in events if isinstance(e, ExchangeEnded) and e.conn]
        if not ends:
            return
        ends = ends[:: math.ceil(len(ends) / SAMPLES)]

        def shown() -> None:
            now = recorder.now()
            self.file.write("".join(f"row {(now - t) / 1e6:.2f}\n" for t in ends))

        app.call_after_refresh(shown)

    def key(self, event: Key, app: App) -> None:
        """Measure, at the next refresh, how long ``event`` took to show."""
        pressed = event.time

        def shown() -> None:
            self.file.write(f"key {(time.monotonic() - pressed) * 1000:.2f}\n")

        app.call_after_refresh(shown)

    def rendered(self, lines: int) -> None:
        """Record how many table lines one refresh rendered."""
        self.file.write(f"rendered {lines}\n")
