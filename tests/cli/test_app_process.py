"""The app in its own process, on real processes: ``asgi-scope --headless`` runs
``tests.apps.process`` (an app that kills its process in every way it can) and
the trace of the fatal request reaches the headless lines and ``--record``."""

from __future__ import annotations

import json
import queue
import re
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.test_cli import COMMAND, ROOT

TIMEOUT = 20.0


class Headless:
    """``asgi-scope --headless --port 0 ARGS``: its URL read from its own
    ``listening on`` line (or, when that is not shown, started once the line
    ``listening`` came); every line of stdout and stderr kept (:meth:`wait_line`)."""

    def __init__(self, *args: str, cwd: Path = ROOT, listening: str = "listening on ") -> None:
        self.proc = subprocess.Popen(
            [COMMAND, "--headless", "--port", "0", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            line = self.wait_line(listening)
        except AssertionError:
            self.close()
            raise
        self.url = line.split(listening, 1)[1].split()[0] if listening == "listening on " else ""

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_line(self, text: str, timeout: float = TIMEOUT) -> str:
        """The first line (seen or to come) containing ``text``."""
        deadline = time.monotonic() + timeout
        for line in self.lines:
            if text in line:
                return line
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in:\n" + "\n".join(self.lines))

    def wait_exit(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """The exit code, and every line it wrote."""
        code = self.proc.wait(timeout)
        with pytest.raises(AssertionError):
            self.wait_line("\0never\0")  # read to the end
        return code, "\n".join(self.lines)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def raw_get(url: str, path: str, body: bytes = b"") -> bytes:
    """Send one request on a raw socket; everything the server sent until it closed."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        head = f"GET {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def capture(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]


@pytest.fixture
def running():
    started: list[Headless] = []

    def start(*args: str, cwd: Path = ROOT, listening: str = "listening on ") -> Headless:
        started.append(Headless(*args, cwd=cwd, listening=listening))
        return started[-1]

    yield start
    for each in started:
        each.close()


def test_os_exit_after_the_response_start_keeps_it_everywhere(running, tmp_path: Path) -> None:
    record = tmp_path / "trace.jsonl"
    run = running("tests.apps.process:app", "--record", str(record))
    raw_get(run.url, "/exit")
    code, err = run.wait_exit()
    assert code == 3
    run.wait_line("http.response.start")
    run.wait_line("the app process")
    assert "exit code 7" in run.wait_line("ended: exit code 7")
    assert "aborted" in run.wait_line("aborted")
    assert "exit code 7" in err
    events = capture(record)
    sent = [e for e in events if e["kind"] == "MessageSent"]
    assert sent and sent[-1]["message"]["type"] == "http.response.start"
    ended = [
        e for e in events if e["kind"] == "ExchangeEnded" and e["exchange"] == sent[-1]["exchange"]
    ]
    assert [e["outcome"] for e in ended] == ["aborted"]


def test_a_segfault_keeps_the_request_the_app_read(running, tmp_path: Path) -> None:
    record = tmp_path / "trace.jsonl"
    run = running("tests.apps.process:app", "--quiet", "--record", str(record))
    raw_get(run.url, "/segv", b"the last words")
    code, err = run.wait_exit()
    assert code == 3
    assert "signal SIGSEGV" in err
    events = capture(record)
    received = [e for e in events if e["kind"] == "MessageReceived"]
    assert received[-1]["message"]["body"] == {"$b": "dGhlIGxhc3Qgd29yZHM="}  # the last words
    notes = [e["text"] for e in events if e["kind"] == "ServerNote" and e["level"] == "error"]
    assert any("SIGSEGV" in text for text in notes)


@pytest.mark.parametrize("path", ["/interrupt", "/sysexit"])
def test_keyboard_interrupt_and_system_exit_in_a_handler_are_500s(running, path: str) -> None:
    run = running("tests.apps.process:app")
    with httpx.Client(base_url=run.url, timeout=TIMEOUT) as client:
        assert client.get(path).status_code == 500
        assert client.get("/").text == "hello"
    run.wait_line("Traceback")
    assert run.proc.poll() is None


def test_app_output_is_a_note_with_its_control_sequences_escaped(running) -> None:
    run = running("tests.apps.process:app")
    with httpx.Client(base_url=run.url, timeout=TIMEOUT) as client:
        assert client.get("/print").text == "printed"
    red = run.wait_line("red text")
    clipboard = run.wait_line("copy ")
    assert "\x1b" not in red
    assert "\\x1b]52" in clipboard and "\x1b" not in clipboard and "\x07" not in clipboard


MODULE = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({{"type": "lifespan.startup.complete"}})
        await send({{"type": "lifespan.shutdown.complete"}})
        return
    if scope["type"] == "websocket":
        await receive()
        await send({{"type": "websocket.accept"}})
        while (await receive())["type"] != "websocket.disconnect":
            pass
        return
    if scope["path"] == "/hang":
        await asyncio.Event().wait()
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": b"{version}"}})
"""


def wait_body(url: str, body: str, timeout: float = TIMEOUT) -> None:
    """Until ``GET url/`` answers ``body`` (the reloaded app)."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        try:
            seen = httpx.get(url + "/", timeout=TIMEOUT).text
        except httpx.HTTPError as exc:
            seen = repr(exc)
        if seen == body:
            return
        time.sleep(0.05)
    raise AssertionError(f"still {seen!r}, not {body!r}")


def ws_connect(url: str) -> socket.socket:
    """A WebSocket handshake on a raw socket (the close frame is read raw)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    sock.sendall(
        b"GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
        b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_reload_serves_the_new_code_closes_websockets_1012_and_never_waits_past_the_timeout(
    running, tmp_path: Path
) -> None:
    module = tmp_path / "reloaded.py"
    module.write_text(MODULE.format(version="one"))
    run = running(
        "reloaded:app",
        "--app-dir", str(tmp_path),
        "--reload", "--reload-dir", str(tmp_path), "--reload-delay", "0.05",
        "--timeout-graceful-shutdown", "1", "--record", str(tmp_path / "trace.jsonl"),
    )  # fmt: skip
    wait_body(run.url, "one")
    ws = ws_connect(run.url)
    host, port = run.url.removeprefix("http://").rsplit(":", 1)
    hung = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    hung.sendall(b"GET /hang HTTP/1.1\r\nhost: x\r\n\r\n")
    run.wait_line("GET /hang")
    saved = time.monotonic()
    module.write_text(MODULE.format(version="two"))
    wait_body(run.url, "two")
    assert "reloaded.py" in run.wait_line("reloaded: ")
    close = ws.recv(64)
    assert close[:1] == b"\x88" and int.from_bytes(close[2:4], "big") == 1012
    cut = b""
    while chunk := hung.recv(65536):  # the hung request was cut off, in time
        cut += chunk
    assert cut.startswith(b"HTTP/1.1 500 ")
    assert time.monotonic() - saved < 1 + 2 + 5  # the timeout, the kill margin, slack
    ws.close()
    hung.close()
    run.proc.terminate()
    assert run.wait_exit()[0] == 0
    events = capture(tmp_path / "trace.jsonl")  # one capture across the reload
    exchanges = [e["exchange"] for e in events if e["kind"] == "ScopeCreated"]
    assert len(exchanges) == len(set(exchanges)) and exchanges == sorted(exchanges)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_a_failed_import_keeps_the_inspector_and_the_next_good_save_recovers(
    running, tmp_path: Path
) -> None:
    module = tmp_path / "flaky.py"
    module.write_text(MODULE.format(version="good"))
    run = running(
        "flaky:app", "--app-dir", str(tmp_path),
        "--reload", "--reload-dir", str(tmp_path), "--reload-delay", "0.05",
    )  # fmt: skip
    wait_body(run.url, "good")
    module.write_text("raise RuntimeError('half-written')\n")
    run.wait_line("RuntimeError: half-written")
    run.wait_line("waiting for a change")
    assert run.proc.poll() is None
    module.write_text(MODULE.format(version="better"))
    wait_body(run.url, "better")
    assert run.proc.poll() is None


# -- uvicorn's command line --------------------------------------------------------


def test_tls_with_a_trusted_certificate_gives_an_https_scope(running, tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1")
    key, chain = tmp_path / "key.pem", tmp_path / "cert.pem"
    cert.private_key_pem.write_to_path(str(key))
    cert.cert_chain_pems[0].write_to_path(str(chain))
    run = running("tests.apps.process:app", "--ssl-keyfile", str(key), "--ssl-certfile", str(chain))
    with tmp_path.joinpath("ca.pem").open("wb") as f:
        f.write(authority.cert_pem.bytes())
    assert run.url.startswith("https://")
    trusted = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    with httpx.Client(verify=trusted, timeout=TIMEOUT) as client:
        assert client.get(run.url + "/whoami").text == "https 127.0.0.1 None"


def test_a_unix_socket_and_an_env_file(running, tmp_path: Path) -> None:
    path = tmp_path / "app.sock"
    env = tmp_path / ".env"
    env.write_text("ASGI_SCOPE_TEST_VAR=from-the-env-file\n")
    running(
        "tests.apps.process:app", "--uds", str(path), "--env-file", str(env)
    )  # fmt: skip
    transport = httpx.HTTPTransport(uds=str(path))
    with httpx.Client(transport=transport, base_url="http://x", timeout=TIMEOUT) as client:
        assert client.get("/whoami").text == "http - from-the-env-file"


def test_proxy_headers_of_a_trusted_proxy_set_the_client_and_the_scheme(running) -> None:
    run = running("tests.apps.process:app", "--proxy-headers")
    forwarded = {"x-forwarded-for": "203.0.113.7, 127.0.0.1", "x-forwarded-proto": "https"}
    with httpx.Client(base_url=run.url, timeout=TIMEOUT) as client:
        assert client.get("/whoami", headers=forwarded).text == "https 203.0.113.7 None"
    plain = running("tests.apps.process:app")
    with httpx.Client(base_url=plain.url, timeout=TIMEOUT) as client:
        assert client.get("/whoami", headers=forwarded).text == "http 127.0.0.1 None"


def test_fd_serves_a_socket_bound_by_the_caller(tmp_path: Path) -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [COMMAND, "--headless", "--fd", str(sock.fileno()), "tests.apps.process:app"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(sock.fileno(),),
    )
    try:
        wait_body(f"http://127.0.0.1:{port}", "hello")
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)
        sock.close()


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        (["--workers", "4"], "TraceMiddleware"),
        (["--http", "httptools"], "h11"),
        (["--loop", "uvloop"], "asyncio"),
    ],
)
def test_uvicorn_flags_asgi_scope_cannot_honour_are_refused(flag: list[str], words: str) -> None:
    result = subprocess.run(
        [COMMAND, *flag, "--headless"], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 2
    assert words in result.stderr.strip().splitlines()[-1]


def test_log_level_warning_drops_the_servers_info_notes(running, tmp_path: Path) -> None:
    path = tmp_path / "app.sock"
    run = running(
        "tests.apps.process:app", "--uds", str(path), "--log-level", "warning",
        listening="server ← app  lifespan.startup.complete",
    )  # fmt: skip
    transport = httpx.HTTPTransport(uds=str(path))
    with httpx.Client(transport=transport, base_url="http://x", timeout=TIMEOUT) as client:
        assert client.get("/").text == "hello"
    run.wait_line("http.response.body")
    assert not [line for line in run.lines if "listening on" in line]


# -- the session across reloads, and the app's output by exchange ------------------


def test_a_reload_is_a_reload_line_ids_continue_and_one_capture_holds_it(
    running, tmp_path: Path
) -> None:
    module = tmp_path / "edited.py"
    module.write_text(MODULE.format(version="one"))
    record = tmp_path / "trace.jsonl"
    run = running(
        "edited:app", "--app-dir", str(tmp_path),
        "--reload", "--reload-dir", str(tmp_path), "--reload-delay", "0.05",
        "--record", str(record),
    )  # fmt: skip
    wait_body(run.url, "one")
    module.write_text(MODULE.format(version="two"))
    wait_body(run.url, "two")
    reload_line = re.compile(r"^\s+\d+\.\d+\s+reload\s+↻ reloaded: \S*/edited\.py changed \(")
    assert reload_line.search(run.wait_line("reloaded: ")), run.lines
    run.proc.terminate()
    assert run.wait_exit()[0] == 0
    events = capture(record)  # one capture across the reload
    [reload] = [e for e in events if e["kind"] == "ServerNote" and e["level"] == "reload"]
    scopes = [(e["exchange"], e["scope"]["type"]) for e in events if e["kind"] == "ScopeCreated"]
    ids = [exchange for exchange, _ in scopes]
    assert ids == list(range(1, len(ids) + 1))  # numbered on, never from 1 again
    lifespans = [exchange for exchange, kind in scopes if kind == "lifespan"]
    assert len(lifespans) == 2 and reload["exchange"] == lifespans[1]  # its row: before the new
    opened = [COMMAND, "open", str(record), "--headless"]
    served = subprocess.run(opened, capture_output=True, text=True, timeout=TIMEOUT)
    assert any(reload_line.search(line) for line in served.stdout.splitlines()), served.stdout


OUTPUT = """
import asyncio

held = asyncio.Event()

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            print("starting up")
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    path = scope["path"]
    if path == "/hold":
        await held.wait()
    print(f"in {path}")
    if path == "/release":
        held.set()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""


def test_an_output_line_names_the_exchange_running_alone_when_it_was_written(
    running, tmp_path: Path
) -> None:
    (tmp_path / "printing.py").write_text(OUTPUT)
    run = running("printing:app", "--app-dir", str(tmp_path))
    with httpx.Client(base_url=run.url, timeout=TIMEOUT) as client:
        assert client.get("/alone").text == "ok"
        alone = re.search(r"#(\d+)\s+scope GET /alone", run.wait_line("scope GET /alone"))
        assert alone is not None
        assert re.search(rf"\sserver #{alone.group(1)}\s+in /alone$", run.wait_line("in /alone"))
        host, port = run.url.removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=TIMEOUT) as hold:
            hold.sendall(b"GET /hold HTTP/1.1\r\nhost: x\r\n\r\n")
            run.wait_line("scope GET /hold")
            assert client.get("/release").text == "ok"  # printed while /hold ran too
            assert hold.recv(65536).startswith(b"HTTP/1.1 200 ")
    assert re.search(r"\sserver\s+in /release$", run.wait_line("in /release"))  # two: none named
    assert re.search(r"\sserver\s+starting up$", run.wait_line("starting up"))  # no exchange
