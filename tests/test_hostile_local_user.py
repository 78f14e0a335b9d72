"""A hostile local user: another uid on the same machine (``nobody``, become
with ``setpriv``) plants links, files and FIFOs where we write, makes a file
for our capture to land in, talks to ``attach`` without our token, binds the
port our middleware streams to, and tries to read what we leave behind. Each
test runs the real ``asgi-scope`` (or uvicorn with ``TraceMiddleware``) as us
and the attacker as a process of its own uid.

Being two users at once needs root (CI runs as root); elsewhere the module is
skipped. What is not protected, by design: a local root, or anyone who can
read the token (README: Security)."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from asgi_scope.remote import auth
from tests.cli.test_cli import start_headless, stop
from tests.remote.servers import COMMAND, ROOT
from tests.remote.test_attach import header_line

NOBODY = 65534
"""The attacker's uid and gid."""

PYTHON = "/usr/bin/python3"
"""The attacker's interpreter: outside root's home, which ``nobody`` cannot enter."""

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or not os.access(PYTHON, os.X_OK),
    reason="needs root, setpriv and /usr/bin/python3 to be a second user",
)


def as_nobody(code: str, *args: str) -> subprocess.Popen[str]:
    """Run the Python ``code`` (with ``args`` in ``sys.argv[1:]``) as ``nobody``."""
    return subprocess.Popen(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         PYTHON, "-c", code, *args],
        cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def nobody_does(code: str, *args: str) -> str:
    """Run ``code`` as ``nobody`` to its end; its stdout (it must succeed)."""
    proc = as_nobody(code, *args)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return out


class Lines:
    """The lines a process writes on one of its pipes, read by a thread of their
    own (so a line waits in a queue, never in a pipe a reader selects on)."""

    def __init__(self, pipe: IO[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[str]) -> None:
        for line in pipe:
            self._queue.put(line)

    def next(self, timeout: float = 20) -> str:
        """The next line; fails if none comes within ``timeout`` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout} s") from None

    def until(self, words: str, timeout: float = 20) -> str:
        """The first line from now on that holds ``words``."""
        deadline = time.monotonic() + timeout
        while words not in (line := self.next(max(deadline - time.monotonic(), 0.01))):
            pass
        return line


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory everyone may write to, sticky, as ``/tmp`` is."""
    path = Path(tempfile.mkdtemp(prefix="asgi-scope-shared-", dir="/tmp"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Our own ``$XDG_RUNTIME_DIR`` (0700), where attach keeps its socket and token."""
    path = Path(tempfile.mkdtemp(prefix="asgi-scope-runtime-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    monkeypatch.delenv(auth.TOKEN_ENV, raising=False)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def record_to(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "--headless", "--port", "0", "--record", str(path), "tests.apps.plain:app"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_a_link_nobody_planted_does_not_turn_our_record_onto_our_file(shared: Path):
    victim = shared / "notes.txt"
    victim.write_text("ours\n")
    victim.chmod(0o644)
    link = shared / "session.jsonl"
    nobody_does("import os, sys; os.symlink(sys.argv[1], sys.argv[2])", str(victim), str(link))
    result = record_to(link)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"asgi-scope: cannot record to {link}: is a symbolic link (not followed)"
    ]
    assert victim.read_text() == "ours\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_a_file_nobody_made_for_our_capture_receives_nothing(shared: Path):
    bait = shared / "capture.jsonl"
    nobody_does(
        "import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o666);"
        "os.fchmod(fd, 0o666); os.write(fd, b'theirs\\n')",
        str(bait),
    )
    result = record_to(bait)
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.splitlines()) == 1 and f"belongs to uid {NOBODY}" in result.stderr
    assert bait.read_text() == "theirs\n"
    assert stat.S_IMODE(bait.stat().st_mode) == 0o666


def test_a_fifo_nobody_made_is_refused_at_once(shared: Path):
    fifo = shared / "capture.jsonl"
    nobody_does("import os, sys; os.mkfifo(sys.argv[1], 0o666)", str(fifo))
    result = record_to(fifo)  # never blocks waiting for a reader
    assert result.returncode == 1, result.stderr
    assert "not a regular file" in result.stderr and len(result.stderr.splitlines()) == 1
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and fifo.lstat().st_uid == NOBODY


def test_a_har_export_into_a_file_nobody_made_is_refused(shared: Path, tmp_path: Path):
    capture = tmp_path / "session.jsonl"
    proc, url = start_headless("--record", str(capture), "tests.apps.plain:app")
    try:
        assert httpx.get(url, headers={"authorization": "Bearer s3cr3t"}).status_code == 200
    finally:
        stop(proc)
    bait = shared / "session.har"
    nobody_does("import sys; open(sys.argv[1], 'w').write('theirs')", str(bait))
    bait.chmod(0o666)  # as nobody could have made it, for everyone to read
    result = subprocess.run(
        [COMMAND, "export", str(capture), "--har", str(bait), "--no-redact"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert f"belongs to uid {NOBODY}" in result.stderr
    assert bait.read_text() == "theirs"


ATTACKER = """
import socket, sys
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
challenge = sock.recv(256)
sock.sendall(b"00" * 16 + b" " + b"0" * 64 + b"\\n")  # a made-up answer
reply = b""
try:
    while chunk := sock.recv(4096):
        reply += chunk
    sock.sendall(bytes.fromhex(sys.argv[2]))  # a stream all the same
except OSError:  # refused and closed: nothing more is read from us
    pass
print(challenge.decode().strip())
print(reply.decode(errors="replace").strip())
for name in sys.argv[3:]:  # what attach leaves behind
    try:
        open(name).read()
        print("read", name)
    except OSError as exc:
        print("cannot read", name, type(exc).__name__)
"""


def test_nobody_can_neither_feed_attach_nor_read_its_token(runtime: Path):
    attach = subprocess.Popen(
        [COMMAND, "attach", "127.0.0.1:0", "--headless"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert attach.stderr is not None
        listening = re.search(r"tcp:127\.0\.0\.1:(\d+)", attach.stderr.readline())
        assert listening is not None
        fake = header_line(app="planted-by-nobody") + b'{"type": "ServerNote"}\n'
        token = runtime / auth.TOKEN_NAME
        said = nobody_does(ATTACKER, listening.group(1), fake.hex(), str(token))
    finally:
        out, err = stop(attach)
    challenge, reply, read_token = said.splitlines()
    assert challenge.startswith(auth.GREETING.decode())
    assert reply.startswith("asgi-scope: refused: ")
    assert read_token == f"cannot read {token} PermissionError"
    assert "stream refused" in out and "planted-by-nobody" not in out + err
    assert "attached" not in out


IMPOSTOR = """
import socket, sys
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
print(sock.getsockname()[1], flush=True)
while True:  # the middleware retries: every connection gets the same
    conn, _ = sock.accept()
    conn.settimeout(5)
    conn.sendall(b"asgi-scope-auth 1 " + b"ab" * 16 + b"\\n")
    got = conn.recv(256)
    conn.sendall(b"0" * 64 + b"\\n")  # a made-up proof
    try:
        while chunk := conn.recv(65536):
            got += chunk
    except OSError:
        pass
    conn.close()
    print(repr(got), flush=True)
"""


def test_a_port_nobody_bound_first_receives_none_of_our_trace(runtime: Path):
    auth.load_token(create=True)  # we have attached before: our token exists
    impostor = as_nobody(IMPOSTOR)
    uvicorn = None
    assert impostor.stdout is not None
    got_lines = Lines(impostor.stdout)
    try:
        port = int(got_lines.next())
        uvicorn = subprocess.Popen(
            [str(Path(COMMAND).with_name("uvicorn")), "tests.apps.traced:app", "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "ASGI_SCOPE_SINK": f"127.0.0.1:{port}"},
        )  # fmt: skip
        assert uvicorn.stderr is not None
        said = Lines(uvicorn.stderr)
        url = re.search(r"http://127\.0\.0\.1:\d+", said.until("running on"))
        assert url is not None
        secret = {"authorization": "Bearer s3cr3t"}
        assert httpx.get(f"{url.group()}/items/1", headers=secret).status_code == 200
        # The middleware connects, finds an impostor, and says so once on stderr.
        said.until("did not prove it knows the token")
        assert httpx.get(f"{url.group()}/items/2", headers=secret).status_code == 200
        # Each connection the impostor got: the answer to its challenge, and nothing else.
        got = got_lines.next()
    finally:
        if uvicorn is not None:
            uvicorn.send_signal(signal.SIGINT)
            try:
                uvicorn.wait(timeout=15)
            except subprocess.TimeoutExpired:
                uvicorn.kill()
        impostor.kill()
        impostor.wait(timeout=10)
    assert got.count("\\n") == 1, got
    assert "s3cr3t" not in got and "items" not in got and "asgi-scope-capture" not in got
