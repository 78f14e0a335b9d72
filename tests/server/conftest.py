"""The conformance suite's side-by-side summary (asgi-scope beside uvicorn).

Each test in ``test_conformance.py`` runs once per peer; this collects the
outcomes per check and prints them as a table at the end of the run, marking
the checks where the two servers are expected to differ (see
:func:`tests.server.test_conformance.expect`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.server.peers import DIFFERENCES, PEERS

_RESULTS: dict[str, dict[str, str]] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    report = yield
    callspec = getattr(item, "callspec", None)
    peer = callspec.params.get("peer_name") if callspec else None
    if callspec is not None and peer is None:
        fixture = callspec.params.get("peer")
        peer = fixture if fixture in PEERS else None
    if peer is None or "test_conformance" not in item.nodeid:
        return report
    if report.when == "call" or report.outcome != "passed":
        rest = callspec.id.replace(peer, "", 1).strip("-")
        check = item.originalname + (f"[{rest}]" if rest else "")  # type: ignore[attr-defined]
        _RESULTS.setdefault(check, {})[peer] = report.outcome
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("conformance: asgi-scope beside uvicorn (--http h11 --ws wsproto)")
    width = max(len(check) for check in _RESULTS)
    write(f"{'check':<{width}}  {'asgi-scope':<10}  {'uvicorn':<10}  expected")
    totals = dict.fromkeys(PEERS, 0)
    for check, outcomes in _RESULTS.items():
        for peer in PEERS:
            totals[peer] += outcomes.get(peer) == "passed"
        name = check.split("[")[0]
        note = "differs (deliberate)" if name in DIFFERENCES else "same"
        cells = "  ".join(f"{outcomes.get(peer, '-'):<10}" for peer in PEERS)
        write(f"{check:<{width}}  {cells}  {note}")
    counts = ", ".join(f"{peer} {totals[peer]}/{len(_RESULTS)} passed" for peer in PEERS)
    write(f"{len(_RESULTS)} checks: {counts}; {len(DIFFERENCES)} deliberate differences")
