"""The span → exchange mapping of ``--otlp-listen`` (remote/otlp_in.py), without
sockets: OTLP messages as the SDK builds them, recorded into a real attach
recorder and indexed by a real store, as the views read it."""

from __future__ import annotations

import asyncio
import json
import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from asgi_scope.export.otlp import SpanBuilder
from asgi_scope.remote.attach import AttachRecorder
from asgi_scope.remote.otlp_in import MAX_ATTRIBUTES, MAX_TEXT, OtelImport
from asgi_scope.trace import present
from asgi_scope.trace.capture import decode_event, event_line
from asgi_scope.trace.events import OtelSpan
from asgi_scope.trace.filter import parse
from asgi_scope.trace.store import Store
from asgi_scope.ui.app import ScopeApp
from tests.ui.conftest import screen_text, settle

TRACE = bytes(range(16))
SERVER = b"\x01" * 8
SEND = b"\x02" * 8
DB = b"\x03" * 8


def attrs(**values: object) -> list[KeyValue]:
    out = []
    for key, value in values.items():
        if isinstance(value, int):
            out.append(KeyValue(key=key, value=AnyValue(int_value=value)))
        else:
            out.append(KeyValue(key=key, value=AnyValue(string_value=str(value))))
    return out


def request(*spans: Span, service: str = "shop") -> ExportTraceServiceRequest:
    resource = Resource(attributes=attrs(**{"service.name": service}))
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=spans)])]
    )


def span(
    span_id: bytes, parent: bytes, kind: int, name: str, start: int, **attributes: object
) -> Span:
    return Span(
        trace_id=TRACE,
        span_id=span_id,
        parent_span_id=parent,
        kind=kind,
        name=name,
        start_time_unix_nano=start,
        end_time_unix_nano=start + 1000,
        attributes=attrs(**attributes),
    )


def importer() -> tuple[OtelImport, AttachRecorder, Store]:
    recorder = AttachRecorder()
    recorder.started_ns = 0  # span times are then t_ns as they are
    return OtelImport(recorder), recorder, Store()


def test_children_sent_first_wait_for_their_server_span_and_grandchildren_follow() -> None:
    otel, recorder, store = importer()
    # As SimpleSpanProcessor sends them: each span alone, as it ends (children first).
    otel.traces(request(span(DB, SEND, 3, "SELECT", 3000)), 100)
    otel.traces(
        request(
            span(
                SEND,
                SERVER,
                1,
                "GET /x http send",
                2000,
                **{"asgi.event.type": "http.response.start"},
            )
        ),
        100,
    )
    assert not [e for e in recorder.drain() if isinstance(e, OtelSpan)]
    server = span(SERVER, b"", 2, "GET /x", 1000, **{"http.method": "GET",
                  "http.target": "/x?q=1", "http.status_code": 201})  # fmt: skip
    otel.traces(request(server), 100)
    events = recorder.drain()
    for event in events:  # --record writes them, open reads them back
        assert decode_event(json.loads(event_line(event))) == event
    assert SpanBuilder(0).feed(events) == []  # --otlp does not send them again
    store.add(events)
    (exchange,) = store.exchanges.values()
    assert (exchange.method, exchange.path, exchange.status) == ("GET", "/x?q=1", 201)
    assert (exchange.source, exchange.raw, exchange.scope, exchange.state) == (
        "otel",
        False,
        None,
        "done",
    )
    spans = [e for e in exchange.events if isinstance(e, OtelSpan)]
    assert [s.name for s in spans] == ["GET /x", "GET /x http send", "SELECT"]
    assert present.of(spans[1]).label(spans[1]) == "http.response.start"
    assert present.of(spans[1]).arrow(spans[1]) == present.OUT_OF_APP
    assert spans[0].attributes["service.name"] == "shop"
    # A late child still finds its exchange, and a log record tied to the SERVER span.
    otel.traces(request(span(b"\x04" * 8, SERVER, 1, "GET /x http send", 2500)), 100)
    record = LogRecord(time_unix_nano=2600, trace_id=TRACE, span_id=SERVER)
    record.body.string_value = "hi"
    logs = ExportLogsServiceRequest(
        resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=[record])])]
    )
    otel.logs_of(logs, 100)
    store.add(recorder.drain())
    names = [(e.span_kind, e.name) for e in exchange.events if isinstance(e, OtelSpan)]
    assert names[-2:] == [("internal", "GET /x http send"), ("log", "hi")]
    found, other = parse("~tid 00010203"), parse("~tid 0002")
    assert found is not None and other is not None
    assert found(exchange) and not other(exchange)  # the span's own trace id


def test_stable_semantic_conventions_and_an_error_status() -> None:
    otel, recorder, store = importer()
    stable = {"http.request.method": "POST", "url.path": "/pay", "url.query": "id=7"}
    server = span(SERVER, b"", 2, "POST /pay", 10, **stable, **{"http.response.status_code": 503})
    server.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="upstream down"))
    otel.traces(request(server), 100)
    store.add(recorder.drain())
    (exchange,) = store.exchanges.values()
    assert (exchange.method, exchange.path, exchange.status) == ("POST", "/pay?id=7", 503)
    assert (exchange.state, exchange.error) == ("error", "upstream down")


def test_untrusted_values_are_bounded_and_the_request_limit_counts() -> None:
    otel, recorder, store = importer()
    many = {f"k{i}": "v" for i in range(MAX_ATTRIBUTES * 2)}
    server = span(
        SERVER, b"", 2, "\x1b]0;pwned\x07" + "n" * 5000, 1, **{"url.path": "/" + "p" * 5000, **many}
    )
    other = span(b"\x09" * 8, b"", 2, "GET /two", 1)
    assert otel.traces(request(server, other), 1) == 1  # one left out, counted
    store.add(recorder.drain())
    (exchange,) = store.exchanges.values()
    (event,) = [e for e in exchange.events if isinstance(e, OtelSpan)]
    assert len(event.attributes) <= MAX_ATTRIBUTES + 1  # + service.name
    assert len(event.name) == MAX_TEXT and len(event.path) == MAX_TEXT
    summary = present.of(event).summary(event)
    assert "\x1b" not in summary and "\x07" not in summary


def test_every_tab_of_the_tui_shows_an_imported_exchange(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no user keymap
    otel, recorder, _ = importer()
    recorder.started_ns = 0
    server = span(SERVER, b"", 2, "GET /tabs", 1000, **{"http.method": "GET",
                  "http.target": "/tabs", "http.status_code": 200})  # fmt: skip
    child = span(SEND, SERVER, 1, "GET /tabs http send", 1500,
                 **{"asgi.event.type": "http.response.start"})  # fmt: skip
    otel.traces(request(child, server), 100)
    record = LogRecord(time_unix_nano=1600, trace_id=TRACE, span_id=SERVER)
    record.body.string_value = "\x1b[31mred log"
    otel.logs_of(
        ExportLogsServiceRequest(
            resource_logs=[ResourceLogs(scope_logs=[ScopeLogs(log_records=[record])])]
        ),
        100,
    )
    ui = ScopeApp(recorder, app_name="attached", url="http://127.0.0.1:4318")

    async def main() -> None:
        async with ui.run_test(size=(130, 40)) as pilot:
            deadline = time.monotonic() + 10
            while not ui.store.exchanges and time.monotonic() < deadline:
                await pilot.pause(0.05)
            await pilot.press("enter")
            seen = {}
            for key in "moEsxtdL":  # Messages, Body, Stream, Scope, Hex, Timeline, …
                await pilot.press(key)
                await settle(ui, pilot)
                seen[key] = screen_text(ui)
            row = next(line for line in seen["m"].splitlines() if "/tabs" in line)
            assert "otel" in row and "200" in row and row.count("–") == 2, row
            listed = seen["m"]
            order = ["OTel server span", "http.response.start", "app returned", "OTel log"]
            where = [listed.find(name) for name in order]
            assert -1 not in where and where == sorted(where), listed  # the child inside
            assert "No bodies: OpenTelemetry spans carry none" in seen["o"]
            assert "\x1b" not in "".join(seen.values())
            assert "no scope snapshot" in seen["s"] and "trace 000102030405" in seen["s"]
            assert "received from OpenTelemetry" in seen["x"]
            assert "http.response.start" in seen["d"]  # an arrow of the Sequence diagram

    asyncio.run(main())


def test_children_whose_server_span_never_comes_are_dropped_with_a_note(monkeypatch) -> None:
    from asgi_scope.remote import otlp_in
    from asgi_scope.trace.events import ServerNote

    monkeypatch.setattr(otlp_in, "MAX_WAITING", 2)
    monkeypatch.setattr(otlp_in, "NOTE_EVERY_NS", 10**18)  # a note, then a long quiet
    otel, recorder, _ = importer()
    orphans = [span(bytes([9, i] * 4), bytes([8, i] * 4), 1, "http send", 1000) for i in range(6)]
    otel.traces(request(*orphans[:3]), 100)  # three wait for parents that never come
    otel.traces(request(*orphans[3:5]), 100)  # two more dropped within the quiet: untold
    monkeypatch.setattr(otlp_in, "NOTE_EVERY_NS", 0)
    otel.traces(request(orphans[5]), 100)  # the next drop tells them too
    assert otel.dropped == 4
    notes = [e.text for e in recorder.drain() if isinstance(e, ServerNote)]
    tail = "their SERVER span never came (at most 2 wait, the oldest dropped first)"
    assert notes == [
        f"dropped 1 OTLP spans and log records: {tail}",
        f"dropped 3 OTLP spans and log records: {tail}",
    ]
    monkeypatch.setattr(otlp_in, "NOTE_EVERY_NS", 10**18)
    orphan = span(b"\x07" * 8, b"\x06" * 8, 1, "http send", 1000)
    otel.traces(request(orphan), 100)  # dropped within the quiet: untold ...
    assert not [e for e in recorder.drain() if isinstance(e, ServerNote)]
    otel.close()  # ... until the import ends
    notes = [e.text for e in recorder.drain() if isinstance(e, ServerNote)]
    assert notes == [f"dropped 1 OTLP spans and log records: {tail}"]
