"""OTLP out: each ended exchange as OpenTelemetry spans and log records.

Builds the OTLP protobuf messages (``opentelemetry-proto``'s generated
classes, the ``asgi-scope[otel]`` extra) from the event stream; sending them
is :mod:`asgi_scope.export.otlp_http`'s. For each HTTP or WebSocket exchange,
once it ended:

* one SERVER span named ``{method} {http.route}`` (or ``{method}``), with the
  stable HTTP semantic-convention attributes (OpenTelemetry semantic
  conventions 1.26+, "HTTP Server semantic conventions"):
  ``http.request.method``, ``url.path``, ``url.query``, ``url.scheme``,
  ``http.route`` (where the framework set one), ``http.response.status_code``,
  ``error.type``, ``network.protocol.version``, ``server.address`` and
  ``server.port``, ``client.address`` and ``client.port``,
  ``user_agent.original``, ``http.request.body.size`` and
  ``http.response.body.size``, and every header field as
  ``http.request.header.<name>`` / ``http.response.header.<name>`` (a list of
  values); its status is ERROR for a 5xx or an app that raised;
* one INTERNAL child span per middleware layer call (the
  :class:`~asgi_scope.trace.events.LayerEntered` /
  :class:`~asgi_scope.trace.events.LayerReturned` pairs), nested as the layers
  were;
* each ASGI message, at the server's boundary and at each layer's, as a log
  record tied to its span (``event.name`` ``asgi.message``,
  ``asgi.message.type``, ``asgi.message.direction`` ``receive`` or ``send``,
  and :func:`~asgi_scope.trace.summary.message_summary` as its body), not as a
  span each.

Ids come from :mod:`asgi_scope.trace.tracecontext` (an incoming ``traceparent``
is honoured). What leaves goes through a
:class:`~asgi_scope.export.redact.Redactor`: secret header fields and query
parameters, and form fields in previewed request bodies. Everything is bounded:
strings at :data:`MAX_TEXT` characters, events kept per exchange at
:data:`MAX_EVENTS` (the later messages and layers of a long stream are not
sent), exchanges followed at once at :data:`MAX_OPEN`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from asgi_scope import __version__
from asgi_scope.export.redact import DEFAULT, FORM, Redactor
from asgi_scope.trace.events import (
    AppRaised,
    Event,
    ExchangeEnded,
    LayerEntered,
    LayerReceived,
    LayerReturned,
    LayerSent,
    MessageReceived,
    MessageSent,
    ScopeCreated,
)
from asgi_scope.trace.flow import first
from asgi_scope.trace.summary import message_summary, message_type
from asgi_scope.trace.tracecontext import SESSION, Context, Ids

__all__ = ["MAX_EVENTS", "MAX_OPEN", "MAX_TEXT", "Built", "SpanBuilder"]

MAX_TEXT = 4096
"""Characters of an attribute value or log body sent at most."""

MAX_EVENTS = 2_000
"""Events kept per exchange; the messages and layer calls past them are not sent."""

MAX_OPEN = 10_000
"""Exchanges followed at once; past that the oldest is forgotten, not exported
(counted): its end may have been in a batch dropped while the collector was slow."""

SEVERITY_INFO = 9
"""``SEVERITY_NUMBER_INFO`` (OpenTelemetry logs data model, "Severity Fields")."""

_KINDS = (
    ScopeCreated,
    MessageReceived,
    MessageSent,
    AppRaised,
    LayerEntered,
    LayerReceived,
    LayerSent,
    LayerReturned,
)
_ROUTE_PATH = re.compile(r"\bpath='([^']*)'")


@dataclass(slots=True)
class Built:
    """One ended exchange as OTLP: its ``spans`` (the SERVER span first) and ``logs``."""

    spans: list[Span] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)


def _text(value: Any) -> str | None:
    """``value`` as a string OTLP can carry (valid UTF-8, at most :data:`MAX_TEXT`),
    or None for a value that is neither ``str`` nor ``bytes``."""
    if isinstance(value, bytes):
        return value[:MAX_TEXT].decode("latin-1")
    if isinstance(value, str):
        return value[:MAX_TEXT].encode("utf-8", "replace").decode("utf-8")
    return None


Attribute = tuple[str, "str | int | list[str]"]
"""An attribute before it is written: ``(key, value)``, a list of strings for an array."""


def _fill(into: Any, attributes: Iterable[Attribute]) -> None:
    """Write ``attributes`` into the repeated ``KeyValue`` field ``into``, in place
    (about 3x quicker than building each ``KeyValue`` and having it copied in)."""
    for key, value in attributes:
        kv = into.add()
        kv.key = key
        if isinstance(value, list):
            values = kv.value.array_value.values
            for item in value:
                values.add().string_value = item
        elif isinstance(value, int):
            kv.value.int_value = value
        else:
            kv.value.string_value = value


def _headers(value: Any) -> list[tuple[bytes, bytes]]:
    pairs = value if isinstance(value, (list, tuple)) else ()
    return [
        (p[0], p[1])
        for p in pairs
        if isinstance(p, (list, tuple))
        and len(p) == 2
        and isinstance(p[0], bytes)
        and isinstance(p[1], bytes)
    ]


def _header_attrs(prefix: str, headers: list[tuple[bytes, bytes]]) -> list[Attribute]:
    """``http.request.header.<name>`` attributes: lowercase names, a list of values."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.decode("latin-1").lower()[:256], []).append(_text(value) or "")
    return [(f"{prefix}.{name}", values) for name, values in grouped.items()]


def route_of(scope: dict[str, Any] | None) -> str | None:
    """``http.route``: the path template of the route the framework matched
    (Starlette and FastAPI set ``scope["route"]``, whose ``path`` it is; across
    the process boundary the route is its ``repr``, ``Route(path='/items/{id}',
    ...)``), or None."""
    route = (scope or {}).get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    match = _ROUTE_PATH.search(repr(route)) if route is not None else None
    return match.group(1) if match else None


class SpanBuilder:
    """Follows a stream of events (:meth:`feed`, batch by batch) and builds each
    HTTP or WebSocket exchange's OTLP spans and log records when it ends.

    ``started_ns`` is the wall clock (epoch nanoseconds) at ``t_ns`` 0;
    ``redact`` decides what is a secret; ``ids`` derives the span ids (the
    process's own by default, so the Scope tab shows the same). :attr:`dropped`
    counts the exchanges forgotten unsent (past :data:`MAX_OPEN`).
    """

    def __init__(self, started_ns: int, redact: Redactor = DEFAULT, ids: Ids = SESSION) -> None:
        self.started_ns = started_ns
        self.redact = redact
        self.ids = ids
        self.dropped = 0
        self._open: dict[int, list[Event]] = {}

    def feed(self, batch: Iterable[Event]) -> list[Built]:
        """Take a batch of events; return the exchanges that ended in it, built."""
        built: list[Built] = []
        for event in batch:
            kind = type(event)
            if kind is ScopeCreated:
                if event.scope.get("type") in ("http", "websocket"):  # type: ignore[attr-defined]
                    if len(self._open) >= MAX_OPEN:  # the oldest (its end may have been lost)
                        del self._open[next(iter(self._open))]
                        self.dropped += 1
                    self._open[event.exchange] = [event]  # type: ignore[attr-defined]
            elif kind is ExchangeEnded:
                kept = self._open.pop(event.exchange, None)  # type: ignore[attr-defined]
                if kept is not None:
                    built.append(self._build(kept, event))  # type: ignore[arg-type]
            elif kind in _KINDS:
                kept = self._open.get(event.exchange)  # type: ignore[attr-defined]
                if kept is not None and len(kept) < MAX_EVENTS:
                    kept.append(event)
        return built

    def _build(self, events: list[Event], ended: ExchangeEnded) -> Built:
        created: ScopeCreated = events[0]  # type: ignore[assignment]
        scope = created.scope
        headers = _headers(scope.get("headers"))
        context = self.ids.of(ended.exchange, headers)
        server = self._server_span(events, ended, headers, context)
        out = Built([server])
        self._layers(events, ended, context, out)
        return out

    def _server_span(
        self,
        events: list[Event],
        ended: ExchangeEnded,
        headers: list[tuple[bytes, bytes]],
        context: Context,
    ) -> Span:
        scope = events[0].scope  # type: ignore[attr-defined]
        method = _text(scope.get("method")) or "GET"
        route = route_of(ended.scope)
        attrs: list[Attribute] = [("http.request.method", method)]
        for key, name in (("path", "url.path"), ("scheme", "url.scheme")):
            text = _text(scope.get(key))
            if text is not None:
                attrs.append((name, text))
        query = scope.get("query_string")
        if isinstance(query, bytes) and query:
            attrs.append(("url.query", _text(self.redact.query(query)) or ""))
        if route is not None:
            attrs.append(("http.route", _text(route) or ""))
        version = _text(scope.get("http_version"))
        if version is not None:
            attrs.append(("network.protocol.version", version))
        for key, prefix in (("server", "server"), ("client", "client")):
            where = scope.get(key)
            if isinstance(where, (list, tuple)) and len(where) == 2:
                attrs.append((f"{prefix}.address", _text(where[0]) or ""))
                if isinstance(where[1], int):
                    attrs.append((f"{prefix}.port", where[1]))
        agent = first(headers, b"user-agent")
        if agent is not None:
            attrs.append(("user_agent.original", _text(agent) or ""))
        sizes = {"http.request": 0, "http.response.body": 0}
        response: list[tuple[bytes, bytes]] = []
        raised = ""
        for event in events:
            if isinstance(event, (MessageReceived, MessageSent)):
                kind = event.message.get("type")
                if kind in sizes:
                    body = event.message.get("body", b"")
                    sizes[kind] += (len(body) if isinstance(body, bytes) else 0) + event.dropped
                elif kind == "http.response.start":
                    response = _headers(event.message.get("headers"))
            elif isinstance(event, AppRaised):
                raised = event.exc_type
        attrs.append(("http.request.body.size", sizes["http.request"]))
        attrs.append(("http.response.body.size", sizes["http.response.body"]))
        if ended.status:
            attrs.append(("http.response.status_code", ended.status))
        error = _text(raised) if ended.outcome == "error" and raised else None
        if error is None and ended.status >= 500:
            error = str(ended.status)
        if error is not None:
            attrs.append(("error.type", error))
        attrs += _header_attrs("http.request.header", self.redact.headers(headers))
        attrs += _header_attrs("http.response.header", self.redact.headers(response))
        attrs.append(("asgi_scope.exchange", ended.exchange))
        span = Span(
            trace_id=context.trace_id,
            span_id=context.span_id,
            parent_span_id=context.parent_id,
            flags=context.flags,
            name=f"{method} {route}" if route else method,
            kind=Span.SPAN_KIND_SERVER,
            start_time_unix_nano=self.started_ns + events[0].t_ns,
            end_time_unix_nano=self.started_ns + ended.t_ns,
        )
        _fill(span.attributes, attrs)
        if error is not None:
            span.status.code = Status.STATUS_CODE_ERROR
            span.status.message = error
        return span

    def _layers(
        self, events: list[Event], ended: ExchangeEnded, context: Context, out: Built
    ) -> None:
        """The layer spans and every message's log record, into ``out``."""
        server = out.spans[0]
        form = first(_headers(events[0].scope.get("headers")), b"content-type")  # type: ignore[attr-defined]
        form = form is not None and form.split(b";")[0].strip().lower() == FORM
        open_: dict[int, Span] = {}
        for event in events:
            kind = type(event)
            if kind is LayerEntered:
                parent = open_.get(event.depth - 1, server)  # type: ignore[attr-defined]
                span = open_[event.depth] = Span(  # type: ignore[attr-defined]
                    trace_id=context.trace_id,
                    span_id=self.ids.layer_span(ended.exchange, event.seq),
                    parent_span_id=parent.span_id,
                    flags=context.flags,
                    name=_text(event.layer) or "?",  # type: ignore[attr-defined]
                    kind=Span.SPAN_KIND_INTERNAL,
                    start_time_unix_nano=self.started_ns + event.t_ns,
                )
                module = _text(event.module) or ""  # type: ignore[attr-defined]
                _fill(
                    span.attributes,
                    [("code.namespace", module), ("asgi_scope.layer.depth", event.depth)],  # type: ignore[attr-defined]
                )
                out.spans.append(span)
            elif kind is LayerReturned:
                span = open_.pop(event.depth, None)  # type: ignore[attr-defined]
                if span is not None:
                    span.end_time_unix_nano = self.started_ns + event.t_ns
                    if event.outcome == "error":  # type: ignore[attr-defined]
                        error = _text(event.exc_type) or "error"  # type: ignore[attr-defined]
                        _fill(span.attributes, [("error.type", error)])
                        span.status.code = Status.STATUS_CODE_ERROR
            elif kind in (MessageReceived, MessageSent, LayerReceived, LayerSent):
                depth = getattr(event, "depth", None)
                span = server if depth is None else open_.get(depth, server)
                out.logs.append(self._log(event, span, form))
        for span in open_.values():  # a layer that never returned: ends with the exchange
            span.end_time_unix_nano = self.started_ns + ended.t_ns

    def _log(self, event: Any, span: Span, form: bool) -> LogRecord:
        message = event.message
        body = message.get("body")
        if form and message.get("type") == "http.request" and isinstance(body, bytes):
            message = dict(message, body=self.redact.query(message["body"]))
        received = isinstance(event, (MessageReceived, LayerReceived))
        attrs: list[Attribute] = [
            ("event.name", "asgi.message"),
            ("asgi.message.type", message_type(message)),
            ("asgi.message.direction", "receive" if received else "send"),
        ]
        layer = getattr(event, "layer", None)
        if layer is not None:
            attrs.append(("asgi_scope.layer", _text(layer) or ""))
        when = self.started_ns + event.t_ns
        record = LogRecord(
            time_unix_nano=when,
            observed_time_unix_nano=when,
            severity_number=SEVERITY_INFO,
            severity_text="INFO",
            event_name="asgi.message",
            body=AnyValue(string_value=message_summary(message, event.dropped)[:MAX_TEXT]),
            trace_id=span.trace_id,
            span_id=span.span_id,
            flags=span.flags & 0xFF,
        )
        _fill(record.attributes, attrs)
        return record


def _resource(service: str) -> tuple[Resource, InstrumentationScope]:
    resource = Resource()
    _fill(resource.attributes, [("service.name", _text(service) or "asgi-scope")])
    return resource, InstrumentationScope(name="asgi-scope", version=__version__)


def trace_request(service: str, spans: list[Span]) -> ExportTraceServiceRequest:
    """An OTLP trace export request (``/v1/traces``) of ``spans`` from ``service``
    (the resource's ``service.name``)."""
    resource, scope = _resource(service)
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(resource=resource, scope_spans=[ScopeSpans(scope=scope, spans=spans)])
        ]
    )


def logs_request(service: str, logs: list[LogRecord]) -> ExportLogsServiceRequest:
    """An OTLP logs export request (``/v1/logs``) of ``logs`` from ``service``."""
    resource, scope = _resource(service)
    return ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(resource=resource, scope_logs=[ScopeLogs(scope=scope, log_records=logs)])
        ]
    )
