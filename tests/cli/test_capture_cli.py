"""``--record``, ``open``, ``export`` and ``replay`` as a user runs them: the
installed command in a subprocess, a real server, real requests, and every bad
capture file refused with one line naming the file and line, exit code 1."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest

from tests.cli.test_cli import run, start_headless, stop

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


def lines(*values: object) -> str:
    return "".join(json.dumps(v) + "\n" for v in values)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A headless FastAPI session recorded with --record: (file, what it printed)."""
    path = tmp_path_factory.mktemp("rec") / "session.jsonl"
    proc, url = start_headless("--record", str(path), "tests.apps.fastapi_app:app")
    try:
        with httpx.Client(base_url=url, timeout=5) as client:
            client.get("/items/42", params={"q": "x"}, headers={"authorization": "Bearer s3cr3t"})
            client.post("/user", json={"name": "Ada", "age": 36})
            client.get("/boom")
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    return path, out


def test_record_writes_a_private_capture_that_open_prints_the_same(recorded):
    path, live_out = recorded
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    header = json.loads(path.read_text().splitlines()[0])
    assert header["format"] == "asgi-scope-capture" and header["version"] == 1
    assert header["app"] == "tests.apps.fastapi_app:app"
    assert header["options"]["max_body"] == 1048576
    result = run("open", str(path), "--headless")
    assert result.returncode == 0, result.stderr
    assert result.stdout == live_out
    assert "scope GET /items/42?q=x HTTP/1.1" in result.stdout
    assert "app raised RuntimeError: boom" in result.stdout


def test_open_help_and_run_help_still_lists_the_run_flags():
    assert "--headless" in run("open", "--help").stdout
    assert "--record" in run("--help").stdout


# -- bad input, for every command that reads a capture --------------------------------

COMMANDS = {
    "open": lambda f: ("open", f, "--headless"),
    "export": lambda f: ("export", f, "--har", f + ".har"),
    "replay": lambda f: ("replay", f, "tests.apps.plain:app"),
}

BAD_FILES = {
    "empty": ("", None, "empty file"),
    "not a capture": ('{"hello": "world"}\n', 1, "not an asgi-scope capture"),
    "newer version": (lines(HEADER | {"version": 99}), 1, "version 99 is newer"),
    "not JSON": (lines(HEADER, NOTE) + "{oops\n" + lines(NOTE), 3, "not valid JSON"),
    "not an event": (lines(HEADER, NOTE, {"kind": "Nope"}), 3, "unknown event kind"),
    "bad field": (lines(HEADER, NOTE | {"seq": "x"}), 2, "seq is not int"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_capture_is_one_clear_line_and_exit_1(tmp_path: Path, command: str, case: str):
    text, line, words = BAD_FILES[case]
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    result = run(*COMMANDS[command](str(path)))
    assert result.returncode == 1, result.stderr
    error = result.stderr.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error, error
    where = f"{path}:{line}:" if line else f"{path}:"
    assert where in error and words in error
    assert not Path(f"{path}.har").exists()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_missing_file_is_one_clear_line_and_exit_1(tmp_path: Path, command: str):
    path = tmp_path / "missing.jsonl"
    result = run(*COMMANDS[command](str(path)))
    assert result.returncode == 1
    assert result.stderr.strip() == f"asgi-scope: {path}: no such file"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_truncated_last_line_warns_and_shows_the_rest(recorded, tmp_path: Path, command: str):
    source, _ = recorded
    path = tmp_path / "cut.jsonl"
    text = source.read_text()
    path.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 30])
    result = run(*COMMANDS[command](str(path)))
    assert result.returncode == 0, result.stderr
    assert "warning" in result.stderr and f"{path}:" in result.stderr
    assert "cut short" in result.stderr
    if command == "open":
        assert "scope GET /items/42?q=x" in result.stdout


def test_replay_against_the_same_app_finds_no_difference(recorded):
    path, _ = recorded
    result = run("replay", str(path), "tests.apps.fastapi_app:app")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("GET /items/42?q=x" in line and "200 → 200" in line for line in lines)
    assert any("POST /user" in line and "same body" in line for line in lines)
    assert any("GET /boom" in line and "500 → 500" in line for line in lines)
    assert lines[-1] == "3 requests: 3 the same, 0 different"


def test_replay_against_another_app_shows_each_difference(recorded):
    path, _ = recorded
    result = run("replay", str(path), "tests.apps.plain:app")
    assert result.returncode == 0, result.stderr
    assert any(
        "GET /boom" in line
        and "500 → 200" in line
        and "≠" in line
        and "body differs at byte 0" in line
        for line in result.stdout.splitlines()
    )
    assert result.stdout.splitlines()[-1] == "3 requests: 0 the same, 3 different"


def test_replay_of_an_app_that_cannot_load_exits_3(recorded):
    path, _ = recorded
    result = run("replay", str(path), "no_such_module_xyz:app")
    assert result.returncode == 3
    assert "no_such_module_xyz" in result.stderr


def test_a_websocket_session_records_and_reopens_the_same(tmp_path: Path):
    """Every event kind the server records (WebSocket frames included) goes through
    the capture unchanged: ``open`` prints what the live run printed."""
    from websockets.sync.client import connect

    path = tmp_path / "ws.jsonl"
    proc, url = start_headless("--record", str(path), "tests.apps.exports:app")
    try:
        with connect(url.replace("http", "ws") + "/ws", open_timeout=5) as ws:
            ws.send("hello")
            assert ws.recv(timeout=5) == "hello"
            ws.send(b"\x00\xff")
            assert ws.recv(timeout=5) == b"\x00\xff"
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    result = run("open", str(path), "--headless")
    assert result.returncode == 0, result.stderr
    assert result.stdout == out
    assert "websocket" in out
    kinds = {json.loads(line).get("kind") for line in path.read_text().splitlines()[1:]}
    assert {"ScopeCreated", "MessageSent", "BytesReceived", "WebSocketFrame"} <= kinds


def test_open_headless_as_an_access_log_with_a_filter(recorded):
    path, _ = recorded
    result = run("open", str(path), "--headless", "--format", "access", "--filter", "!~c 2xx")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1, result.stdout
    assert '"GET /boom HTTP/1.1" 500' in result.stdout
    every = run("open", str(path), "--headless", "--format", "access").stdout.splitlines()
    assert [line.split('"')[1] for line in every] == [
        "GET /items/42?q=x HTTP/1.1",
        "POST /user HTTP/1.1",
        "GET /boom HTTP/1.1",
    ]
