"""Filter expressions over exchanges: a small language in mitmproxy's ``~x`` style.

:func:`parse` turns a string such as ``~m POST & ~c 4xx`` into a
:class:`Filter`, a predicate on :class:`~asgi_scope.trace.store.Exchange`; a
string that does not parse raises :class:`FilterError` with the position of the
problem, for an inline message (never a traceback).

The syntax (:data:`HELP` is the same table, for the help screen)::

    ~m GET          method, case-insensitive; a regular expression: ~m 'GET|HEAD'
    ~u REGEX        path and query string match REGEX (search, case-insensitive)
    ~p GLOB         path matches a shell glob: ~p '/api/*'
    ~c 404          status: a code (404), a class (4xx) or a range (400-499)
    ~t TYPE         scope type: http, websocket (or ws), lifespan
    ~v              has a spec violation
    ~e              ended in error (the app raised, a protocol error, incomplete)
    ~h TEXT         a request or response header (name: value) contains TEXT
    ~hq, ~hs        ...request headers only, response headers only
    ~b TEXT         a request or response body, as stored or decoded, contains TEXT
    ~bq, ~bs        ...the request body only, the response body only
    ~d MS           took more than MS milliseconds (ended exchanges)
    ~l NAME         a middleware layer whose name matches NAME (a regex, case-insensitive)
                    changed something (trace/layer_changes.py)
    ~tid ID         its OpenTelemetry trace id starts with ID (hex; trace/tracecontext.py)
    WORD            the path contains WORD (case-insensitive)
    !X              not X
    X & Y, X Y      both
    X | Y           either (``&`` binds tighter than ``|``)
    ( ... )         grouping; "double" or 'single' quotes for spaces

Matching reads only what the store keeps: headers from the scope and from
``http.response.start``, bodies from the message snapshots (up to the body cap;
WebSocket ``text`` and ``bytes`` count as bodies; a body with a
``content-encoding`` is also searched decoded), never the raw bytes.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from asgi_scope.trace import content
from asgi_scope.trace.events import MessageReceived, MessageSent
from asgi_scope.trace.layer_changes import changes_of
from asgi_scope.trace.store import Exchange
from asgi_scope.trace.tracecontext import SESSION

__all__ = ["HELP", "Filter", "FilterError", "parse"]

HELP = (
    ("~m GET", "method (a regex: ~m 'GET|HEAD')"),
    ("~u REGEX", "path and query match REGEX"),
    ("~p GLOB", "path matches a glob: ~p '/api/*'"),
    ("~c 404", "status: 404, a class 4xx, a range 400-499"),
    ("~t TYPE", "scope type: http, websocket (ws), lifespan"),
    ("~v", "has a spec violation"),
    ("~e", "ended in error"),
    ("~h TEXT", "a header contains TEXT (~hq request, ~hs response)"),
    ("~b TEXT", "a body contains TEXT (~bq request, ~bs response)"),
    ("~d MS", "took more than MS milliseconds"),
    ("~l NAME", "a middleware layer named NAME changed it"),
    ("~tid ID", "its OpenTelemetry trace id starts with ID"),
    ("WORD", "the path contains WORD"),
    ("!X  X & Y  X | Y  (X)", "not, and (a space too), or, grouping"),
)
"""``(syntax, meaning)`` rows for the help screen and the README."""

Predicate = Callable[[Exchange], bool]


class FilterError(ValueError):
    """A filter that does not parse. ``position`` is the 0-based index in the text
    where the problem is (for a caret under it); ``str(error)`` says what it is."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter: ``text`` as typed, and :meth:`__call__` to test an exchange."""

    text: str
    predicate: Predicate

    def __call__(self, exchange: Exchange) -> bool:
        try:
            return self.predicate(exchange)
        except Exception:  # an exchange with strange app data never breaks a view
            return False


# -- tokens -----------------------------------------------------------------

_OPERATORS = {
    "~m",
    "~u",
    "~p",
    "~c",
    "~t",
    "~v",
    "~e",
    "~h",
    "~hq",
    "~hs",
    "~b",
    "~bq",
    "~bs",
    "~d",
    "~l",
    "~tid",
}
_NO_VALUE = {"~v", "~e"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(", ")", "!", "&", "|", "op", "word", "end"
    text: str
    position: int


def _tokens(text: str) -> Iterator[_Token]:
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()!&|":
            yield _Token(char, char, i)
            i += 1
        elif char in "\"'":
            end = text.find(char, i + 1)
            if end < 0:
                raise FilterError(f"unclosed quote {char}", i)
            yield _Token("word", text[i + 1 : end], i)
            i = end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "()&|":
                i += 1
            word = text[start:i]
            if word.startswith("~"):
                if word not in _OPERATORS:
                    raise FilterError(f"unknown filter {word} (see the help screen: ?)", start)
                yield _Token("op", word, start)
            else:
                yield _Token("word", word, start)
    yield _Token("end", "", n)


# -- the parser (recursive descent) -----------------------------------------


# How many ``!`` and ``(`` may nest: far past what anyone types, far short of
# Python's recursion limit (the parser and the predicates it builds recurse).
MAX_DEPTH = 100


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.i = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.either()
        if self.token.kind != "end":
            raise FilterError(f"unexpected {self.token.text!r}", self.token.position)
        return predicate

    def either(self) -> Predicate:
        parts = [self.both()]
        while self.token.kind == "|":
            self.take()
            parts.append(self.both())
        if len(parts) == 1:
            return parts[0]
        return lambda x: any(p(x) for p in parts)

    def both(self) -> Predicate:
        parts = [self.negation()]
        while self.token.kind in ("&", "!", "(", "op", "word"):
            if self.token.kind == "&":
                self.take()
            parts.append(self.negation())
        if len(parts) == 1:
            return parts[0]
        return lambda x: all(p(x) for p in parts)

    def deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"nested too deeply (more than {MAX_DEPTH} ! or ( )", token.position)

    def negation(self) -> Predicate:
        if self.token.kind == "!":
            self.deeper(self.take())
            inner = self.negation()
            self.depth -= 1
            return lambda x: not inner(x)
        return self.atom()

    def atom(self) -> Predicate:
        token = self.take()
        if token.kind == "(":
            self.deeper(token)
            inner = self.either()
            if self.token.kind != ")":
                raise FilterError("missing )", self.token.position)
            self.take()
            self.depth -= 1
            return inner
        if token.kind == "word":
            needle = token.text.lower()
            return lambda x: needle in x.path.lower()
        if token.kind == "op":
            if token.text in _NO_VALUE:
                return _simple(token.text)
            value = self.take()
            if value.kind != "word":
                raise FilterError(f"{token.text} needs a value", value.position)
            return _valued(token.text, value.text, value.position)
        if token.kind == "end":
            raise FilterError("the filter ends too soon", token.position)
        raise FilterError(f"unexpected {token.text!r}", token.position)


def parse(text: str) -> Filter | None:
    """Parse ``text``; None for an empty filter (everything matches).

    Raises :class:`FilterError` (with ``position``) when it does not parse:
    an unknown ``~x``, a missing value, a bad regex, status or number, an
    unclosed quote or parenthesis, more than :data:`MAX_DEPTH` nested ``!`` or ``(``.
    """
    if not text.strip():
        return None
    parser = _Parser(text)
    try:
        return Filter(text, parser.parse())
    except RecursionError:  # MAX_DEPTH should make this unreachable; never a traceback
        position = parser.tokens[min(parser.i, len(parser.tokens) - 1)].position
        raise FilterError("nested too deeply", position) from None


# -- the predicates -----------------------------------------------------------


def _simple(op: str) -> Predicate:
    if op == "~v":
        return lambda x: x.violations > 0
    return lambda x: x.state == "error"


def _regex(value: str, position: int) -> re.Pattern[str]:
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise FilterError(f"bad regular expression: {exc.msg}", position) from None


def _valued(op: str, value: str, position: int) -> Predicate:
    if op == "~m":
        pattern = _regex(f"(?:{value})", position)
        return lambda x: pattern.fullmatch(x.method) is not None
    if op == "~u":
        pattern = _regex(value, position)
        return lambda x: pattern.search(_target(x)) is not None
    if op == "~p":
        glob = value
        return lambda x: fnmatch.fnmatchcase(x.path, glob)
    if op == "~c":
        low, high = _status_range(value, position)
        return lambda x: x.status is not None and low <= x.status <= high
    if op == "~t":
        kind = {"ws": "websocket"}.get(value.lower(), value.lower())
        if kind not in ("http", "websocket", "lifespan"):
            raise FilterError(f"~t takes http, websocket or lifespan, not {value!r}", position)
        return lambda x: x.kind == kind
    if op == "~d":
        try:
            limit_ns = int(float(value) * 1_000_000)
        except ValueError:
            raise FilterError(f"~d takes milliseconds, not {value!r}", position) from None
        return lambda x: x.duration_ns is not None and x.duration_ns > limit_ns
    if op == "~l":
        pattern = _regex(value, position)
        return lambda x: any(pattern.search(c.layer) for c in changes_of(x))
    if op == "~tid":
        prefix = value.lower()
        if not re.fullmatch(r"[0-9a-f]{1,32}", prefix):
            raise FilterError(f"~tid takes a trace id in hex, not {value!r}", position)

        def trace_id(x: Exchange) -> str:
            span = x.otel_span()  # an OpenTelemetry SERVER span has its own
            if span is not None:
                return span.trace_id
            return "" if x.scope is None else SESSION.of(x.id, x.scope.get("headers")).trace_hex

        return lambda x: trace_id(x).startswith(prefix)
    if op.startswith("~h"):
        needle = value.lower()
        side = op[2:]
        return lambda x: any(needle in h for h in _headers(x, side))
    # ~b, ~bq, ~bs
    text, data = value, value.encode("utf-8", "surrogateescape")
    side = op[2:]
    return lambda x: any(
        (text in body) if isinstance(body, str) else (data in body) for body in _bodies(x, side)
    )


def _status_range(value: str, position: int) -> tuple[int, int]:
    text = value.lower()
    try:
        if re.fullmatch(r"[1-5]xx", text):
            base = int(text[0]) * 100
            return base, base + 99
        if "-" in text:
            low, high = text.split("-", 1)
            return int(low), int(high)
        code = int(text)
        return code, code
    except ValueError:
        raise FilterError(f"~c takes 404, 4xx or 400-499, not {value!r}", position) from None


def _target(exchange: Exchange) -> str:
    query = exchange.scope.get("query_string") if exchange.scope else None
    if isinstance(query, bytes) and query:
        return f"{exchange.path}?{query.decode('latin-1')}"
    return exchange.path


def _header_lines(headers: Any) -> Iterator[str]:
    if not isinstance(headers, (list, tuple)):
        return
    for item in headers:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            name, value = item
            name = name.decode("latin-1") if isinstance(name, bytes) else str(name)
            value = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            yield f"{name}: {value}".lower()


def _headers(exchange: Exchange, side: str) -> Iterator[str]:
    """Request (``q``), response (``s``) or both (``""``) headers as lower-case lines."""
    if side in ("", "q") and exchange.scope:
        yield from _header_lines(exchange.scope.get("headers"))
    if side in ("", "s"):
        for event in exchange.events:
            if isinstance(event, MessageSent) and isinstance(event.message, dict):
                kind = event.message.get("type")
                if kind in ("http.response.start", "websocket.accept", "http.response.trailers"):
                    yield from _header_lines(event.message.get("headers"))


def _bodies(exchange: Exchange, side: str) -> Iterator[bytes | str]:
    """The stored bodies of the request (``q``), the response (``s``) or both: each
    message's body, and the whole of each side joined (a needle across two chunks)."""
    wanted = (MessageReceived,) if side == "q" else (MessageSent,) if side == "s" else None
    joined: dict[type, list[bytes]] = {MessageReceived: [], MessageSent: []}
    for event in exchange.events:
        if not isinstance(event, (MessageReceived, MessageSent)):
            continue
        if wanted is not None and not isinstance(event, wanted):
            continue
        message = event.message
        if not isinstance(message, dict):
            continue
        for key in ("body", "bytes", "text"):
            value = message.get(key)
            if isinstance(value, str):
                yield value
                joined[type(event)].append(value.encode("utf-8", "surrogateescape"))
            elif isinstance(value, (bytes, bytearray)):
                joined[type(event)].append(bytes(value))
    for kind, parts in joined.items():
        if parts:
            whole = b"".join(parts)
            yield whole
            coding = content.header(_side_headers(exchange, kind), b"content-encoding")
            if coding:  # a gzip'd body is searched as the text it stands for
                yield content.decode(whole, coding).body


def _side_headers(exchange: Exchange, kind: type) -> Any:
    """The headers of the request (``kind`` MessageReceived) or of the response."""
    if kind is MessageReceived:
        return exchange.scope.get("headers") if exchange.scope else None
    for event in exchange.events:
        message = event.message if isinstance(event, MessageSent) else None
        if isinstance(message, dict) and message.get("type") == "http.response.start":
            return message.get("headers")
    return None
