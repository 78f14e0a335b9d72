"""The installed ``asgi-scope`` command: flags, exit codes, headless output.

Each test runs the real console script in a subprocess, as a user would.
"""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMAND = str(Path(sys.executable).with_name("asgi-scope"))


def run(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run ``asgi-scope ARGS`` to completion from the repository root."""
    return subprocess.run(
        [COMMAND, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def run_without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``asgi-scope ARGS`` to completion in a Python where ``module`` cannot be
    imported (an optional extra not installed)."""
    hide = (
        f"import sys; sys.modules[{module!r}] = None; from asgi_scope.cli import main; "
        f"sys.argv = ['asgi-scope', *{list(args)!r}]; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", hide], cwd=ROOT, capture_output=True, text=True, timeout=30
    )


_OUTPUT: dict[int, tuple[list[str], list[str], list[threading.Thread]]] = {}
"""What each process started by :func:`start_headless` printed, read as it runs."""

LISTENING = re.compile(r"listening on http://\S+?:(\d+)")


def start_headless(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``asgi-scope --headless --port 0 ARGS`` and return it with its URL,
    read from its own listening line (stdout, or stderr with ``--quiet``): no
    port is guessed, so no other process can take it first. :func:`stop` it."""
    proc = subprocess.Popen(
        [COMMAND, "--headless", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    err: list[str] = []
    ports: queue.SimpleQueue[int | None] = queue.SimpleQueue()

    def read(stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line)
            found = LISTENING.search(line)
            if found:
                ports.put(int(found.group(1)))
        ports.put(None)

    threads = [
        threading.Thread(target=read, args=(stream, into), daemon=True)
        for stream, into in ((proc.stdout, out), (proc.stderr, err))
    ]
    for thread in threads:
        thread.start()
    _OUTPUT[proc.pid] = (out, err, threads)
    ended = 0
    while ended < 2:
        try:
            port = ports.get(timeout=30)
        except queue.Empty:
            break
        if port is not None:
            return proc, f"http://127.0.0.1:{port}"
        ended += 1
    proc.kill()
    out_text, err_text = stop(proc)
    raise AssertionError(f"asgi-scope did not start:\n{out_text}\n{err_text}")


def printed_until(proc: subprocess.Popen[str], text: str, timeout: float = 15) -> None:
    """Wait until a process started by :func:`start_headless` printed ``text`` on
    stdout; fail after ``timeout`` seconds with what it printed."""
    out, _, _ = _OUTPUT[proc.pid]
    deadline = time.monotonic() + timeout
    while not any(text in line for line in list(out)):
        assert time.monotonic() < deadline, f"no line with {text!r} in:\n{''.join(out)}"
        time.sleep(0.05)


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Send SIGINT (Ctrl-C) and return stdout and stderr once it exited."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    read = _OUTPUT.pop(proc.pid, None)
    try:
        if read is None:
            return proc.communicate(timeout=15)
        proc.wait(timeout=15)
        out, err, threads = read
        for thread in threads:
            thread.join(15)
        return "".join(out), "".join(err)
    finally:
        proc.kill()


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_version_prints_the_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert "asgi-scope, version" in result.stdout


def test_help_lists_the_uvicorn_flags() -> None:
    result = run("--help")
    assert result.returncode == 0
    for flag in ("--host", "--port", "--app-dir", "--factory", "--root-path", "--interface"):
        assert flag in result.stdout


def test_unknown_flag_is_a_usage_error_with_exit_2() -> None:
    result = run("--bogus")
    assert result.returncode == 2
    assert "No such option" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_interface_value_is_a_usage_error() -> None:
    assert run("--interface", "asgi4").returncode == 2


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("no_such_module_xyz:app", 'Could not import module "no_such_module_xyz"'),
        ("tests.apps.plain:missing", 'Attribute "missing" not found'),
        ("tests.apps.plain:not_callable", "not callable"),
        ("tests.apps.plain", "must be in format"),
    ],
)
def test_unloadable_app_gives_one_line_and_exit_3(spec: str, words: str) -> None:
    result = run(spec)
    assert result.returncode == 3
    assert words in one_line_error(result)


def test_import_error_inside_the_users_module_shows_its_traceback() -> None:
    result = run("tests.apps.broken_import:app")
    assert result.returncode == 3
    assert "Traceback" in result.stderr
    assert "broken_import.py" in result.stderr
    assert "this_package_does_not_exist_xyz" in result.stderr
    assert "asgi_scope/importer.py" not in result.stderr  # our frames are left out


def test_port_in_use_exits_3_with_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("--headless", "--port", str(port), "tests.apps.plain:app")
    assert result.returncode == 3
    line = one_line_error(result)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "address already in use" in line.lower()


def test_headless_serves_the_fastapi_app_and_prints_the_trace() -> None:
    proc, url = start_headless("tests.apps.fastapi_app:app")
    try:
        response = httpx.get(f"{url}/items/42?q=x", timeout=5)
        assert response.json() == {"item_id": 42, "q": "x"}
        assert httpx.get(f"{url}/boom", timeout=5).status_code == 500
        time.sleep(0.3)  # a drain is due every 1/30 s
    finally:
        out, _ = stop(proc)
    assert proc.returncode == 0
    assert "scope GET /items/42?q=x HTTP/1.1" in out
    assert "server ← app  http.response.start  200 OK, " in out
    assert "app raised RuntimeError: boom" in out
    assert "\x1b" not in out  # piped: plain text


def test_headless_demo_app_hints_the_url_and_stops_cleanly_on_ctrl_c() -> None:
    proc, url = start_headless()
    out, err = stop(proc)
    assert proc.returncode == 0
    assert f"curl {url}/" in err
    assert "lifespan.shutdown.complete" in out
    assert "stopped" in out


def test_headless_escapes_control_bytes_from_the_network() -> None:
    proc, url = start_headless("tests.apps.plain:app")
    try:
        with socket.create_connection((url.split(":")[1][2:], int(url.rsplit(":", 1)[1]))) as s:
            s.sendall(b"GET /a\x1b[31m HTTP/1.1\r\nhost: x\r\nx-evil: \x1b]52;c;SGk=\x07\r\n\r\n")
            s.recv(4096)
        time.sleep(0.3)
    finally:
        out, _ = stop(proc)
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\\x1b" in out  # shown, escaped


def test_binding_all_interfaces_warns_loudly() -> None:
    proc, _ = start_headless("--host", "0.0.0.0", "tests.apps.plain:app")
    _, err = stop(proc)
    assert "WARNING" in err
    assert "all interfaces" in err


def test_quiet_prints_nothing_and_counts_at_the_end() -> None:
    proc, url = start_headless("--quiet")
    for n in range(5):
        assert httpx.get(f"{url}/json?n={n}").status_code == 200
    time.sleep(0.2)  # one drain (30 Hz) at least
    out, err = stop(proc)
    assert proc.returncode == 0
    assert out == ""
    assert re.search(r"recorded 6 exchanges \(\d+ events\)", err)  # 5 requests, lifespan
    assert f"listening on {url} (--quiet" in err  # said at start: it is not hung


def test_piped_lines_are_the_text_rich_would_print() -> None:
    import io

    from asgi_scope.console import Printer
    from asgi_scope.trace.events import AppRaised, BytesReceived, ConnectionOpened, ServerNote

    events = [
        ConnectionOpened(1, 1_000, 1, ("127.0.0.1", 5000), ("127.0.0.1", 8000)),
        BytesReceived(2, 2_000, 1, 1, 0, b"GET / HTTP/1.1\r\n\x1b]0;", 22),
        ServerNote(3, 3_000, 0, "warning", "careful\x1b"),
        AppRaised(4, 4_000, 1, 1, "ValueError", "no", "Traceback\n  line\n\x1b[2J"),
    ]
    plain, styled = io.StringIO(), io.StringIO()
    fast = Printer(plain)
    assert fast.plain
    fast.print(events)
    rich = Printer(styled)
    rich.plain = False  # Rich, with no terminal: no styles, the same characters
    rich.print(events)
    assert plain.getvalue() == styled.getvalue()
    assert "\x1b" not in plain.getvalue()


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_neither_textual_nor_the_server(flag: str) -> None:
    probe = (
        "import sys\nfrom asgi_scope.cli import main\n"
        f"try:\n    main([{flag!r}])\nexcept SystemExit:\n    pass\n"
        "heavy = ['textual', 'rich', 'asgi_scope.server.runner', 'asyncio', 'h11']\n"
        "print([m for m in heavy if m in sys.modules], file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=20
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_strict_says_the_first_error_loudly_and_exits_4() -> None:
    proc, url = start_headless("tests.apps.broken:app", "--strict")
    try:
        assert httpx.get(f"{url}/", timeout=5).status_code == 200
        assert httpx.get(f"{url}/Upper", timeout=5).status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{url}/str-body", timeout=5)
        time.sleep(0.3)  # a drain is due every 1/30 s
    finally:
        out, err = stop(proc)
    assert proc.returncode == 4
    assert "⚠ spec warning http.header-lowercase: header name b'Content-Type'" in out
    assert "⚠ spec error http.body-bytes: body is a str (encode it)" in out
    loud = [line for line in err.splitlines() if "SPEC VIOLATION" in line]
    assert len(loud) == 1 and "http.body-bytes" in loud[0], err  # a warning does not fail
    assert "1 spec violation(s); the first: http.body-bytes" in err


def test_strict_warning_fails_on_warnings_too() -> None:
    proc, url = start_headless("tests.apps.broken:app", "--strict=warning")
    try:
        assert httpx.get(f"{url}/Upper", timeout=5).status_code == 200
        time.sleep(0.3)
    finally:
        _out, err = stop(proc)
    assert proc.returncode == 4
    assert "1 spec violation(s); the first: http.header-lowercase" in err


def test_a_warning_alone_does_not_fail_strict_and_ignore_mutes_a_rule() -> None:
    proc, url = start_headless(
        "tests.apps.broken:app", "--strict=warning", "--ignore", "http.header-lowercase"
    )
    try:
        assert httpx.get(f"{url}/Upper", timeout=5).status_code == 200
        time.sleep(0.3)
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    assert "http.header-lowercase" not in out  # muted: not even shown


def test_pyproject_mutes_rules_and_sets_the_strict_level(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.asgi-scope]\nignore = ["http.body-bytes"]\nstrict = "warning"\n'
    )
    (tmp_path / "app_mod.py").write_text("from tests.apps.broken import app\n")
    proc, url = start_headless("app_mod:app", "--app-dir", str(tmp_path), "--strict")
    try:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{url}/str-body", timeout=5)  # muted by the pyproject
        assert httpx.get(f"{url}/Upper", timeout=5).status_code == 200  # a warning: fails
        time.sleep(0.3)
    finally:
        out, err = stop(proc)
    assert proc.returncode == 4, err
    assert "http.body-bytes" not in out
    assert "the first: http.header-lowercase" in err


def test_an_unknown_rule_to_ignore_is_one_line_and_exit_1(tmp_path) -> None:
    result = subprocess.run(
        [COMMAND, "--headless", "--ignore", "http.no-such-rule"],
        cwd=ROOT, capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert result.returncode == 1
    assert "unknown rule 'http.no-such-rule'" in one_line_error(result)


def test_without_strict_violations_are_shown_and_the_exit_code_is_0() -> None:
    proc, url = start_headless("tests.apps.broken:app")
    try:
        assert httpx.get(f"{url}/Upper", timeout=5).status_code == 200
        time.sleep(0.3)
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0
    assert "spec warning http.header-lowercase" in out
    assert "SPEC VIOLATION" not in err


def test_explain_follows_each_line_with_what_it_means() -> None:
    proc, url = start_headless("--explain")
    try:
        assert httpx.post(f"{url}/echo", content=b"hi", timeout=5).text == "hi"
        time.sleep(0.3)
    finally:
        out, _ = stop(proc)
    assert proc.returncode == 0
    lines = out.splitlines()
    request = next(i for i, line in enumerate(lines) if "http.request" in line and "→" in line)
    assert "↳ The app's receive() returned the last (or only) piece" in lines[request + 1]
    assert "(ASGI HTTP 2.5, Request - receive event)" in lines[request + 1]
    start = next(i for i, line in enumerate(lines) if "http.response.start" in line)
    assert "↳ The app started its response" in lines[start + 1]


def test_explained_lines_keep_their_durations_and_explain_only_what_prints() -> None:
    import io

    from asgi_scope.console import Printer
    from asgi_scope.trace.events import ExchangeEnded, LifespanState, ScopeCreated

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    events = [
        ScopeCreated(1, 1_000_000_000, 0, 1, scope, None),
        LifespanState(2, 1_500_000_000, 0, 1, {"started_at": 1}),  # prints no line
        ExchangeEnded(3, 3_000_000_000, 0, 1, scope, "complete", 0),
    ]
    out = io.StringIO()
    Printer(out, explain=True).print(events)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4, lines  # two lines, each with its explanation
    assert "complete in 2.00 s" in lines[2]  # the duration survives explaining
    assert lines[3].split(None, 1)[1].startswith("↳ The app's lifespan call returned")
    assert lines[1][:22].split() == ["1.0000"]  # an explanation has no who column


def test_access_format_prints_one_line_per_matching_exchange() -> None:
    proc, url = start_headless(
        "--format", "access", "--filter", "~c 4xx | ~m POST", "tests.apps.bodies:app"
    )
    try:
        with httpx.Client(base_url=url, timeout=5) as client:
            client.get("/json")
            client.get("/nowhere?x=1")
            client.post("/form", data={"a": "1"})
    finally:
        out, _ = stop(proc)
    lines = out.splitlines()
    assert len(lines) == 2, out
    # Starlette's router raises HTTPException(404); its exception middleware answers.
    assert re.fullmatch(
        r'127\.0\.0\.1:\d+ - "GET /nowhere\?x=1 HTTP/1\.1" 404 [\d.]+ \S+ \d+ B'
        " answered by ExceptionMiddleware",
        lines[0],
    )
    assert re.fullmatch(r'127\.0\.0\.1:\d+ - "POST /form HTTP/1\.1" 200 [\d.]+ \S+ \d+ B', lines[1])


def test_filter_keeps_only_matching_exchanges_in_the_events_format() -> None:
    proc, url = start_headless("--filter", "~p /json", "tests.apps.bodies:app")
    try:
        with httpx.Client(base_url=url, timeout=5) as client:
            client.get("/pixel.png")
            client.get("/json")
    finally:
        out, _ = stop(proc)
    assert "/json" in out and "http.response.start" in out
    assert "pixel" not in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--headless", "--filter", "~c"], "Invalid value for '--filter'"),
        (["--filter", "~m GET"], "add --headless"),
        (["--headless", "--format", "json"], "Invalid value for '--format'"),
    ],
)
def test_bad_format_or_filter_is_a_usage_error(args: list[str], words: str) -> None:
    result = run(*args)
    assert result.returncode == 2 and words in result.stderr
    assert "Traceback" not in result.stderr
