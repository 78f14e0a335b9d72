"""The presenter registry: how every view shows each event kind, written once per kind.

A :class:`Presenter` holds, for one event class, everything a view asks of an
event: its ``label`` and one-line ``summary`` (the Messages list, the
Timeline), its ``explain``-mode words, the raw bytes it came from or became
(``wire``), its style names, its headless ``line``, its arrow on the Sequence
diagram. Views look an event up by its exact class (:func:`of`) instead of
testing ``isinstance`` in chains, so a new event kind is added here, in
:mod:`asgi_scope.trace.events`, and in the view code of its own, and nowhere else.

Every string a facet returns is safe display text: untrusted parts pass
through :func:`~asgi_scope.trace.safe.safe_text` or the shared summaries of
:mod:`asgi_scope.trace.summary`. Style names are words, not styles: ``"in"``
(into the app), ``"out"`` (out of it), ``"error"``, ``"dim"``, and for headless
lines also ``"conn"``, ``"strong"``, ``"ok"``, ``"info"``, ``"warning"``,
``"warning.detail"``, ``"error.detail"``, ``"upstream"``, ``""`` (plain); each
view maps them to its own colours. Pure: no I/O, no Rich, no Textual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgi_scope.trace.events import (
    AppRaised,
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    ConnectionOpened,
    ConnectionOrigin,
    Direction,
    Event,
    ExchangeEnded,
    LayerEntered,
    LayerReceived,
    LayerReturned,
    LayerSent,
    LifespanState,
    MessageReceived,
    MessageSent,
    OtelSpan,
    Party,
    ProtocolError,
    ProxyTimings,
    ScopeCreated,
    ServerNote,
    SpecViolation,
    UpstreamBytes,
    WebSocketFrame,
    Wire,
)
from asgi_scope.trace.explain import (
    LIFE,
    WEBSOCKET,
    WWW,
    Explanation,
    message_explanation,
    opcode_explanation,
    outcome_explanation,
)
from asgi_scope.trace.rules import COUNTED, severity_of
from asgi_scope.trace.safe import safe_text, without_sgr
from asgi_scope.trace.store import Exchange
from asgi_scope.trace.summary import (
    fmt_bytes,
    fmt_duration,
    frame_summary,
    frame_text,
    message_summary,
    message_type,
    opcode_name,
    preview,
    proxy_timings,
    scope_summary,
    short,
)

__all__ = ["INTO_APP", "OUT_OF_APP", "Part", "Presenter", "Step", "explain", "of", "register"]

Part = tuple[str, str]
"""A piece of a headless line: ``(safe text, style name)``."""

Step = tuple[Party, Party, str, str]
"""An arrow of the Sequence diagram: ``(from lane, to lane, safe label, style name)``;
equal lanes make a mark on one lane."""

INTO_APP = "server → app"
OUT_OF_APP = "server ← app"


@dataclass(frozen=True, slots=True)
class Presenter:
    """How views show one event kind. Each facet takes the event (exactly of the
    kind it is registered for) and returns safe text or style names.

    ``listed``: the event is a row of the Messages list and a mark on the
    Timeline (raw bytes are the Hex tab's, notes the Notes screen's). ``note``:
    the event is about the tool, not the protocol (headless ``--explain`` prints
    no explanation under it).
    """

    label: Callable[[Any], str]
    """A short name: the message type, ``scope``, ``frame text``."""
    summary: Callable[[Any], str]
    """What the event carries, on one line (may be ``""``)."""
    explain: Callable[[Any], Explanation]
    """Explain mode's sentences and the spec section they come from."""
    line: Callable[[Any, dict[int, int]], list[Part] | None]
    """The headless line after its time and ids (None: no line). The second argument maps an
    exchange id to the ``t_ns`` its scope was created, kept by the caller across
    lines (a scope's line adds to it, the end's line takes from it)."""
    style: Callable[[Any], str]
    """The style name of the event's row (Messages list)."""
    arrow: Callable[[Any], str]
    """The Messages list's direction column: ``server → app``, ``client ✗ server``."""
    marker: Callable[[Any], tuple[str, str]]
    """``(character, style name)`` that marks the event on a time axis."""
    wire: Callable[[Any, Exchange | None], tuple[Direction, Wire] | None]
    """The byte range it came from (``"in"``) or became (``"out"``), if any.
    The exchange is needed for what a sent message became; None: unknown."""
    step: Callable[[Any], Step | None]
    """Its arrow on the Sequence diagram, or None for no arrow of its own."""
    listed: bool = False
    note: bool = False


_REGISTRY: dict[type[Event], Presenter] = {}


def _facet(value: Any) -> Callable[..., Any]:
    """A facet from a callable, or from a constant every event of the kind shares."""
    return value if callable(value) else (lambda *_: value)


def _guarded(facet: Callable[..., Any], fallback: Callable[[str], Any]) -> Callable[..., Any]:
    """``facet``, but a value it cannot show (an app object whose ``__str__``
    raises, an int too long to print) gives ``fallback(why)``: a view or the
    headless printer never stops on one event."""

    def guarded(*args: Any) -> Any:
        try:
            return facet(*args)
        except Exception as exc:
            return fallback(f"‹not shown: {type(exc).__name__}›")

    return guarded


def register(
    kind: type[Event],
    *,
    label: str | Callable[[Any], str],
    explain: Explanation | Callable[[Any], Explanation],
    line: Callable[[Any, dict[int, int]], list[Part] | None],
    summary: str | Callable[[Any], str] = "",
    style: str | Callable[[Any], str] = "dim",
    arrow: str | Callable[[Any], str] = OUT_OF_APP,
    marker: tuple[str, str] | Callable[[Any], tuple[str, str]] = ("●", "dim"),
    wire: Callable[[Any, Exchange | None], tuple[Direction, Wire] | None] | None = None,
    step: Step | Callable[[Any], Step | None] | None = None,
    listed: bool = False,
    note: bool = False,
) -> Presenter:
    """Register (or replace) the presenter of ``kind`` and return it. Constants
    stand for facets that do not depend on the event; the text facets (label,
    summary, line) are guarded: one that raises shows why instead."""
    presenter = _REGISTRY[kind] = Presenter(
        label=_guarded(_facet(label), str),
        summary=_guarded(_facet(summary), str),
        explain=_facet(explain),
        line=_guarded(line, lambda why: [(kind.__name__ + " ", "dim"), (why, "error")]),
        style=_facet(style),
        arrow=_facet(arrow),
        marker=_facet(marker),
        wire=_facet(wire),
        step=_facet(step),
        listed=listed,
        note=note,
    )
    return presenter


def of(event: Event) -> Presenter:
    """The presenter of ``event``'s class. Raises :exc:`KeyError` for a class no
    one registered (every class of :mod:`~asgi_scope.trace.events` is)."""
    return _REGISTRY[type(event)]


def registered() -> dict[type[Event], Presenter]:
    """Every registered event class and its presenter (a copy)."""
    return dict(_REGISTRY)


def explain(event: Event) -> Explanation:
    """One or two sentences on what ``event`` is and why it happened, with the
    spec section (or RFC) it comes from."""
    return _REGISTRY[type(event)].explain(event)


def _safe(value: object) -> str:
    """``value`` (a field read from a capture file or an attach stream, so any
    type and any text) as safe display text."""
    return safe_text(str(value))


def _address(addr: tuple[str, int] | None) -> str:
    return f"{_safe(addr[0])}:{_safe(addr[1])}" if addr else "?"


def _received(event: Any, exchange: Exchange | None) -> tuple[Direction, Wire] | None:
    """The received range an event carries in its ``wire`` field."""
    return ("in", event.wire) if event.wire else None


def _message_line(
    arrow: str | Callable[[Any], str], style: str
) -> Callable[[Any, dict[int, int]], list[Part]]:
    """The headless line of a message event; ``arrow`` may depend on the event."""

    def line(event: Any, starts: dict[int, int]) -> list[Part]:
        summary = _message_summary(event)
        return [
            (f"{arrow(event) if callable(arrow) else arrow}  ", style),
            (message_type(event.message), "strong"),
            (f"  {summary}" if summary else "", ""),
        ]

    return line


def _message_label(event: MessageReceived | MessageSent) -> str:
    """The message type and its summary, for an arrow's label."""
    kind = message_type(event.message)
    summary = _message_summary(event)
    return f"{kind} {summary}" if summary else kind


def _lane(by: str) -> Party:
    return "client" if by == "client" else "server"


# -- connections ---------------------------------------------------------------

register(
    ConnectionOpened,
    label="connected",
    summary=lambda e: f"from {_address(e.client)}",
    explain=Explanation(
        "A client opened a TCP connection. One connection may carry many requests, one "
        "after another (keep-alive).",
        "RFC 9112 §9 (connection management)",
    ),
    line=lambda e, _: [(f"connected from {_address(e.client)}", "conn")],
)

register(
    ConnectionClosed,
    label="closed",
    summary=lambda e: f"by {_safe(e.by)} ({safe_text(e.reason)})",
    explain=lambda e: Explanation(
        f"The connection closed, by the {safe_text(e.by)} "
        f"({safe_text(e.reason)}). Anything in flight on it is over.",
        "RFC 9112 §9.6 (tear-down)",
    ),
    line=lambda e, _: [(f"closed by {_safe(e.by)} ({safe_text(e.reason)})", "conn")],
    step=lambda e: (_lane(e.by), _lane(e.by), f"closed ({safe_text(e.reason)})", "dim"),
)


def _origin(event: ConnectionOrigin) -> str:
    if event.source == "otel":
        return "OpenTelemetry (an OTLP SERVER span), no raw bytes, no scope"
    return f"the {safe_text(event.source)} in pid {_safe(event.pid)}" + (
        "" if event.raw else ", no raw bytes"
    )


register(
    ConnectionOrigin,
    label="recorded by",
    summary=_origin,
    explain=Explanation(
        "Says who recorded this connection when it was not asgi-scope's own server: "
        "a middleware inside the app's process, asgi-scope's proxy, or an "
        "OpenTelemetry-instrumented app's spans (attach --otlp-listen).",
        "asgi-scope",
    ),
    line=lambda e, _: [(f"recorded by {_origin(e)}", "dim")],
)

# -- raw bytes -----------------------------------------------------------------

register(
    BytesReceived,
    label="bytes received",
    summary=lambda e: f"{fmt_bytes(e.size)} {preview(e.data)}",
    explain=Explanation(
        "Bytes arrived from the client on the socket. The server feeds them to its HTTP "
        "parser (h11), which turns them into the request head and body.",
        "RFC 9112 §2 (message format)",
    ),
    line=lambda e, _: [(f"⇠ {fmt_bytes(e.size)} received ", "dim"), (preview(e.data), "")],
    wire=lambda e, _: ("in", (e.offset, e.offset + e.size)),
)

register(
    BytesSent,
    label="bytes sent",
    summary=lambda e: f"{fmt_bytes(e.size)} {preview(e.data)}",
    explain=Explanation(
        "The server wrote bytes to the socket: what an app message became (status line "
        "and headers, body, chunk framing), or an answer of its own.",
        "RFC 9112 §2, §7 (message format, chunked)",
    ),
    line=lambda e, _: [(f"⇢ {fmt_bytes(e.size)} sent ", "dim"), (preview(e.data), "")],
    wire=lambda e, _: ("out", (e.offset, e.offset + e.size)),
)

register(
    UpstreamBytes,
    label="upstream bytes",
    summary=lambda e: f"{fmt_bytes(e.size)} {preview(e.data)}",
    explain=Explanation(
        "Bytes the proxy exchanged with the upstream server for this request: the "
        "forwarded request, or the upstream's response.",
        "RFC 9110 §7.6 (intermediaries)",
    ),
    line=lambda e, _: [
        (
            f"{'⇉ upstream sent' if e.direction == 'out' else '⇇ upstream received'} "
            f"{fmt_bytes(e.size)} ",
            "upstream",
        ),
        (preview(e.data), ""),
    ],
)

# -- the scope and messages ----------------------------------------------------


def _scope_line(event: ScopeCreated, starts: dict[int, int]) -> list[Part]:
    starts[event.exchange] = event.t_ns
    return [("scope ", "strong"), (scope_summary(event.scope), "strong")]


def _scope_explanation(event: ScopeCreated) -> Explanation:
    kind = event.scope.get("type")
    if kind == "lifespan":
        return Explanation(
            "The server called the app once with a lifespan scope, before serving, to "
            "run its startup and, at the end, its shutdown.",
            f"{LIFE}, Scope",
        )
    if kind == "websocket":
        return Explanation(
            "An HTTP request asked to upgrade to a WebSocket: the server built the "
            "connection scope from it and called the app, which will get websocket.connect.",
            f"{WEBSOCKET}, Connection Scope",
        )
    return Explanation(
        "The server parsed the request head (method, path, headers) into a scope and "
        "called the app with it: one call per request, even on a kept-alive connection.",
        f"{WWW}, HTTP Connection Scope",
    )


register(
    ScopeCreated,
    label="scope",
    summary=lambda e: scope_summary(e.scope),
    explain=_scope_explanation,
    line=_scope_line,
    style="in",
    arrow=INTO_APP,
    wire=_received,
    step=lambda e: ("server", "app", "scope " + scope_summary(e.scope), "in"),
    listed=True,
)

USER_MARKS = {
    "edited": "✎ edited by the user",
    "dropped": "✗ dropped by the user",
    "composed": "✎ composed in asgi-scope",
}
"""The words that mark a message the user edited, dropped or composed (UserAct)."""

COMPOSED = "asgi-scope → app"
"""The direction of a message the user composed: not from the client."""


def _message_summary(event: Any) -> str:
    """The message's summary, after the mark of what the user did to it, if anything
    (a layer's message events have none)."""
    summary = message_summary(event.message, event.dropped)
    mark = USER_MARKS.get(getattr(event, "user", ""))
    return f"{mark} · {summary}" if mark and summary else mark or summary


def _into_app(event: MessageReceived) -> str:
    return COMPOSED if event.user == "composed" else INTO_APP


register(
    MessageReceived,
    label=lambda e: message_type(e.message),
    summary=_message_summary,
    explain=lambda e: message_explanation(e.message),
    line=_message_line(_into_app, "in"),
    style="in",
    arrow=_into_app,
    marker=("▶", "in"),
    wire=_received,
    step=lambda e: ("server", "app", _message_label(e), "in"),
    listed=True,
)


def _sent_wire(event: MessageSent, exchange: Exchange | None) -> tuple[Direction, Wire] | None:
    wire = exchange.sent_wire(event) if exchange is not None else None
    return ("out", wire) if wire else None


register(
    MessageSent,
    label=lambda e: message_type(e.message),
    summary=_message_summary,
    explain=lambda e: message_explanation(e.message),
    line=_message_line(OUT_OF_APP, "out"),
    style="out",
    arrow=OUT_OF_APP,
    marker=("◀", "out"),
    wire=_sent_wire,
    step=lambda e: ("app", "server", _message_label(e), "out"),
    listed=True,
)

register(
    LifespanState,
    label="state",
    summary=lambda e: f"the app set: {', '.join(short(key, 30) for key in e.state) or 'none'}",
    explain=Explanation(
        "What the app put in scope['state'] during startup. Every request's scope gets "
        "a shallow copy of it, so the app can share a database pool with its routes.",
        f"{LIFE}, Lifespan State",
    ),
    line=lambda e, _: None,  # the note "lifespan startup complete" says it headless
    listed=True,
)

# -- middleware layers (trace/layers.py) ------------------------------------------

MIDDLEWARE = "ASGI 3.0, Middleware"


def _layer_entered_line(event: LayerEntered, starts: dict[int, int]) -> list[Part]:
    return [
        (f"↓ {safe_text(event.layer)}  ", "in"),
        (f"layer {_safe(event.depth)} called", "dim"),
        (f"  ({safe_text(event.module)})" if event.module else "", "dim"),
    ]


def _layer_returned_line(event: LayerReturned, starts: dict[int, int]) -> list[Part]:
    if event.outcome == "error":
        return [(f"↑ {safe_text(event.layer)}  raised {safe_text(event.exc_type)}", "error")]
    return [(f"↑ {safe_text(event.layer)}  ", "out"), ("returned", "dim")]


register(
    LayerEntered,
    label="called",
    summary=lambda e: f"layer {_safe(e.depth)} ({safe_text(e.module)})",
    explain=Explanation(
        "A layer of the app (a middleware, the router, an endpoint) was called with the "
        "scope as the layer above it left it.",
        MIDDLEWARE,
    ),
    line=_layer_entered_line,
    style="in",
    arrow=lambda e: f"→ {safe_text(e.layer)}",
)

for _kind, _arrow, _style, _words in (
    (LayerReceived, "↓", "in", "A layer's receive() returned this message, as the layer above"),
    (LayerSent, "↑", "out", "A layer called send() with this message, towards the layer above"),
):
    register(
        _kind,
        label=lambda e: message_type(e.message),
        summary=lambda e: message_summary(e.message, e.dropped),
        explain=Explanation(f"{_words} it.", MIDDLEWARE),
        line=_message_line(lambda e, a=_arrow: f"{a} {safe_text(e.layer)}", _style),
        style=_style,
        arrow=(lambda e: f"→ {safe_text(e.layer)}")
        if _style == "in"
        else (lambda e: f"← {safe_text(e.layer)}"),
    )

register(
    LayerReturned,
    label=lambda e: f"{safe_text(e.layer)} {'raised' if e.outcome == 'error' else 'returned'}",
    summary=lambda e: safe_text(e.exc_type),
    explain=Explanation(
        "A layer's call returned (or raised) to the layer above it.",
        MIDDLEWARE,
    ),
    line=_layer_returned_line,
    style=lambda e: "error" if e.outcome == "error" else "dim",
    arrow=lambda e: f"← {safe_text(e.layer)}",
)

# -- how the app's call went -----------------------------------------------------

register(
    AppRaised,
    label="app raised",
    summary=lambda e: f"{short(e.exc_type)}: {short(e.message, 60)}",
    explain=Explanation(
        "The app raised an exception. The server records it and answers 500 if no "
        "response had started, or closes the connection if one had.",
        "ASGI 3.0, Error Handling",
    ),
    line=lambda e, _: [
        (f"app raised {safe_text(e.exc_type)}: {safe_text(e.message)}\n", "error"),
        (safe_text(e.traceback.rstrip(), keep_newlines=True), "error.detail"),
    ],
    style="error",
    arrow="server ✗ app",
    marker=("✗", "error"),
    step=lambda e: ("app", "app", f"✗ {short(e.exc_type)}: {short(e.message, 60)}", "error"),
    listed=True,
)


def _protocol_error_summary(event: ProtocolError) -> str:
    answer = f" → {event.status}" if event.status else ", connection closed"
    return f"by {short(event.by)}: {short(event.detail, 60)}{answer}"


def _protocol_error_explanation(event: ProtocolError) -> Explanation:
    if event.by == "client":
        return Explanation(
            "The client sent bytes that are not valid HTTP/1.1, so the server answered "
            "with an error status (or closed) without calling the app.",
            "RFC 9112 §2.2 (message parsing robustness)",
        )
    return Explanation(
        "The app sent something the server cannot put on the wire (a bad header, more "
        "body than Content-Length): send() raised and the connection was closed.",
        "ASGI 3.0, Error Handling",
    )


def _protocol_error_line(event: ProtocolError, starts: dict[int, int]) -> list[Part]:
    answer = f"answered {_safe(event.status)}" if event.status else "connection closed"
    text = f"protocol error by the {_safe(event.by)}: {safe_text(event.detail)} ({answer})"
    return [(text, "error")]


register(
    ProtocolError,
    label="protocol error",
    summary=_protocol_error_summary,
    explain=_protocol_error_explanation,
    line=_protocol_error_line,
    style="error",
    arrow=lambda e: "client ✗ server" if e.by == "client" else "server ✗ app",
    marker=("✗", "error"),
    wire=_received,
    step=lambda e: (_lane(e.by), _lane(e.by), "✗ " + _protocol_error_summary(e), "error"),
    listed=True,
)


OUTCOMES = {"disconnect": "client gone"}
"""Outcomes named for people where the event's word is the spec's."""

_OUTCOME_STYLES = {"complete": "ok", "disconnect": "warning", "unsupported": "info"}


def _ended_line(event: ExchangeEnded, starts: dict[int, int]) -> list[Part]:
    took = fmt_duration(event.t_ns - starts.pop(event.exchange, event.t_ns))
    status = f" {_safe(event.status)}" if event.status else ""
    style = _OUTCOME_STYLES.get(event.outcome, "error")
    return [(f"{_safe(OUTCOMES.get(event.outcome, event.outcome))}{status} in {took}", style)]


def _ended_explanation(event: ExchangeEnded) -> Explanation:
    scope = event.scope if isinstance(event.scope, dict) else {}
    return outcome_explanation(event.outcome, lifespan=scope.get("type") == "lifespan")


register(
    ExchangeEnded,
    label="app returned",
    summary=lambda e: (
        f"{short(OUTCOMES.get(e.outcome, e.outcome))}{f', status {e.status}' if e.status else ''}"
    ),
    explain=_ended_explanation,
    line=_ended_line,
    step=lambda e: (
        "app",
        "server",
        f"returned: {safe_text(e.outcome)}{f' {e.status}' if e.status else ''}",
        "dim",
    ),
    listed=True,
)


_SEVERITY_STYLES = {"error": "error", "warning": "warning", "info": "info", "perf": "info"}
"""The style name of a finding's severity."""


def _severity(event: SpecViolation) -> str:
    return severity_of(event.rule)


def _violation_line(event: SpecViolation, starts: dict[int, int]) -> list[Part]:
    severity = _severity(event)
    mark = "⚠" if severity in COUNTED else "ⓘ"
    style = _SEVERITY_STYLES[severity]
    return [
        (f"{mark} spec {severity} {safe_text(event.rule)}: ", style),
        (safe_text(event.detail), f"{style}.detail" if severity in COUNTED else "dim"),
        (f"  ({safe_text(event.section)})", "dim"),
    ]


register(
    SpecViolation,
    label="spec violation",
    summary=lambda e: f"{_severity(e)} {short(e.rule)}: {short(e.detail, 80)}",
    explain=lambda e: Explanation(
        f"The app broke the ASGI rule {safe_text(e.rule)}: "
        f"{safe_text(e.detail)}. The detail quotes what the spec asks.",
        safe_text(e.section),
    ),
    line=_violation_line,
    style="error",
    arrow="spec ⚠ app",
    step=lambda e: ("app", "app", "⚠ " + safe_text(e.rule), "error"),
    listed=True,
)

# -- WebSocket -----------------------------------------------------------------


def _frame_line(event: WebSocketFrame, starts: dict[int, int]) -> list[Part]:
    arrow = "⇠ frame received " if event.direction == "in" else "⇢ frame sent "
    text = frame_summary(event.opcode, event.fin, event.length, event.payload, event.complete)
    return [(arrow, "dim"), (text, "")]


def _frame_step(event: WebSocketFrame) -> Step:
    text = frame_summary(event.opcode, event.fin, event.length, event.payload, event.complete)
    if event.direction == "in":
        return ("client", "server", text, "bytes")
    return ("server", "client", text, "bytes")


register(
    WebSocketFrame,
    label=lambda e: f"frame {opcode_name(e.opcode)}",
    summary=frame_text,
    explain=lambda e: Explanation(
        f"{'The client sent' if e.direction == 'in' else 'The server sent'} "
        f"{opcode_explanation(e.opcode)}.",
        "RFC 6455 §5 (data framing)",
    ),
    line=_frame_line,
    arrow=lambda e: "client ⇢ server" if e.direction == "in" else "client ⇠ server",
    marker=lambda e: ("›" if e.direction == "in" else "‹", "dim"),
    wire=lambda e, _: (e.direction, e.wire),
    step=_frame_step,
    listed=True,
)

# -- OpenTelemetry in (attach --otlp-listen) -----------------------------------

_RECEIVED = ("http.request", "http.disconnect", "websocket.connect", "websocket.receive")
"""ASGI message types the app receives (the rest it sends)."""

_OTEL = Explanation(
    "A span (or log record) an OpenTelemetry-instrumented app exported over OTLP to "
    "attach --otlp-listen. A SERVER span is the exchange; opentelemetry-instrumentation-asgi "
    "adds one span per ASGI message under it (http receive, http send). Only what the "
    "spans say is known: no bytes, no scope snapshot, no message bodies.",
    "OpenTelemetry specification, Tracing API (Span) and OTLP/HTTP",
)


def otel_direction(event: OtelSpan) -> str:
    """``"in"`` for a span or record of a message the app received, ``"out"`` for
    one it sent, ``""`` for the SERVER span and anything else."""
    kind = event.message_type
    if kind:
        return "in" if kind in _RECEIVED else "out" if "." in kind else ""
    name = event.name
    return "in" if name.endswith(" receive") else "out" if name.endswith(" send") else ""


def _otel_label(event: OtelSpan) -> str:
    if event.span_kind == "server":
        return "OTel server span"
    if event.message_type:
        return short(event.message_type)
    return "OTel log" if event.span_kind == "log" else f"OTel {short(event.span_kind)} span"


def _otel_summary(event: OtelSpan) -> str:
    took = "" if event.span_kind == "log" else f" ({fmt_duration(event.end_ns - event.t_ns)})"
    if event.span_kind == "server":
        status = f" → {event.http_status}" if event.http_status else ""
        target = short(event.path + (f"?{event.query}" if event.query else ""), 80)
        head = f"{short(event.method, 12)} {target}{status}{took}"
    else:
        head = f"{short(event.name, 80)}{took}"
    if event.status == "error":
        head += f" ERROR {short(event.status_message, 60)}".rstrip()
    return head


def _otel_line(event: OtelSpan, starts: dict[int, int]) -> list[Part]:
    if event.span_kind == "server":
        starts[event.exchange] = event.t_ns
        return [
            ("otel ", "dim"),
            (_otel_summary(event), "strong"),
            (f"  trace {_safe(event.trace_id)}", "dim"),
        ]
    direction = otel_direction(event)
    arrow = {"in": INTO_APP, "out": OUT_OF_APP}.get(direction, "otel")
    return [
        (f"{arrow}  ", direction or "dim"),
        (_otel_label(event), "strong"),
        (f"  {_otel_summary(event)}", ""),
    ]


def _otel_step(event: OtelSpan) -> Step:
    direction = otel_direction(event)
    if event.span_kind == "server":
        return ("server", "app", "OTel " + _otel_summary(event), "in")
    if direction == "in":
        return ("server", "app", _otel_label(event), "in")
    if direction == "out":
        return ("app", "server", _otel_label(event), "out")
    return ("app", "server", _otel_label(event), "dim")  # a log record, another span


register(
    OtelSpan,
    label=_otel_label,
    summary=_otel_summary,
    explain=_OTEL,
    line=_otel_line,
    style=lambda e: "error" if e.status == "error" else otel_direction(e) or "dim",
    arrow=lambda e: {"in": INTO_APP, "out": OUT_OF_APP}.get(otel_direction(e), "otel"),
    marker=lambda e: {"in": ("▶", "in"), "out": ("◀", "out")}.get(otel_direction(e), ("○", "dim")),
    step=_otel_step,
    listed=True,
)

# -- the proxy and the server itself -------------------------------------------

register(
    ProxyTimings,
    label="proxy timings",
    summary=proxy_timings,
    explain=Explanation(
        "How the proxy spent this exchange's time: connecting upstream, waiting on the "
        "upstream, waiting on the client.",
        "RFC 9110 §7.6 (intermediaries)",
    ),
    line=lambda e, _: [(proxy_timings(e), "error" if e.error else "info")],
    style=lambda e: "error" if e.error else "dim",
)

_LEVELS: dict[str, str] = {"info": "info", "warning": "warning", "error": "error", "reload": "info"}
"""The style name of a note's level (any other level, read from a capture: plain)."""

_NOTE = Explanation(
    "A note from the server about itself (listening, lifespan, a warning, a reload): "
    "not part of any exchange.",
    "asgi-scope",
)
_OUTPUT = Explanation(
    "A line the app wrote to its stdout or stderr while this exchange's app was the only "
    "one running in the app process.",
    "asgi-scope",
)

# A note is listed (Messages, Timeline) only where an exchange holds it: a line of
# the app's output written while that exchange ran (trace/store.py).
register(
    ServerNote,
    label=lambda e: _safe(e.level),
    summary=lambda e: without_sgr(e.text) if e.level == "output" else safe_text(e.text),
    explain=lambda e: _OUTPUT if e.level == "output" and e.exchange else _NOTE,
    # A debug note (a traceback kept for the notes panel) prints no line.
    line=lambda e, _: (
        None if e.level == "debug" else [(safe_text(e.text), _LEVELS.get(e.level, ""))]
    ),
    style=lambda e: "out" if e.level == "output" else _LEVELS.get(e.level, "dim"),
    arrow=lambda e: "app → output" if e.level == "output" else "server",
    marker=("▪", "dim"),
    listed=True,
    note=True,
)
