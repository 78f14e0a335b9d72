"""Real servers and listeners for the remote tests (middleware, attach, proxy).

:func:`start_server` runs uvicorn or hypercorn (or ``python -m http.server``)
as a subprocess on 127.0.0.1 and a free port; :func:`start_attach` runs the
installed ``asgi-scope attach --headless``. :class:`Processes` stops every one
of them after the test (SIGINT, then SIGKILL), so nothing outlives a test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.live import TIMEOUT, free_port

ROOT = Path(__file__).resolve().parents[2]
COMMAND = str(Path(sys.executable).with_name("asgi-scope"))


def wait_port(port: int, proc: subprocess.Popen[str] | None, timeout: float = 20.0) -> None:
    """Return once something accepts on ``port``; fail if ``proc`` died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.05)
    out = err = ""
    if proc is not None:
        proc.kill()
        out, err = proc.communicate()
    raise AssertionError(f"nothing listening on {port}:\n{out}\n{err}")


def wait_path(path: str, proc: subprocess.Popen[str], timeout: float = 15.0) -> None:
    """Return once the Unix socket ``path`` exists; fail if ``proc`` died first."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"attach did not listen on {path}:\n{out}\n{err}")
        time.sleep(0.02)


class Processes:
    """Subprocesses started by one test, all stopped by :meth:`stop_all`."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []

    def spawn(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def server(
        self, kind: str, app: str, sink: str = "", workers: int = 1, *extra: str
    ) -> tuple[subprocess.Popen[str], str]:
        """Serve ``app`` with ``kind`` (``uvicorn`` or ``hypercorn``, with ``extra``
        arguments); return it and its URL."""
        port = free_port()
        if kind == "uvicorn":
            args = [sys.executable, "-m", "uvicorn", app, "--port", str(port)]
            args += ["--workers", str(workers), "--log-level", "warning"]
        elif kind == "hypercorn":
            args = [sys.executable, "-m", "hypercorn", app, "--bind", f"127.0.0.1:{port}"]
            args += ["--workers", str(workers)]
        else:
            raise ValueError(kind)
        proc = self.spawn([*args, *extra], {"ASGI_SCOPE_SINK": sink} if sink else None)
        wait_port(port, proc)
        return proc, f"http://127.0.0.1:{port}"

    def attach(self, address: str, *extra: str) -> subprocess.Popen[str]:
        """``asgi-scope attach ADDRESS --headless``, listening when this returns."""
        proc = self.spawn([COMMAND, "attach", address, "--headless", *extra])
        if address.startswith("unix:"):
            wait_path(address[5:], proc)
        else:
            wait_port(int(address.rsplit(":", 1)[1]), proc)
        return proc

    def stop(self, proc: subprocess.Popen[str], timeout: float = 15.0) -> tuple[str, str]:
        """SIGINT (Ctrl-C), then SIGKILL after ``timeout``; return stdout and stderr."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            return proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.communicate()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.stop(proc, timeout=TIMEOUT)
