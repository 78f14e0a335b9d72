"""The app's stdout and stderr, each line stamped with the exchange that wrote it.

The inspector reads an app process's stdout and stderr through pipes
(:mod:`asgi_scope.server.supervisor`), so a line reaches it unchanged, and
even when the app process dies just after writing it. What a pipe cannot carry
is which exchange was running when the line was written. So the app process
(:mod:`asgi_scope.server.worker`) installs :class:`StampedStream` as
``sys.stdout`` and ``sys.stderr`` before it imports the app: when exactly one
exchange's app is running, each line the app writes through Python starts
with a stamp, ``\\x1e7\\x1f`` (ASCII record and unit separators around the
exchange id), which the inspector takes off again (:func:`unstamp`) and keeps
as the output note's ``exchange``. Output written below Python (C code, a
subprocess, the interpreter's own crash report) is not stamped. An app can
write a stamp itself: it then only misplaces its own lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TextIO

STAMP = re.compile(r"\x1e(\d{1,12})\x1f")
"""A stamp at the start of a line: the exchange id, at most 12 digits."""


class StampedStream:
    """A text stream (``sys.stdout``) whose lines start with a stamp when
    ``running()`` names an exchange (non-zero) as the line starts. Everything else
    (``buffer``, ``fileno``, ``isatty``, ``flush``) is the wrapped stream's."""

    def __init__(self, stream: TextIO, running: Callable[[], int]) -> None:
        self._stream = stream
        self._running = running
        self._fresh = True  # the next character starts a line

    def write(self, text: str) -> int:
        """Write ``text`` (a stamp before each line it starts); its length."""
        if not text:
            return 0
        pieces = []
        for line in text.splitlines(keepends=True):
            if self._fresh:
                exchange = self._running()
                if exchange:
                    pieces.append(f"\x1e{exchange}\x1f")
            pieces.append(line)
            self._fresh = line.endswith("\n")
        self._stream.write("".join(pieces))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def unstamp(line: str) -> tuple[int, str]:
    """``(exchange, text)`` of a line read from an app process: its stamp taken off
    (exchange 0: it had none)."""
    stamp = STAMP.match(line)
    if stamp is None:
        return 0, line
    return int(stamp.group(1)), line[stamp.end() :]
