"""curl commands from a real session, run by a shell against the live server:
the app gets the same request again (method, target, headers, body byte for
byte), and nothing in a request can make the shell do anything else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from asgi_scope.export.curl import curl
from asgi_scope.trace.events import ExchangeEnded
from asgi_scope.trace.flow import Flow, flows
from tests.export.conftest import Session
from tests.live import TIMEOUT

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


def rerun(session: Session, command: str, cwd: Path) -> tuple[Flow, bytes]:
    """Run ``command`` in sh; return the flow it caused and what curl printed."""
    before = {e.exchange for e in session.store.events if isinstance(e, ExchangeEnded)}
    result = subprocess.run(
        ["sh", "-c", command], capture_output=True, timeout=TIMEOUT * 2, cwd=cwd
    )
    assert result.returncode == 0, result.stderr.decode()

    def new_exchange(store) -> bool:
        return any(
            isinstance(e, ExchangeEnded) and e.conn and e.exchange not in before
            for e in store.events
        )

    store = session.live.collect(new_exchange)
    new = max(e.exchange for e in store.events if isinstance(e, ExchangeEnded))
    return flows(store, [new])[0], result.stdout


def same_request(a: Flow, b: Flow) -> None:
    assert b.request.method == a.request.method
    assert b.request.target == a.request.target
    assert b.request.body == a.request.body
    assert sorted(b.request.headers) == sorted(a.request.headers)


@pytest.mark.parametrize(("method", "path"), [("GET", "/json"), ("POST", "/echo")])
def test_curl_reproduces_the_exchange(session: Session, tmp_path: Path, method: str, path: str):
    original = session.flow(method, path)
    again, printed = rerun(session, curl(original.request, redact=None), tmp_path)
    same_request(original, again)
    assert again.response is not None and original.response is not None
    assert again.response.status == original.response.status
    assert printed == original.response.body


def test_hostile_requests_stay_data_in_the_shell(session: Session, tmp_path: Path):
    evil = "$(touch pwned) `touch pwned2` ' \" ; touch pwned3"
    with httpx.Client(base_url=session.live.url, timeout=TIMEOUT) as client:
        client.request(
            "PATCH",
            "/echo/a%20b'c[1]{2}",
            params={"x": "$(id)"},
            headers={"x-evil": evil, "x-empty": ""},
            content=evil.encode() + b"\x00\n\r\n",
        )
    session.live.collect(lambda s: any(f.request.method == "PATCH" for f in flows(s)))
    original = next(f for f in flows(session.store) if f.request.method == "PATCH")
    command = curl(original.request, redact=None)
    assert "-X PATCH" in command and "--globoff" in command
    again, printed = rerun(session, command, tmp_path)
    same_request(original, again)
    assert printed == evil.encode() + b"\x00\n\r\n"
    assert list(tmp_path.iterdir()) == []  # nothing was run


def test_credentials_are_redacted_unless_asked(session: Session):
    request = session.flow("POST", "/echo").request
    assert "s3cr3t" not in curl(request)
    assert "'authorization: [REDACTED]'" in curl(request)
    assert "'authorization: Bearer s3cr3t'" in curl(request, redact=None)
    cookie = session.flow("GET", "/json").request
    assert "'cookie: [REDACTED]'" in curl(cookie) and "theme=dark" not in curl(cookie)


def test_a_cut_body_is_said_so(serve, tmp_path: Path):
    from tests.apps.exports import app

    live = serve(app, max_body=4)
    httpx.post(f"{live.url}/echo", content=b"0123456789", timeout=TIMEOUT)
    store = live.collect(lambda s: any(isinstance(e, ExchangeEnded) for e in s.events))
    command = curl(flows(store)[0].request)
    assert command.startswith("# the body was cut by the recording's body cap: 4 of 10 bytes")


def _request(session: Session, method: str, path: str, **kwargs) -> Flow:
    with httpx.Client(base_url=session.live.url, timeout=TIMEOUT) as client:
        client.request(method, path, **kwargs)
    session.live.collect(lambda s: any(f.request.target == path for f in flows(s)))
    return next(f for f in flows(session.store) if f.request.target == path)


@pytest.mark.parametrize(
    "body",
    [b"@secret.txt", b"ok\x1b]52;c;cHduZWQ=\x07", "caf\u00e9 \u202eevil".encode(), b"a\x85b\r\n"],
)
def test_a_body_curl_would_read_as_a_file_or_that_is_not_safe_text_is_piped(
    session: Session, tmp_path: Path, body: bytes
):
    """``--data-binary @name`` reads a local file; an ESC or C1 byte in the
    command would reach the terminal that pastes it."""
    original = _request(session, "PUT", f"/echo/{len(body)}", content=body)
    command = curl(original.request, redact=None)
    assert "@-" in command
    assert all(ch.isascii() and (ch.isprintable() or ch == "\n") for ch in command), command
    (tmp_path / "secret.txt").write_bytes(b"LEAKED")
    again, printed = rerun(session, command, tmp_path)
    same_request(original, again)
    assert printed == body


def test_the_url_is_the_servers_address_not_the_clients_host_header(
    session: Session, tmp_path: Path
):
    """A client picks its Host header; the command (with credentials) must still
    go to the server that recorded it, and send the same Host."""
    original = _request(
        session,
        "POST",
        "/echo/host",
        content=b"x",
        headers={"host": "attacker.invalid:9", "authorization": "Bearer s3cr3t"},
    )
    command = curl(original.request, redact=None)
    assert "attacker.invalid" not in command.split("\n")[0]
    assert f"http://127.0.0.1:{session.live.port}/echo/host" in command
    assert "'host: attacker.invalid:9'" in command
    again, _ = rerun(session, command, tmp_path)
    same_request(original, again)


def test_control_bytes_in_header_values_are_escaped_for_the_shell(session: Session, tmp_path: Path):
    """Latin-1 C1 bytes (0x9b is a one-byte CSI) never reach the clipboard raw;
    curl still sends them byte for byte."""
    value = b"a\x9b31mred\x85 caf\xe9 100% \\ 'q'"
    original = _request(session, "POST", "/echo/c1", content=b"x", headers={"x-c1": value})
    command = curl(original.request, redact=None)
    assert all(ch.isascii() and (ch.isprintable() or ch == "\n") for ch in command), command
    assert "printf" in command
    again, _ = rerun(session, command, tmp_path)
    same_request(original, again)
    assert again.request.header(b"x-c1") == value
