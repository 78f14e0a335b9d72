"""HAR 1.2 from a real session: valid against a schema written from the spec,
Chrome DevTools' conventions (``_resourceType``, ``_webSocketMessages``), timings
that add up, credentials redacted unless asked, and the CLI writing it."""

from __future__ import annotations

import base64
import json
import stat
from datetime import datetime
from pathlib import Path

import httpx
import jsonschema
import pytest

from asgi_scope.export.har import har, timings, write_har
from asgi_scope.trace.capture import CaptureWriter, Header
from asgi_scope.trace.events import ExchangeEnded
from asgi_scope.trace.flow import WebSocketMessage, flows
from tests.cli.test_cli import run
from tests.export.conftest import Session

SCHEMA = json.loads((Path(__file__).with_name("har-1.2.schema.json")).read_text())
STARTED = 1_795_305_600_000_000_000  # 2026-11-22T00:00:00Z


def validate(document: dict) -> None:
    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_the_schema_rejects_what_the_spec_forbids():
    """The schema is not vacuous: a missing field, a negative wait and an
    undeclared custom field are refused."""
    with pytest.raises(AssertionError):
        validate({"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}}})
    entry_timings = {"send": 0, "wait": -1, "receive": 0}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(entry_timings, SCHEMA["$defs"]["timings"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "a", "value": "b", "extra": 1}, SCHEMA["$defs"]["nameValue"])


def test_a_real_session_validates_and_round_trips_through_json(session: Session):
    document = har(session.flows(), STARTED)
    validate(json.loads(json.dumps(document)))
    entries = document["log"]["entries"]
    assert [(e["request"]["method"], e["response"]["status"]) for e in entries] == [
        ("GET", 200),
        ("POST", 201),
        ("GET", 200),
        ("GET", 101),
    ]


def test_request_and_response_fields(session: Session):
    entry = har([session.flow("GET", "/json")], STARTED)["log"]["entries"][0]
    request, response = entry["request"], entry["response"]
    assert request["url"] == f"http://127.0.0.1:{session.live.port}/json?q=a+b&n=1"
    assert request["queryString"] == [{"name": "q", "value": "a b"}, {"name": "n", "value": "1"}]
    assert request["httpVersion"] == "HTTP/1.1"
    assert request["headersSize"] > 50 and request["bodySize"] == 0
    assert [c["name"] for c in request["cookies"]] == ["id", "theme"]
    assert response["statusText"] == "OK"
    assert response["content"]["mimeType"] == "application/json"
    assert json.loads(response["content"]["text"]) == {"path": "/json", "query": "q=a+b&n=1"}
    assert response["content"]["size"] == response["bodySize"] > 0
    assert {"name": "cache-control", "value": "no-store"} in response["headers"]
    assert response["cookies"][0]["name"] == "session"
    assert response["cookies"][0]["httpOnly"] is True and response["cookies"][0]["path"] == "/"
    assert entry["serverIPAddress"] == "127.0.0.1"
    assert datetime.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00")).year == 2026


def test_credentials_are_redacted_unless_asked(session: Session):
    flows = session.flows()
    redacted = json.dumps(har(flows, STARTED))
    for secret in ("s3cr3t", "id=42", "42", "abc123", "dark"):
        assert f'"{secret}"' not in redacted and f"{secret};" not in redacted
    assert "Bearer s3cr3t" not in redacted and "session=abc123" not in redacted
    assert "[REDACTED]" in redacted
    kept = json.dumps(har(flows, STARTED, redact=None))
    assert "Bearer s3cr3t" in kept and "session=abc123; Path=/; HttpOnly" in kept


def test_a_binary_body_is_kept_exactly(session: Session):
    entry = har([session.flow("POST", "/echo")], STARTED)["log"]["entries"][0]
    body = b"\x00\x01binary\xff"
    assert base64.b64decode(entry["request"]["postData"]["_base64"]) == body
    content = entry["response"]["content"]
    assert content["encoding"] == "base64" and base64.b64decode(content["text"]) == body
    assert content["mimeType"] == "application/octet-stream"


def test_timings_add_up_and_follow_the_trace(session: Session):
    for flow in session.flows():
        phases = timings(flow)
        assert phases["dns"] == phases["connect"] == phases["ssl"] == -1
        assert min(phases["send"], phases["wait"], phases["receive"], phases["blocked"]) >= 0
        entry = har([flow], STARTED)["log"]["entries"][0]
        assert entry["time"] == pytest.approx(sum(v for v in phases.values() if v > 0), abs=0.002)
    stream = timings(session.flow("GET", "/stream"))
    assert stream["receive"] > 0  # three body messages, written one after another
    t = session.flow("GET", "/stream").times
    assert stream["receive"] == pytest.approx((t.last_out - t.first_out) / 1e6, abs=0.001)


def test_websocket_messages_in_chromes_extension(session: Session):
    entry = har([session.flow("GET", "/ws")], STARTED)["log"]["entries"][0]
    assert entry["_resourceType"] == "websocket"
    assert entry["request"]["url"].startswith("ws://127.0.0.1:")
    assert entry["response"]["status"] == 101
    messages = entry["_webSocketMessages"]
    assert [(m["type"], m["opcode"], m["data"]) for m in messages] == [
        ("send", 1, "hello"),
        ("receive", 1, "hello"),
        ("send", 2, base64.b64encode(b"\x01\x02").decode()),
        ("receive", 2, base64.b64encode(b"\x01\x02").decode()),
    ]
    times = [m["time"] for m in messages]
    assert times == sorted(times) and STARTED / 1e9 < times[0] < STARTED / 1e9 + 3600


def test_files_are_private(tmp_path: Path, session: Session):
    path = tmp_path / "out.har"
    write_har(path, har(session.flows(), STARTED))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    validate(json.loads(path.read_text()))


def test_the_export_command_writes_a_valid_har(tmp_path: Path, session: Session):
    capture = tmp_path / "session.jsonl"
    writer = CaptureWriter(capture, Header("tests.apps.exports:app", STARTED))
    writer(session.store.events)
    writer.close()
    out = tmp_path / "session.har"
    result = run("export", str(capture), "--har", str(out))
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    validate(document)
    assert len(document["log"]["entries"]) == 4
    assert "s3cr3t" not in out.read_text()
    assert run("export", str(capture), "--har", str(out), "--no-redact").returncode == 0
    assert "Bearer s3cr3t" in out.read_text()


def test_a_file_the_server_sent_for_the_app_is_in_the_har(serve):
    """``http.response.pathsend``: the body never crossed the shim, only the wire."""
    from tests.apps.fastapi_app import HELLO_FILE, app

    live = serve(app, lifespan="auto")
    got = httpx.get(f"{live.url}/file", timeout=5)
    store = live.collect(lambda s: any(isinstance(e, ExchangeEnded) and e.conn for e in s.events))
    flow = next(f for f in flows(store) if f.request.target == "/file")
    sent = [m.message.get("type") for m in store.exchanges[flow.exchange].messages()]
    assert "http.response.pathsend" in sent and "http.response.body" not in sent
    assert flow.response is not None and flow.response.body == got.content
    assert got.content == Path(HELLO_FILE).read_bytes()
    entry = har([flow], STARTED)["log"]["entries"][0]
    assert entry["response"]["content"]["text"] == got.text
    assert entry["response"]["status"] == 200
    validate(har([flow], STARTED))


def test_a_lone_surrogate_from_the_app_is_written_escaped(tmp_path: Path, session: Session):
    """A str from the app may hold a lone surrogate (UTF-8 cannot encode it): the
    HAR is ASCII JSON with \\ud800 escapes, and reads back the same."""
    flow = session.flow("GET", "/ws")
    flow.messages.append(WebSocketMessage("receive", flow.messages[-1].t_ns, "bad \ud800 text"))
    path = tmp_path / "out.har"
    write_har(path, har([flow], STARTED))
    raw = path.read_bytes()
    assert raw.isascii() and b"\\ud800" in raw
    entry = json.loads(raw)["log"]["entries"][0]
    assert entry["_webSocketMessages"][-1]["data"] == "bad \ud800 text"


def test_an_export_keeps_every_event_of_a_long_stream(tmp_path: Path):
    """The inspector keeps at most EVENTS_KEPT events of one exchange; an export
    of a capture file keeps them all: the HAR has the whole body."""
    from asgi_scope.trace.events import BytesSent, MessageSent
    from asgi_scope.trace.store import EVENTS_KEPT
    from tests.trace.test_store_caps import Traffic

    traffic = Traffic()
    events = traffic.open(1) + traffic.exchange(1, b"", end=False)
    exchange = events[-1].exchange
    chunks = EVENTS_KEPT  # a message and its bytes each: twice the cap
    offset = events[-1].offset + events[-1].size
    for _ in range(chunks):
        body = {"type": "http.response.body", "body": b"x", "more_body": True}
        sent = traffic._e(MessageSent, 1, exchange, body, 0)
        events += [sent, traffic._e(BytesSent, 1, exchange, offset, b"x", 1, sent.seq)]
        offset += 1
    last = {"type": "http.response.body", "body": b"", "more_body": False}
    events.append(traffic._e(MessageSent, 1, exchange, last, 0))
    events.append(traffic._e(ExchangeEnded, 1, exchange, {"type": "http"}, "complete", 200))
    capture = tmp_path / "long.jsonl"
    writer = CaptureWriter(capture, Header("tests:app", STARTED))
    writer(events)
    writer.close()
    out = tmp_path / "long.har"
    result = run("export", str(capture), "--har", str(out))
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(out.read_text())["log"]["entries"]
    assert entry["response"]["content"]["size"] == chunks


def test_a_gzipped_response_is_in_the_har_decoded_as_devtools_writes_it(serve):
    """Starlette's GZipMiddleware: ``content.text`` is the JSON itself, ``size``
    its decoded length, ``bodySize`` the gzip'd bytes sent, ``compression`` the
    difference; an image stays base64; the document validates."""
    from tests.apps.bodies import DOCUMENT
    from tests.apps.bodies import app as bodies_app

    live = serve(bodies_app)
    with httpx.Client(base_url=live.url, timeout=5) as client:
        assert client.get("/json", headers={"accept-encoding": "gzip"}).json() == DOCUMENT
        client.get("/pixel.png")
        client.post("/form", data={"a": "1", "b": "x y"})
    live.collect(lambda s: sum(isinstance(e, ExchangeEnded) for e in s.events) >= 3)
    document = json.loads(json.dumps(har(flows(live.store), STARTED)))
    validate(document)
    by_path = {e["request"]["url"].rsplit("/", 1)[1]: e for e in document["log"]["entries"]}
    gzipped = by_path["json"]["response"]
    assert {"name": "content-encoding", "value": "gzip"} in gzipped["headers"]
    assert "encoding" not in gzipped["content"]
    assert json.loads(gzipped["content"]["text"]) == DOCUMENT
    assert gzipped["content"]["size"] == len(gzipped["content"]["text"].encode())
    assert 0 < gzipped["bodySize"] < gzipped["content"]["size"] / 3
    assert gzipped["content"]["compression"] == gzipped["content"]["size"] - gzipped["bodySize"]
    image = by_path["pixel.png"]["response"]["content"]
    assert image["encoding"] == "base64" and base64.b64decode(image["text"]).startswith(b"\x89PNG")
    post = by_path["form"]["request"]["postData"]
    assert post["params"] == [{"name": "a", "value": "1"}, {"name": "b", "value": "x y"}]
