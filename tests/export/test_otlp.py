"""``--otlp``: the installed command sends OTLP/HTTP protobuf to a real receiver.

The receiver is a small ``http.server`` started here, in a thread on port 0,
that decodes each POST with ``opentelemetry-proto``'s messages, as a Collector
would. The app is ``tests.apps.layered`` (a FastAPI app with four middlewares)
served by ``asgi-scope --headless``; requests come from httpx, one of them with
a W3C ``traceparent`` and an ``Authorization`` header.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.cli.test_cli import COMMAND, ROOT, run_without, start_headless, stop

TIMEOUT = 20.0
"""Seconds a wait for the receiver may take (the exporter sends within 1 s)."""

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@dataclass
class Receiver:
    """An OTLP/HTTP receiver: what it was sent, decoded. ``status`` is what it
    answers (200 accepts)."""

    url: str = ""
    status: int = 200
    spans: list[Span] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    services: set[str] = field(default_factory=set)
    content_types: set[str] = field(default_factory=set)
    posts: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        with self.changed:
            while not done():
                left = deadline - time.monotonic()
                assert left > 0, f"the receiver never got {what}"
                self.changed.wait(left)


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    """A :class:`Receiver` on 127.0.0.1, port 0, for the block."""
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            with got.changed:
                got.posts += 1
                got.content_types.add(self.headers["content-type"])
                if got.status == 200 and self.path == "/v1/traces":
                    request = ExportTraceServiceRequest.FromString(body)
                    for resource in request.resource_spans:
                        got.services.add(resource.resource.attributes[0].value.string_value)
                        for scope in resource.scope_spans:
                            got.spans.extend(scope.spans)
                elif got.status == 200 and self.path == "/v1/logs":
                    for resource in ExportLogsServiceRequest.FromString(body).resource_logs:
                        for scope in resource.scope_logs:
                            got.logs.extend(scope.log_records)
                got.changed.notify_all()
            self.send_response(got.status)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as got:
        yield got


def attrs(item: Span | LogRecord) -> dict[str, Any]:
    """A span's or log record's attributes as plain values (a list for an array)."""
    out: dict[str, Any] = {}
    for kv in item.attributes:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "array_value":
            out[kv.key] = [v.string_value for v in value.array_value.values]
        else:
            out[kv.key] = getattr(value, kind)
    return out


def server_span(got: Receiver, path: str) -> Span:
    return next(
        s for s in got.spans if s.kind == Span.SPAN_KIND_SERVER and attrs(s)["url.path"] == path
    )


@pytest.fixture(scope="module")
def layered() -> Iterator[tuple[Receiver, str]]:
    """``asgi-scope tests.apps.layered:app --headless --otlp RECEIVER``, four
    requests answered, their spans received (one run for the module's tests)."""
    with receiving() as receiver:
        proc, url = start_headless("tests.apps.layered:app", "--otlp", receiver.url)
        try:
            _requests(receiver, url)
            yield receiver, url
        finally:
            stop(proc)


def _requests(receiver: Receiver, url: str) -> None:
    """The module's requests, and a wait for their spans and log records."""
    with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        headers = {
            "traceparent": TRACEPARENT,
            "authorization": "Bearer s3cret",
            "user-agent": "otlp-test/1.0",
        }
        assert client.get("/big", headers=headers).status_code == 200
        assert client.get("/sub/hi", params={"token": "t0ken", "q": "1"}).status_code == 200
        assert client.get("/boom").status_code == 500
        form = {"user": "ann", "password": "pa55"}
        assert client.post("/echo", data=form).status_code == 200
    receiver.wait_for(
        lambda: (
            sum(s.kind == Span.SPAN_KIND_SERVER for s in receiver.spans) >= 4
            and any(r.body.string_value.startswith("500") for r in receiver.logs)
        ),
        "four server spans and their log records",
    )


def test_each_exchange_is_a_server_span_with_the_http_attributes(layered) -> None:
    got, url = layered
    span = server_span(got, "/big")
    assert span.name == "GET /big"
    assert got.content_types == {"application/x-protobuf"}
    assert got.services == {"tests.apps.layered:app"}
    found = attrs(span)
    port = int(url.rsplit(":", 1)[1])
    assert found["http.request.method"] == "GET"
    assert found["url.scheme"] == "http"
    assert found["http.route"] == "/big"
    assert found["http.response.status_code"] == 200
    assert found["network.protocol.version"] == "1.1"
    assert (found["server.address"], found["server.port"]) == ("127.0.0.1", port)
    assert found["client.address"] == "127.0.0.1"
    assert found["user_agent.original"] == "otlp-test/1.0"
    assert found["http.request.body.size"] == 0
    assert 0 < found["http.response.body.size"] < 1000  # 2 KB of JSON, gzipped (httpx asks)
    assert "error.type" not in found
    assert span.end_time_unix_nano > span.start_time_unix_nano > (time.time() - 600) * 1e9


def test_an_incoming_traceparent_makes_the_client_span_the_parent(layered) -> None:
    got, _ = layered
    span = server_span(got, "/big")
    assert span.trace_id.hex() == TRACE_ID
    assert span.parent_span_id.hex() == PARENT_ID
    other = server_span(got, "/sub/hi")  # no traceparent: a trace of its own, a root span
    assert other.trace_id.hex() != TRACE_ID and len(other.trace_id) == 16
    assert other.parent_span_id == b""


def test_secrets_are_redacted(layered) -> None:
    got, _ = layered
    assert attrs(server_span(got, "/big"))["http.request.header.authorization"] == ["[REDACTED]"]
    assert attrs(server_span(got, "/sub/hi"))["url.query"] == "token=[REDACTED]&q=1"
    sent = b"".join(s.SerializeToString() for s in got.spans)
    sent += b"".join(r.SerializeToString() for r in got.logs)
    assert b"s3cret" not in sent and b"t0ken" not in sent
    # (pa55, a form field, is redacted in the request: see the log record test; the
    # echo app sends it back in a plain body, which no redactor can know)


def test_each_middleware_layer_is_a_child_span_nested_as_it_ran(layered) -> None:
    got, _ = layered
    server = server_span(got, "/big")
    layers = sorted(
        (s for s in got.spans if s.trace_id == server.trace_id and s is not server),
        key=lambda s: attrs(s)["asgi_scope.layer.depth"],
    )
    names = [s.name for s in layers]
    assert names[0] == "FastAPI" and names[-1] == "big", names  # the app, ..., the endpoint
    ours = ["CORSMiddleware", "GZipMiddleware", "AddHeaderMiddleware", "ETagMiddleware"]
    assert [n for n in names if n in ours] == ours  # the app's middlewares, outermost first
    parent = server
    for span in layers:  # each layer's span is the child of the layer around it
        assert span.kind == Span.SPAN_KIND_INTERNAL
        assert span.parent_span_id == parent.span_id, span.name
        assert parent.start_time_unix_nano <= span.start_time_unix_nano
        assert span.end_time_unix_nano <= parent.end_time_unix_nano
        assert attrs(span)["code.namespace"]
        parent = span


def test_each_asgi_message_is_a_log_record_of_its_span(layered) -> None:
    got, _ = layered
    span = server_span(got, "/big")
    records = [r for r in got.logs if r.span_id == span.span_id]
    types = [attrs(r)["asgi.message.type"] for r in records]  # a GET: its body never read
    assert types[0] == "http.response.start" and set(types[1:]) == {"http.response.body"}
    for record in records:
        assert record.trace_id == span.trace_id
        assert record.event_name == "asgi.message"
        assert attrs(record)["event.name"] == "asgi.message"
        assert attrs(record)["asgi.message.direction"] == "send"
    assert records[0].body.string_value.startswith("200 OK")
    echo = server_span(got, "/echo")
    received = next(r for r in got.logs if r.span_id == echo.span_id)
    assert attrs(received)["asgi.message.type"] == "http.request"
    assert attrs(received)["asgi.message.direction"] == "receive"
    assert "password=[REDACTED]" in received.body.string_value  # a form field, redacted
    by_layers = [r for r in got.logs if r.trace_id == span.trace_id and r.span_id != span.span_id]
    assert {attrs(r)["asgi_scope.layer"] for r in by_layers} >= {"GZipMiddleware", "ETagMiddleware"}


def test_an_app_that_raised_is_an_error_span(layered) -> None:
    got, _ = layered
    span = server_span(got, "/boom")
    assert attrs(span)["error.type"] == "ValueError"
    assert attrs(span)["http.response.status_code"] == 500
    assert span.status.code == span.status.STATUS_CODE_ERROR


def test_a_collector_that_refuses_is_told_once_and_never_blocks(receiver: Receiver) -> None:
    receiver.status = 503
    proc, url = start_headless("tests.apps.layered:app", "--otlp", receiver.url)
    try:
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            for _ in range(5):
                assert client.get("/big").status_code == 200
        receiver.wait_for(lambda: receiver.posts >= 1, "a POST")
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            assert client.get("/sub/hi").status_code == 200
    finally:
        _, err = stop(proc)
    losing = [line for line in err.splitlines() if "losing spans" in line]
    assert len(losing) == 1, err
    assert "503" in losing[0]
    summary = [line for line in err.splitlines() if line.startswith("asgi-scope: OTLP: sent")]
    assert len(summary) == 1 and "dropped" in summary[0], err


def test_without_the_extra_otlp_fails_with_one_line() -> None:
    result = run_without("opentelemetry", "--headless", "--otlp", "http://127.0.0.1:4318")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "asgi-scope: --otlp needs OpenTelemetry's protobuf messages: pip install 'asgi-scope[otel]'"
    ]


@contextlib.contextmanager
def grpc_receiving() -> Iterator[Receiver]:
    """A :class:`Receiver` speaking OTLP/gRPC (grpcio's server, the two Export
    methods) on 127.0.0.1, port 0, for the block; a ``status`` other than 200
    aborts each call with ``PERMISSION_DENIED``."""
    import grpc

    got = Receiver()

    def export(decode: Callable[[bytes], Any], keep: Callable[[Any], None]) -> Any:
        def handle(body: bytes, context: Any) -> bytes:
            with got.changed:
                got.posts += 1
                if got.status == 200:
                    keep(decode(body))
                got.changed.notify_all()
            if got.status != 200:
                context.abort(grpc.StatusCode.PERMISSION_DENIED, "not this one")
            return b""  # an empty Export*ServiceResponse

        return grpc.unary_unary_rpc_method_handler(handle)

    def spans(request: ExportTraceServiceRequest) -> None:
        for resource in request.resource_spans:
            got.services.add(resource.resource.attributes[0].value.string_value)
            for scope in resource.scope_spans:
                got.spans.extend(scope.spans)

    def logs(request: ExportLogsServiceRequest) -> None:
        for resource in request.resource_logs:
            for scope in resource.scope_logs:
                got.logs.extend(scope.log_records)

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "opentelemetry.proto.collector.trace.v1.TraceService",
                {"Export": export(ExportTraceServiceRequest.FromString, spans)},
            ),
            grpc.method_handlers_generic_handler(
                "opentelemetry.proto.collector.logs.v1.LogsService",
                {"Export": export(ExportLogsServiceRequest.FromString, logs)},
            ),
        )
    )
    got.url = f"http://127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    try:
        yield got
    finally:
        server.stop(None)


def test_otlp_grpc_sends_the_same_spans_and_log_records() -> None:
    with grpc_receiving() as got:
        proc, url = start_headless(
            "tests.apps.layered:app", "--otlp", got.url, "--otlp-protocol", "grpc"
        )
        try:
            with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
                headers = {"traceparent": TRACEPARENT, "authorization": "Bearer s3cret"}
                assert client.get("/big", headers=headers).status_code == 200
            got.wait_for(
                lambda: any(s.kind == Span.SPAN_KIND_SERVER for s in got.spans) and got.logs,
                "a server span and its log records over gRPC",
            )
        finally:
            _, err = stop(proc)
    span = server_span(got, "/big")
    assert got.services == {"tests.apps.layered:app"}
    assert span.name == "GET /big" and attrs(span)["http.response.status_code"] == 200
    assert (span.trace_id.hex(), span.parent_span_id.hex()) == (TRACE_ID, PARENT_ID)
    assert attrs(span)["http.request.header.authorization"] == ["[REDACTED]"]
    assert {r.span_id for r in got.logs} & {s.span_id for s in got.spans}
    assert "losing spans" not in err


def test_otlp_grpc_refused_is_told_once_with_its_status() -> None:
    with grpc_receiving() as got:
        got.status = 403
        proc, url = start_headless(
            "tests.apps.layered:app", "--otlp", got.url, "--otlp-protocol", "grpc"
        )
        try:
            assert httpx.get(f"{url}/big", timeout=TIMEOUT).status_code == 200
            got.wait_for(lambda: got.posts >= 1, "an Export call")
        finally:
            _, err = stop(proc)
    losing = [line for line in err.splitlines() if "losing spans" in line]
    assert len(losing) == 1, err
    assert "PERMISSION_DENIED not this one" in losing[0]


def test_otlp_grpc_without_grpcio_fails_with_one_line() -> None:
    args = ("--headless", "--otlp", "http://127.0.0.1:4317", "--otlp-protocol", "grpc")
    result = run_without("grpc", *args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "asgi-scope: --otlp-protocol grpc needs grpcio: pip install 'asgi-scope[otel-grpc]'"
    ]


def test_otlp_takes_an_http_url_only() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "asgi_scope", "--headless", "--otlp", "127.0.0.1:4318"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "http:// or https:// URL" in result.stderr


def test_proxy_exports_the_exchanges_it_forwards(receiver: Receiver) -> None:
    class Upstream(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"hi")

        def log_message(self, *args: Any) -> None:
            pass

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    command = [
        COMMAND, "proxy", f"http://127.0.0.1:{upstream.server_address[1]}",
        "--headless", "--port", "0", "--otlp", receiver.url,
    ]  # fmt: skip
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    try:
        line = ""
        while "proxy listening on" not in line:
            line = lines.get(timeout=TIMEOUT)
        url = line.split("proxy listening on ", 1)[1].strip()
        response = httpx.get(f"{url}/hello", headers={"traceparent": TRACEPARENT}, timeout=TIMEOUT)
        assert response.text == "hi"
        receiver.wait_for(lambda: len(receiver.spans) >= 1, "the proxied exchange's span")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=TIMEOUT)
        upstream.shutdown()
        upstream.server_close()
    span = server_span(receiver, "/hello")
    assert span.name == "GET"  # no route: a proxy has none
    assert span.trace_id.hex() == TRACE_ID and span.parent_span_id.hex() == PARENT_ID
    assert attrs(span)["http.response.status_code"] == 200


def test_exchanges_forgotten_past_the_open_cap_count_as_dropped_spans(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asgi_scope.export import otlp
    from asgi_scope.export.otlp_http import OtlpExporter
    from asgi_scope.trace.events import ScopeCreated

    monkeypatch.setattr(otlp, "MAX_OPEN", 2)
    exporter = OtlpExporter(receiver.url, "svc", time.time_ns())
    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    exporter([ScopeCreated(i, i, 1, i, dict(scope), None) for i in (1, 2, 3)])
    exporter.close()
    # the oldest of three open exchanges is forgotten unsent: one span lost
    assert exporter.dropped == 1
    assert "dropped 1 spans" in exporter.summary()
