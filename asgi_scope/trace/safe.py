"""One way to turn untrusted text into text that is safe to show.

Paths, headers, bodies and app output come from strangers. Rich strips only BEL,
BS and CR, and Textual passes ESC, OSC and C1 bytes straight to the terminal, so
every view calls :func:`safe_text` (or :func:`safe_bytes`) before displaying
anything that came from the network or the app, and builds Rich ``Text`` objects
from the result, never markup strings.

Escapes follow Python's ``repr`` habits: ``\\n``, ``\\t``, ``\\r``, ``\\x1b``,
``\\u202e``; a backslash stays a single backslash, so plain text reads as is.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls, DEL, C1 controls, and the bidi / zero-width formatting characters
# that can make displayed text lie about its order (Trojan Source, CVE-2021-42574).
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
# Surrogates, unassigned, private use, and format characters (soft hyphen,
# tag characters): invisible or undefined on a terminal.
_HIDDEN = ("Cs", "Cn", "Co", "Cf")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _code(code: int) -> str:
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return _code(ord(char))


def safe_text(text: str, *, keep_newlines: bool = False) -> str:
    """Return ``text`` with every control and bidi-formatting character escaped.

    With ``keep_newlines`` a ``\\n`` stays a line break (for multi-line bodies);
    everything else, ``\\r`` included, is escaped. Unassigned, surrogate,
    private-use and format (invisible) code points are escaped too.
    """
    if keep_newlines:
        return "\n".join(safe_text(line) for line in text.split("\n"))
    text = _UNSAFE.sub(_escape, text)
    if text.isprintable() or text.isascii():
        return text
    return "".join(ch if unicodedata.category(ch) not in _HIDDEN else _code(ord(ch)) for ch in text)


def safe_bytes(data: bytes, *, keep_newlines: bool = False) -> str:
    """Decode ``data`` as UTF-8 (invalid bytes as ``\\xNN``) and make it safe."""
    return safe_text(data.decode("utf-8", "backslashreplace"), keep_newlines=keep_newlines)


_SGR = re.compile(r"\x1b\[[0-9;:]{0,64}m")
"""Select Graphic Rendition (ECMA-48 §8.3.117): colours, bold, underline, reset."""


def keep_sgr(text: str) -> str:
    """``text`` made safe as :func:`safe_text` makes it, but for its SGR sequences
    (``ESC [ … m``: colour and emphasis), kept as they are for a view to turn
    into styles with Rich's ANSI decoder (``Text.from_ansi``), which renders
    nothing else from them. Every other control sequence (OSC 52, CSI 2J...)
    comes out escaped."""
    parts = []
    last = 0
    for match in _SGR.finditer(text):
        parts.append(safe_text(text[last : match.start()]))
        parts.append(match.group())
        last = match.end()
    parts.append(safe_text(text[last:]))
    return "".join(parts)


def without_sgr(text: str) -> str:
    """``text`` made safe as :func:`safe_text` makes it, its SGR sequences (colour,
    emphasis) left out: the app's output on one plain line (a Messages summary).
    Every other control sequence comes out escaped."""
    return safe_text(_SGR.sub("", text))
