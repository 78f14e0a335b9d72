"""``--layers``/``--no-layers`` and the headless lines of middleware layers, through
the installed ``asgi-scope`` command (tests/apps/layered.py)."""

from __future__ import annotations

import contextlib
import queue
import re
import signal
import subprocess
import threading
import time

import httpx

from tests.cli.test_cli import COMMAND, ROOT, one_line_error, run

LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def start(*args: str) -> tuple[subprocess.Popen[str], str, queue.Queue[str]]:
    """``asgi-scope --headless --port 0 ARGS``, its URL read from its own listening
    line, and a queue of its output lines (read by a thread)."""
    proc = subprocess.Popen(
        [COMMAND, "--headless", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        match = LISTENING.search(line)
        if match:
            return proc, match.group(1), lines
    proc.kill()
    raise AssertionError("asgi-scope did not say where it listens")


def until(lines: queue.Queue[str], text: str, seen: list[str]) -> None:
    """Read output lines into ``seen`` until one holds ``text`` (15 s at most)."""
    deadline = time.monotonic() + 15
    while not any(text in line for line in seen):
        assert time.monotonic() < deadline, f"no line with {text!r} in:\n{''.join(seen)}"
        with contextlib.suppress(queue.Empty):
            seen.append(lines.get(timeout=0.1))


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    finally:
        proc.kill()


def test_headless_names_each_layer_and_each_change() -> None:
    proc, url, lines = start("tests.apps.layered:app")
    seen: list[str] = []
    try:
        response = httpx.get(f"{url}/big", headers={"origin": "http://example.test"}, timeout=5)
        assert response.headers["x-added-by"] == "timing"
        until(lines, "complete 200", seen)
        preflight = {"origin": "http://example.test", "access-control-request-method": "GET"}
        assert httpx.options(f"{url}/big", headers=preflight, timeout=5).status_code == 200
        until(lines, "CORSMiddleware answered 200 itself", seen)
    finally:
        stop(proc)
    out = "".join(seen)
    assert re.search(r"c\d+ #\d+ +AddHeaderMiddleware added header x-added-by: timing\n", out)
    assert "CORSMiddleware added header access-control-allow-origin: *" in out
    assert "↓ GZipMiddleware  layer " in out  # each crossing names its layer
    assert "↑ AddHeaderMiddleware  http.response.start  200 OK" in out


def test_no_layers_traces_the_server_boundary_only() -> None:
    proc, url, lines = start("tests.apps.layered:app", "--no-layers")
    seen: list[str] = []
    try:
        assert httpx.get(f"{url}/big", timeout=5).status_code == 200
        until(lines, "complete 200", seen)
    finally:
        stop(proc)
    out = "".join(seen)
    assert "server ← app  http.response.start" in out
    assert "GZipMiddleware" not in out and "↓ " not in out


def test_layers_for_an_app_without_a_chain_fails_with_one_line() -> None:
    result = run("tests.apps.plain:app", "--layers", "--headless", "--port", "0")
    assert result.returncode == 3
    assert "--layers: no middleware chain found in " in one_line_error(result)


def test_a_recorded_capture_opens_with_its_layers(tmp_path) -> None:
    capture = tmp_path / "layers.jsonl"
    proc, url, lines = start("tests.apps.layered:app", "--record", str(capture))
    seen: list[str] = []
    try:
        httpx.get(f"{url}/big", headers={"origin": "http://example.test"}, timeout=5)
        until(lines, "complete 200", seen)
    finally:
        stop(proc)
    result = run("open", str(capture), "--headless")
    assert result.returncode == 0, result.stderr
    assert "AddHeaderMiddleware added header x-added-by: timing" in result.stdout
    assert "↑ CORSMiddleware  http.response.start  200 OK" in result.stdout
