"""``--layers``/``--no-layers`` and the headless lines of middleware layers, through
the installed ``asgi-scope`` command (tests/apps/layered.py)."""

from __future__ import annotations

import re

import httpx

from tests.cli.test_cli import one_line_error, printed_until, run, start_headless, stop


def test_headless_names_each_layer_and_each_change() -> None:
    proc, url = start_headless("tests.apps.layered:app")
    try:
        response = httpx.get(f"{url}/big", headers={"origin": "http://example.test"}, timeout=5)
        assert response.headers["x-added-by"] == "timing"
        printed_until(proc, "complete 200")
        preflight = {"origin": "http://example.test", "access-control-request-method": "GET"}
        assert httpx.options(f"{url}/big", headers=preflight, timeout=5).status_code == 200
        printed_until(proc, "CORSMiddleware answered 200 itself")
    finally:
        out, _ = stop(proc)
    assert re.search(r"c\d+ #\d+ +AddHeaderMiddleware added header x-added-by: timing\n", out)
    assert "CORSMiddleware added header access-control-allow-origin: *" in out
    assert "↓ GZipMiddleware  layer " in out  # each crossing names its layer
    assert "↑ AddHeaderMiddleware  http.response.start  200 OK" in out


def test_the_access_log_names_the_layer_that_answered() -> None:
    proc, url = start_headless("tests.apps.layered:app", "--format", "access")
    try:
        preflight = {"origin": "http://example.test", "access-control-request-method": "GET"}
        assert httpx.options(f"{url}/big", headers=preflight, timeout=5).status_code == 200
        printed_until(proc, '"OPTIONS /big HTTP/1.1" 200')
        assert httpx.get(f"{url}/big", timeout=5).status_code == 200
        printed_until(proc, '"GET /big HTTP/1.1" 200')
    finally:
        out, _ = stop(proc)
    lines = {line.split('"')[1].split()[0]: line for line in out.splitlines() if '"' in line}
    assert lines["OPTIONS"].endswith(" answered by CORSMiddleware")
    assert "answered by" not in lines["GET"]  # the endpoint answered


def test_no_layers_traces_the_server_boundary_only() -> None:
    proc, url = start_headless("tests.apps.layered:app", "--no-layers")
    try:
        assert httpx.get(f"{url}/big", timeout=5).status_code == 200
        printed_until(proc, "complete 200")
    finally:
        out, _ = stop(proc)
    assert "server ← app  http.response.start" in out
    assert "GZipMiddleware" not in out and "↓ " not in out


def test_layers_for_an_app_without_a_chain_fails_with_one_line() -> None:
    result = run("tests.apps.plain:app", "--layers", "--headless", "--port", "0")
    assert result.returncode == 3
    assert "--layers: no middleware chain found in " in one_line_error(result)


def test_a_recorded_capture_opens_with_its_layers(tmp_path) -> None:
    capture = tmp_path / "layers.jsonl"
    proc, url = start_headless("tests.apps.layered:app", "--record", str(capture))
    try:
        httpx.get(f"{url}/big", headers={"origin": "http://example.test"}, timeout=5)
        printed_until(proc, "complete 200")
    finally:
        stop(proc)
    result = run("open", str(capture), "--headless")
    assert result.returncode == 0, result.stderr
    assert "AddHeaderMiddleware added header x-added-by: timing" in result.stdout
    assert "↑ CORSMiddleware  http.response.start  200 OK" in result.stdout
