"""The spec checker: the ASGI rules an app can break, and a state machine per exchange.

Each exchange gets one checker (:func:`checker_for`, chosen by ``scope["type"]``)
that the :class:`~asgi_scope.trace.shim.Shim` feeds every message the app sends
(:meth:`Checker.sent`), every message its ``receive()`` returned
(:meth:`Checker.received`) and the end of the app's call (:meth:`Checker.ended`).
Each returns None when all is well (the hot path: a few ``type()`` and dict
look-ups per message) or a list of ``(rule id, detail)`` findings, which the shim
records as :class:`~asgi_scope.trace.events.SpecViolation` events next to the
message that broke the rule.

The checker only observes: the server enforces what it must on its own (a
``RuntimeError`` raised from ``send``, a 500, a closed connection), so the
client is answered as the spec says whether or not a rule is checked here.

The rules are in :data:`RULES`, one :class:`Rule` each, with the spec section and
the spec's own words they enforce. Sources, by version:

- ASGI 3.0 core spec ("asgi.rst"): messages, error handling, extensions;
- HTTP & WebSocket ASGI Message Format 2.5 ("www.rst"), HTTP and WebSocket parts;
- ASGI extensions (``http.response.trailers``, ``http.response.pathsend``,
  ``websocket.http.response``);
- Lifespan Protocol 2.0 ("lifespan.rst");
- RFC 9110 / RFC 9112 (Content-Length) and RFC 6455 (close codes, subprotocols),
  where the ASGI spec defers to them.

Not checked (they would cost the hot path or need the server's view): header
*values* beyond their type (RFC 9110 §5.5 field-value characters, which h11
enforces), items of a header iterable that is not a list, tuple or dict (a
generator can be read only once, and it is the server's to read), whether
``receive()`` is awaited concurrently from two tasks, a ``websocket.send`` after the
client left (the spec makes that the server's ``OSError``, not the app's fault),
and an app that never returns at all (its exchange stays open in the views).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from asgi_scope.trace.events import Event, SpecViolation

__all__ = ["RULES", "Checker", "Finding", "Rule", "Strict", "checker_for", "rule"]

Finding = tuple[str, str]
"""``(rule id, detail)``: one broken rule and what this message did."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One ASGI rule. ``id`` is stable (``protocol.what``), ``protocol`` is ``asgi``,
    ``http``, ``websocket`` or ``lifespan``, ``section`` names the spec and section,
    ``text`` quotes (or closely paraphrases) the spec's words, ``title`` is a short
    phrase for lists."""

    id: str
    protocol: str
    section: str
    title: str
    text: str


_CORE = "ASGI 3.0"
_WWW = "ASGI HTTP 2.5"
_WS = "ASGI WebSocket 2.5"
_LIFE = "ASGI Lifespan 2.0"

RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        # -- every protocol --------------------------------------------------
        Rule(
            "asgi.message-dict", "asgi", f"{_CORE}, Events",
            "a message is a dict",
            "Each event is a dict with a top-level type key that contains a Unicode "
            "string of the message type.",
        ),
        Rule(
            "asgi.message-type", "asgi", f"{_CORE}, Events",
            "a message has a str type",
            "Each event is a dict with a top-level type key that contains a Unicode "
            "string of the message type.",
        ),
        Rule(
            "asgi.unknown-type", "asgi", f"{_CORE}, Error Handling",
            "a message type the protocol defines",
            "If a server receives an invalid event dictionary - for example, having an "
            "unknown type, missing keys an event type should have, or with wrong Python "
            "types for objects - it should raise an exception out of the send awaitable.",
        ),
        Rule(
            "asgi.extension-offered", "asgi", f"{_CORE}, Extensions",
            "an extension is used only when offered",
            "Servers advertise extensions in scope['extensions']; an application must "
            "only send an extension's messages if the server lists it there.",
        ),
        # -- HTTP ------------------------------------------------------------
        Rule(
            "http.start-first", "http", f"{_WWW}, Response Start - send event",
            "http.response.start comes first",
            "Starts sending a response to the client. Needs to be followed by at least "
            "one response content message. (A response body continues a started response.)",
        ),
        Rule(
            "http.start-once", "http", f"{_WWW}, Response Start - send event",
            "one http.response.start per response",
            "Starts sending a response to the client: a response has exactly one start.",
        ),
        Rule(
            "http.status-int", "http", f"{_WWW}, Response Start - send event",
            "status is an int",
            "status (int) - HTTP status code.",
        ),
        Rule(
            "http.status-range", "http", "RFC 9110 §15",
            "status is a three-digit code, 100 to 599",
            "The status code of a response is a three-digit integer code; values outside "
            "the range 100..599 are invalid.",
        ),
        Rule(
            "http.headers-shape", "http", f"{_WWW}, Response Start - send event",
            "headers are [name, value] pairs of bytes",
            "headers (Iterable[[byte string, byte string]]) - An iterable of [name, value] "
            "two-item iterables, where name is the header name, and value is the header value.",
        ),
        Rule(
            "http.header-lowercase", "http", f"{_WWW}, Response Start - send event",
            "header names are lower-case",
            "Header names must be lowercased.",
        ),
        Rule(
            "http.header-pseudo", "http", f"{_WWW}, Response Start - send event",
            "no pseudo headers",
            "Pseudo headers (present in HTTP/2 and HTTP/3) must not be present.",
        ),
        Rule(
            "http.flag-bool", "http", f"{_WWW}, Response Body - send event",
            "more_body, trailers and more_trailers are bools",
            "more_body (bool) - Signifies if there is additional content to come (as part "
            "of a Response Body message). trailers (bool) - Signifies if the application "
            "will send trailers.",
        ),
        Rule(
            "http.body-bytes", "http", f"{_WWW}, Response Body - send event",
            "body is bytes, not str",
            "body (byte string) - HTTP body content. Concatenated onto any previous body "
            "values sent in this connection scope. Optional; if missing defaults to b''.",
        ),
        Rule(
            "http.after-complete", "http", f"{_WWW}, Response Body - send event",
            "nothing after the response completed",
            "more_body: If False, response will be taken as complete and closed, and any "
            "further messages on the channel will be ignored.",
        ),
        Rule(
            "http.content-length", "http", "RFC 9112 §6.3, RFC 9110 §8.6",
            "Content-Length agrees with the body sent",
            "If a valid Content-Length header field is present, its value is the number "
            "of octets of the body; a sender must not send more, and a message with fewer "
            "is incomplete.",
        ),
        Rule(
            "http.trailers-order", "http", "ASGI extension HTTP Trailers",
            "trailers announced, and sent after the last body",
            "trailers (bool) in http.response.start: if True, the server must wait until "
            "it receives a http.response.trailers message after the Response Body event "
            "(more_body False). Trailers are sent only if announced there.",
        ),
        Rule(
            "http.pathsend-path", "http", "ASGI extension Path Send",
            "pathsend's path is a str",
            "path (Unicode string) - The string representation of the absolute path to "
            "the file to be sent.",
        ),
        Rule(
            "http.incomplete", "http", f"{_WWW}, Response Start - send event",
            "the app finishes its response",
            "Needs to be followed by at least one response content message; the response "
            "is complete only when a body message has more_body False (and announced "
            "trailers have been sent).",
        ),
        Rule(
            "http.receive-after-disconnect", "http", f"{_WWW}, Disconnect - receive event",
            "no receive() after http.disconnect",
            "Sent to the application if receive is called after a response has been sent "
            "or after the HTTP connection has been closed. After it, the exchange is over: "
            "every further receive() returns it again (a loop on receive() spins).",
        ),
        # -- WebSocket -------------------------------------------------------
        Rule(
            "websocket.accept-first", "websocket", f"{_WS}, Connect - receive event",
            "accept before send",
            "This message must be responded to with either an Accept message or a Close "
            "message before the socket will pass websocket.receive messages.",
        ),
        Rule(
            "websocket.accept-once", "websocket", f"{_WS}, Accept - send event",
            "accept once, only while connecting",
            "Sent by the application when it wishes to accept an incoming connection "
            "(in answer to websocket.connect, once).",
        ),
        Rule(
            "websocket.subprotocol", "websocket", f"{_WS}, Accept - send event; RFC 6455 §4.2.2",
            "the subprotocol is one the client offered",
            "subprotocol (Unicode string) - The subprotocol the server wishes to accept. "
            "RFC 6455: the server selects one or none of the client's subprotocols.",
        ),
        Rule(
            "websocket.headers-shape", "websocket", f"{_WS}, Accept - send event",
            "headers are lower-case [name, value] pairs of bytes",
            "headers (Iterable[[byte string, byte string]]) - An iterable of [name, value] "
            "two-item iterables. Header names must be lowercased.",
        ),
        Rule(
            "websocket.send-one", "websocket", f"{_WS}, Send - send event",
            "exactly one of bytes and text",
            "Exactly one of bytes or text must be non-None. One or both keys may be "
            "present, however.",
        ),
        Rule(
            "websocket.send-types", "websocket", f"{_WS}, Send - send event",
            "bytes is bytes, text is str",
            "bytes (byte string) - Binary message content, or None. text (Unicode "
            "string) - Text message content, or None.",
        ),
        Rule(
            "websocket.close-code", "websocket", f"{_WS}, Close - send event; RFC 6455 §7.4",
            "the close code is an int an endpoint may send",
            "code (int) - The WebSocket close code, as per the WebSocket spec. RFC 6455: "
            "1005, 1006 and 1015 must not be set in a close frame; codes are 1000-4999.",
        ),
        Rule(
            "websocket.close-reason", "websocket", f"{_WS}, Close - send event; RFC 6455 §5.5",
            "the close reason is a short str",
            "reason (Unicode string) - A reason given for the closure, can be any string. "
            "RFC 6455: a control frame's payload is at most 125 bytes (123 for the reason).",
        ),
        Rule(
            "websocket.after-close", "websocket", f"{_WS}, Close - send event",
            "nothing after websocket.close",
            "Sent by the application to tell the server to close the connection; the "
            "exchange is over.",
        ),
        Rule(
            "websocket.denial-order", "websocket", "ASGI extension WebSocket Denial Response",
            "a denial response is start, then body, before accept",
            "websocket.http.response.start is sent instead of accept, before the "
            "handshake completes, and is followed by websocket.http.response.body "
            "messages until more_body is False.",
        ),
        Rule(
            "websocket.no-answer", "websocket", f"{_WS}, Connect - receive event",
            "the app answers the handshake",
            "This message must be responded to with either an Accept message or a Close "
            "message (or a complete denial response).",
        ),
        Rule(
            "websocket.receive-after-disconnect", "websocket",
            f"{_WS}, Disconnect - receive event",
            "no receive() after websocket.disconnect",
            "Sent to the application when either connection to the client is lost. "
            "After it the connection is gone: every further receive() returns it again.",
        ),
        # -- lifespan --------------------------------------------------------
        Rule(
            "lifespan.order", "lifespan", f"{_LIFE}, Startup / Shutdown - send events",
            "complete or failed answers startup or shutdown, once",
            "lifespan.startup.complete / .failed are sent in answer to lifespan.startup, "
            "lifespan.shutdown.complete / .failed in answer to lifespan.shutdown.",
        ),
        Rule(
            "lifespan.failed-message", "lifespan", f"{_LIFE}, Startup Failed - send event",
            "the failure message is a str",
            "message (Unicode string) - Optional; if missing defaults to ''.",
        ),
    )
}  # fmt: skip
"""Every rule the checker knows, by id."""


def rule(rule_id: str) -> Rule | None:
    """The :class:`Rule` of ``rule_id``, or None for an id this version does not know
    (a capture written by a newer release)."""
    return RULES.get(rule_id)


def _type_name(value: Any) -> str:
    return type(value).__name__


def _check_message(message: Any) -> tuple[str | None, list[Finding] | None]:
    """``(type, None)`` for a dict with a str type, else ``(None, findings)``."""
    if type(message) is not dict:
        if not isinstance(message, Mapping):
            return None, [("asgi.message-dict", f"sent a {_type_name(message)}, not a dict")]
        message = dict(message)
    kind = message.get("type")
    if type(kind) is not str:
        what = "no 'type' key" if kind is None else f"'type' is a {_type_name(kind)}"
        return None, [("asgi.message-type", what)]
    return kind, None


def _check_headers(
    headers: Any, shape: str, lower: str | None, pseudo: str | None
) -> tuple[list[Finding], list[tuple[bytes, bytes]]]:
    """Check a headers value; return findings and the well-formed pairs (for
    Content-Length). A list, tuple or dict is walked; any other iterable is left
    for the server (walking a generator would consume it)."""
    findings: list[Finding] = []
    pairs: list[tuple[bytes, bytes]] = []
    if isinstance(headers, (str, bytes, bytearray, int, float)) or headers is None:
        return [(shape, f"headers is a {_type_name(headers)}, not an iterable of pairs")], pairs
    if not isinstance(headers, (list, tuple, dict)):
        return findings, pairs
    seen: set[str] = set()
    for item in headers:
        if type(item) not in (tuple, list) or len(item) != 2:
            if shape not in seen:
                seen.add(shape)
                findings.append((shape, f"header {_short(item)} is not a [name, value] pair"))
            continue
        name, value = item
        if type(name) is not bytes or type(value) is not bytes:
            if shape not in seen:
                seen.add(shape)
                findings.append(
                    (
                        shape,
                        f"header ({_type_name(name)}, {_type_name(value)}): want (bytes, bytes)",
                    )
                )
            continue
        if lower and lower not in seen and name.lower() != name:
            seen.add(lower)
            findings.append((lower, f"header name {_short(name)} is not lower-case"))
        if pseudo and pseudo not in seen and name[:1] == b":":
            seen.add(pseudo)
            findings.append((pseudo, f"pseudo header {_short(name)}"))
        pairs.append((name, value))
    return findings, pairs


def _short(value: Any, limit: int = 40) -> str:
    """A bounded ``repr`` for a finding's detail (views escape it; it may raise)."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{_type_name(value)}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_bytes(value: Any) -> bool:
    # A byte string; bytearray and memoryview are bytes-like and every server takes them.
    return type(value) is bytes or isinstance(value, (bytes, bytearray, memoryview))


class Checker:
    """One exchange's state machine. Subclasses per scope type.

    :meth:`sent` and :meth:`received` take the message as the app gave it (not a
    snapshot: read only, never iterate what the server will read).
    """

    __slots__ = ("broken", "cancelled", "disconnected", "flagged_receive")

    receive_rule = ""

    def __init__(self) -> None:
        self.broken = False
        """A sent message broke a rule: end-of-exchange findings would only repeat it."""
        self.disconnected = False
        self.flagged_receive = False
        self.cancelled = False
        """The app's task was cancelled (the server's shutdown ran out of time)."""

    def sent(self, message: Any) -> list[Finding] | None:
        """Check a message the app passed to ``send()``; None if it follows the rules."""
        kind, findings = _check_message(message)
        if kind is not None:
            findings = self._sent(kind, message)
        if findings:
            self.broken = True
        return findings

    def _sent(self, kind: str, message: dict[str, Any]) -> list[Finding] | None:
        raise NotImplementedError

    def received(self, message: dict[str, Any]) -> list[Finding] | None:
        """Check the app's ``receive()`` call that returned ``message``."""
        findings = None
        if self.disconnected and self.receive_rule and not self.flagged_receive:
            self.flagged_receive = True
            findings = [(self.receive_rule, "receive() called again after the disconnect")]
        if message.get("type", "").endswith(".disconnect"):
            self.disconnected = True
        return findings

    def ended(self, outcome: str) -> list[Finding] | None:
        """Check the end of the app's call (``outcome`` as in ``ExchangeEnded``)."""
        return None


_HTTP_EXTENSIONS = frozenset(
    (
        "http.response.trailers",
        "http.response.pathsend",
        "http.response.zerocopysend",
        "http.response.debug",
        "http.response.push",
        "http.response.early_hint",
    )
)
"""Message types of HTTP extensions: sent only when ``scope["extensions"]`` lists them."""


class HTTPChecker(Checker):
    """``http`` (ASGI HTTP 2.5 and its extensions): start, body..., trailers."""

    __slots__ = ("body_sent", "declared", "extensions", "no_body", "state", "trailers")

    receive_rule = "http.receive-after-disconnect"

    START, BODY, TRAILERS, DONE = range(4)

    def __init__(self, scope: Mapping[str, Any]) -> None:
        super().__init__()
        self.state = self.START
        self.trailers = False
        self.declared: int | None = None
        self.body_sent = 0
        self.no_body = scope.get("method") == "HEAD"
        extensions = scope.get("extensions")
        self.extensions = extensions if isinstance(extensions, Mapping) else {}

    def _sent(self, kind: str, message: dict[str, Any]) -> list[Finding] | None:
        state = self.state
        if kind == "http.response.body":
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if state == self.BODY and type(body) is bytes and type(more) is bool:
                # The hot path: a well-formed body in a started response.
                self.body_sent += len(body)
                if not more:
                    self.state = self.TRAILERS if self.trailers else self.DONE
                if self.declared is not None and (
                    self.body_sent > self.declared or (not more and self.body_sent != self.declared)
                ):
                    return self._length(more)
                return None
            return self._body(state, body, more)
        if kind == "http.response.start":
            if state != self.START:
                return [self._order(state, kind, "http.start-once")]
            return self._start(message)
        if kind in _HTTP_EXTENSIONS and kind not in self.extensions:
            return [("asgi.extension-offered", f"{kind} is not in scope['extensions']")]
        if kind == "http.response.trailers":
            if state == self.DONE:
                return [("http.after-complete", f"{kind} after the response completed")]
            if state != self.TRAILERS:
                why = "not announced (trailers: True)" if not self.trailers else "before the body"
                return [("http.trailers-order", f"{kind} {why}")]
            findings, _ = _check_headers(message.get("headers", ()), "http.headers-shape",
                                         "http.header-lowercase", "http.header-pseudo")  # fmt: skip
            more = message.get("more_trailers", False)
            if type(more) is not bool:
                findings.append(("http.flag-bool", f"more_trailers is a {_type_name(more)}"))
            elif not more:
                self.state = self.DONE
            return findings or None
        if kind == "http.response.pathsend":
            if state != self.BODY:
                return [self._order(state, kind, "http.start-first")]
            path = message.get("path")
            self.state = self.TRAILERS if self.trailers else self.DONE
            self.declared = None  # the file's length is the server's to match
            if type(path) is not str:
                return [("http.pathsend-path", f"path is a {_type_name(path)}")]
            return None
        if kind == "http.response.debug":
            return None
        if kind == "http.response.zerocopysend":
            return None  # offered or flagged above; its file is the server's to read
        return [("asgi.unknown-type", f"{_short(kind)} is not an HTTP message the app sends")]

    def _order(self, state: int, kind: str, rule_id: str) -> Finding:
        if state == self.DONE:
            return "http.after-complete", f"{kind} after the response completed"
        if state == self.TRAILERS:
            return "http.trailers-order", f"{kind} where http.response.trailers was due"
        if rule_id == "http.start-once":
            return rule_id, "a second http.response.start"
        return "http.start-first", f"{kind} before http.response.start"

    def _start(self, message: dict[str, Any]) -> list[Finding] | None:
        findings: list[Finding] = []
        status = message.get("status")
        if type(status) is not int:
            findings.append(
                ("http.status-int", f"status is a {_type_name(status)}: {_short(status)}")
            )
            status = 0
        elif not 100 <= status <= 599:
            findings.append(("http.status-range", f"status {_short(status)}"))
        headers = message.get("headers", ())
        if (
            type(headers) is list
            and all(type(h) is tuple for h in headers)
            and all(
                type(n) is bytes and type(v) is bytes and n.islower() and n[:1] != b":"
                for n, v in headers
            )
        ):
            # The common case, checked in C loops: lower-case byte pairs.
            pairs = headers
        else:
            more, pairs = _check_headers(headers, "http.headers-shape",
                                         "http.header-lowercase", "http.header-pseudo")  # fmt: skip
            findings += more
        trailers = message.get("trailers", False)
        if type(trailers) is not bool:
            findings.append(("http.flag-bool", f"trailers is a {_type_name(trailers)}"))
        self.trailers = bool(trailers) if type(trailers) is bool else False
        self.state = self.BODY
        if not (self.no_body or status in (204, 304) or 100 <= status < 200):
            for name, value in pairs:
                if name == b"content-length" or name.lower() == b"content-length":
                    if value.isdigit() and len(value) < 20:
                        self.declared = int(value)
                    break
        return findings or None

    def _body(self, state: int, body: Any, more: Any) -> list[Finding]:
        if state != self.BODY:
            return [self._order(state, "http.response.body", "http.start-first")]
        findings: list[Finding] = []
        if not _is_bytes(body):
            what = "str (encode it)" if isinstance(body, str) else _type_name(body)
            findings.append(("http.body-bytes", f"body is a {what}"))
            body = b""
        if type(more) is not bool:
            findings.append(("http.flag-bool", f"more_body is a {_type_name(more)}"))
            more = bool(more) if isinstance(more, (int, type(None))) else False
        self.body_sent += len(body)
        if not more:
            self.state = self.TRAILERS if self.trailers else self.DONE
        if self.declared is not None and (
            self.body_sent > self.declared or (not more and self.body_sent != self.declared)
        ):
            findings += self._length(more)
        return findings

    def _length(self, more: bool) -> list[Finding]:
        declared, sent = self.declared, self.body_sent
        self.declared = None  # say it once
        if sent > declared:  # type: ignore[operator]
            what = f"{sent} bytes of body so far"
        else:
            what = f"the body ended at {sent} bytes"
        return [("http.content-length", f"{what}, Content-Length is {declared}")]

    def ended(self, outcome: str) -> list[Finding] | None:
        if self.state == self.DONE or self.broken or self.disconnected:
            return None
        if self.cancelled:  # still running when the server gave up on it
            return [("http.incomplete", "the app never finished its response: the server "
                     "cancelled it at shutdown")]  # fmt: skip
        if outcome in ("error", "disconnect"):
            return None  # the app raised (the server answers 500) or the client left
        what = {
            self.START: "the app returned without sending http.response.start",
            self.BODY: "the app returned before a body message with more_body False",
            self.TRAILERS: "the app returned without the trailers it announced",
        }[self.state]
        return [("http.incomplete", what)]


_SEND_CODES = range(1000, 5000)
_RESERVED_CODES = (1004, 1005, 1006, 1015)


class WebSocketChecker(Checker):
    """``websocket`` (ASGI WebSocket 2.5, the denial response extension)."""

    __slots__ = ("extensions", "state", "subprotocols")

    receive_rule = "websocket.receive-after-disconnect"

    CONNECTING, OPEN, CLOSED, DENYING = range(4)

    def __init__(self, scope: Mapping[str, Any]) -> None:
        super().__init__()
        self.state = self.CONNECTING
        subprotocols = scope.get("subprotocols")
        self.subprotocols = list(subprotocols) if isinstance(subprotocols, (list, tuple)) else []
        extensions = scope.get("extensions")
        self.extensions = extensions if isinstance(extensions, Mapping) else {}

    def _sent(self, kind: str, message: dict[str, Any]) -> list[Finding] | None:
        state = self.state
        if kind == "websocket.send":
            if state == self.OPEN:
                text, data = message.get("text"), message.get("bytes")
                if (text is None) == (data is None):
                    both = "both" if text is not None else "neither"
                    return [("websocket.send-one", f"{both} of bytes and text given")]
                if text is not None and type(text) is not str:
                    return [("websocket.send-types", f"text is a {_type_name(text)}")]
                if data is not None and not _is_bytes(data):
                    return [("websocket.send-types", f"bytes is a {_type_name(data)}")]
                return None
            if state == self.CLOSED:
                return [("websocket.after-close", f"{kind} after websocket.close")]
            return [("websocket.accept-first", f"{kind} before websocket.accept")]
        if kind == "websocket.accept":
            if state == self.CLOSED:
                return [("websocket.after-close", f"{kind} after websocket.close")]
            if state != self.CONNECTING:
                return [("websocket.accept-once", f"{kind} when already "
                         f"{'accepted' if state == self.OPEN else 'denying'}")]  # fmt: skip
            self.state = self.OPEN
            findings: list[Finding] = []
            sub = message.get("subprotocol")
            if sub is not None and type(sub) is not str:
                findings.append(("websocket.subprotocol", f"subprotocol is a {_type_name(sub)}"))
            elif sub is not None and sub not in self.subprotocols:
                findings.append(("websocket.subprotocol", f"{_short(sub)} was not offered"))
            if "headers" in message:
                more, _ = _check_headers(message["headers"], "websocket.headers-shape",
                                         "websocket.headers-shape", None)  # fmt: skip
                findings += more
            return findings or None
        if kind == "websocket.close":
            if state == self.CLOSED:
                return [("websocket.after-close", "a second websocket.close")]
            if state == self.DENYING:
                return [("websocket.denial-order", f"{kind} inside a denial response")]
            self.state = self.CLOSED
            findings = []
            code = message.get("code", 1000)
            if code is not None and (type(code) is not int or code not in _SEND_CODES
                                     or code in _RESERVED_CODES):  # fmt: skip
                findings.append(("websocket.close-code", f"code {_short(code)}"))
            reason = message.get("reason")
            if reason is not None:
                if type(reason) is not str:
                    findings.append(("websocket.close-reason", f"reason is a {_type_name(reason)}"))
                elif len(reason.encode("utf-8", "replace")) > 123:
                    findings.append(("websocket.close-reason", "reason is over 123 bytes"))
            return findings or None
        if kind == "websocket.http.response.start":
            if "websocket.http.response" not in self.extensions:
                return [("asgi.extension-offered",
                         "websocket.http.response is not in scope['extensions']")]  # fmt: skip
            if state != self.CONNECTING:
                return [("websocket.denial-order", f"{kind} after the handshake was answered")]
            self.state = self.DENYING
            findings = []
            status = message.get("status")
            if type(status) is not int:
                findings.append(("http.status-int", f"status is a {_type_name(status)}"))
            if "headers" in message:
                more, _ = _check_headers(message["headers"], "websocket.headers-shape",
                                         "websocket.headers-shape", None)  # fmt: skip
                findings += more
            return findings or None
        if kind == "websocket.http.response.body":
            if state != self.DENYING:
                if state == self.CLOSED:
                    return [("websocket.after-close", f"{kind} after the exchange closed")]
                return [("websocket.denial-order", f"{kind} without a denial response start")]
            findings = []
            body, more = message.get("body", b""), message.get("more_body", False)
            if not _is_bytes(body):
                findings.append(("http.body-bytes", f"body is a {_type_name(body)}"))
            if type(more) is not bool:
                findings.append(("http.flag-bool", f"more_body is a {_type_name(more)}"))
            if not more:
                self.state = self.CLOSED
            return findings or None
        return [("asgi.unknown-type", f"{_short(kind)} is not a WebSocket message the app sends")]

    def ended(self, outcome: str) -> list[Finding] | None:
        if self.broken or self.disconnected or outcome in ("error", "disconnect"):
            return None
        if self.state == self.CONNECTING:
            return [("websocket.no-answer", "the app returned without accept or close")]
        if self.state == self.DENYING:
            return [("websocket.no-answer", "the app returned inside its denial response")]
        return None


class LifespanChecker(Checker):
    """``lifespan`` (ASGI Lifespan 2.0): each answer follows its question."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        super().__init__()
        self.pending = ""  # "startup" or "shutdown" while the app owes an answer

    def received(self, message: dict[str, Any]) -> list[Finding] | None:
        kind = message.get("type")
        if kind in ("lifespan.startup", "lifespan.shutdown"):
            self.pending = kind[len("lifespan.") :]
        return None

    def _sent(self, kind: str, message: dict[str, Any]) -> list[Finding] | None:
        phase, _, answer = kind.removeprefix("lifespan.").partition(".")
        if phase not in ("startup", "shutdown") or answer not in ("complete", "failed"):
            what = f"{_short(kind)} is not a lifespan message the app sends"
            return [("asgi.unknown-type", what)]
        findings: list[Finding] = []
        if self.pending != phase:
            findings.append(("lifespan.order", f"{kind} without a pending lifespan.{phase}"))
        self.pending = ""
        if answer == "failed" and type(message.get("message", "")) is not str:
            findings.append(("lifespan.failed-message",
                             f"message is a {_type_name(message.get('message'))}"))  # fmt: skip
        return findings or None


def checker_for(scope: Mapping[str, Any]) -> Checker | None:
    """A fresh checker for an exchange of ``scope``, or None for a scope type this
    module has no rules for."""
    kind = scope.get("type")
    if kind == "http":
        return HTTPChecker(scope)
    if kind == "websocket":
        return WebSocketChecker(scope)
    if kind == "lifespan":
        return LifespanChecker()
    return None


class Strict:
    """``--strict``: a recorder tap that counts spec violations as views drain them.

    Install with ``recorder.taps.append(strict)``; it runs in the consumer's thread,
    never the server's. ``on_first`` is called with the first
    :class:`~asgi_scope.trace.events.SpecViolation` (headless mode prints it loudly);
    :attr:`count` is how many were seen, for the exit code at shutdown.
    """

    __slots__ = ("count", "first", "on_first")

    def __init__(self, on_first: Callable[[SpecViolation], None] | None = None) -> None:
        self.count = 0
        self.first: SpecViolation | None = None
        self.on_first = on_first

    def __call__(self, batch: list[Event]) -> None:
        for event in batch:
            if type(event) is SpecViolation:
                self.count += 1
                if self.first is None:
                    self.first = event
                    if self.on_first is not None:
                        self.on_first(event)
