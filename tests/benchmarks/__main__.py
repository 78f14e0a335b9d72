"""Is asgi-scope fast enough to leave on? One command prints every figure.

    python -m tests.benchmarks            # the full run (about 10 minutes)
    python -m tests.benchmarks --quick    # short rounds, for a first look

(``bash tests/benchmarks/run`` does the same from a fresh clone: installs wrk
and tmux from Debian, the project with its test extra in .venv, then runs it.)

What it measures, on 127.0.0.1 only, with ``wrk`` as the load generator and the
built-in demo app (``/`` for hello, ``/bytes?n=65536`` for 64 KiB):

0. The cost model (``tests/benchmarks/costs.py``, also ``python -m
   tests.benchmarks.costs``): where a hello request's microseconds go, in
   memory, h11, the app, our server with tracing off, then each tracing step.
1. Throughput: uvicorn ``--http h11 --loop asyncio --no-access-log`` (the peer:
   same HTTP library, same event loop) and asgi-scope recording everything,
   quiet (``--quiet``), printing every event to a file (``--headless``), and
   with the TUI attached (running in tmux), started one at a time in turn,
   several rounds, same wrk settings; requests per second for each round and
   the median of the per-round ratios asgi-scope / uvicorn; ``off`` is our
   server with tracing off (a benchmark-only switch), ``record`` is ``--quiet
   --record FILE``. Keep-alive on (hello,
   64 KiB) and off (hello, ``Connection: close``). Also ``--quiet --otlp`` sending
   every exchange to an OTLP/HTTP sink in this process (which only reads and
   answers 200), against ``--quiet`` (target: within 10%).
2. A ceiling: requests per second of a bare loop that feeds one request
   through h11's parser and serializer, no sockets, no app.
3. Memory: 200,000 requests to asgi-scope with the TUI (whose store keeps the
   session) with the default caps; resident memory after each eighth, and the
   peak.
4. The TUI under load: time from an exchange's end to the screen that shows its
   row, and from a key press to the screen that shows its effect, p50/p95,
   measured inside the app (``ASGI_SCOPE_LATENCY_LOG``), at a steady 2,000 and
   more requests a second (wrk paced by a script) and in the saturated rounds.
5. Middleware layers: ``asgi-scope --quiet`` serving a FastAPI app with five
   middlewares (``tests/benchmarks/layers_app.py``) with ``--layers`` and
   ``--no-layers``, in turn, several rounds; the cost of recording every layer
   boundary in microseconds per message per layer.
6. Start-up: ``--help`` and ``--version`` beside ``uvicorn --help`` (and whether
   Textual was imported), and launch to first request served with the TUI.

Two figures of the app process have commands of their own (they need no peer):
``python -m tests.benchmarks.channel`` (what the channel to the inspector costs
the app process per event) and ``python -m tests.benchmarks.reload`` (from a
save to the first response of the new code, ``--reload``).

Ratios, not absolute numbers, are the result: the machine is shared and noisy,
which is why servers alternate round by round and every ratio compares figures
of the same round.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
APP = "asgi_scope.demo:app"
ROUTES = {"hello": "/", "64k": "/bytes?n=65536"}
SCENARIOS = {  # name: (route, keep-alive)
    "hello": ("hello", True),
    "64k": ("64k", True),
    "hello, no keep-alive": ("hello", False),
}
PEER = "uvicorn"
KINDS = {
    PEER: "uvicorn --http h11 --loop asyncio --no-access-log",
    "off": "our server with tracing off, no inspector (a benchmark-only switch: costs.py)",
    "quiet": "asgi-scope --quiet (records everything, prints nothing)",
    "record": "asgi-scope --quiet --record FILE (and writes it all to a capture)",
    "print": "asgi-scope --headless > file (prints every event)",
    "otlp": "asgi-scope --quiet --otlp URL (exports every exchange to a sink; cost: this / quiet)",
    "tui": "asgi-scope with the TUI attached (in tmux)",
}
TARGETS = {"off": 1.2, "quiet": 1.0, "record": 0.9, "print": 0.8, "tui": 0.8}
"""Issue 18's targets, as ratios to uvicorn."""


# -- processes ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str = "/", timeout: float = 1.0) -> bytes:
    """One GET over a fresh connection; the response's first line, or b""."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            return sock.recv(4096).split(b"\r\n", 1)[0]
    except OSError:
        return b""


def wait_until_serving(port: int, timeout: float = 20.0) -> float:
    """Seconds until ``GET /`` answers 200 (bounded), or raise."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if get(port).endswith(b"200 OK"):
            return time.monotonic() - start
        time.sleep(0.01)
    raise RuntimeError(f"nothing served on port {port} after {timeout} s")


def tool(name: str) -> str:
    """A console script of this Python's environment, else one on PATH."""
    local = Path(PY).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


@dataclass
class Running:
    """A server under test: its pid (for memory), its port, how to stop it."""

    kind: str
    port: int
    pid: int
    stop_cmd: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    log: Path | None = None

    def rss(self) -> tuple[int, int]:
        """(resident, peak resident) in bytes, from /proc: the process and its
        children (asgi-scope's inspector and its app process), peaks summed."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        now = peak = 0
        for pid in [self.pid, *map(int, children)]:
            status = Path(f"/proc/{pid}/status").read_text()
            now += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) * 1024  # type: ignore[union-attr]
            peak += int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) * 1024  # type: ignore[union-attr]
        return now, peak


def command(kind: str, port: int, workdir: Path) -> list[str]:
    """The command line of a server of ``kind`` (see :data:`KINDS`) on ``port``;
    ``--record`` writes into ``workdir``."""
    if kind == PEER:
        peer = "--http h11 --loop asyncio --no-access-log --log-level warning --port"
        return [PY, "-m", "uvicorn", APP, *peer.split(), str(port)]
    scope = [PY, "-m", "asgi_scope", "--port", str(port)]
    if kind == "off":
        return [PY, "-m", "tests.benchmarks.costs", "--serve", str(port)]
    if kind == "record":
        return [*scope, "--quiet", "--record", str(workdir / f"record-{port}.jsonl")]
    if kind == "otlp":
        return [*scope, "--quiet", "--otlp", otlp_sink()]
    return {"quiet": [*scope, "--quiet"], "print": [*scope, "--headless"], "tui": scope}[kind]


_SINK: list[str] = []


def otlp_sink() -> str:
    """The URL of an OTLP/HTTP sink in this process (started on first use, port
    0): it reads each POST and answers 200, as a Collector that accepts does."""
    if not _SINK:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Sink(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a Collector does

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        _SINK.append(f"http://127.0.0.1:{server.server_address[1]}")
    return _SINK[0]


@contextlib.contextmanager
def serve(kind: str, workdir: Path, env: dict[str, str] | None = None) -> Iterator[Running]:
    """Start one server, wait until it answers, stop it afterwards."""
    port = free_port()
    argv = command(kind, port, workdir)
    env = {**os.environ, **(env or {})}
    if kind == "tui":
        session = f"asgi-scope-bench-{os.getpid()}-{port}"
        pidfile = workdir / f"{session}.pid"
        shell = f"echo $$ > {pidfile}; exec {' '.join(argv)}"
        envs = [a for k, v in (env or {}).items() for a in ("-e", f"{k}={v}")]
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "45", *envs, shell],
            check=True,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
        try:
            wait_until_serving(port)
            running = Running(kind, port, int(pidfile.read_text()))
            yield running
        finally:
            with contextlib.suppress(Exception):
                os.kill(int(pidfile.read_text()), 15)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _tmux_alive(session):
                time.sleep(0.1)
            subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        return
    log = workdir / f"{kind}-{port}.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until_serving(port)
            yield Running(kind, port, proc.pid, proc=proc, log=log)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            with contextlib.suppress(OSError):
                log.unlink()


def _tmux_alive(session: str) -> bool:
    return (
        subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode == 0
    )


def wrk(
    port: int,
    path: str,
    seconds: float,
    connections: int,
    keep_alive: bool = True,
    script: Path | None = None,
    env: dict[str, str] | None = None,
) -> float:
    """Requests per second (wrk's figure; non-2xx answers or socket errors fail)."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(int(seconds), 1)}s"]
    if not keep_alive:
        argv += ["-H", "Connection: close"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        env={**os.environ, **(env or {})},
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"wrk said:\n{out}")
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw non-2xx answers:\n{out}")
    return float(match.group(1))


# -- 1. throughput -----------------------------------------------------------


def throughput(args: argparse.Namespace, workdir: Path) -> dict[str, dict[str, list[float]]]:
    kinds = [k for k in KINDS if k in args.servers]
    results: dict[str, dict[str, list[float]]] = {s: {k: [] for k in kinds} for s in SCENARIOS}
    latency_logs: list[Path] = []
    print(
        f"\n## Throughput: {args.rounds} rounds of {args.seconds:g} s per scenario, "
        f"wrk -t1 -c{args.connections}"
    )
    for round_no in range(args.rounds):
        order = kinds[round_no % len(kinds) :] + kinds[: round_no % len(kinds)]
        for kind in order:
            env = {}
            if kind == "tui":
                log = workdir / f"latency-{round_no}.log"
                latency_logs.append(log)
                env["ASGI_SCOPE_LATENCY_LOG"] = str(log)
            with serve(kind, workdir, env) as server:
                wrk(server.port, "/", 1, args.connections)  # warm up
                for name, (route, keep_alive) in SCENARIOS.items():
                    if kind == "tui" and name == "hello":
                        rps = _with_key_presses(server, args, route)
                    else:
                        rps = wrk(
                            server.port, ROUTES[route], args.seconds, args.connections, keep_alive
                        )
                    results[name][kind].append(rps)
                    print(
                        f"  round {round_no + 1}  {kind:<8} {name:<22} {rps:>9,.0f} req/s",
                        flush=True,
                    )
    args.latency_logs = latency_logs
    return results


def _with_key_presses(
    server: Running,
    args: argparse.Namespace,
    route: str,
    connections: int | None = None,
    script: Path | None = None,
) -> float:
    """wrk on the TUI while keys are pressed in its terminal (two a second)."""
    session = f"asgi-scope-bench-{os.getpid()}-{server.port}"
    argv = ["wrk", "-t1", f"-c{connections or args.connections}", f"-d{max(int(args.seconds), 1)}s"]
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(f"http://127.0.0.1:{server.port}{ROUTES[route]}")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    keys = ["k", "j", "f", "f"]  # previous, next, follow off, follow on
    n = 0
    while proc.poll() is None and n < 4 * args.seconds:
        subprocess.run(["tmux", "send-keys", "-t", session, keys[n % len(keys)]], check=False)
        n += 1
        time.sleep(0.5)
    out = proc.communicate(timeout=args.seconds + 60)[0]
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"wrk said:\n{out}")
    return float(match.group(1))


def report_throughput(results: dict[str, dict[str, list[float]]]) -> list[str]:
    lines = ["", "## Ratios to uvicorn (median of per-round ratios)", ""]
    lines.append(f"  {'scenario':<22} {'server':<8} {'median req/s':>13} {'ratio':>7}  target")
    summary = []
    for name, by_kind in results.items():
        peer = by_kind.get(PEER, [])
        for kind, rounds in by_kind.items():
            if not rounds:
                continue
            median = statistics.median(rounds)
            if kind == PEER:
                lines.append(f"  {name:<22} {kind:<8} {median:>13,.0f} {'1.00x':>7}")
                continue
            ratios = [a / b for a, b in zip(rounds, peer, strict=False) if b]
            ratio = statistics.median(ratios) if ratios else float("nan")
            target = TARGETS.get(kind)
            verdict = ""
            if target is not None:
                verdict = f">= {target:.1f}x {'met' if ratio >= target else 'NOT met'}"
            lines.append(f"  {name:<22} {kind:<8} {median:>13,.0f} {ratio:>6.2f}x  {verdict}")
            summary.append((name, kind, ratio))
        on = by_kind.get("quiet", [])
        otlp = by_kind.get("otlp", [])
        if on and otlp:  # the OTLP export's cost, round by round (target: within 10%)
            cost = statistics.median([a / b for a, b in zip(otlp, on, strict=False) if b])
            verdict = "met" if cost >= 0.9 else "NOT met"
            lines.append(f"  {name:<22} otlp: --quiet --otlp at {cost:.1%} of --quiet  "
                         f">= 90% {verdict}")  # fmt: skip
    return lines


# -- 2. the h11 ceiling --------------------------------------------------------


def h11_ceiling(seconds: float) -> dict[str, float]:
    """Requests per second of h11 alone: parse one request, serialize its response."""
    from asgi_scope import demo
    from tests.benchmarks.costs import h11_rate

    bodies = {"hello": demo.INDEX.encode(), "64k": b"x" * 65536}
    return {name: h11_rate(body, seconds) for name, body in bodies.items()}


# -- 3. memory -----------------------------------------------------------------


def wrk_count(port: int, seconds: float, connections: int) -> tuple[int, float]:
    """(requests completed, requests per second) of one wrk run on ``/``."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(round(seconds), 1)}s"]
    argv.append(f"http://127.0.0.1:{port}/")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120).stdout
    done = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if done is None or rps is None:
        raise RuntimeError(f"wrk said:\n{out}")
    return int(done.group(1)), float(rps.group(1))


def memory(args: argparse.Namespace, workdir: Path) -> list[str]:
    total, parts = args.requests, 8
    lines = [
        "",
        f"## Memory: {total:,} requests (hello) to asgi-scope with the TUI (the store "
        "keeps the session), default caps (--keep 10000, --keep-bytes 256 MiB)",
        "",
    ]
    with serve("tui", workdir) as server:
        base, _ = server.rss()
        lines.append(f"  {'requests':>10} {'RSS MB':>8} {'peak MB':>8}")
        lines.append(f"  {0:>10,} {base / 1e6:>8.1f} {base / 1e6:>8.1f}")
        done, rps, peak = 0, 2000.0, base
        for part in range(1, parts + 1):
            goal = total * part // parts
            while done < goal:  # wrk runs for a time, not a count: aim, then count
                n, rps = wrk_count(server.port, (goal - done) / max(rps, 1.0), args.connections)
                done += n
            now, peak = server.rss()
            lines.append(f"  {done:>10,} {now / 1e6:>8.1f} {peak / 1e6:>8.1f}")
            print(lines[-1], flush=True)
        verdict = "met" if peak < 300e6 else "NOT met"
        lines.append(f"  peak {peak / 1e6:.1f} MB: target < 300 MB {verdict}")
    return lines


# -- 4. UI latency ---------------------------------------------------------------


PACED = """-- each connection waits this many ms after an answer before its next request
function delay()
  return 10
end
"""
"""A wrk script for a steady load below saturation (30 connections, 10 ms apart)."""


def paced_latency(args: argparse.Namespace, workdir: Path) -> list[str]:
    """The TUI under a steady 2,000 and more requests a second (wrk paced by
    :data:`PACED`), keys pressed: how fast rows and keys show."""
    script = workdir / "paced.lua"
    script.write_text(PACED)
    log = workdir / "latency-paced.log"
    with serve("tui", workdir, {"ASGI_SCOPE_LATENCY_LOG": str(log)}) as server:
        rps = _with_key_presses(server, args, "hello", connections=30, script=script)
    return report_latency([log], f"at a steady {rps:,.0f} requests a second (wrk paced)")


def report_latency(logs: list[Path], load: str) -> list[str]:
    rows: list[float] = []
    keys: list[float] = []
    widest = 0
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            kind, _, value = line.partition(" ")
            if kind == "row":
                rows.append(float(value))
            elif kind == "key":
                keys.append(float(value))
            elif kind == "rendered":
                widest = max(widest, int(value))
    lines = ["", f"## The TUI {load} (measured inside the app, ms)", ""]
    for name, values in (("exchange end -> row on screen", rows), ("key press -> screen", keys)):
        if not values:
            lines.append(f"  {name:<32} no samples")
            continue
        q = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
        verdict = "met" if q[94] <= 100 else "NOT met"
        lines.append(
            f"  {name:<32} p50 {q[49]:7.1f}  p95 {q[94]:7.1f}  (n={len(values):,})  "
            f"target p95 <= 100 ms {verdict}"
        )
    if widest:
        lines.append(f"  most table rows rendered at once: {widest}")
    return lines


# -- 5. start-up -------------------------------------------------------------------


def startup(args: argparse.Namespace, workdir: Path) -> list[str]:
    lines = ["", "## Start-up (median of 5, wall seconds)", ""]

    def timed(argv: list[str]) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, cwd=ROOT, check=True)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    scope, uvicorn = tool("asgi-scope"), tool("uvicorn")
    for label, argv in (
        ("asgi-scope --help", [scope, "--help"]),
        ("asgi-scope --version", [scope, "--version"]),
        ("uvicorn --help", [uvicorn, "--help"]),
        ("uvicorn --version", [uvicorn, "--version"]),
    ):
        lines.append(f"  {label:<34} {timed(argv):6.3f} s")
    probe = (
        "import sys\nfrom asgi_scope.cli import main\n"
        "try:\n    main([sys.argv[1]])\nexcept SystemExit:\n    pass\n"
        "print('textual' in sys.modules, file=sys.stderr)"
    )
    for flag in ("--help", "--version"):
        imported = (
            subprocess.run([PY, "-c", probe, flag], capture_output=True, text=True, cwd=ROOT)
            .stderr.strip()
            .splitlines()[-1]
        )
        lines.append(f"  {'Textual imported by ' + flag:<34} {imported == 'True'}")
    firsts = []
    for _ in range(3):
        start = time.monotonic()
        with serve("tui", workdir):
            firsts.append(time.monotonic() - start)
    first = statistics.median(firsts)
    verdict = "met" if first < 1.0 else "NOT met"
    lines.append(
        f"  {'TUI: launch to first request served':<34} {first:6.3f} s  (target < 1 s {verdict})"
    )
    return lines


# -- main ----------------------------------------------------------------------------


LAYERS_APP = "tests.benchmarks.layers_app:app"


def layers(args: argparse.Namespace, workdir: Path) -> list[str]:
    """The cost of the layer shims: the same FastAPI app served ``--quiet`` with
    ``--layers`` and ``--no-layers`` (wrk), and, in process without sockets, the
    cost per layer of a call and of each message (:func:`layer_shim_cost`)."""
    from asgi_scope.trace.layers import discover
    from tests.benchmarks.layers_app import app

    boundaries = len(discover(app))  # the layers below the outermost, and the endpoint
    print(f"\n## Layers: {LAYERS_APP}, {args.rounds} rounds of {args.seconds:g} s, --quiet")
    rps: dict[str, list[float]] = {"--layers": [], "--no-layers": []}
    for round_no in range(args.rounds):
        for flag in list(rps)[round_no % 2 :] + list(rps)[: round_no % 2]:
            port = free_port()
            argv = [PY, "-m", "asgi_scope", LAYERS_APP, "--quiet", flag, "--port", str(port)]
            proc = subprocess.Popen(
                argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
            )
            try:
                wait_until_serving(port)
                wrk(port, "/", 1, args.connections)  # warm up
                rps[flag].append(wrk(port, "/", args.seconds, args.connections))
            finally:
                proc.terminate()
                proc.wait(15)
            print(f"  round {round_no + 1}  {flag:<12} {rps[flag][-1]:>9,.0f} req/s", flush=True)
    on, off = statistics.median(rps["--layers"]), statistics.median(rps["--no-layers"])
    per_request = (1 / on - 1 / off) * 1e6
    per_call, per_message = layer_shim_cost()
    return [
        "",
        f"## Layers: {boundaries} layer boundaries besides the server's",
        "",
        f"  --quiet --no-layers  {off:>9,.0f} req/s (median)",
        f"  --quiet --layers     {on:>9,.0f} req/s (median), ratio {on / off:.2f}, "
        f"{per_request:.1f} µs more per request, {per_request / boundaries:.1f} µs per layer",
        "  in process, no sockets, 12 pass-through layers:",
        f"    a layer's call, its start and last body:  {per_call:5.2f} µs",
        f"    each further message crossing a layer:    {per_message:5.2f} µs",
    ]


def layer_shim_cost(layers: int = 12, messages: int = 20) -> tuple[float, float]:
    """Microseconds a layer's shim adds per call (with no message) and per message,
    measured by calling a chain of ``layers`` pass-through middlewares through the
    server's :class:`~asgi_scope.trace.shim.Shim`, with and without layer shims,
    sending 1 and ``messages`` + 1 bodies (the best of 9 runs of each, run in turn)."""
    import asyncio

    from asgi_scope.trace.layers import wrap_layers
    from asgi_scope.trace.recorder import Recorder
    from asgi_scope.trace.shim import Shim
    from tests.benchmarks.layers_app import PassThrough

    recorder = Recorder()
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"host", b"x")]}

    def chain(bodies: int, traced: bool) -> object:
        async def endpoint(scope: object, receive: object, send: object) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
            for _ in range(bodies):
                await send({"type": "http.response.body", "body": b"x", "more_body": True})  # type: ignore[operator]
            await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

        app: object = endpoint
        for _ in range(layers):
            app = PassThrough(app)
        return wrap_layers(app)[0] if traced else app  # type: ignore[arg-type]

    async def server_receive() -> tuple[dict[str, object], None]:
        return {"type": "http.request", "body": b"", "more_body": False}, None

    async def server_send(message: object) -> None:
        pass

    async def per_request(app: object, n: int = 500) -> float:
        start = time.perf_counter()
        for exchange in range(n):
            shim = Shim(recorder, 1, exchange, server_receive, server_send)
            each = dict(scope)
            shim.scope_created(each, None)
            await app(each, shim.receive, shim.send)  # type: ignore[operator]
            recorder.drain()
        return (time.perf_counter() - start) / n * 1e6

    async def run() -> tuple[float, float]:
        apps = {(b, on): chain(b, on) for b in (0, messages) for on in (0, 1)}
        best = dict.fromkeys(apps, float("inf"))
        for _ in range(9):  # in turn, so that a busy moment hits every variant alike
            for key, app in apps.items():
                best[key] = min(best[key], await per_request(app))
        t = best
        call = (t[0, 1] - t[0, 0]) / layers
        message = ((t[messages, 1] - t[messages, 0]) / layers - call) / messages
        return call, message

    return asyncio.run(run())


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s, 50,000 requests")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per scenario and round")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200_000, help="for the memory run")
    parser.add_argument(
        "--servers", default=",".join(KINDS), help="comma-separated, of: " + ", ".join(KINDS)
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated: costs, throughput, latency, ceiling, memory, layers, startup",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds, args.requests = 2, 3.0, 50_000
    args.servers = args.servers.split(",")
    skip = set(filter(None, args.skip.split(",")))
    missing = [name for name in ("wrk", "tmux") if shutil.which(name) is None]
    if missing:
        print(
            f"needs {' and '.join(missing)}: apt-get install {' '.join(missing)}", file=sys.stderr
        )
        return 2
    print("# asgi-scope benchmark")
    print(f"machine: {machine()}")
    print(f"command: python -m tests.benchmarks {' '.join(argv or sys.argv[1:])}".rstrip())
    for kind, label in KINDS.items():
        print(f"  {kind:<8} {label}")
    report: list[str] = []
    with tempfile.TemporaryDirectory(prefix="asgi-scope-bench-") as tmp:
        workdir = Path(tmp)
        if "costs" not in skip:
            from tests.benchmarks import costs

            rounds = 5 if args.quick else 15
            report += costs.report(costs.measure(1000, rounds), 1000, rounds)
        if "throughput" not in skip:
            results = throughput(args, workdir)
            report += report_throughput(results)
            if "tui" in args.servers:
                report += report_latency(args.latency_logs, "saturated (the rounds above)")
        if "latency" not in skip:
            report += paced_latency(args, workdir)
        if "ceiling" not in skip:
            ceiling = h11_ceiling(2.0)
            report += [
                "",
                "## Ceiling: h11 alone, one request parsed and its response "
                "serialized, no sockets, no app",
                "",
            ]
            for name, rps in ceiling.items():
                report.append(f"  {name:<22} {rps:>13,.0f} req/s")
        if "memory" not in skip:
            report += memory(args, workdir)
        if "layers" not in skip:
            report += layers(args, workdir)
        if "startup" not in skip:
            report += startup(args, workdir)
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
