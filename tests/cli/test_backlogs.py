"""Nothing grows without bound: an app sending a million one-byte bodies, traced
by ``asgi-scope --headless --record`` whose stdout nobody reads.

The printer cannot print (the pipe is full), so its backlog drops events with a
count; the server keeps serving; the memory of both processes stays flat
(resident set sampled from ``/proc``). CI runs 200,000 bodies;
``ASGI_SCOPE_ABUSE=full`` the million.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time

from tests.cli.test_cli import COMMAND, ROOT
from tests.live import Raw, free_port, request

FULL = os.environ.get("ASGI_SCOPE_ABUSE") == "full"
BODIES = 1_000_000 if FULL else 200_000
MiB = 1 << 20
TIMEOUT = 20.0


def _rss(pid: int, key: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _child(pid: int) -> int:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return int(f.read().split()[0])


def _read_chunked_to_the_end(sock: socket.socket) -> int:
    """Bytes of a chunked response read until its last chunk."""
    got, tail = 0, b""
    while not tail.endswith(b"\r\n0\r\n\r\n"):
        data = sock.recv(1 << 20)
        assert data, f"the response ended after {got} bytes"
        got += len(data)
        tail = (tail + data)[-16:]
    return got


def test_a_million_tiny_bodies_with_a_printer_nobody_reads(tmp_path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [COMMAND, "--headless", "tests.apps.abuse:app", "--port", str(port),
         "--lifespan", "off", "--record", str(tmp_path / "c.jsonl")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    peaks = [0, 0]
    sampling = True

    def sample(pids: tuple[int, int]) -> None:
        while sampling:
            for i, pid in enumerate(pids):
                with contextlib.suppress(OSError, KeyError):
                    peaks[i] = max(peaks[i], _rss(pid))
            time.sleep(0.01)

    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            assert proc.poll() is None and time.monotonic() < deadline, "never listened"
            time.sleep(0.05)
        with Raw(port) as raw:  # warm up, then the baseline
            raw.send(request("GET", "/"))
            assert raw.read_response().status == 200
        pids = (proc.pid, _child(proc.pid))
        baseline = [_rss(pid) for pid in pids]
        threading.Thread(target=sample, args=(pids,), daemon=True).start()
        with socket.create_connection(("127.0.0.1", port), timeout=120 if FULL else 60) as sock:
            sock.sendall(request("GET", f"/tiny?n={BODIES}"))
            assert _read_chunked_to_the_end(sock) > BODIES * 6
        with Raw(port, timeout=5) as raw:  # the server was never held up by the printer
            raw.send(request("GET", "/"))
            assert raw.read_response().status == 200
        sampling = False
        peaks = [max(peak, _rss(pid, "VmHWM")) for peak, pid in zip(peaks, pids, strict=True)]
        growth = [(peak - base) / MiB for peak, base in zip(peaks, baseline, strict=True)]
        print(f"\nbacklogs: {BODIES} bodies, growth inspector {growth[0]:.0f} MiB, "
              f"app process {growth[1]:.0f} MiB")  # fmt: skip
        assert growth[0] < 128, f"the inspector grew {growth[0]:.0f} MiB"
        assert growth[1] < 64, f"the app process grew {growth[1]:.0f} MiB"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        assert b"events: the printer could not keep up" in out
    finally:
        sampling = False
        if proc.poll() is None:
            proc.kill()
            proc.wait()
