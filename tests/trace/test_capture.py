"""The capture file: a real session written by the drain tap, read back the same;
values JSON cannot hold; 0600; and every bad file refused with file and line."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from asgi_scope.trace import capture, events
from asgi_scope.trace.capture import (
    VERSION,
    CaptureError,
    CaptureWriter,
    Header,
    Opaque,
    decode_event,
    decode_value,
    encode_event,
    encode_value,
    read_capture,
    write_capture,
)
from asgi_scope.trace.events import Event, ExchangeEnded, MessageSent, ServerNote
from asgi_scope.trace.store import Store
from tests.live import TIMEOUT, Live


@pytest.fixture
def fastapi_live(serve) -> Live:
    from tests.apps.fastapi_app import app  # lazily: tests/cli forgets tests.apps modules

    return serve(app, lifespan="auto")


def record_session(live: Live, path: Path) -> Store:
    """Tap a writer onto ``live``'s recorder, send a few real requests, drain, close."""
    writer = CaptureWriter(path, Header(app="tests.apps.fastapi_app:app", started_ns=0))
    live.recorder.taps.append(writer)
    with httpx.Client(base_url=live.url, timeout=TIMEOUT) as client:
        client.get("/items/42", params={"q": "x"})
        client.post("/user", json={"name": "Ada", "age": 36})
        client.get("/stream")
        client.get("/boom")

    def four_ended(store: Store) -> bool:
        return sum(isinstance(e, ExchangeEnded) and e.conn > 0 for e in store.events) >= 4

    store = live.collect(four_ended)
    writer.close()
    assert writer.error is None
    return store


def test_a_live_session_reads_back_event_for_event(fastapi_live: Live, tmp_path: Path):
    path = tmp_path / "session.jsonl"
    store = record_session(fastapi_live, path)
    back = read_capture(path)
    assert back.warnings == []
    assert back.header.app == "tests.apps.fastapi_app:app"
    assert [encode_event(e) for e in back.events] == [encode_event(e) for e in store.events]
    assert [type(e) for e in back.events] == [type(e) for e in store.events]
    # The same store, so every view shows the same thing.
    reopened = Store()
    reopened.add(back.events)
    for exchange_id, live_ex in store.exchanges.items():
        again = reopened.exchanges[exchange_id]
        for name in ("method", "path", "status", "state", "bytes_in", "bytes_out", "error"):
            assert getattr(again, name) == getattr(live_ex, name), name
        assert again.wire_in == live_ex.wire_in and again.wire_out == live_ex.wire_out
    assert reopened.connections[1].received == store.connections[1].received


def test_objects_the_app_put_in_the_scope_come_back_as_their_repr(
    fastapi_live: Live, tmp_path: Path
):
    path = tmp_path / "session.jsonl"
    store = record_session(fastapi_live, path)
    live_end = next(e for e in store.events if isinstance(e, ExchangeEnded) and e.conn)
    back_end = next(e for e in read_capture(path).events if isinstance(e, ExchangeEnded) and e.conn)
    assert isinstance(back_end.scope["app"], Opaque)
    assert repr(back_end.scope["app"]) == repr(live_end.scope["app"])
    assert back_end.scope["app"].type == "fastapi.applications.FastAPI"
    assert back_end.scope["headers"] == live_end.scope["headers"]  # tuples of bytes
    assert back_end.scope["client"] == live_end.scope["client"]


def test_capture_files_are_private(tmp_path: Path):
    path = tmp_path / "c.jsonl"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_capture(path, Header(app="a:b", started_ns=0), [])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    writer = CaptureWriter(tmp_path / "w.jsonl", Header(app="a:b", started_ns=0))
    writer.close()
    assert stat.S_IMODE((tmp_path / "w.jsonl").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "value",
    [
        b"\x00\xff raw",
        ("a", 1, (b"x", None)),
        {1: "int key", (b"a", 2): [1.5, True]},
        {"$b": "a dict whose key looks like a tag"},
        [float("inf"), float("-inf")],
        {"nested": [{"deep": (b"",)}]},
    ],
)
def test_values_json_cannot_hold_round_trip(value):
    data = json.loads(json.dumps(encode_value(value)))
    assert decode_value(data) == value


def test_nan_round_trips():
    back = decode_value(json.loads(json.dumps(encode_value(float("nan")))))
    assert back != back


def test_other_objects_are_kept_as_text_and_never_imported_or_called():
    class Boom:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert decode_value(encode_value(Boom())).type.endswith("<locals>.Boom")
    assert "repr() raised RuntimeError" in decode_value(encode_value(Boom())).text
    crafted = {"$repr": "<nothing>", "$type": "os.system"}
    assert decode_value(crafted) == Opaque("<nothing>", "os.system")
    cycle: list = []
    cycle.append(cycle)
    assert "[...]" in json.dumps(encode_value(cycle))


def test_a_new_event_kind_needs_no_change_to_the_codec(monkeypatch, tmp_path: Path):
    @dataclasses.dataclass(slots=True)
    class WebSocketFrame(Event):
        exchange: int
        opcode: int
        payload: bytes
        fin: bool

    monkeypatch.setattr(events, "WebSocketFrame", WebSocketFrame, raising=False)
    frame = WebSocketFrame(3, 100, 1, 2, 1, b"\x81\x02hi", True)
    path = tmp_path / "ws.jsonl"
    write_capture(path, Header(app="a:b", started_ns=0), [frame])
    assert read_capture(path).events == [frame]


# -- bad input ---------------------------------------------------------------------

GOOD_HEADER = json.dumps(
    {
        "format": "asgi-scope-capture",
        "version": 1,
        "asgi_scope": "0.1.0",
        "app": "a:b",
        "started": "",
        "started_ns": 0,
        "options": {},
    }
)
NOTE = json.dumps(
    {"kind": "ServerNote", "seq": 1, "t_ns": 5, "conn": 0, "level": "info", "text": "listening"}
)


def bad(tmp_path: Path, text: str | bytes) -> CaptureError:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(CaptureError) as info:
        read_capture(path)
    assert str(path) in str(info.value)
    return info.value


def test_a_missing_file(tmp_path: Path):
    with pytest.raises(CaptureError, match="no such file"):
        read_capture(tmp_path / "nope.jsonl")


def test_an_empty_file(tmp_path: Path):
    assert "empty" in bad(tmp_path, "").problem
    assert "empty" in bad(tmp_path, "\n\n").problem


def test_a_file_that_is_not_a_capture(tmp_path: Path):
    error = bad(tmp_path, '{"hello": 1}\n')
    assert error.line == 1 and "not an asgi-scope capture" in error.problem
    error = bad(tmp_path, "GET / HTTP/1.1\r\n")
    assert error.line == 1 and "not valid JSON" in error.problem


def test_a_newer_format_version(tmp_path: Path):
    header = json.loads(GOOD_HEADER) | {"version": VERSION + 1, "asgi_scope": "9.0"}
    error = bad(tmp_path, json.dumps(header) + "\n")
    assert error.line == 1
    assert f"version {VERSION + 1} is newer" in error.problem and "upgrade" in error.problem


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"kind": "Rocket", "seq": 1}', "unknown event kind 'Rocket'"),
        ('{"kind": "ServerNote", "seq": 1, "t_ns": 1, "conn": 0}', "missing level, text"),
        (NOTE[:-1] + ', "extra": 1}', "unknown extra"),
        (NOTE.replace('"seq": 1', '"seq": "one"'), "seq is not int"),
        (NOTE.replace('"seq": 1', '"seq": true'), "seq is not int"),
        (
            '{"kind": "BytesSent", "seq": 2, "t_ns": 1, "conn": 1, "exchange": 1, "offset": 0,'
            ' "data": {"$b": "!!"}, "size": 2, "cause": 0}',
            "not base64",
        ),
        (
            '{"kind": "BytesSent", "seq": 2, "t_ns": 1, "conn": 1, "exchange": 1, "offset": 0,'
            ' "data": "text, not bytes", "size": 2, "cause": 0}',
            "data is not bytes",
        ),
        (
            '{"kind": "ConnectionOpened", "seq": 2, "t_ns": 1, "conn": 1, "client": ["h", 1],'
            ' "server": null}',
            "client is not",
        ),
        (
            '{"kind": "ServerNote", "seq": 1, "t_ns": 1, "conn": 0, "level": {"$zz": 1}, '
            '"text": ""}',
            "unknown tag",
        ),
    ],
)
def test_a_line_that_is_not_a_valid_event_names_its_line(tmp_path: Path, line: str, words: str):
    error = bad(tmp_path, f"{GOOD_HEADER}\n{NOTE}\n{line}\n{NOTE}\n")
    assert error.line == 3
    assert words in error.problem


def test_an_empty_line_in_the_middle(tmp_path: Path):
    assert bad(tmp_path, f"{GOOD_HEADER}\n\n{NOTE}\n").line == 2


def test_a_truncated_last_line_is_a_warning_and_the_rest_is_read(tmp_path: Path):
    path = tmp_path / "cut.jsonl"
    path.write_text(f"{GOOD_HEADER}\n{NOTE}\n{NOTE[:25]}")
    back = read_capture(path)
    assert [type(e) for e in back.events] == [ServerNote]
    assert len(back.warnings) == 1 and f"{path}:3" in back.warnings[0]
    assert "cut short" in back.warnings[0]


def test_a_complete_last_line_without_newline_is_read(tmp_path: Path):
    path = tmp_path / "no-eol.jsonl"
    path.write_text(f"{GOOD_HEADER}\n{NOTE}")
    assert len(read_capture(path).events) == 1


def test_a_header_cut_short(tmp_path: Path):
    assert "cut short" in bad(tmp_path, GOOD_HEADER[:20]).problem


def test_the_module_reads_every_event_kind_of_the_model():
    kinds = capture.event_kinds()
    assert {"MessageSent", "ScopeCreated", "BytesReceived", "ExchangeEnded"} <= set(kinds)
    assert kinds["MessageSent"] is MessageSent


def test_no_event_has_a_field_the_line_format_uses_itself():
    # A line is {"kind": class name, **fields}: a field named "kind" would
    # overwrite it, and the line would not read back.
    import dataclasses

    for kind in capture.event_kinds().values():
        assert "kind" not in {f.name for f in dataclasses.fields(kind)}, kind


def test_the_recorders_taps_see_each_drained_batch_once_in_order():
    from asgi_scope.trace.recorder import Recorder

    recorder = Recorder()
    seen: list[list[Event]] = []
    recorder.taps.append(seen.append)
    recorder.record(ServerNote, conn=0, level="info", text="a")
    recorder.record(ServerNote, conn=0, level="info", text="b")
    first = recorder.drain()
    assert recorder.drain() == []  # an empty drain is not handed on
    recorder.record(ServerNote, conn=0, level="info", text="c")
    second = recorder.drain()
    assert seen == [first, second]
    assert [e.text for batch in seen for e in batch] == ["a", "b", "c"]


def test_a_note_from_a_capture_written_before_notes_had_an_exchange_reads_back():
    old = {"kind": "ServerNote", "seq": 1, "t_ns": 5, "conn": 0, "level": "output", "text": "hi"}
    assert decode_event(old) == ServerNote(1, 5, 0, "output", "hi", exchange=0)
    with pytest.raises(ValueError, match="missing text"):
        decode_event({k: v for k, v in old.items() if k != "text"})


def test_the_writers_caches_keep_no_body_and_no_long_header():
    """What the capture writer remembers between lines is bounded: bodies of
    messages are not kept once written, nor are long header fields a client sent."""
    import gc
    import tracemalloc

    from asgi_scope.trace.events import MessageReceived, ScopeCreated

    tracemalloc.start()
    try:
        for i in range(64):
            body = {"type": "http.request", "body": os.urandom(1 << 20), "more_body": False}
            capture.event_line(MessageReceived(i, 0, 1, i, body, None, 0, None, None))
        for i in range(2000):
            cookie = os.urandom(3000).hex().encode()  # 6 KB, different each time
            scope = {"type": "http", "headers": [(b"cookie", cookie)]}
            capture.event_line(ScopeCreated(i, 0, 1, i, scope, None))
        del body, scope
        gc.collect()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < 8 << 20, f"{kept >> 20} MiB kept after the lines were written"


def test_a_long_body_is_written_as_the_json_encoder_writes_it():
    """A body past the length whose base64 joins its line unscanned: the line is
    the JSON encoder's text to the character, and reads back as the body."""
    from asgi_scope.trace.events import BytesSent

    body = os.urandom(65536)
    message = {"type": "http.response.body", "body": body, "more_body": False}
    odd = {"$B": 0, "text": '{"$B":1}', "body": body}  # what the marker looks like
    for event in (
        MessageSent(7, 5, 1, 1, message, 0),
        BytesSent(8, 6, 1, 1, 0, body, len(body), 7),
        MessageSent(9, 7, 1, 1, odd, 0),
    ):
        line = capture.event_line(event)
        expected = json.dumps(encode_event(event), ensure_ascii=False, separators=(",", ":"))
        assert line == expected + "\n"
        assert decode_event(json.loads(line)) == event
