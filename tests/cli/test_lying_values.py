"""An app whose values raise when looked at (``__str__``, ``__repr__``,
``__format__``, ``__len__``): the headless printer prints a line for every
exchange and keeps printing; only the app's own failure has a traceback."""

from __future__ import annotations

import contextlib

import httpx

from tests.cli.test_cli import start_headless, stop

PATHS = ["/status", "/header", "/body", "/type", "/fine"]


def test_the_headless_printer_never_stops_on_a_value_that_raises():
    proc, url = start_headless("tests.apps.lying:app")
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            for path in PATHS:
                with contextlib.suppress(httpx.HTTPError):  # /type: cannot be sent
                    client.get(path)
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    for path in PATHS:
        assert f"scope GET {path} HTTP/1.1" in out, out
    assert "complete 200" in out.split("scope GET /fine")[1], out
    assert "stopped" in out.splitlines()[-1]
    assert "console.py" not in err and "present.py" not in err, err
