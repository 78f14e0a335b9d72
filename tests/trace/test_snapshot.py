"""Snapshots: what the trace keeps is what crossed the shim, whatever the app does
with its dicts, lists and buffers afterwards."""

from __future__ import annotations

from typing import Any

from asgi_scope.trace.events import ExchangeEnded, MessageReceived, MessageSent, ScopeCreated
from asgi_scope.trace.snapshot import snapshot, snapshot_message, snapshot_since
from tests.live import request


async def reusing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Mutates everything it can after handing it over, as some apps do."""
    message = await receive()
    message["body"] = b"rewritten by the app"
    message["extra"] = True
    scope["path"] = "/changed"
    scope["headers"].append((b"x-added", b"later"))
    scope["route"] = "added by a framework"

    headers = [(b"x-first", b"1")]
    start = {"type": "http.response.start", "status": 200, "headers": headers}
    await send(start)
    headers.append((b"x-sneaky", b"2"))
    headers[0] = (b"x-first", b"changed")
    start["status"] = 500

    buffer = bytearray(b"AAAA")
    body = {"type": "http.response.body", "body": buffer, "more_body": True}
    await send(body)
    buffer[:] = b"BBBB"  # reuse the same buffer for the next chunk
    await send(body)
    view = memoryview(bytearray(b"CCCC"))
    await send({"type": "http.response.body", "body": view, "more_body": False})
    view[:] = b"DDDD"


def test_app_mutations_after_send_do_not_reach_the_trace(serve):
    live = serve(reusing_app)
    with live.connect() as conn:
        conn.send(request("POST", "/original", body=b"as sent"))
        response = conn.read_response()
    assert response.headers[0] == (b"x-first", b"1")
    assert response.body == b"AAAABBBBCCCC"

    ended = live.wait_for(ExchangeEnded)
    sent = [e.message for e in live.events(MessageSent)]
    assert sent[0] == {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"x-first", b"1")],
    }
    assert [m["body"] for m in sent[1:]] == [b"AAAA", b"BBBB", b"CCCC"]
    assert all(type(m["body"]) is bytes for m in sent[1:])

    (received,) = live.events(MessageReceived)
    assert received.message == {"type": "http.request", "body": b"as sent", "more_body": False}

    created = live.events(ScopeCreated)[0].scope
    assert created["path"] == "/original"
    assert (b"x-added", b"later") not in created["headers"]
    assert "route" not in created
    # The scope as the app left it is kept separately.
    assert ended.scope["path"] == "/changed"
    assert ended.scope["route"] == "added by a framework"
    assert (b"x-added", b"later") in ended.scope["headers"]


def test_snapshot_since_shares_what_did_not_change():
    scope = {"path": "/", "headers": [(b"host", b"x")], "state": {"n": 1}}
    before = snapshot(scope)
    assert snapshot_since(scope, before) is before  # nothing changed: the same snapshot
    scope["state"]["n"] = 2
    after = snapshot_since(scope, before)
    assert after == {"path": "/", "headers": [(b"host", b"x")], "state": {"n": 2}}
    assert after["headers"] is before["headers"] and after["state"] is not scope["state"]


def test_snapshot_copies_containers_and_freezes_buffers():
    original = {"a": [1, {"b": bytearray(b"x")}], "t": (bytearray(b"y"),)}
    copy = snapshot(original)
    original["a"][1]["b"][:] = b"z"
    original["a"].append(2)
    original["t"][0][:] = b"w"
    assert copy == {"a": [1, {"b": b"x"}], "t": (b"y",)}


def test_snapshot_keeps_other_objects_by_reference():
    thing = object()
    assert snapshot({"app": thing})["app"] is thing


def test_snapshot_stops_copying_past_eight_levels():
    deep: list[Any] = []
    node = deep
    for _ in range(20):
        node.append([])
        node = node[0]
    copy = snapshot(deep)
    assert _walk(copy, 8) is not _walk(deep, 8)
    assert _walk(copy, 9) is _walk(deep, 9)


def _walk(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = value[0]
    return value


def test_snapshot_survives_a_cycle():
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    copy = snapshot(cyclic)
    assert copy is not cyclic
    assert isinstance(copy["self"], dict)


def test_snapshot_message_cuts_the_body_and_counts_what_it_dropped():
    message = {"type": "http.response.body", "body": bytearray(b"0123456789")}
    snap, kept, dropped = snapshot_message(message, 4)
    assert snap == {"type": "http.response.body", "body": b"0123"}
    assert (kept, dropped) == (4, 6)
    snap, kept, dropped = snapshot_message(message, 0)
    assert (snap["body"], kept, dropped) == (b"", 0, 10)
    snap, kept, dropped = snapshot_message({"type": "websocket.send", "text": "héllo"}, 3)
    assert (snap["text"], kept, dropped) == ("hél", 3, 2)
    assert snapshot_message("not a dict", 10) == ("not a dict", 0, 0)
