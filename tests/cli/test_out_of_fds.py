"""Out of file descriptors: ``asgi-scope --headless`` under a low ``RLIMIT_NOFILE``
says so in one line a second at most (not a traceback per ``accept()``), and
serves again once descriptors are free."""

from __future__ import annotations

import queue
import resource
import socket
import subprocess
import threading
import time

from tests.cli.test_cli import COMMAND, ROOT
from tests.live import Raw, request

TIMEOUT = 20.0
NOFILE = 64
"""The descriptors both processes may hold: a few dozen connections."""
CONNECTIONS = 120
"""Connections the test opens: more than the app process can accept."""
NOTE = "cannot accept connections"


def _low_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


class Lines:
    """Every line of a process's stdout and stderr, with the time it came."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: list[tuple[float, str]] = []
        self._queue: queue.Queue[tuple[float, str]] = queue.Queue()
        for stream in (proc.stdout, proc.stderr):
            threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._queue.put((time.monotonic(), line.rstrip("\n")))

    def wait(self, text: str, count: int = 1, timeout: float = TIMEOUT) -> list[tuple[float, str]]:
        """The first ``count`` lines containing ``text``, waiting for them."""
        deadline = time.monotonic() + timeout
        found = [(t, line) for t, line in self.seen if text in line]
        while len(found) < count:
            try:
                seen = self._queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                seen = None
            if seen is not None:
                self.seen.append(seen)
                if text in seen[1]:
                    found.append(seen)
            if time.monotonic() > deadline:
                tail = "\n".join(line for _, line in self.seen[-20:])
                raise AssertionError(f"{count} line(s) with {text!r} not seen; last:\n{tail}")
        return found[:count]


def test_running_out_of_descriptors_says_so_once_a_second_and_serves_again() -> None:
    proc = subprocess.Popen(
        [COMMAND, "--headless", "--port", "0", "--lifespan", "off", "tests.apps.plain:app"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_low_nofile,
    )  # fmt: skip
    socks: list[socket.socket] = []
    try:
        lines = Lines(proc)
        listening = lines.wait("listening on ")[0][1]
        port = int(listening.split("listening on ", 1)[1].split()[0].rsplit(":", 1)[1])
        for _ in range(CONNECTIONS):  # the kernel's backlog takes what accept() cannot
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT))
        # Three notes: the first at once, then one a second while it lasts.
        notes = lines.wait(NOTE, count=3)
        first, third = notes[0][0], notes[2][0]
        recorded = [float(line.split()[0]) for _, line in notes]  # the trace's own seconds
        assert recorded[2] - recorded[0] >= 1.5, f"notes at {recorded}: more than one a second"
        between = [line for t, line in lines.seen if first <= t <= third and "accept" in line]
        assert len(between) == 3, "\n".join(between[:20])
        # Nothing but the notes and a line for each connection that came and went.
        texts = [text for _, text in lines.seen]
        assert len(texts) <= 2 * CONNECTIONS + 10, "\n".join(texts[:40])
        assert not any("Traceback" in line or "OSError" in line for _, line in lines.seen)
        for sock in socks:
            sock.close()
        socks.clear()
        with Raw(port, timeout=TIMEOUT) as raw:  # the listener serves again
            raw.send(request("GET", "/"))
            assert raw.read_response().status == 200
    finally:
        for sock in socks:
            sock.close()
        proc.terminate()
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
