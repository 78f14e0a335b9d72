"""End to end: the middleware layers of a FastAPI app on the screen, as a person
sees them (tmux): the table marks the layer that answered a CORS preflight, and
the Layers tab (L) lists the stack with each layer's changes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.test_tmux import COMMAND, Terminal, curl

URL = re.compile(r"http://127\.0\.0\.1:\d+")


@pytest.fixture
def layered_in_tmux() -> Iterator[tuple[Terminal, str]]:
    term = Terminal([COMMAND, "tests.apps.layered:app", "--port", "0"], height=45)
    try:
        # the header and the listening note both show the URL: read it once both
        # are drawn and agree (a screen read mid-draw may hold a cut one)
        screen = term.wait_for(lambda s: len(set(URL.findall(s))) == 1 < len(URL.findall(s)))
        url = URL.search(screen)
        assert url is not None
        yield term, url.group(0)
    finally:
        term.close()


def test_the_layers_tab_names_each_layer_and_its_changes(layered_in_tmux) -> None:
    term, url = layered_in_tmux
    preflight = ["-X", "OPTIONS", "-H", "origin: http://example.test"]
    curl(*preflight, "-H", "access-control-request-method: GET", f"{url}/big")
    term.wait_for(lambda s: "OPTIONS" in s and "done ↩ CORSMiddleware" in s)
    big = ["-o", "/dev/null", "-H", "origin: http://example.test", "-H", "accept-encoding: gzip"]
    curl(*big, f"{url}/big")  # the newest: the table follows it
    term.press("L")
    screen = term.wait_for(lambda s: "added header x-added-by: timing" in s)
    lines = screen.splitlines()
    at = next(i for i, line in enumerate(lines) if "AddHeaderMiddleware" in line)
    assert "added header x-added-by: timing" in lines[at + 1]  # under its own layer
    cors = next(i for i, line in enumerate(lines) if re.search(r"\d CORSMiddleware ", line))
    assert any("added header access-control-allow-origin: *" in x for x in lines[cors:at])
    assert "content-encoding gzip" in screen  # GZipMiddleware's re-encoding
