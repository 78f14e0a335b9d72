"""Hostile capture files: escape sequences in every printed field, JSON that makes
the parser raise something other than JSONDecodeError (real ``asgi-scope`` runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asgi_scope.trace.capture import read_capture
from tests.cli.test_cli import run

HEADER = {
    "format": "asgi-scope-capture",
    "version": 1,
    "asgi_scope": "0.1.0",
    "app": "tests.apps.plain:app",
    "started": "2026-01-01T00:00:00.000000Z",
    "started_ns": 1767225600000000000,
    "options": {"max_body": 1048576},
}
NOTE = {"kind": "ServerNote", "seq": 1, "t_ns": 5, "conn": 0, "level": "info", "text": "hi"}
EVIL = "\x1b]0;pwned\x07"


def lines(*values: object) -> str:
    return "".join(json.dumps(v) + "\n" for v in values)


def test_open_headless_escapes_by_and_outcome_from_a_capture(tmp_path: Path):
    base = {"t_ns": 5, "conn": 1}
    path = tmp_path / "evil.jsonl"
    path.write_text(
        lines(
            HEADER,
            base
            | {
                "kind": "ProtocolError",
                "seq": 1,
                "exchange": 1,
                "by": EVIL,
                "status": 400,
                "detail": "x",
                "wire": None,
            },
            base
            | {
                "kind": "ExchangeEnded",
                "seq": 2,
                "exchange": 1,
                "scope": {},
                "outcome": EVIL,
                "status": 400,
            },
            base | {"kind": "ConnectionClosed", "seq": 3, "by": EVIL, "reason": "r"},
        )
    )
    result = run("open", str(path), "--headless")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert result.stdout.count("\\x1b]0;pwned\\x07") == 3, result.stdout


COMMANDS = {
    "open": lambda f: ("open", f, "--headless"),
    "export": lambda f: ("export", f, "--har", f + ".har"),
    "replay": lambda f: ("replay", f, "tests.apps.plain:app"),
}
TOO_LONG = '{"kind": "ServerNote", "seq": ' + "1" * 5000 + "}\n"
TOO_DEEP = "[" * 5000 + "]" * 5000 + "\n"
BAD_JSON = {
    "int too long": (lines(HEADER, NOTE) + TOO_LONG + lines(NOTE), 3, "a number too long"),
    "too deep": (lines(HEADER, NOTE) + TOO_DEEP + lines(NOTE), 3, "nested too deeply"),
    "header int too long": ('{"version": ' + "9" * 5000 + "}\n", 1, "a number too long"),
    "header too deep": (TOO_DEEP, 1, "nested too deeply"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_json_the_parser_cannot_take_is_one_clear_line_and_exit_1(
    tmp_path: Path, command: str, case: str
):
    text, line, words = BAD_JSON[case]
    refused(tmp_path, command, text, line, "not valid JSON", words)


SCOPE = {"kind": "ScopeCreated", "seq": 2, "t_ns": 6, "conn": 1, "exchange": 1, "wire": None}
STATUS = {"kind": "ExchangeEnded", "seq": 3, "t_ns": 7, "conn": 1, "exchange": 1, "scope": {}}
STATUS |= {"outcome": "ok"}
NESTED: object = {"type": "http"}
for _ in range(200):
    NESTED = {"next": NESTED}
BAD_NUMBERS = {
    "t_ns past 2**63": (lines(HEADER, NOTE | {"t_ns": 2**63}), 2, "t_ns is out of range"),
    "status of 4000 digits": (
        lines(HEADER, NOTE, STATUS | {"status": int("9" * 4000)}),
        3,
        "status is out of range",
    ),
    "negative seq": (lines(HEADER, NOTE | {"seq": -5}), 2, "seq is out of range"),
    "scope nested 200 deep": (lines(HEADER, NOTE, SCOPE | {"scope": NESTED}), 3, "too deeply"),
    "started_ns past 2**63": (
        lines(HEADER | {"started_ns": 2**70}, NOTE),
        1,
        "started_ns or options is malformed",
    ),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(BAD_NUMBERS))
def test_a_number_or_nesting_out_of_bounds_is_one_clear_line_and_exit_1(
    tmp_path: Path, command: str, case: str
):
    text, line, words = BAD_NUMBERS[case]
    refused(tmp_path, command, text, line, words)


def refused(tmp_path: Path, command: str, text: str, line: int, *words: str) -> None:
    """``command`` on a capture of ``text`` is one line on stderr naming the
    path and ``line`` and holding each of ``words``; exit code 1, no traceback,
    nothing written."""
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    result = run(*COMMANDS[command](str(path)))
    assert result.returncode == 1, result.stderr
    error = result.stderr.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error, error
    assert f"{path}:{line}:" in error and all(word in error for word in words), error
    assert not Path(f"{path}.har").exists()


def test_a_huge_integer_inside_a_scope_is_read_back_as_its_width(tmp_path: Path):
    """An app may put any int in its scope; read back, one past 64 bits is named
    by its width (an Opaque), never handed to a view to format digit by digit."""
    scope = {"type": "http", "method": "GET", "path": "/", "state": {"n": int("7" * 3000)}}
    path = tmp_path / "wide.jsonl"
    path.write_text(lines(HEADER, NOTE, SCOPE | {"scope": scope}))
    event = read_capture(path).events[1]
    assert repr(event.scope["state"]["n"]) == "<an integer of 9966 bits>"
    assert event.scope["path"] == "/"
    result = run("open", str(path), "--headless")
    assert result.returncode == 0 and "scope GET /" in result.stdout, result.stderr
