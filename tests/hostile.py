"""A corpus of hostile strings, and what must never reach a terminal.

Every string here is something a client or an app could put in a path, a
header, a query string, a body, a WebSocket message or an exception message.
A view that writes any of it to the terminal raw lets a stranger on the network
move the cursor, retitle the window, write the clipboard (OSC 52), plant a
link (OSC 8), reorder what the user reads (bidi overrides), or run a Textual
action (``[@click=...]``). :func:`unsafe_in` finds what must not be there.
"""

from __future__ import annotations

import re

CORPUS: dict[str, str] = {
    "csi-color": "\x1b[31;1mRED\x1b[0m",
    "csi-clear": "\x1b[2J\x1b[H\x1b[3J",
    "csi-altscreen": "\x1b[?1049h\x1b[?25l",
    "csi-report": "\x1b[6n\x1b[21t",  # asks the terminal to type an answer
    "osc-title": "\x1b]0;owned title\x07",
    "osc52-clipboard": "\x1b]52;c;SGVsbG8=\x07",
    "osc52-st": "\x1b]52;p;ZXZpbA==\x1b\\",
    "osc8-link": "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "dcs": "\x1bP+q544e\x1b\\",
    "c0": "a\x00b\x01c\x07d\x08e\x0bf\x0cg\rh\x7fi",
    "c1": "\x9b31m\x9d0;t\x9c\x85\x90x\x9c",
    "bidi": "abc\u202edcba\u202c \u2066x\u2069 \u200f\u061c",
    "zero-width": "pa\u200bss\ufeffword\u2060",
    "rich-markup": "[bold red]red[/] [link=https://evil.example]l[/link] [/]",
    "textual-markup": "[@click=app.quit]quit[/] $accent [b]x[/b]",
    "long-line": "L" * 6000,
}
"""Name → hostile text (each valid Unicode; as UTF-8 it is a valid byte string)."""

INVALID_UTF8 = b"\xff\xfe\xc3\x28\xed\xa0\x80\xf8\x88\x80\x80\x80 \xc2\x9b2J"
"""Bytes that are not UTF-8 (with a C1 CSI, U+009B, encoded among them)."""

_SGR = re.compile(rb"\x1b\[[0-9;]*m")
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def unsafe_in(text: str) -> list[str]:
    """The control, C1, bidi and zero-width characters in ``text`` (none is allowed
    on screen; ``\\n``, ``\\r`` and ``\\t`` are)."""
    return sorted({repr(m.group()) for m in _FORBIDDEN.finditer(text)})


def terminal_output_unsafe(data: bytes) -> list[str]:
    """What is wrong with bytes written to a terminal: any escape sequence other
    than SGR colours (what Rich styles with), and any unsafe character."""
    rest = _SGR.sub(b"", data)
    problems = [f"ESC at {m.start()}: {rest[m.start():m.start() + 20]!r}"
                for m in re.finditer(rb"\x1b", rest)][:5]  # fmt: skip
    text = rest.decode("utf-8", "replace")
    return problems + unsafe_in(text)
