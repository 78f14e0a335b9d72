"""The servers the conformance suite runs its checks against.

Each :class:`Peer` serves :mod:`tests.apps.conformance` on 127.0.0.1 and a free
port: ``asgi-scope`` in this process (a :class:`~tests.live.Live` server, so a
check can also read the trace), and ``uvicorn --http h11 --ws wsproto`` as a
subprocess, the reference peer. Both get the same limits, so a check that
differs between them differs because the servers do.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asgi_scope.config import Config
from tests.live import TIMEOUT, Live, Raw, free_port

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.apps.conformance:app"
WS_MAX_SIZE = 64 * 1024
"""``--ws-max-size`` for both peers (bytes), small enough to test 1009 quickly."""

KEEP_ALIVE = 1.0
"""``--timeout-keep-alive`` for both peers, seconds."""


@dataclass
class Peer:
    """One server under test: ``name`` (``asgi-scope`` or ``uvicorn``) and ``port``."""

    name: str
    port: int
    live: Live | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def connect(self, timeout: float = TIMEOUT) -> Raw:
        """A raw client socket to the peer."""
        return Raw(self.port, timeout)

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(TIMEOUT)


def start_asgi_scope(**config: Any) -> Peer:
    """asgi-scope serving the conformance app in a server thread of this process."""
    from tests.apps.conformance import app

    options: dict[str, Any] = {
        "port": 0,
        "lifespan": "on",
        "ws_max_size": WS_MAX_SIZE,
        "timeout_keep_alive": KEEP_ALIVE,
        "timeout_graceful_shutdown": 2.0,
        **config,
    }
    live = Live(app, Config(**options)).start()
    return Peer("asgi-scope", live.port, live=live)


def start_uvicorn(*flags: str) -> Peer:
    """``python -m uvicorn tests.apps.conformance:app --http h11 --ws wsproto`` on a
    free port; waits until it accepts connections (fails after 15 s)."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", APP,
        "--host", "127.0.0.1", "--port", str(port),
        "--http", "h11", "--ws", "wsproto", "--lifespan", "on",
        "--ws-max-size", str(WS_MAX_SIZE), "--timeout-keep-alive", str(int(KEEP_ALIVE)),
        "--log-level", "warning", *flags,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
        try:
            # A whole request that the server closes: no half-open probe
            # connection left to count against --limit-concurrency.
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as probe:
                probe.sendall(b"GET /state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                while probe.recv(4096):
                    pass
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                _, err = process.communicate(timeout=TIMEOUT)
                message = f"uvicorn did not start: {err.decode(errors='replace')}"
                raise AssertionError(message) from None
            time.sleep(0.05)
    return Peer("uvicorn", port, process=process)


def start(name: str, *uvicorn_flags: str, **config: Any) -> Peer:
    """Start peer ``name`` (``asgi-scope`` or ``uvicorn``) with the same settings."""
    return start_asgi_scope(**config) if name == "asgi-scope" else start_uvicorn(*uvicorn_flags)


PEERS = ("asgi-scope", "uvicorn")

DIFFERENCES: set[str] = set()
"""Names of the checks that expect asgi-scope and uvicorn to differ (filled by
:func:`tests.server.test_conformance.expect` as the checks run)."""


def run_to_exit(name: str, app: str, *flags: str, timeout: float = 15) -> tuple[int, str, int]:
    """Run peer ``name`` on ``app`` as a process that is expected to stop by
    itself (a failed startup): ``(exit code, stdout and stderr, port)``.
    Stops it (and fails) if it is still running after ``timeout`` seconds."""
    port = free_port()
    if name == "asgi-scope":
        command = [sys.executable, "-m", "asgi_scope", app, "--headless", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "uvicorn", app, "--http", "h11", "--ws", "wsproto",
                   "--port", str(port), "--log-level", "info"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [*command, *flags], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate(timeout=TIMEOUT)
        raise AssertionError(f"{name} still running after {timeout} s: {out!r}") from None
    return process.returncode, out.decode(errors="replace"), port
