"""The cost model runs and prints every row (a smoke test: no figure is judged)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import asgi_scope.server.cycle
import asgi_scope.trace.shim
from tests.benchmarks import costs

ROOT = Path(__file__).resolve().parents[2]


def test_the_cost_model_prints_every_row_with_a_figure() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.costs", "--rounds", "1", "--requests", "200"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    labels = [*costs.ROWS.values(), "total, app process (--quiet)"]
    for label in labels:
        assert re.search(re.escape(label) + r"\s+-?\d+\.\d\n", out), (label, out)
    events = re.search(r"events per request: (\d+\.\d)", out)
    assert events is not None and float(events.group(1)) >= 7.0, out  # all came through


def test_tracing_off_puts_the_server_back_as_it_was() -> None:
    shim, cycle = asgi_scope.trace.shim, asgi_scope.server.cycle
    before = (cycle.Shim, shim.snapshot_message, shim.checker_for)
    with costs.tracing("off"):
        assert cycle.Shim is costs.UntracedShim
    assert (cycle.Shim, shim.snapshot_message, shim.checker_for) == before
