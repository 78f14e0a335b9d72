"""Both edges (the asyncio one and the tests' fake) implement the whole
:class:`~asgi_scope.server.edge.Edge` interface, and nothing of the server
reaches the core any other way."""

from __future__ import annotations

import inspect

import pytest

from asgi_scope.config import Config
from asgi_scope.server.edge import Edge
from asgi_scope.server.http import HTTPProtocol
from asgi_scope.server.state import ServerState
from asgi_scope.trace.recorder import Recorder
from tests.server.fake_edge import FakeEdge

MEMBERS = sorted(
    set(Edge.__annotations__)
    | {name for name, _ in inspect.getmembers(Edge, inspect.isfunction) if not name.startswith("_")}
)


def test_the_interface_is_narrow():
    assert MEMBERS == [
        "call_later", "close", "conn", "in_offset", "is_closing", "out_offset",
        "pause_reading", "recorder", "response_complete", "resume_reading",
        "signal", "to_thread", "writable", "write",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "edge",
    [FakeEdge(), HTTPProtocol(ServerState(Config(port=0), None, Recorder()))],
    ids=["fake", "asyncio"],
)
def test_every_member_is_implemented(edge: object):
    for name in MEMBERS:
        assert hasattr(edge, name), name
        if callable(getattr(Edge, name, None)):
            wanted = inspect.signature(getattr(Edge, name)).parameters
            got = inspect.signature(getattr(edge, name)).parameters
            assert list(got) == [p for p in wanted if p != "self"], name
