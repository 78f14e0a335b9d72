"""safe_text / safe_bytes: untrusted text made safe to put on a terminal."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from asgi_scope.trace.safe import safe_bytes, safe_text

BIDI_AND_INVISIBLE = (
    "\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii, with (punctuation) and 123",
        "café naïve Ünïcödé",
        "日本語のテキスト",
        "emoji 👍🏽 and symbols → ✓",
        "a backslash \\ stays one backslash",
        "combining e\u0301 and greek αβγ",
        "",
    ],
)
def test_readable_text_is_unchanged(text: str):
    assert safe_text(text) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),  # SGR colours
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # OSC: set the window title
        ("\x1b]8;;http://evil\x1b\\link", "\\x1b]8;;http://evil\\x1b\\link"),  # hyperlink
        ("\x9b2J", "\\x9b2J"),  # C1 CSI: clear screen without ESC
        ("\x90dcs\x9c", "\\x90dcs\\x9c"),  # C1 DCS ... ST
        ("nul\x00del\x7f", "nul\\x00del\\x7f"),
        ("bs\x08bell\x07", "bs\\x08bell\\x07"),
        ("line\nfeed\ttab\rreturn", "line\\nfeed\\ttab\\rreturn"),
        ("admin\u202e\u2066txt.exe", "admin\\u202e\\u2066txt.exe"),  # bidi override/isolate
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
        ("\u2028sep", "\\u2028sep"),
    ],
)
def test_controls_escapes_and_bidi_are_escaped(text: str, shown: str):
    assert safe_text(text) == shown


def test_unassigned_private_and_surrogate_code_points_are_escaped():
    assert safe_text("a\u0378b") == "a\\u0378b"  # unassigned
    assert safe_text("a\ue000b") == "a\\ue000b"  # private use
    assert safe_text("a\ud800b") == "a\\ud800b"  # lone surrogate


def test_keep_newlines_keeps_only_line_feeds():
    assert safe_text("one\ntwo\r\nthree\x1b", keep_newlines=True) == "one\ntwo\\r\nthree\\x1b"
    assert safe_text("one\ntwo") == "one\\ntwo"


def test_no_code_point_comes_out_raw_if_it_could_drive_the_terminal():
    everything = "".join(chr(cp) for cp in range(sys.maxunicode + 1))
    shown = safe_text(everything)
    bad = {
        ch
        for ch in shown
        if unicodedata.category(ch) in ("Cc", "Cs", "Cn", "Co") or ch in BIDI_AND_INVISIBLE
    }
    assert not bad, sorted(f"U+{ord(ch):04X}" for ch in bad)[:20]


def test_safe_bytes_decodes_utf8_and_escapes_the_rest():
    assert safe_bytes("café".encode()) == "café"
    assert safe_bytes(b"\xff\xfe ok") == "\\xff\\xfe ok"
    assert safe_bytes(b"\x1b[2J") == "\\x1b[2J"
    assert safe_bytes("\x9b".encode()) == "\\x9b"  # C1 as UTF-8
    assert safe_bytes("\u202e".encode()) == "\\u202e"
    assert safe_bytes(b"a\r\nb", keep_newlines=True) == "a\\r\nb"


def test_keep_sgr_keeps_colour_and_escapes_every_other_sequence() -> None:
    from asgi_scope.trace.safe import keep_sgr

    text = "\x1b[1;31mred\x1b[0m \x1b]52;c;aGVsbG8=\x07 \x1b[2J \x9b31m"
    assert keep_sgr(text) == "\x1b[1;31mred\x1b[0m \\x1b]52;c;aGVsbG8=\\x07 \\x1b[2J \\x9b31m"
