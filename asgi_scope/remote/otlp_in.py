"""OTLP in: an OpenTelemetry-instrumented app's spans and log records as exchanges.

``attach --otlp-listen`` (:mod:`asgi_scope.remote.otlp_listen`) hands each
decoded ``ExportTraceServiceRequest`` and ``ExportLogsServiceRequest``
(opentelemetry-proto, OTLP specification 1.x) to an :class:`OtelImport`,
which records them into the attach session as events, so the table, the tabs
and the headless printer show them as they show a stream's exchanges:

* each **SERVER** span (``SPAN_KIND_SERVER``) is one exchange on a connection
  of its own (:class:`~asgi_scope.trace.events.ConnectionOrigin` ``source``
  ``"otel"``, ``raw`` False: no bytes, and no scope snapshot): a
  :class:`~asgi_scope.trace.events.ConnectionOpened`, the span as an
  :class:`~asgi_scope.trace.events.OtelSpan` carrying the method, path, query
  and status read from the stable HTTP semantic conventions (``http.request.method``,
  ``url.path``, ``url.query``, ``http.response.status_code``, ``client.address``,
  ``server.address``) or the older ones (``http.method``, ``http.target``,
  ``http.url``, ``http.status_code``, ``net.peer.ip``, ``net.host.name``),
  then its descendants, then an :class:`~asgi_scope.trace.events.ExchangeEnded`
  at the span's end;
* every **descendant** span (``opentelemetry-instrumentation-asgi`` makes an
  ``http receive`` or ``http send`` span per ASGI message, with its
  ``asgi.event.type``) and every **log record** tied to one of those spans is an
  :class:`~asgi_scope.trace.events.OtelSpan` of that exchange: a message.

Exporters send spans as they end, so children usually come before their
SERVER span (in the same request or an earlier one): they wait, at most
:data:`MAX_WAITING` of them, the oldest dropped first. Spans known to belong
to an exchange are remembered (at most :data:`MAX_KNOWN`), so their late
children and log records still find it.

**Times** are the spans' own (Unix epoch nanoseconds, the app host's clock),
moved onto the session's clock and clamped at 0. **Untrusted values** are
bounded here (:data:`MAX_ATTRIBUTES` attributes, strings cut at
:data:`MAX_TEXT` characters) and escaped by every view.

Needs ``opentelemetry-proto`` (the ``otel`` extra): the CLI checks before it
imports this.
"""

from __future__ import annotations

import base64
import collections
import json
from typing import Any
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from asgi_scope.remote.attach import AttachRecorder
from asgi_scope.trace.events import (
    ConnectionClosed,
    ConnectionOpened,
    ConnectionOrigin,
    ExchangeEnded,
    OtelSpan,
    ServerNote,
)

__all__ = [
    "MAX_ATTRIBUTES",
    "MAX_DEPTH",
    "MAX_KNOWN",
    "MAX_MESSAGES",
    "MAX_TEXT",
    "MAX_WAITING",
    "BadPayload",
    "OtelImport",
    "TooMany",
    "decode",
]

MAX_ATTRIBUTES = 64
"""Attributes kept per span or log record (the first ones)."""

MAX_TEXT = 1024
"""Characters kept of a name, an attribute's key or value, a log body."""

MAX_WAITING = 10_000
"""Spans and log records waiting for their SERVER span, at most."""

NOTE_EVERY_NS = 1_000_000_000
"""Spans dropped unshown are told in a note at most this often (ns)."""

MAX_MESSAGES = 500_000
"""Protobuf messages (spans, attributes, values...) one request may hold, at most."""

MAX_DEPTH = 32
"""How deep messages may nest in a request (an attribute's array of arrays...)."""

MAX_KNOWN = 10_000
"""Spans remembered as belonging to an exchange (for late children), at most."""

_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS = {0: "unset", 1: "ok", 2: "error"}
_IDS = frozenset(("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"))

Key = tuple[str, str]
"""``(trace id, span id)`` in hex: one span."""


class BadPayload(ValueError):
    """A request body that is no OTLP message of its kind; ``str()`` is one line."""


class TooMany(ValueError):
    """A request body that would decode into more than :data:`MAX_MESSAGES`
    messages; ``str()`` is one line."""


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise BadPayload("the body is not an OTLP protobuf message: a truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _count(data: memoryview, descriptor: Any, budget: int, depth: int = 0) -> int:
    """``budget`` less the messages nested in ``data`` (a message of type
    ``descriptor``, protobuf wire format): a walk of the tags only, nothing
    built. Raises :class:`TooMany` past the budget, :class:`BadPayload` for
    bytes that are no protobuf or nest deeper than :data:`MAX_DEPTH`."""
    if depth > MAX_DEPTH:
        raise BadPayload(f"the body is not an OTLP message: nested deeper than {MAX_DEPTH}")
    pos, end = 0, len(data)
    fields = descriptor.fields_by_number
    while pos < end:
        key, pos = _varint(data, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(data, pos)
            field = fields.get(key >> 3)
            if field is not None and field.message_type is not None:
                budget -= 1
                if budget < 0:
                    raise TooMany(f"more than {MAX_MESSAGES} OTLP messages in one request")
                budget = _count(data[pos : pos + length], field.message_type, budget, depth + 1)
            pos += length
        else:
            raise BadPayload(f"the body is not an OTLP protobuf message: wire type {wire}")
        if pos > end:
            raise BadPayload("the body is not an OTLP protobuf message: a field past its end")
    return budget


def decode(signal: str, body: bytes, as_json: bool) -> Message:
    """The ``ExportTraceServiceRequest`` (``signal`` ``"traces"``) or
    ``ExportLogsServiceRequest`` (``"logs"``) that ``body`` encodes, in binary
    protobuf or, with ``as_json``, OTLP/JSON (OTLP 1.x "JSON Protobuf Encoding":
    ids as hex, enums as numbers or names). Raises :class:`BadPayload`, or
    :class:`TooMany` for a body of more than :data:`MAX_MESSAGES` messages
    (counted before any is built: a 16 MiB body of empty messages would take
    gigabytes; in JSON, every ``{`` counts)."""
    message: Message = (
        ExportTraceServiceRequest() if signal == "traces" else ExportLogsServiceRequest()
    )
    if as_json:
        if body.count(b"{") > MAX_MESSAGES:
            raise TooMany(f"more than {MAX_MESSAGES} OTLP messages in one request")
    else:
        _count(memoryview(body), message.DESCRIPTOR, MAX_MESSAGES)
    try:
        if as_json:
            json_format.ParseDict(
                _ids_to_base64(json.loads(body)), message, ignore_unknown_fields=True
            )
        else:
            message.ParseFromString(body)
    except (DecodeError, json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        what = "OTLP/JSON" if as_json else "an OTLP protobuf message"
        raise BadPayload(f"the body is not {what}: {str(exc)[:200]}") from None
    return message


def _ids_to_base64(value: Any) -> Any:
    """OTLP/JSON's hex ids as protobuf JSON's base64 (what ``json_format`` reads)."""
    if isinstance(value, dict):
        return {
            k: (
                base64.b64encode(bytes.fromhex(v)).decode()
                if k in _IDS and isinstance(v, str)
                else _ids_to_base64(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_ids_to_base64(v) for v in value]
    return value


def _text(value: str) -> str:
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def _value(value: AnyValue) -> str | int | float | bool:
    """An attribute's value, bounded: arrays and maps as bounded text."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return _text(value.string_value)
    if which in ("bool_value", "int_value", "double_value"):
        return getattr(value, which)
    if which == "bytes_value":
        return _text(value.bytes_value[: MAX_TEXT // 2].hex())
    if which == "array_value":
        return _text(repr([_value(v) for v in value.array_value.values[:MAX_ATTRIBUTES]]))
    if which == "kvlist_value":
        pairs = value.kvlist_value.values[:MAX_ATTRIBUTES]
        return _text(repr({_text(kv.key): _value(kv.value) for kv in pairs}))
    return ""


def _attributes(pairs: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(extra or {})
    for kv in pairs[:MAX_ATTRIBUTES]:
        out[_text(kv.key)] = _value(kv.value)
    return out


def _first(attributes: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = attributes.get(name)
        if value not in (None, ""):
            return value
    return None


def _request_line(attributes: dict[str, Any]) -> tuple[str, str, str, int]:
    """``(method, path, query, status)`` from a SERVER span's HTTP attributes,
    stable semantic conventions first, then the older ones."""
    method = str(_first(attributes, "http.request.method", "http.method") or "")
    url = _first(attributes, "url.full", "http.url")
    parts = urlsplit(str(url)) if url else None
    path = _first(attributes, "url.path")
    query = _first(attributes, "url.query")
    if path is None:
        target = str(_first(attributes, "http.target") or "")
        path, _, rest = target.partition("?")
        path = path or (parts.path if parts else "")
        query = rest or None
    if query is None and parts is not None:
        query = parts.query
    status = _first(attributes, "http.response.status_code", "http.status_code")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    ok = type(status) is int and 100 <= status <= 999
    return _text(method)[:32], str(path), str(query or ""), status if ok else 0


def _address(attributes: dict[str, Any], hosts: tuple[str, ...], ports: tuple[str, ...]) -> Any:
    host = _first(attributes, *hosts)
    port = _first(attributes, *ports)
    if not isinstance(host, str):
        return None
    return (host, port if type(port) is int and 0 <= port <= 65535 else 0)


class OtelImport:
    """Records OTLP requests into ``recorder`` as exchanges (see the module doc).

    Used from the listener's loop only (not thread-safe). :attr:`spans` and
    :attr:`logs` count what was shown; :attr:`dropped` what waited too long
    for a SERVER span that never came, told in a note (at most one a second,
    :data:`NOTE_EVERY_NS`, and the rest at :meth:`close`).
    """

    def __init__(self, recorder: AttachRecorder) -> None:
        self.recorder = recorder
        self.spans = 0
        self.logs = 0
        self.dropped = 0
        self._waiting: collections.OrderedDict[Key, list[dict[str, Any]]] = (
            collections.OrderedDict()
        )
        self._waiting_count = 0
        self._untold = 0  # dropped since the last note
        self._told_at: int | None = None  # session time (ns) of the last note
        self._known: collections.OrderedDict[Key, tuple[int, int]] = collections.OrderedDict()

    def _t(self, unix_ns: int) -> int:
        return min(max(0, unix_ns - self.recorder.started_ns), 2**62)

    def traces(self, request: ExportTraceServiceRequest, limit: int) -> int:
        """Record the spans of ``request``, at most ``limit`` of them; return how
        many were left out (past ``limit``)."""
        servers: list[dict[str, Any]] = []
        others: list[dict[str, Any]] = []
        total = 0
        for resource_spans in request.resource_spans:
            service = next(
                (
                    _value(kv.value)
                    for kv in resource_spans.resource.attributes
                    if kv.key == "service.name"
                ),
                None,
            )
            extra = {"service.name": service} if service is not None else None
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    total += 1
                    if total > limit:
                        continue
                    item = self._span(span, extra)
                    (servers if item["span_kind"] == "server" else others).append(item)
        # Children first: those of a SERVER span of this request wait for it, so
        # they are shown inside it, before its end.
        for item in sorted(others, key=lambda i: i["t_ns"]):
            self._child(item)
        for item in servers:
            self._exchange(item)
        return max(0, total - limit)

    def logs_of(self, request: ExportLogsServiceRequest, limit: int) -> int:
        """Record the log records of ``request`` tied to a span, at most ``limit``
        of them; return how many were left out (past ``limit``). Records tied to
        no span belong to no exchange and are not shown."""
        total = 0
        for resource_logs in request.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    total += 1
                    if total > limit or not record.trace_id or not record.span_id:
                        continue
                    self._child(
                        self._log(record),
                        parent=(record.trace_id.hex()[:32], record.span_id.hex()[:16]),
                    )  # the ids cut as a span's are: the key a child waits under stays small
        return max(0, total - limit)

    def _span(self, span: Any, extra: dict[str, Any] | None) -> dict[str, Any]:
        kind = _KINDS.get(span.kind, "unspecified")
        attributes = _attributes(span.attributes, extra if kind == "server" else None)
        method, path, query, status = ("", "", "", 0)
        if kind == "server":
            method, path, query, status = _request_line(attributes)
        start = self._t(span.start_time_unix_nano)
        return {
            "t_ns": start,
            "span_kind": kind,
            "name": _text(span.name),
            "trace_id": span.trace_id.hex()[:32],
            "span_id": span.span_id.hex()[:16],
            "parent_id": span.parent_span_id.hex()[:16],
            "end_ns": max(start, self._t(span.end_time_unix_nano)),
            "status": _STATUS.get(span.status.code, "unset"),
            "status_message": _text(span.status.message),
            "method": method,
            "path": _text(path),
            "query": _text(query),
            "http_status": status,
            "message_type": _text(str(attributes.get("asgi.event.type", ""))),
            "attributes": attributes,
        }

    def _log(self, record: Any) -> dict[str, Any]:
        t = self._t(record.time_unix_nano or record.observed_time_unix_nano)
        attributes = _attributes(record.attributes)
        body = _value(record.body)
        if record.severity_text:
            attributes.setdefault("severity", _text(record.severity_text))
        event_name = getattr(record, "event_name", "") or attributes.get("event.name", "")
        return {
            "t_ns": t,
            "span_kind": "log",
            "name": _text(str(body)),
            "trace_id": record.trace_id.hex()[:32],
            "span_id": "",
            "parent_id": record.span_id.hex()[:16],
            "end_ns": t,
            "status": "unset",
            "status_message": "",
            "method": "",
            "path": "",
            "query": "",
            "http_status": 0,
            "message_type": _text(
                str(
                    attributes.get("asgi.message.type")
                    or attributes.get("asgi.event.type")
                    or event_name
                )
            ),
            "attributes": attributes,
        }

    def _remember(self, key: Key, ids: tuple[int, int]) -> None:
        known = self._known
        known[key] = ids
        if len(known) > MAX_KNOWN:
            known.popitem(last=False)

    def _exchange(self, item: dict[str, Any]) -> None:
        """A SERVER span: a connection and an exchange of its own, its waiting
        descendants, its end."""
        recorder = self.recorder
        conn, exchange = recorder.new_ids()
        attributes = item["attributes"]
        start, end = item["t_ns"], item["end_ns"]
        client = _address(
            attributes,
            ("client.address", "net.peer.ip", "http.client_ip"),
            ("client.port", "net.peer.port"),
        )
        server = _address(
            attributes,
            ("server.address", "net.host.name", "http.host"),
            ("server.port", "net.host.port"),
        )
        place = recorder.place
        place(ConnectionOpened, start, conn=conn, client=client, server=server)
        place(ConnectionOrigin, start, conn=conn, source="otel", pid=0, raw=False)
        place(OtelSpan, conn=conn, exchange=exchange, **item)
        self.spans += 1
        self._remember((item["trace_id"], item["span_id"]), (conn, exchange))
        self._flush((item["trace_id"], item["span_id"]), (conn, exchange))
        outcome = "error" if item["status"] == "error" else "complete"
        place(
            ExchangeEnded,
            end,
            conn=conn,
            exchange=exchange,
            scope={},
            outcome=outcome,
            status=item["http_status"],
        )
        place(ConnectionClosed, end, conn=conn, by="app", reason="the SERVER span ended")

    def _child(self, item: dict[str, Any], parent: Key | None = None) -> None:
        """A span under a SERVER span (or a log record tied to one): on its exchange
        if that is known, else waiting for it."""
        key = parent or (item["trace_id"], item["parent_id"])
        ids = self._known.get(key)
        if ids is not None:
            self._show(item, ids)
            return
        if not key[1]:  # a root span that is not a SERVER span: no exchange
            return
        self._waiting.setdefault(key, []).append(item)
        self._waiting_count += 1
        while self._waiting_count > MAX_WAITING:
            _, dropped = self._waiting.popitem(last=False)
            self._waiting_count -= len(dropped)
            self.dropped += len(dropped)
            self._untold += len(dropped)
        if self._untold:
            self._tell_dropped()

    def close(self) -> None:
        """The end of the import: spans dropped and not yet told are told now."""
        if self._untold:
            self._tell_dropped(at_once=True)

    def _tell_dropped(self, at_once: bool = False) -> None:
        """A note of the spans dropped since the last one, unless one was placed
        less than :data:`NOTE_EVERY_NS` ago and not ``at_once`` (then they are told
        with the next drop after that, or at :meth:`close`)."""
        now = self.recorder.now()
        if not at_once and self._told_at is not None and now - self._told_at < NOTE_EVERY_NS:
            return
        self.recorder.record(
            ServerNote,
            conn=0,
            level="warning",
            text=f"dropped {self._untold} OTLP spans and log records: their SERVER span "
            f"never came (at most {MAX_WAITING:,} wait, the oldest dropped first)",
        )
        self._told_at, self._untold = now, 0

    def _show(self, item: dict[str, Any], ids: tuple[int, int]) -> None:
        conn, exchange = ids
        self.recorder.place(OtelSpan, conn=conn, exchange=exchange, **item)
        if item["span_kind"] == "log":
            self.logs += 1
        else:
            self.spans += 1
            key = (item["trace_id"], item["span_id"])
            self._remember(key, ids)
            self._flush(key, ids)

    def _flush(self, key: Key, ids: tuple[int, int]) -> None:
        """Show what waited for span ``key`` (and, through :meth:`_show`, for its
        children), in start order."""
        waiting = self._waiting.pop(key, None)
        if waiting:
            self._waiting_count -= len(waiting)
            for item in sorted(waiting, key=lambda i: i["t_ns"]):
                self._show(item, ids)
