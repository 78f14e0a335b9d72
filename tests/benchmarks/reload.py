"""How long ``--reload`` takes: from a save to the first response of the new code.

    python -m tests.benchmarks.reload [--saves N]

Serves a copy of the demo app with ``asgi-scope --quiet --reload`` on a Unix
socket in a temporary directory, then N times: changes the text the app
answers, saves, and asks ``GET /version`` until the answer is the new text.
Prints the median and the worst, in milliseconds (target: under 1 s).
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from asgi_scope import demo

SUFFIX = """

_demo = app


async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/version":
        await send({{"type": "http.response.start", "status": 200, "headers": []}})
        await send({{"type": "http.response.body", "body": b"{version}"}})
        return
    await _demo(scope, receive, send)
"""


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=5)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.path)


def version(path: str) -> str:
    try:
        conn = UnixConnection(path)
        conn.request("GET", "/version")
        return conn.getresponse().read().decode()
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=10)
    args = parser.parse_args(argv)
    source = Path(demo.__file__).read_text()
    with tempfile.TemporaryDirectory() as tmp:
        main_py, sock = Path(tmp, "main.py"), str(Path(tmp, "app.sock"))
        main_py.write_text(source + SUFFIX.format(version="v0"))
        argv_ = [sys.executable, "-m", "asgi_scope", "main:app", "--quiet", "--reload"]
        argv_ += ["--app-dir", tmp, "--reload-dir", tmp, "--uds", sock]
        proc = subprocess.Popen(argv_, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while version(sock) != "v0" and time.monotonic() < deadline:
                time.sleep(0.01)
            took = []
            for n in range(1, args.saves + 1):
                time.sleep(0.3)  # past the last reload's gathering of changes
                main_py.write_text(source + SUFFIX.format(version=f"v{n}"))
                saved = time.monotonic()
                while version(sock) != f"v{n}":
                    if time.monotonic() - saved > 30:
                        raise SystemExit(f"save {n} was not served after 30 s")
                    time.sleep(0.002)
                took.append((time.monotonic() - saved) * 1000)
        finally:
            proc.terminate()
            proc.wait(30)
    print(
        f"reload, save to first response of the new code ({args.saves} saves, "
        f"--reload-delay 0.25): median {statistics.median(took):.0f} ms, "
        f"worst {max(took):.0f} ms (target: under 1000 ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
