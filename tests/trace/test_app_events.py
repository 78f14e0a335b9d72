"""What the trace says about the app itself: the scope as a framework leaves it,
and the exceptions it raises."""

from __future__ import annotations

from typing import Any

import httpx

from asgi_scope.trace.events import AppRaised, ExchangeEnded, ScopeCreated
from tests.live import TIMEOUT, request


def serve_fastapi(serve: Any) -> Any:
    # Imported here, not at collection (see tests/server/test_fastapi.py).
    from tests.apps.fastapi_app import app

    return serve(app, lifespan="auto")


def test_exchange_ended_scope_shows_what_the_framework_added(serve):
    live = serve_fastapi(serve)
    response = httpx.get(live.url + "/items/5?q=x", timeout=TIMEOUT)
    assert response.json() == {"item_id": 5, "q": "x"}

    ended = live.wait_for(ExchangeEnded, outcome="complete", conn=1)
    created = live.events(ScopeCreated, exchange=ended.exchange)[0]
    added = set(ended.scope) - set(created.scope)
    assert {"route", "endpoint", "path_params"} <= added
    assert ended.scope["path_params"] == {"item_id": "5"}
    assert ended.scope["route"].path == "/items/{item_id}"
    assert ended.scope["endpoint"].__name__ == "read_item"
    assert created.scope["path"] == ended.scope["path"] == "/items/5"

    exchange = live.store.exchanges[ended.exchange]
    assert exchange.scope == created.scope
    assert exchange.scope_after == ended.scope


def explode_here(value: int) -> None:
    raise ValueError(f"cannot handle {value}")


async def raising_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    explode_here(42)


def test_app_raised_carries_the_traceback(serve):
    live = serve(raising_app)
    with live.connect() as conn:
        conn.send(request("GET", "/"))
        assert conn.read_response().status == 500

    raised = live.wait_for(AppRaised)
    assert (raised.exc_type, raised.message) == ("ValueError", "cannot handle 42")
    assert raised.traceback.startswith("Traceback (most recent call last):")
    assert "in raising_app" in raised.traceback
    assert "in explode_here" in raised.traceback
    assert __file__ in raised.traceback
    assert raised.traceback.rstrip().endswith("ValueError: cannot handle 42")
    ended = live.wait_for(ExchangeEnded)
    assert ended.seq > raised.seq
    assert live.store.exchanges[raised.exchange].error == "ValueError: cannot handle 42"


def test_framework_exception_is_recorded_after_its_500(serve):
    live = serve_fastapi(serve)
    assert httpx.get(live.url + "/boom", timeout=TIMEOUT).status_code == 500
    raised = live.wait_for(AppRaised)
    assert (raised.exc_type, raised.message) == ("RuntimeError", "boom")
    assert "in boom" in raised.traceback
    ended = live.wait_for(ExchangeEnded, exchange=raised.exchange)
    assert (ended.outcome, ended.status) == ("error", 500)
