"""Redaction of what leaves the live view, on a real recorded session: secrets in
a bare-LF head, in a chunked trailer section, in the query and in a form body,
under names of the documented list and one given with ``--redact``, are gone
from every export (raw, HAR, curl, pytest) and from the headless raw-bytes
preview; ``--no-redact`` keeps them."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path

import pytest

from asgi_scope.export.redact import REDACTED, Redactor
from tests.cli.test_cli import COMMAND, ROOT, run, start_headless, stop

FORM = b"password=P1SECRET&user=ada"
BARE_LF = (
    b"POST /echo?token=T1SECRET&q=ok HTTP/1.1\nHost: x\nAuthorization: Bearer A1SECRET\n"
    b"X-Api-Key: K1SECRET\nX-Custom: C1SECRET\n"
    b"Content-Type: application/x-www-form-urlencoded\n"
    b"Content-Length: " + str(len(FORM)).encode() + b"\n\n" + FORM
)
TRAILERS = (
    b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\nAuthorization: Bearer A2SECRET\r\nX-Session-Token: S2SECRET\r\n\r\n"
)
SECRETS = re.compile(r"[A-Z]\dSECRET")


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def send(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, str]:
    """A capture of both requests, and the headless output of the run."""
    capture = tmp_path_factory.mktemp("redact") / "secrets.jsonl"
    proc, url = start_headless(
        "tests.apps.plain:app", "--record", str(capture), "--redact", "X-CUSTOM"
    )
    try:
        for request in (BARE_LF, TRAILERS):
            assert send(port_of(url), request).startswith(b"HTTP/1.1 200 "), request
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    return capture, out


def test_the_headless_raw_bytes_preview_holds_no_secret(recorded):
    _, out = recorded
    previews = [line for line in out.splitlines() if "⇠" in line]
    assert len(previews) >= 2, out
    assert not SECRETS.search("\n".join(previews)), previews
    assert "[REDACTED]" in "\n".join(previews)


@pytest.mark.parametrize(
    "how",
    [
        ["--raw", "--exchange", "{first}"],
        ["--raw", "--exchange", "{second}"],
        ["--curl"],
        ["--har", "-"],
        ["--pytest", "-", "--exchange", "{first}"],
    ],
    ids=["raw bare-LF head", "raw chunked trailers", "curl", "har", "pytest"],
)
def test_no_export_holds_a_secret_unless_asked(recorded, how, tmp_path):
    capture, _ = recorded
    first, second = exchanges(capture)  # the two requests, in order
    args = [a.format(first=first, second=second) for a in how]
    if args[0] == "--har":
        args[1] = str(tmp_path / "out.har")
    result = run("export", str(capture), *args, "--redact", "x-custom")
    assert result.returncode == 0, result.stderr
    text = result.stdout + (Path(args[1]).read_text() if args[0] == "--har" else "")
    assert not SECRETS.search(text), text
    assert "REDACTED" in text
    if args[0] == "--har":
        Path(args[1]).unlink()
    kept = run("export", str(capture), *args, "--no-redact")
    assert kept.returncode == 0, kept.stderr
    text = kept.stdout + (Path(args[1]).read_text() if args[0] == "--har" else "")
    assert SECRETS.search(text), text


def exchanges(capture: Path) -> list[int]:
    """The ids of the HTTP exchanges of the capture, in order."""
    ids = []
    for line in capture.read_text().splitlines()[1:]:
        event = json.loads(line)
        if event["kind"] == "ScopeCreated" and event["scope"].get("type") == "http":
            ids.append(event["exchange"])
    return ids


def test_raw_bytes_with_control_characters_are_not_written_to_a_terminal(tmp_path):
    """``export --raw`` refuses a terminal when the bytes would drive it (as curl
    refuses binary output), and writes them with --force or to a pipe."""
    capture = tmp_path / "ctl.jsonl"
    evil = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n\x1b]0;pwned\x07 body"
    proc, url = start_headless("tests.apps.plain:app", "--record", str(capture))
    try:
        assert send(port_of(url), evil).startswith(b"HTTP/1.1 200 ")
    finally:
        stop(proc)
    [exchange] = exchanges(capture)
    raw = ["export", str(capture), "--raw", "--exchange", str(exchange)]
    piped = run(*raw)
    assert piped.returncode == 0 and "\x1b]0;pwned" in piped.stdout
    script = f"{COMMAND} {' '.join(raw)} >/dev/tty"
    in_tty = subprocess.run(
        ["script", "-qec", script, "/dev/null"], cwd=ROOT, capture_output=True, text=True
    )
    assert in_tty.returncode == 1 and "control characters" in in_tty.stdout, in_tty
    forced = subprocess.run(
        ["script", "-qec", script + " --force", "/dev/null"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert forced.returncode == 0 and "\x1b]0;pwned" in forced.stdout, forced


def test_fields_are_found_by_name_in_every_form():
    redact = Redactor.with_names(["X-Custom"])
    head = (
        b"GET /a?x=1&Token=t&api%5Fkey=k&q HTTP/1.1\nHost: h\nCookie: a=b\n"
        b"X-Client-Secret: s\n\tfolded more\nx-custom: c\r\nUser-Agent: u"
    )
    assert redact.head(head) == (
        b"GET /a?x=1&Token=[REDACTED]&api%5Fkey=[REDACTED]&q HTTP/1.1\nHost: h\n"
        b"Cookie: [REDACTED]\nX-Client-Secret: [REDACTED]\nx-custom: [REDACTED]\r\n"
        b"User-Agent: u"
    )
    assert (
        redact.query(b"password=p&user=ada&secret") == b"password=" + REDACTED + b"&user=ada&secret"
    )
    assert Redactor().is_secret_header(b"x-custom") is False


def test_a_head_redacted_for_a_preview_is_the_start_of_the_whole():
    """``limit``: the start of what the whole redaction gives, longer than the
    limit (or all of it), however the lines and folds fall."""
    redact = Redactor.with_names(["X-Custom"])
    head = (
        b"GET /a?x=1&Token=t&q HTTP/1.1\nHost: h\nCookie: a=b\n\tfolded\n"
        b"X-Custom: c\r\n\tmore\r\nUser-Agent: u\n\n" + b"body line\n" * 400
    )
    whole = redact.head(head)
    for limit in range(len(whole) + 2):
        start = redact.head(head, limit=limit)
        assert whole.startswith(start)
        assert start == whole or len(start) > limit
    assert len(redact.head(head, limit=60)) < 100


def _sent(headers: list) -> list[tuple[str, str]]:
    """The checker's findings for a response start with ``headers`` (the app's side)."""
    from asgi_scope.trace.spec import checker_for

    check = checker_for({"type": "http", "method": "GET", "headers": []})
    assert check is not None
    return check.sent({"type": "http.response.start", "status": 200, "headers": headers}) or []


def _scope(headers: list) -> list[tuple[str, str]]:
    """The checker's findings for a scope with ``headers`` (the server's side, attach)."""
    from asgi_scope.trace.spec import check_scope

    scope = {"type": "http", "asgi": {"version": "3.0"}, "method": "GET", "path": "/"}
    return check_scope({**scope, "headers": headers}) or []


@pytest.mark.parametrize(
    "findings",
    [
        lambda: _sent([(b"authorization", b"Bearer D1SECRET", b"x")]),  # three items
        lambda: _sent([(b"x-custom", b"D1SECRET", b"x")]),  # a --redact name
        lambda: _sent([(b"cookie", b"sid=abc D1SECRET and a long tail cut short", b"x")]),
        lambda: _scope([(b"authorization", b"D1SECRET"), "not a pair"]),
    ],
)
@pytest.mark.parametrize("fmt", ["sarif", "junit", "json"])
def test_a_finding_that_quotes_a_secret_is_redacted_in_every_report(findings, fmt, tmp_path):
    from asgi_scope.export.report import write_report
    from asgi_scope.trace.events import SpecViolation

    found = findings()
    assert found and "D1SECRET" in found[0][1]  # the checker's own words quote it
    events = [SpecViolation(1, 0, 1, 1, rule, "", detail, 0) for rule, detail in found]
    path = tmp_path / f"report.{fmt}"
    write_report(path, fmt, events, "main:app", "1.0", Redactor.with_names(["x-custom"]))
    text = path.read_text()
    assert "D1SECRET" not in text and "[REDACTED]" in text


def test_a_finding_detail_keeps_what_is_not_secret():
    redact = Redactor()
    for detail in ("header (b'host', b'h', b'x') is not a [name, value] pair",
                   "header name b'X-A' is not lower-case", "Content-Length b'12'"):  # fmt: skip
        assert redact.detail(detail) == detail
    cut = "header (b'cookie', b'sid=abcdefghijklmnop… is not a [name, value] pair"
    assert redact.detail(cut) == "header (b'cookie', b'[REDACTED]' is not a [name, value] pair"
