"""The HTTP extensions the server offers in ``scope["extensions"]`` (ASGI
extensions spec): response trailers, pathsend and debug; and what the trace
keeps of them. Raw sockets, so the chunked trailer section is seen as sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asgi_scope.trace.events import ExchangeEnded, MessageSent, ProtocolError, ServerNote
from tests.live import Live, read_body, request


async def trailers_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await read_body(receive)
    headers = [(b"trailer", b"x-checksum")]
    if scope["path"] == "/sized":
        headers.append((b"content-length", b"4"))
    await send({"type": "http.response.start", "status": 200, "headers": headers, "trailers": True})
    await send({"type": "http.response.body", "body": b"da", "more_body": True})
    await send({"type": "http.response.body", "body": b"ta"})
    await send(
        {"type": "http.response.trailers", "headers": [(b"x-a", b"1")], "more_trailers": True}
    )
    await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")]})


def read_trailers(raw: Any) -> tuple[bytes, bytes]:
    """Read a chunked body by hand: ``(body, trailer section)``."""
    body = b""
    while True:
        size = int(raw.read_until(b"\r\n").split(b";")[0], 16)
        if size == 0:
            return body, raw.read_until(b"\r\n\r\n")
        body += raw.read_exact(size)
        raw.read_exact(2)


def test_extensions_offered_in_the_scope(serve):
    seen: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["extensions"])
        await read_body(receive)
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})

    live = serve(app)
    with live.connect() as raw:
        raw.send(request("GET", "/"))
        assert raw.read_response().status == 204
    offered = {"http.response.trailers", "http.response.pathsend", "http.response.debug"}
    assert set(seen[0]) == offered


def test_trailers_are_sent_after_the_last_chunk(serve):
    live = serve(trailers_app)
    with live.connect() as raw:
        raw.send(request("GET", "/", [("TE", "trailers")]))
        status, _, headers, _ = raw.read_head()
        assert status == 200 and (b"transfer-encoding", b"chunked") in [
            (k.lower(), v) for k, v in headers
        ]
        body, trailer = read_trailers(raw)
        assert body == b"data"
        assert trailer == b"x-a: 1\r\nx-checksum: abc\r\n\r\n"
        raw.send(request("GET", "/"))  # the connection is still good
        assert raw.read_head()[0] == 200
    ended = live.wait_for(ExchangeEnded)
    assert ended.outcome == "complete"
    sent = [e.message["type"] for e in live.events(MessageSent, exchange=ended.exchange)]
    assert sent[-2:] == ["http.response.trailers", "http.response.trailers"]


def test_trailers_on_a_sized_body_are_dropped_with_a_note(serve):
    live = serve(trailers_app)
    with live.connect() as raw:
        raw.send(request("GET", "/sized"))
        response = raw.read_response()
        assert (response.status, response.body) == (200, b"data")
        raw.send(request("GET", "/sized"))
        assert raw.read_response().body == b"data"
    note = live.wait_for(ServerNote, level="warning")
    assert "2 trailer field(s) dropped" in note.text


def test_body_after_the_trailers_were_promised_and_due_is_an_error(serve):
    errors: list[Exception] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        await send({"type": "http.response.start", "status": 200, "trailers": True})
        await send({"type": "http.response.body", "body": b"x"})
        try:
            await send({"type": "http.response.body", "body": b"more"})
        except RuntimeError as exc:
            errors.append(exc)

    live = serve(app)
    with live.connect() as raw:
        raw.send(request("GET", "/"))
        raw.read_head()
        assert raw.closed_within(5)
    assert "http.response.trailers" in str(errors[0])


def pathsend_app(path: Path) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        size = str(path.stat().st_size).encode() if path.exists() else b"0"
        headers = [(b"content-length", size), (b"content-type", b"application/octet-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.pathsend", "path": str(path)})

    return app


def test_pathsend_sends_the_file(serve, tmp_path: Path):
    path = tmp_path / "blob.bin"
    data = bytes(range(256)) * 1000  # 256000 bytes, several 64 KiB reads
    path.write_bytes(data)
    live = serve(pathsend_app(path))
    with live.connect() as raw:
        raw.send(request("GET", "/"))
        response = raw.read_response()
        assert response.body == data
        raw.send(request("HEAD", "/"))
        head = raw.read_response(b"HEAD")
        assert head.header(b"content-length") == str(len(data)).encode() and head.body == b""
    live.collect(lambda s: len(s.exchanges) >= 2 and all(x.t_end for x in s.exchanges.values()))
    first = min(live.store.exchanges.values(), key=lambda x: x.id)
    message = next(e for e in first.events if isinstance(e, MessageSent) and "path" in e.message)
    assert message.message == {"type": "http.response.pathsend", "path": str(path)}
    start, end = first.sent_wire(message)
    assert end - start == len(data)  # the file's bytes are the message's on the wire


def test_pathsend_of_a_missing_file_is_an_error_for_the_app(serve, tmp_path: Path):
    live = serve(pathsend_app(tmp_path / "missing"))
    with live.connect() as raw:
        raw.send(request("GET", "/"))
        raw.read_head()
        assert raw.closed_within(5)
    error = live.wait_for(ProtocolError, by="app")
    assert "pathsend" in error.detail


def test_debug_message_is_accepted_and_recorded(serve):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await read_body(receive)
        info = {"template": "index.html", "context": {"user": "ada"}}
        await send({"type": "http.response.debug", "info": info})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    live: Live = serve(app)
    with live.connect() as raw:
        raw.send(request("GET", "/"))
        assert raw.read_response().body == b"ok"
    ended = live.wait_for(ExchangeEnded)
    assert ended.outcome == "complete"
    debug = live.events(MessageSent, exchange=ended.exchange)[0]
    assert debug.message["info"]["template"] == "index.html"
