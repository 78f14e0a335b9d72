"""What each middleware layer changed, read from one exchange's layer events.

A layer sits between two boundaries (:mod:`asgi_scope.trace.layers`): above it,
what it was given and what it sent back up; below it, what it gave the next
layer and what that layer sent up to it. Comparing the two sides says what the
layer did: headers added, removed or changed, a status changed, a body
re-encoded or re-chunked, bodies held back, scope keys added, a response the
layer answered itself. Every view shows these same :class:`Change` records;
they are computed here only, from the events (never recorded: the app's
process does no diffing), and the headless printer prints each as a line
``NAME changed …`` through :class:`ChangeTracker`.

Depth 0 is the outermost layer, whose upper side is the server's boundary
(:class:`ScopeCreated`, :class:`MessageReceived`, :class:`MessageSent`). Only
HTTP messages are compared; a WebSocket exchange gets scope changes and
answers only. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asgi_scope.trace.events import (
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
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Exchange
from asgi_scope.trace.summary import fmt_duration, short

__all__ = [
    "LAYER_EVENTS",
    "Change",
    "ChangeTracker",
    "Visit",
    "by_layer",
    "changes",
    "changes_of",
    "visits",
]

LAYER_EVENTS = (LayerEntered, LayerReceived, LayerSent, LayerReturned)
"""The event classes of one layer's boundary (trace/layers.py)."""

Timed = tuple[int, dict[str, Any], int]
"""A message at a boundary: ``(t_ns, message, dropped body bytes)``."""


@dataclass(frozen=True, slots=True)
class Change:
    """One thing ``layer`` (at ``depth``) changed. ``kind`` is one of
    ``"header"``, ``"status"``, ``"body"``, ``"held"``, ``"scope"``,
    ``"request"``, ``"answered"``; ``text`` safe display text that reads after
    the layer's name (``added header access-control-allow-origin: *``)."""

    layer: str
    depth: int
    kind: str
    text: str

    @property
    def line(self) -> str:
        """``CORSMiddleware added header access-control-allow-origin: *``."""
        return f"{safe_text(self.layer)} {self.text}"


@dataclass(slots=True)
class Visit:
    """One layer's call in an exchange: its name, module, whether it is an
    endpoint (it holds no next layer), the scope as it entered (None: unknown),
    the messages it received from above and sent up, with their times, and how
    its call ended (``outcome`` ``""`` while running)."""

    depth: int
    layer: str
    module: str
    t_ns: int
    endpoint: bool = False
    scope: dict[str, Any] | None = None
    received: list[Timed] = field(default_factory=list)
    sent: list[Timed] = field(default_factory=list)
    outcome: str = ""
    exc_type: str = ""


def visits(events: list[Event]) -> list[Visit]:
    """The layers an exchange went through, outermost first (one per depth: a
    layer called twice keeps its first call). Empty when it has no layer events."""
    by_depth: dict[int, Visit] = {}
    server = Visit(0, "", "", 0)
    for event in events:
        kind = type(event)
        if kind is LayerEntered:
            if event.depth not in by_depth:
                by_depth[event.depth] = Visit(
                    event.depth,
                    str(event.layer),
                    str(event.module),
                    event.t_ns,
                    event.endpoint is True,
                    event.scope if isinstance(event.scope, dict) else None,
                )
        elif kind is LayerReceived or kind is LayerSent:
            visit = by_depth.get(event.depth)
            if visit is not None and isinstance(event.message, dict):
                side = visit.received if kind is LayerReceived else visit.sent
                side.append((event.t_ns, event.message, event.dropped))
        elif kind is LayerReturned:
            visit = by_depth.get(event.depth)
            if visit is not None and not visit.outcome:
                visit.outcome, visit.exc_type = str(event.outcome), str(event.exc_type)
        elif kind is ScopeCreated:
            server.scope = event.scope
        elif kind is MessageReceived or kind is MessageSent:
            if isinstance(event.message, dict):
                side = server.received if kind is MessageReceived else server.sent
                side.append((event.t_ns, event.message, event.dropped))
        elif kind is ExchangeEnded:
            server.outcome = str(event.outcome)
    top = by_depth.get(0)
    if top is None:
        return []
    top.scope, top.received, top.sent = server.scope, server.received, server.sent
    top.outcome = top.outcome or server.outcome
    out = []
    for depth in range(len(by_depth)):
        visit = by_depth.get(depth)
        if visit is None:
            break
        out.append(visit)
    return out


def changes(events: list[Event]) -> list[Change]:
    """What each layer of the exchange whose ``events`` these are changed,
    outermost layer first, each layer's changes in the order scope, request,
    answer, status, headers, body."""
    layers = visits(events)
    out: list[Change] = []
    for i, upper in enumerate(layers):
        lower = layers[i + 1] if i + 1 < len(layers) else None
        out += _layer_changes(upper, lower)
    return out


def by_layer(events: list[Event]) -> list[Event]:
    """The layer events of ``events`` grouped by layer, outermost first, each
    layer's in time order (a view lists them under their layer)."""
    groups: dict[int, list[Event]] = {}
    for event in events:
        if type(event) in LAYER_EVENTS:
            groups.setdefault(event.depth, []).append(event)  # type: ignore[attr-defined]
    return [event for depth in sorted(groups) for event in groups[depth]]


_CACHE: dict[tuple[int, int, int], list[Change]] = {}
_CACHE_SIZE = 512


def changes_of(exchange: Exchange) -> list[Change]:
    """:func:`changes` of a store's exchange, computed once per state of the
    exchange (its id, start and number of events) for views and filters that
    ask again on every redraw; the newest :data:`_CACHE_SIZE` are kept."""
    key = (exchange.id, exchange.t_start, len(exchange.events))
    found = _CACHE.get(key)
    if found is None:
        if len(_CACHE) >= _CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]
        found = _CACHE[key] = changes(exchange.events)
    return found


def answered_by(exchange: Exchange) -> str:
    """The name of the middleware layer that answered ``exchange`` itself (a CORS
    preflight, an error page), escaped and cut to 30 characters; ``""`` when the
    endpoint did or no layers were traced."""
    for change in changes_of(exchange):
        if change.kind == "answered":
            return safe_text(change.layer)[:30]
    return ""


def _layer_changes(upper: Visit, lower: Visit | None) -> list[Change]:
    found: list[tuple[str, str]] = []
    if lower is not None and upper.scope is not None and lower.scope is not None:
        found += _scope(upper.scope, lower.scope)
    if lower is not None:
        found += _request(upper.received, lower.received)
    start_up = _start(upper.sent)
    start_down = _start(lower.sent) if lower is not None else None
    if start_up is not None and start_down is None:
        if lower is None:
            if not upper.endpoint:
                found.append(("answered", f"answered {_status(start_up)} itself"))
        elif lower.outcome == "error":
            found.append(
                (
                    "answered",
                    f"answered {_status(start_up)} after {safe_text(lower.layer)} raised "
                    f"{safe_text(lower.exc_type)}",
                )
            )
        else:
            found.append(
                (
                    "answered",
                    f"answered {_status(start_up)} itself (the next layer sent no response)",
                )
            )
    elif start_up is not None and start_down is not None:
        if start_up.get("status") != start_down.get("status"):
            found.append(("status", f"changed status {_status(start_down)} → {_status(start_up)}"))
        found += _headers(start_down.get("headers"), start_up.get("headers"))
        found += _body(lower.sent if lower is not None else [], upper.sent, start_up, start_down)
    return [Change(upper.layer, upper.depth, kind, text) for kind, text in found]


def _start(messages: list[Timed]) -> dict[str, Any] | None:
    for _, message, _ in messages:
        if message.get("type") == "http.response.start":
            return message
    return None


def _status(start: dict[str, Any]) -> str:
    return safe_text(str(start.get("status", "?")))


def _pairs(headers: Any) -> list[tuple[str, str]]:
    out = []
    for pair in headers if isinstance(headers, (list, tuple)) else ():
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            name, value = (
                p.decode("latin-1") if isinstance(p, (bytes, bytearray)) else str(p) for p in pair
            )
            out.append((name.lower(), value))
    return out


def _headers(before: Any, after: Any) -> list[tuple[str, str]]:
    """Headers added, removed or changed, by name (repeated names compared as lists)."""
    old: dict[str, list[str]] = {}
    new: dict[str, list[str]] = {}
    for name, value in _pairs(before):
        old.setdefault(name, []).append(value)
    for name, value in _pairs(after):
        new.setdefault(name, []).append(value)
    found = []
    for name, values in new.items():
        shown = safe_text(name)
        if name not in old:
            for value in values:
                found.append(("header", f"added header {shown}: {short(value, 60)}"))
        elif old[name] != values:
            was, now = ", ".join(old[name]), ", ".join(values)
            found.append(("header", f"changed header {shown}: {short(was, 40)} → {short(now, 40)}"))
    for name in old:
        if name not in new:
            found.append(("header", f"removed header {safe_text(name)}"))
    return found


def _bodies(messages: list[Timed], kind: str) -> list[Timed]:
    return [m for m in messages if m[1].get("type") == kind]


def _size(bodies: list[Timed]) -> int:
    total = 0
    for _, message, dropped in bodies:
        body = message.get("body", b"")
        total += (len(body) if isinstance(body, (bytes, str)) else 0) + dropped
    return total


def _joined(bodies: list[Timed]) -> bytes:
    return b"".join(
        m.get("body", b"") for _, m, _ in bodies if isinstance(m.get("body", b""), bytes)
    )


def _count(bodies: list[Timed]) -> str:
    n = len(bodies)
    return f"{n} {'body' if n == 1 else 'bodies'} of {_size(bodies):,} B"


def _body(
    below: list[Timed], above: list[Timed], start_up: dict[str, Any], start_down: dict[str, Any]
) -> list[tuple[str, str]]:
    """Bodies re-encoded, changed or re-chunked; bodies held back."""
    got = _bodies(below, "http.response.body")
    gave = _bodies(above, "http.response.body")
    found = []
    if got and gave and (len(got) != len(gave) or _joined(got) != _joined(gave)):
        encoding = dict(_pairs(start_up.get("headers"))).get("content-encoding")
        before = dict(_pairs(start_down.get("headers"))).get("content-encoding")
        became = f"{_count(got)} became {_count(gave)}"
        if encoding and encoding != before:
            found.append(("body", f"re-encoded {became}, content-encoding {short(encoding)}"))
        elif _joined(got) != _joined(gave):
            found.append(("body", f"changed the body: {became}"))
        else:
            found.append(("body", f"re-chunked {became}"))
    if len(got) >= 2 and gave:
        first_out = next(t for t, _, _ in gave)
        held = [b for b in got if b[0] <= first_out]
        if len(held) == len(got) and first_out >= got[-1][0]:
            took = fmt_duration(first_out - got[0][0])
            n = len(gave)
            found.append(("held", f"held {len(got)} bodies for {took}, then sent {n} {_plural(n)}"))
    return found


def _plural(n: int) -> str:
    return "body" if n == 1 else "bodies"


def _request(above: list[Timed], below: list[Timed]) -> list[tuple[str, str]]:
    got = _bodies(above, "http.request")
    gave = _bodies(below, "http.request")
    if got and gave and _joined(got) != _joined(gave):
        return [("request", f"changed the request body: {_count(got)} became {_count(gave)}")]
    return []


_ATOMS = (str, bytes, int, float)


def _scope(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for key, value in after.items():
        shown = short(key, 40)
        if key not in before:
            found.append(("scope", f'added scope["{shown}"]'))
            continue
        old = before[key]
        if old is value:
            continue
        try:
            same = bool(old == value)
        except Exception:
            same = False
        if same:
            continue
        if isinstance(value, (str, bytes, int, float)) and isinstance(
            old, (str, bytes, int, float)
        ):
            found.append(
                ("scope", f'changed scope["{shown}"]: {short(repr(old))} → {short(repr(value))}')
            )
        else:
            found.append(("scope", f'changed scope["{shown}"]'))
    for key in before:
        if key not in after:
            found.append(("scope", f'removed scope["{short(key, 40)}"]'))
    return found


class ChangeTracker:
    """Follows a stream of events and says, when an exchange with layers ends,
    what each of its layers changed (for the headless printer).

    :meth:`feed` keeps the events :func:`changes` reads of exchanges that have
    layers (at most :attr:`MAX_EVENTS` each: past that an exchange is
    forgotten), and returns the exchange's changes at its :class:`ExchangeEnded`.
    """

    MAX_EVENTS = 10_000
    KINDS = (MessageReceived, MessageSent, LayerEntered, LayerReceived, LayerSent, LayerReturned)

    def __init__(self) -> None:
        self._events: dict[int, list[Event]] = {}
        self._scopes: dict[int, ScopeCreated] = {}

    def feed(self, event: Event) -> list[Change]:
        """Take one event; the changes of its exchange if it ended with it, else []."""
        kind = type(event)
        exchange = getattr(event, "exchange", 0)
        if kind is ScopeCreated:
            self._scopes[exchange] = event  # type: ignore[assignment]
            return []
        if kind is ExchangeEnded:
            self._scopes.pop(exchange, None)
            kept = self._events.pop(exchange, None)
            return changes(kept) if kept else []
        if kind is LayerEntered and exchange not in self._events:
            scope = self._scopes.pop(exchange, None)
            if scope is None:
                return []
            self._events[exchange] = [scope]
        kept = self._events.get(exchange)
        if kept is not None and kind in self.KINDS:
            kept.append(event)
            if len(kept) > self.MAX_EVENTS:
                del self._events[exchange]
        return []
