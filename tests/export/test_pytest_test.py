"""The generated pytest test: run by pytest in a subprocess, it passes against
the app the exchange came from and fails once the app answers differently;
nothing from the capture can become code."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from asgi_scope.export.pytest_test import pytest_test
from asgi_scope.trace.capture import CaptureWriter, Header
from asgi_scope.trace.events import ExchangeEnded
from asgi_scope.trace.flow import flows
from tests.cli.test_cli import ROOT, run
from tests.export.conftest import Session
from tests.live import TIMEOUT


def run_pytest(test_file: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    """Run pytest on ``test_file`` alone, with ``paths`` (and the repository) importable."""
    env_path = ":".join(str(p) for p in (*paths, ROOT))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=test_file.parent,
        # No bytecode cache: an app module rewritten within the same second and
        # to the same size would otherwise be read back from its stale .pyc.
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
    )


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/json"), ("POST", "/echo"), ("GET", "/stream")]
)
def test_the_generated_test_passes_against_its_app(
    session: Session, tmp_path: Path, method: str, path: str
):
    source = pytest_test(session.flow(method, path), "tests.apps.exports:app", redact=None)
    test_file = tmp_path / "test_generated.py"
    test_file.write_text(source)
    result = run_pytest(test_file)
    assert result.returncode == 0, source + result.stdout + result.stderr
    assert "1 passed" in result.stdout


APP_V1 = """
async def app(scope, receive, send):
    assert scope["type"] == "http"
    await receive()
    body = b'{"version": 1, "items": [1, 2]}'
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"x-request-id", b"random"),
    ]})
    await send({"type": "http.response.body", "body": body})
"""


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (('"version": 1', '"version": 2'), "assert"),
        (("200", "404"), "assert 404 == 200"),
        (("application/json", "application/json; charset=utf-8"), "content-type"),
    ],
)
def test_the_generated_test_fails_when_the_response_changes(
    serve, tmp_path: Path, change: tuple[str, str], words: str
):
    module = tmp_path / "recorded_app.py"
    module.write_text(textwrap.dedent(APP_V1))
    sys.path.insert(0, str(tmp_path))
    try:
        import recorded_app  # type: ignore[import-not-found]

        live = serve(recorded_app.app)
        httpx.get(f"{live.url}/things?id=1", timeout=TIMEOUT)
        store = live.collect(lambda s: any(isinstance(e, ExchangeEnded) for e in s.events))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("recorded_app", None)
    source = pytest_test(flows(store)[0], "recorded_app:app")
    assert "x-request-id" not in source  # not a significant header
    test_file = tmp_path / "test_recorded.py"
    test_file.write_text(source)
    assert run_pytest(test_file, tmp_path).returncode == 0
    module.write_text(textwrap.dedent(APP_V1).replace(*change))
    failed = run_pytest(test_file, tmp_path)
    assert failed.returncode == 1, failed.stdout
    assert "1 failed" in failed.stdout and words in failed.stdout


def test_credentials_are_left_out_unless_asked(session: Session):
    flow = session.flow("POST", "/echo")
    redacted = pytest_test(flow, "tests.apps.exports:app")
    assert "s3cr3t" not in redacted and "# left out (redacted): authorization" in redacted
    assert "('authorization', 'Bearer s3cr3t')" in pytest_test(
        flow, "tests.apps.exports:app", redact=None
    )


def test_nothing_from_the_capture_becomes_code(session: Session):
    flow = session.flow("GET", "/json")
    for app in ("os;import os:app", "m:app()", "m:app\nimport os", "no_colon", "m:"):
        with pytest.raises(ValueError, match="not module:attribute"):
            pytest_test(flow, app)
    flow.request.target = "/x'''\"\"\"\n__import__('os').system('id')#"
    flow.request.method = "GET'); import os; ('"
    flow.request.headers.append((b"x-evil", b"'''\"\"\"\\"))
    source = pytest_test(flow, "pkg.mod:factory.make", factory=True)
    tree = ast.parse(source)
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert calls <= {"send"}, calls
    assert "from pkg.mod import factory as _recorded" in source
    assert "app = _recorded.make()" in source
    name = next(n.name for n in tree.body if isinstance(n, ast.FunctionDef))
    assert name.isidentifier() and name.startswith("test_get_import_os")


def test_the_export_command_writes_the_test(session: Session, tmp_path: Path):
    capture = tmp_path / "session.jsonl"
    writer = CaptureWriter(capture, Header("tests.apps.exports:app", 0))
    writer(session.store.events)
    writer.close()
    exchange = session.flow("GET", "/json").exchange
    out = tmp_path / "test_from_cli.py"
    result = run("export", str(capture), "--pytest", str(out), "-e", str(exchange))
    assert result.returncode == 0, result.stderr
    assert run_pytest(out).returncode == 0
    assert run("export", str(capture), "--pytest", str(out)).returncode == 2
    missing = run("export", str(capture), "--pytest", str(out), "-e", "999")
    assert missing.returncode == 1 and "no exchange #999" in missing.stderr


ODD_BODIES_APP = """
import gzip
import zlib

DEEP = b"[" * 100_000 + b"]" * 100_000
BODIES = {
    "/gzip": (b"gzip", b"application/json", lambda: gzip.compress(b'{"zipped": [1, 2]}')),
    "/deflate": (b"deflate", b"text/plain", lambda: zlib.compress(b"deflated text")),
    "/raw-deflate": (
        b"deflate", b"text/plain", lambda: zlib.compress(b"raw", wbits=-15)
    ),
    "/other": (b"x-custom", b"text/plain", lambda: b"encoded somehow"),
    "/nan": (b"", b"application/json", lambda: b'{"x": NaN, "y": Infinity}'),
    "/deep": (b"", b"application/json", lambda: DEEP),
}


async def app(scope, receive, send):
    assert scope["type"] == "http"
    await receive()
    coding, mime, make = BODIES[scope["path"]]
    headers = [(b"content-type", mime)] + ([(b"content-encoding", coding)] if coding else [])
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": make()})
"""


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/raw-deflate", "/other", "/nan", "/deep"])
def test_compressed_nan_and_deep_json_bodies_make_a_test_that_passes(
    serve, tmp_path: Path, path: str
):
    """httpx hands the test a decompressed body; NaN never equals itself; JSON
    nested 100,000 deep makes json.loads raise RecursionError."""
    module = tmp_path / "odd_bodies_app.py"
    module.write_text(textwrap.dedent(ODD_BODIES_APP))
    sys.path.insert(0, str(tmp_path))
    try:
        import odd_bodies_app  # type: ignore[import-not-found]

        live = serve(odd_bodies_app.app)
        httpx.get(f"{live.url}{path}", timeout=TIMEOUT, headers={"accept-encoding": "identity"})
        store = live.collect(lambda s: any(isinstance(e, ExchangeEnded) for e in s.events))
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("odd_bodies_app", None)
    source = pytest_test(flows(store)[0], "odd_bodies_app:app")
    if path == "/other":
        assert "is not compared" in source and "response.content" not in source
    if path in ("/nan", "/deep"):
        assert "response.json()" not in source
    test_file = tmp_path / "test_odd.py"
    test_file.write_text(source)
    result = run_pytest(test_file, tmp_path)
    assert result.returncode == 0, source[:3000] + result.stdout[-3000:]


class EvilStatus(int):
    def __repr__(self) -> str:
        return "200 or __import__('os').system('touch pwned')"


def test_a_status_int_subclass_cannot_write_code(session: Session):
    flow = session.flow("GET", "/json")
    assert flow.response is not None
    flow.response.status = EvilStatus(200)
    source = pytest_test(flow, "tests.apps.exports:app")
    assert "__import__" not in source and "status_code == 200\n" in source
