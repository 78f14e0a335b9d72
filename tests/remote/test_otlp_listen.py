"""``asgi-scope attach --otlp-listen``: a real FastAPI app instrumented with
OpenTelemetry's ASGI middleware and the real OTLP/HTTP exporter sends its spans
to a real attach (the installed command, headless), which shows them as
exchanges; OTLP/JSON and gzip are taken; hostile bodies are refused with the
OTLP/HTTP status codes and attach keeps running; off loopback, the attach
token is required."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from asgi_scope.remote.otlp_listen import MAX_BODY, MAX_ITEMS
from tests.cli.test_cli import run_without
from tests.live import TIMEOUT
from tests.remote.servers import COMMAND, ROOT, SERVE_ARGS, Processes, Watched

TOKEN = "t" * 40
"""The attach token every attach here uses (never the user's token file)."""

READY = r"listening for streams on unix:\S+ and for OTLP/HTTP on (http://[\d.]+:\d+)"


def start_attach(
    procs: Processes, sock_path: str, listen: str = "127.0.0.1:0"
) -> tuple[Watched, str]:
    """``attach --headless --otlp-listen LISTEN``; it and the OTLP URL it got."""
    attach = procs.watch(
        [COMMAND, "attach", f"unix:{sock_path}", "--headless", "--otlp-listen", listen],
        {"ASGI_SCOPE_TOKEN": TOKEN},
    )
    url = attach.wait_for(READY)[1]
    return attach, url.replace("0.0.0.0", "127.0.0.1")


def server_span(path: str, status: int, trace: str = "ab" * 16, span: str = "cd" * 8) -> dict:
    """An OTLP/JSON SERVER span with the stable HTTP attributes."""
    return {
        "traceId": trace,
        "spanId": span,
        "name": f"GET {path}",
        "kind": 2,
        "startTimeUnixNano": "1",
        "endTimeUnixNano": "2000001",
        "attributes": [
            {"key": "http.request.method", "value": {"stringValue": "GET"}},
            {"key": "url.path", "value": {"stringValue": path}},
            {"key": "url.query", "value": {"stringValue": "a=1"}},
            {"key": "http.response.status_code", "value": {"intValue": str(status)}},
        ],
    }


def traces_json(*spans: dict) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}).encode()


def traces_protobuf(path: str) -> bytes:
    attributes = [
        KeyValue(key="http.method", value=AnyValue(string_value="POST")),
        KeyValue(key="http.target", value=AnyValue(string_value=path)),
        KeyValue(key="http.status_code", value=AnyValue(int_value=201)),
    ]
    span = Span(
        trace_id=bytes(range(16)),
        span_id=bytes(range(8)),
        name=f"POST {path}",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=1,
        end_time_unix_nano=2,
        attributes=attributes,
    )
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    )
    return request.SerializeToString()


PROTOBUF = {"content-type": "application/x-protobuf"}


def varint(n: int) -> bytes:
    """``n`` as a protobuf varint."""
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_an_instrumented_fastapi_app_shows_in_headless_attach(procs: Processes, sock_path: str):
    attach, otlp = start_attach(procs, sock_path)
    args, listening = SERVE_ARGS["uvicorn"]
    app = procs.watch(
        [sys.executable, *args, "tests.apps.otel_app:app"],
        {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp},
    )
    url = "http://" + app.wait_for(listening)[1]
    assert httpx.get(url + "/items/3?q=x", timeout=TIMEOUT).json() == {"item_id": 3, "q": "x"}
    assert httpx.post(url + "/echo", content=b"ping", timeout=TIMEOUT).text == "ping"
    assert httpx.get(url + "/boom", timeout=TIMEOUT).status_code == 500
    attach.wait_for(r"otel GET /items/3\?q=x → 200 \(")
    attach.wait_for(r"recorded by OpenTelemetry \(an OTLP SERVER span\), no raw bytes, no scope")
    attach.wait_for(r"server ← app  http\.response\.start  GET /items/3 http send")
    attach.wait_for(r"complete 200 in")
    attach.wait_for(r"otel POST /echo → 200")
    attach.wait_for(r"server → app  http\.request  POST /echo http receive")
    attach.wait_for(r"otel GET /boom → 500 \(.*\) ERROR")
    attach.wait_for(r"error 500 in")
    assert attach.proc.poll() is None
    assert attach.stop() == 0, attach.stderr


def test_json_protobuf_and_gzip_bodies_are_shown(procs: Processes, sock_path: str):
    attach, otlp = start_attach(procs, sock_path)
    with httpx.Client(base_url=otlp, timeout=TIMEOUT) as client:
        answer = client.post(
            "/v1/traces",
            content=traces_json(server_span("/json", 404)),
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {}
        log = {
            "resourceLogs": [
                {
                    "scopeLogs": [
                        {
                            "logRecords": [
                                {
                                    "timeUnixNano": "1000",
                                    "traceId": "ab" * 16,
                                    "spanId": "cd" * 8,
                                    "body": {"stringValue": "hello from the log"},
                                }
                            ]
                        }
                    ]
                }
            ]
        }
        answer = client.post(
            "/v1/logs", content=json.dumps(log), headers={"content-type": "application/json"}
        )
        assert answer.status_code == 200, answer.text
        answer = client.post(
            "/v1/traces",
            content=gzip.compress(traces_protobuf("/gz?b=2")),
            headers={**PROTOBUF, "content-encoding": "gzip"},
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/x-protobuf"
        ExportTraceServiceResponse.FromString(answer.content)  # an empty response
    attach.wait_for(r"otel GET /json\?a=1 → 404")
    attach.wait_for(r"otel  OTel log  hello from the log")
    attach.wait_for(r"otel POST /gz\?b=2 → 201")
    assert attach.stop() == 0, attach.stderr


def test_without_an_address_attach_listens_for_otlp_alone(procs: Processes):
    attach = procs.watch(
        [COMMAND, "attach", "--headless", "--otlp-listen", "127.0.0.1:0"],
        {"ASGI_SCOPE_TOKEN": TOKEN},
    )
    otlp = attach.wait_for(r"asgi-scope: listening for OTLP/HTTP on (http://[\d.]+:\d+)\n")[1]
    answer = httpx.post(otlp + "/v1/traces", content=traces_protobuf("/alone"), headers=PROTOBUF)
    assert answer.status_code == 200
    attach.wait_for(r"otel POST /alone → 201")
    assert "streams" not in attach.stderr
    assert attach.stop() == 0, attach.stderr


def test_hostile_bodies_are_refused_and_attach_keeps_running(procs: Processes, sock_path: str):
    attach, otlp = start_attach(procs, sock_path)
    bomb = gzip.compress(b"\0" * (MAX_BODY + 1024 * 1024))
    assert len(bomb) < MAX_BODY // 100
    # Millions of empty spans in 8 MiB: gigabytes once built, refused before.
    empty_spans = b"\x12\x00" * (4 * 1024 * 1024)
    scope_spans = b"\x12" + varint(len(empty_spans)) + empty_spans
    memory_bomb = b"\x0a" + varint(len(scope_spans)) + scope_spans
    json_bomb = b'{"resourceSpans":[' + b"{}," * (4 * 1024 * 1024) + b"{}]}"
    refusals = [
        ("POST", "/v1/traces", memory_bomb, PROTOBUF, 413),
        ("POST", "/v1/traces", json_bomb, {"content-type": "application/json"}, 413),
        ("POST", "/v1/traces", b"\xff\xff\xff not protobuf", PROTOBUF, 400),
        ("POST", "/v1/traces", b"{not json", {"content-type": "application/json"}, 400),
        ("POST", "/v1/traces", b"\x1f\x8b garbage", {**PROTOBUF, "content-encoding": "gzip"}, 400),
        ("POST", "/v1/traces", bomb, {**PROTOBUF, "content-encoding": "gzip"}, 413),
        ("POST", "/v1/traces", b"x" * (MAX_BODY + 1), PROTOBUF, 413),
        ("POST", "/v1/traces", b"", {"content-type": "text/plain"}, 415),
        ("POST", "/v1/traces", b"", {**PROTOBUF, "content-encoding": "br"}, 415),
        ("GET", "/v1/traces", b"", {}, 405),
        ("POST", "/v1/metrics", b"", PROTOBUF, 404),
    ]
    with httpx.Client(base_url=otlp, timeout=TIMEOUT) as client:
        for method, path, body, headers, status in refusals:
            answer = client.request(method, path, content=body, headers=headers)
            assert answer.status_code == status, (path, headers, answer.text)
        # One span past the limit of a request: taken, its answer says one was left out.
        many = ExportTraceServiceRequest.FromString(traces_protobuf("/many"))
        spans = many.resource_spans[0].scope_spans[0].spans
        template = spans.pop()
        template.kind = Span.SPAN_KIND_INTERNAL  # children of no SERVER span: nothing shown
        template.parent_span_id = b"\x07" * 8
        spans.extend([template] * (MAX_ITEMS + 1))
        answer = client.post("/v1/traces", content=many.SerializeToString(), headers=PROTOBUF)
        assert answer.status_code == 200
        partial = ExportTraceServiceResponse.FromString(answer.content).partial_success
        assert partial.rejected_spans == 1 and str(MAX_ITEMS) in partial.error_message
        answer = client.post("/v1/traces", content=traces_protobuf("/after"), headers=PROTOBUF)
        assert answer.status_code == 200
    attach.wait_for(r"otel POST /after → 201")
    attach.wait_for(r"OTLP request refused \(413\)")
    assert attach.proc.poll() is None
    assert attach.stop() == 0, attach.stderr
    assert "Traceback" not in attach.stderr


def test_off_loopback_a_request_needs_the_attach_token(procs: Processes, sock_path: str):
    attach, otlp = start_attach(procs, sock_path, "0.0.0.0:0")
    assert "WARNING: listening on all interfaces (0.0.0.0)" in attach.stderr
    body = traces_protobuf("/secret")
    with httpx.Client(base_url=otlp, timeout=TIMEOUT) as client:
        assert client.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 401
        wrong = {**PROTOBUF, "authorization": "Bearer " + "u" * 40}
        assert client.post("/v1/traces", content=body, headers=wrong).status_code == 401
        right = {**PROTOBUF, "authorization": f"Bearer {TOKEN}"}
        assert client.post("/v1/traces", content=body, headers=right).status_code == 200
    attach.wait_for(r"otel POST /secret → 201")
    assert attach.stdout.count("otel POST /secret") == 1
    assert attach.stop() == 0, attach.stderr


def test_without_the_extra_otlp_listen_fails_with_one_line() -> None:
    result = run_without("opentelemetry", "attach", "--otlp-listen", "127.0.0.1:0")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "asgi-scope: --otlp-listen needs OpenTelemetry's protobuf messages: "
        "pip install 'asgi-scope[otel]'"
    ]


def test_a_bad_otlp_listen_address_is_one_line() -> None:
    result = subprocess.run(
        [COMMAND, "attach", "--otlp-listen", "127.0.0.1:http"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "asgi-scope: --otlp-listen: '127.0.0.1:http' is not HOST:PORT (a port 0-65535)"
    ]
