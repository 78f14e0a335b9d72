"""Real servers and listeners for the remote tests (middleware, attach, proxy).

:func:`start_server` runs uvicorn or hypercorn (or ``python -m http.server``)
as a subprocess on 127.0.0.1 and a free port; :func:`start_attach` runs the
installed ``asgi-scope attach --headless``. :class:`Processes` stops every one
of them after the test (SIGINT, then SIGKILL), so nothing outlives a test.

:class:`Watched` is a subprocess whose output is read as it comes, so a test
waits on what it said (:meth:`Watched.wait_for`), never for a fixed time; with
it, :meth:`Processes.serve` starts uvicorn, hypercorn or daphne on port 0 and
reads the port back from the server's own listening line.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
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


WAIT = 30.0
"""Seconds a :meth:`Watched.wait_for` may take on a loaded machine before it fails."""

SERVE_ARGS = {
    "uvicorn": (["-m", "uvicorn", "--port", "0", "--log-level", "info"],
                r"Uvicorn running on http://(127\.0\.0\.1:\d+)"),
    "hypercorn": (["-m", "hypercorn", "--bind", "127.0.0.1:0"],
                  r"Running on http://(127\.0\.0\.1:\d+)"),
    "daphne": (["-m", "daphne", "-b", "127.0.0.1", "-p", "0"],
               r"Listening on TCP address (127\.0\.0\.1:\d+)"),
}  # fmt: skip
"""Each server's command line for port 0, and its line that says the port it got."""


class Watched:
    """A subprocess whose stdout and stderr are read as they come, by two threads,
    into :attr:`out` and :attr:`err`."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._threads = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _read(stream: object, into: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            into.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, pattern: str, count: int = 1, timeout: float = WAIT) -> re.Match[str]:
        """The ``count``-th match of ``pattern`` in what the process said so far
        (stdout, then stderr), once there is one; fails after ``timeout`` seconds
        or when the process ended without saying it."""
        deadline = time.monotonic() + timeout
        while True:
            ended = self.proc.poll() is not None and not any(t.is_alive() for t in self._threads)
            found = list(re.finditer(pattern, self.stdout + self.stderr))
            if len(found) >= count:
                return found[count - 1]
            if ended or time.monotonic() > deadline:
                raise AssertionError(
                    f"no {count} x {pattern!r} ({len(found)}):\n{self.stdout}\n{self.stderr}"
                )
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGINT, timeout: float = WAIT) -> int:
        """Send ``sig``, then SIGKILL after ``timeout``; its exit code once all is read."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for thread in self._threads:
            thread.join(timeout)
        return self.proc.returncode


class Processes:
    """Subprocesses started by one test, all stopped by :meth:`stop_all`."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.watched: list[Watched] = []

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

    def watch(self, args: list[str], env: dict[str, str] | None = None) -> Watched:
        """Start ``args`` as a :class:`Watched` process, stopped after the test."""
        watched = Watched(args, env)
        self.watched.append(watched)
        return watched

    def serve(self, kind: str, app: str, sink: str = "") -> tuple[Watched, str]:
        """Serve ``app`` with ``kind`` (uvicorn, hypercorn or daphne) on port 0,
        streaming to ``sink``; return it and its URL, read from its own words."""
        args, listening = SERVE_ARGS[kind]
        env = {"ASGI_SCOPE_SINK": sink} if sink else None
        server = self.watch([sys.executable, *args, app], env)
        return server, "http://" + server.wait_for(listening)[1]

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
        for watched in self.watched:
            watched.stop(signal.SIGKILL)
