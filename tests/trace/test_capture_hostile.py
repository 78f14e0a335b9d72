"""Hostile capture files: escape sequences in every printed field, JSON that makes
the parser raise something other than JSONDecodeError (real ``asgi-scope`` runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    result = run(*COMMANDS[command](str(path)))
    assert result.returncode == 1, result.stderr
    error = result.stderr.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error, error
    assert f"{path}:{line}:" in error and "not valid JSON" in error and words in error, error
    assert not Path(f"{path}.har").exists()
