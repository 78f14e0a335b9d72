"""The pytest plugin (``-p asgi_scope.pytest_plugin``), run by pytest itself on a
small test file (pytester, in a subprocess): a test whose app sends a str body
fails naming the rule and the message, through httpx.ASGITransport and through
Starlette's TestClient; a correct app passes; ``[tool.asgi-scope]`` mutes."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import asyncio

import httpx
import pytest
from starlette.testclient import TestClient


def app_with(body):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await receive()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"Content-Type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})
    return app


async def get(app, url):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(url)


def test_httpx_str_body():
    with pytest.raises(Exception):
        asyncio.run(get(app_with("a str"), "/"))


def test_httpx_bytes_body():
    assert asyncio.run(get(app_with(b"bytes"), "/?q=1")).text == "bytes"


def test_testclient_str_body():
    with pytest.raises(Exception):
        TestClient(app_with("a str")).get("/")


def test_testclient_bytes_body():
    assert TestClient(app_with(b"ok")).get("/").text == "ok"
"""


@pytest.fixture
def tests_file(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_app=TESTS)
    return pytester


def _run(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "asgi_scope.pytest_plugin", "-p", "no:cacheprovider", "-o", "addopts=",
    )  # fmt: skip


def test_the_plugin_fails_the_test_that_sends_a_str_body(tests_file: pytest.Pytester):
    pytest.importorskip("starlette")
    result = _run(tests_file)
    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    assert "FAILED test_app.py::test_httpx_str_body" in out
    assert "FAILED test_app.py::test_testclient_str_body" in out
    assert "http.body-bytes (error): body is a str (encode it) [http.response.body]" in out
    assert "Encode the body" in out  # the fix
    assert "header-lowercase" not in out  # a warning: not failing by default


def test_pyproject_mutes_a_rule_for_the_plugin(tests_file: pytest.Pytester):
    pytest.importorskip("starlette")
    tests_file.makefile(
        ".toml", pyproject='[tool.asgi-scope]\nignore = ["http.body-bytes"]\nstrict = "warning"\n'
    )
    result = _run(tests_file)
    out = result.stdout.str()
    assert "http.body-bytes" not in out
    assert "http.header-lowercase (warning)" in out  # strict = "warning": warnings fail
    result.assert_outcomes(failed=4)
