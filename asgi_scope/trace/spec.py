"""The spec checker: a state machine per exchange that finds the ASGI rules broken.

Each exchange gets one checker (:func:`checker_for`, chosen by ``scope["type"]``)
that the :class:`~asgi_scope.trace.shim.Shim` feeds the scope the server built
(:func:`check_scope`), every message the app sends (:meth:`Checker.sent`), every
message its ``receive()`` returned (:meth:`Checker.received`) and the end of the
app's call (:meth:`Checker.ended`). Each returns None when all is well (the hot
path: a few ``type()`` and dict look-ups per message) or a list of ``(rule id,
detail)`` findings, which the shim records as
:class:`~asgi_scope.trace.events.SpecViolation` events next to the message that
broke the rule. Both sides of the contract are checked: what the app sends and
how it uses ``receive()``, and what the server gives it (the scope, the received
messages): under ``attach``, that is the other server's.

The rules themselves (severity, the spec's words, where, a fix) are the
catalogue's, :mod:`asgi_scope.trace.rules`; this module only finds.

The checker only observes: the server enforces what it must on its own (a
``RuntimeError`` raised from ``send``, a 500, a closed connection), so the
client is answered as the spec says whether or not a rule is checked here.

Not checked (they would cost the hot path or need the server's view): items of
a header iterable that is not a list, tuple or dict (a generator can be read
only once, and it is the server's to read), values nested below a message's
top-level keys (but headers), whether ``receive()`` is awaited concurrently from
two tasks, and an app that never returns at all (its exchange stays open in the
views).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from asgi_scope.trace.events import Event, SpecViolation
from asgi_scope.trace.rules import Policy

__all__ = ["Checker", "Finding", "Mute", "Strict", "check_scope", "checker_for"]

Finding = tuple[str, str]
"""``(rule id, detail)``: one broken rule and what this message (or scope) did."""


def _type_name(value: Any) -> str:
    return type(value).__name__


def _short(value: Any, limit: int = 40) -> str:
    """A bounded ``repr`` for a finding's detail (views escape it; it may raise)."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{_type_name(value)}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_bytes(value: Any) -> bool:
    # A byte string; bytearray and memoryview are bytes-like and every server takes them
    # (asgi.bytes-exact says so, as a warning).
    return type(value) is bytes or isinstance(value, (bytes, bytearray, memoryview))


_INT64 = range(-(2**63), 2**63)

_OWN_RULES = frozenset(
    ("type", "status", "headers", "body", "more_body", "trailers", "more_trailers", "bytes",
     "text", "code", "reason", "subprotocol", "path", "file", "offset", "count", "links",
     "info", "message")
)  # fmt: skip
"""Keys whose values have rules of their own (a wrong type is reported there)."""


def _check_values(message: dict[str, Any]) -> list[Finding]:
    """The core spec's value rules on a message's top-level keys (ASGI 3.0, Events:
    str keys, finite floats, 64-bit integers, bytes and nothing else)."""
    findings: list[Finding] = []
    for key, value in message.items():
        kind = type(value)
        if type(key) is not str:
            findings.append(("asgi.key-str", f"key {_short(key)} is a {_type_name(key)}"))
        elif kind is float:
            if not math.isfinite(value):
                findings.append(("asgi.float-finite", f"{key} is {value!r}"))
        elif kind is int:
            if value not in _INT64 and key not in ("status", "code"):
                findings.append(("asgi.int-64bit", f"{key} is {_short(value)}"))
        elif kind in (bytearray, memoryview):
            findings.append(("asgi.bytes-exact", f"{key} is a {kind.__name__}"))
        elif (
            key not in _OWN_RULES
            and kind not in (str, bytes, bool, list, tuple, dict)
            and (value is not None)
        ):
            findings.append(("asgi.value-type", f"{key} is a {_type_name(value)}"))
    return findings


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


_TCHAR = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""RFC 9110 §5.6.2 ``tchar``: the bytes of a token (a header name)."""

_BAD_VALUE = re.compile(rb"[\r\n\x00]")
"""RFC 9110 §5.5: the bytes a field value must never hold."""


def _check_headers(
    headers: Any, prefix: str, pseudo: bool = True
) -> tuple[list[Finding], list[tuple[bytes, bytes]]]:
    """Check a headers value an app sent; return findings and the well-formed pairs
    (for Content-Length). ``prefix`` is ``"http"`` or ``"websocket"`` (whose rules
    apply). A list, tuple or dict is walked; any other iterable is left for the
    server (walking a generator would consume it)."""
    shape = f"{prefix}.headers-shape"
    findings: list[Finding] = []
    pairs: list[tuple[bytes, bytes]] = []
    if isinstance(headers, (str, bytes, bytearray, int, float)) or headers is None:
        return [(shape, f"headers is a {_type_name(headers)}, not an iterable of pairs")], pairs
    if not isinstance(headers, (list, tuple, dict)):
        return findings, pairs
    seen: set[str] = set()

    def once(rule_id: str, detail: str) -> None:
        if rule_id not in seen:
            seen.add(rule_id)
            findings.append((rule_id, detail))

    for item in headers:
        if type(item) not in (tuple, list) or len(item) != 2:
            once(shape, f"header {_short(item)} is not a [name, value] pair")
            continue
        name, value = item
        if type(name) is not bytes or type(value) is not bytes:
            once(shape, f"header ({_type_name(name)}, {_type_name(value)}): want (bytes, bytes)")
            continue
        if name.lower() != name:
            once(f"{prefix}.header-lowercase", f"header name {_short(name)} is not lower-case")
        if pseudo and name[:1] == b":":
            once("http.header-pseudo", f"pseudo header {_short(name)}")
        elif prefix == "http" and (not name or name.translate(None, _TCHAR)):
            once("http.header-name-token", f"header name {_short(name)} is not a token")
        if prefix == "http" and _BAD_VALUE.search(value):
            once("http.header-value-chars", f"the value of {_short(name)} holds CR, LF or NUL")
        pairs.append((name, value))
    return findings, pairs


def _scan_headers(headers: Any) -> tuple[list[bytes], bool] | None:
    """The common case, in one loop: a list of ``(name, value)`` tuples of bytes,
    lower-case token names, values without CR, LF or NUL. Returns the
    Content-Length values and whether Transfer-Encoding is set, or None for
    anything else (which :func:`_check_headers` then walks). A pair seen before
    is one set look-up (:data:`_WELL_FORMED`)."""
    if type(headers) is not list:
        return None
    lengths: list[bytes] = []
    chunked = False
    for h in headers:
        if type(h) is not tuple or len(h) != 2:
            return None
        n, v = h
        if type(n) is not bytes or type(v) is not bytes:
            return None
        if h not in _WELL_FORMED and not _well_formed(n, v):
            return None
        if n == b"content-length":
            lengths.append(v)
        elif n == b"transfer-encoding":
            chunked = True
    return lengths, chunked


def _well_formed(name: bytes, value: bytes) -> bool:
    """Whether ``name`` is a lower-case token (RFC 9110 §5.6.2) and ``value`` holds
    no CR, LF or NUL (§5.5); a well-formed pair is remembered in :data:`_WELL_FORMED`."""
    if not name.islower() or name.translate(None, _TCHAR) or _BAD_VALUE.search(value):
        return False
    if len(name) + len(value) <= _WELL_FORMED_PAIR:
        if len(_WELL_FORMED) >= _WELL_FORMED_KEPT:  # start again: new pairs are learnt too
            _WELL_FORMED.clear()
        _WELL_FORMED.add((name, value))
    return True


_WELL_FORMED: set[tuple[bytes, bytes]] = set()
"""Header pairs (exact ``bytes``) :func:`_well_formed` accepted: an app sends the
same few again and again."""

_WELL_FORMED_KEPT = 4096
_WELL_FORMED_PAIR = 256
"""At most this many pairs are kept, each of at most this many bytes, name and
value together (1 MiB at most in all); past the count the set starts again."""


# -- the server's side: the scope ---------------------------------------------------

_HTTP_VERSIONS = frozenset(("1.0", "1.1", "2", "3"))
_SCHEMES = {"http": ("http", "https"), "websocket": ("ws", "wss")}
_SPEC_VERSIONS = frozenset(("2.0", "2.1", "2.2", "2.3", "2.4", "2.5"))


def _address(value: Any, port_may_be_none: bool) -> bool:
    if value is None:
        return True
    if type(value) not in (list, tuple) or len(value) != 2 or type(value[0]) is not str:
        return False
    port = value[1]
    return (type(port) is int) or (port_may_be_none and port is None)


def _is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


def check_scope(scope: Any) -> list[Finding] | None:
    """Check the scope a server built (``http``, ``websocket``, ``lifespan``): its
    keys, types and values (ASGI 3.0 Connection Scope; HTTP & WebSocket 2.5;
    Lifespan 2.0). None when it follows the rules.

    On the hot path (once per exchange): a few ``type()`` checks and look-ups, and
    one C-level pass over the keys and the headers."""
    if not _is_mapping(scope):
        return [("asgi.scope-type", f"the scope is a {_type_name(scope)}, not a dict")]
    kind = scope.get("type")
    if type(kind) is not str:
        return [("asgi.scope-type", f"'type' is {_short(kind)}")]
    findings: list[Finding] = []
    asgi = scope.get("asgi")
    if not _is_mapping(asgi) or type(asgi.get("version")) is not str:
        findings.append(("asgi.scope-asgi", f"scope['asgi'] is {_short(asgi)}"))
        asgi = {}
    elif asgi["version"] not in ("3.0", "2.0"):
        findings.append(("asgi.scope-version", f"version {_short(asgi['version'])}"))
    try:
        "".join(scope)  # every key a str (a TypeError names the first that is not)
    except TypeError:
        findings.append(("asgi.scope-keys", "a key is not a str"))
    extensions = scope.get("extensions")
    if extensions is not None and not (
        _is_mapping(extensions) and all(type(v) is dict or _is_mapping(v)
                                        for v in extensions.values())
    ):  # fmt: skip
        findings.append(("asgi.scope-extensions", f"extensions is {_short(extensions)}"))
    elif extensions and "tls" in extensions and kind in ("http", "websocket"):
        _check_tls(scope, extensions["tls"], findings)
    state = scope.get("state")
    if state is not None and type(state) is not dict:
        rule_id = "lifespan.scope.state" if kind == "lifespan" else "asgi.scope-state"
        findings.append((rule_id, f"state is a {_type_name(state)}"))
    spec = asgi.get("spec_version")
    if kind == "lifespan":
        if spec is not None and spec not in ("1.0", "2.0"):
            findings.append(("lifespan.scope.spec-version", f"spec_version {_short(spec)}"))
    elif kind in ("http", "websocket"):
        if spec is not None and spec not in _SPEC_VERSIONS:
            findings.append((f"{kind}.scope.spec-version", f"spec_version {_short(spec)}"))
        _check_connection_scope(kind, scope, findings)
    return findings or None


_TLS_STR = ("server_cert", "client_cert_name", "client_cert_error")
_TLS_INT = ("tls_version", "cipher_suite")


def _check_tls(scope: Mapping[str, Any], tls: Mapping[str, Any], findings: list[Finding]) -> None:
    """The TLS extension (ASGI Extensions, "TLS") into ``findings``: its fields'
    types, and a scheme that says TLS."""
    bad = [key for key in _TLS_STR if type(tls.get(key)) not in (str, type(None))]
    bad += [key for key in _TLS_INT if type(tls.get(key)) not in (int, type(None))]
    chain = tls.get("client_cert_chain", ())
    if isinstance(chain, (str, bytes)) or not all(type(c) is str for c in _iterable(chain)):
        bad.append("client_cert_chain")
    if bad:
        findings.append(("asgi.scope-tls", f"tls {', '.join(bad)} of the wrong type"))
    scheme = scope.get("scheme")
    if scheme is not None and scheme not in ("https", "wss"):
        findings.append(("asgi.scope-tls-scheme", f"scheme is {_short(scheme)} under TLS"))


def _iterable(value: Any) -> Iterable[Any]:
    """``value`` when it is a list or tuple, else one item that is no str (a
    finding): the chain is checked without iterating an app's own objects."""
    return value if type(value) in (list, tuple) else (None,)


def _check_connection_scope(kind: str, scope: Mapping[str, Any], findings: list[Finding]) -> None:
    """The keys ``http`` and ``websocket`` scopes share, and their own, into ``findings``."""
    p = f"{kind}.scope."
    get = scope.get
    version = get("http_version", "1.1")
    if version not in _HTTP_VERSIONS or type(version) is not str:
        findings.append((p + "http-version", f"http_version is {_short(version)}"))
    if kind == "http":
        method = get("method")
        if type(method) is not str:
            findings.append((p + "method", f"method is {_short(method)}"))
        elif not method.isupper():
            findings.append((p + "method-upper", f"method is {_short(method)}"))
    scheme = get("scheme", _SCHEMES[kind][0])  # optional: "http", or "ws" for websocket
    if type(scheme) is not str or not scheme:
        findings.append((p + "scheme", f"scheme is {_short(scheme)}"))
    elif scheme not in _SCHEMES[kind]:
        findings.append((p + "scheme-known", f"scheme is {_short(scheme)}"))
    path, raw_path, root_path = get("path"), get("raw_path"), get("root_path", "")
    if type(root_path) is not str:
        findings.append((p + "root-path", f"root_path is a {_type_name(root_path)}"))
        root_path = ""
    if type(path) is not str:
        findings.append((p + "path", f"path is {_short(path)}"))
    elif path[:1] != "/" and not (kind == "http" and path == "*"):
        findings.append((p + "path-absolute", f"path is {_short(path)}"))
    if raw_path is not None:
        if type(raw_path) is not bytes:
            findings.append((p + "raw-path", f"raw_path is a {_type_name(raw_path)}"))
        elif b"?" in raw_path:
            findings.append((p + "raw-path-query", f"raw_path is {_short(raw_path)}"))
        elif type(path) is str:
            if b"%" not in raw_path and raw_path.isascii():
                decoded = raw_path.decode("ascii")
            else:
                decoded = unquote_to_bytes(raw_path).decode("utf-8", "replace")
            if path != decoded and path != root_path + decoded:
                findings.append(
                    (p + "path-decoded", f"path {_short(path)} for raw_path {_short(raw_path)}")
                )
    query = get("query_string", b"")
    if type(query) is not bytes:
        findings.append((p + "query-string", f"query_string is a {_type_name(query)}"))
    elif not query.isascii() or b" " in query:
        findings.append((p + "query-encoded", f"query_string is {_short(query)}"))
    headers = get("headers")
    upper = _scope_headers(headers)
    if upper is False:
        findings.append((p + "headers", f"headers are {_short(headers)}"))
    elif upper is not None:
        findings.append((p + "header-lowercase", f"header name {_short(upper)}"))
    if not _address(get("client"), False):
        findings.append((p + "client", f"client is {_short(get('client'))}"))
    if not _address(get("server"), True):
        findings.append((p + "server", f"server is {_short(get('server'))}"))
    if kind == "websocket":
        subprotocols = get("subprotocols", [])
        if type(subprotocols) not in (list, tuple) or not all(type(s) is str for s in subprotocols):
            findings.append((p + "subprotocols", f"subprotocols is {_short(subprotocols)}"))


def _scope_headers(headers: Any) -> bytes | bool | None:
    """None for well-formed scope headers (byte pairs, lower-case names), False for
    a wrong shape, or the first name that is not lower-case."""
    if type(headers) not in (list, tuple):
        return False
    upper = None
    for h in headers:
        if type(h) not in (tuple, list) or len(h) != 2:
            return False
        n, v = h
        if type(n) is not bytes or type(v) is not bytes:
            return False
        if upper is None and not n.islower() and n.lower() != n:
            upper = n
    return upper


# -- the checkers -------------------------------------------------------------------


class Checker:
    """One exchange's state machine. Subclasses per scope type.

    :meth:`sent` and :meth:`received` take the message as the app gave it (not a
    snapshot: read only, never iterate what the server will read).
    """

    __slots__ = ("broken", "cancelled", "disconnected", "flagged_receive", "flagged_send")

    protocol = ""
    receive_rule = ""
    """The rule of a ``receive()`` after the disconnect (the app's side)."""

    def __init__(self) -> None:
        self.broken = False
        """A sent message broke a rule: end-of-exchange findings would only repeat it."""
        self.disconnected = False
        self.flagged_receive = False
        self.flagged_send = False
        self.cancelled = False
        """The app's task was cancelled (the server's shutdown ran out of time)."""

    def sent(self, message: Any) -> list[Finding] | None:
        """Check a message the app passed to ``send()``; None if it follows the rules."""
        if type(message) is dict and type(kind := message.get("type")) is str:
            findings = None  # the hot path: a dict with a str type
        else:
            kind, findings = _check_message(message)
        if kind is not None:
            findings = self._sent(kind, message)
            if self.disconnected and not findings and not self.flagged_send:
                self.flagged_send = True
                rule_id = f"{self.protocol}.send-after-disconnect"
                findings = [(rule_id, f"{kind} sent after {self.protocol}.disconnect")]
                return findings  # info: not a broken exchange
        if findings:
            self.broken = True
        return findings

    def _sent(self, kind: str, message: dict[str, Any]) -> list[Finding] | None:
        raise NotImplementedError

    def received(self, message: Any) -> list[Finding] | None:
        """Check the app's ``receive()`` call that returned ``message`` (both sides:
        how the app called it, and what the server gave)."""
        if type(message) is not dict or type(message.get("type")) is not str:
            return [("asgi.receive-message", f"receive() returned {_short(message)}")]
        findings = None
        kind = message["type"]
        if self.disconnected:
            if self.receive_rule and not self.flagged_receive:
                self.flagged_receive = True
                findings = [(self.receive_rule, "receive() called again after the disconnect")]
            if kind != f"{self.protocol}.disconnect" and self.protocol:
                rule_id = (
                    "http.request-after-disconnect"
                    if self.protocol == "http"
                    else "websocket.message-after-disconnect"
                )
                return [*(findings or ()), (rule_id, f"{kind} after the disconnect")]
        more = self._received(kind, message)
        if kind.endswith(".disconnect"):
            self.disconnected = True
        if more:
            return [*(findings or ()), *more]
        return findings

    def _received(self, kind: str, message: dict[str, Any]) -> list[Finding] | None:
        return None

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

_START_KEYS = frozenset(("type", "status", "headers", "trailers"))
"""The keys of ``http.response.start``: a message with others has its values checked."""

_TINY = 256
"""Bytes below which a body message is tiny (``http.tiny-body-messages``)."""

_TINY_MANY = 100
"""Tiny body messages in one response that make ``http.tiny-body-messages``."""

_NOT_IN_TRAILERS = frozenset(
    (b"content-length", b"transfer-encoding", b"host", b"content-type", b"content-encoding",
     b"trailer", b"authorization", b"set-cookie", b"cache-control")
)  # fmt: skip
"""RFC 9110 §6.5.1: fields that cannot be processed outside the header section."""


class HTTPChecker(Checker):
    """``http`` (ASGI HTTP 2.5 and its extensions): start, body..., trailers."""

    __slots__ = ("bodies", "body_sent", "declared", "extensions", "no_body", "request_done",
                 "state", "status", "tiny", "trailers")  # fmt: skip

    protocol = "http"
    receive_rule = "http.receive-after-disconnect"

    START, BODY, TRAILERS, DONE = range(4)

    def __init__(self, scope: Mapping[str, Any]) -> None:
        Checker.__init__(self)
        self.state = self.START
        self.trailers = False
        self.declared: int | None = None
        self.body_sent = 0
        self.bodies = 0
        self.tiny = 0
        self.status = 0
        self.request_done = False
        self.no_body = scope.get("method") == "HEAD"
        extensions = scope.get("extensions")
        self.extensions = extensions if _is_mapping(extensions) else {}

    def received(self, message: Any) -> list[Finding] | None:
        if (
            type(message) is dict
            and message.get("type") == "http.request"
            and not self.disconnected
            and not self.request_done
        ):  # the hot path: a well-formed request body
            body, more = message.get("body", b""), message.get("more_body", False)
            if type(body) is bytes and type(more) is bool:
                self.request_done = not more
                return None
        return super().received(message)

    def _received(self, kind: str, message: dict[str, Any]) -> list[Finding] | None:
        if kind == "http.request":
            body, more = message.get("body", b""), message.get("more_body", False)
            if type(body) is bytes and type(more) is bool and not self.request_done:
                self.request_done = not more
                return None
            findings: list[Finding] = []
            if self.request_done:
                findings.append(("http.request-after-body", "http.request after the last chunk"))
            if type(body) is not bytes:
                findings.append(("http.request-body", f"body is a {_type_name(body)}"))
            if type(more) is not bool:
                findings.append(("http.request-more-body", f"more_body is a {_type_name(more)}"))
            self.request_done = not more
            return findings
        if kind != "http.disconnect":
            return [("http.request-type", f"receive() returned {_short(kind)}")]
        return None

    def _sent(self, kind: str, message: dict[str, Any]) -> list[Finding] | None:
        state = self.state
        if kind == "http.response.body":
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if state == self.BODY and type(body) is bytes and type(more) is bool:
                # The hot path: a well-formed body in a started response.
                size = len(body)
                self.body_sent += size
                self.bodies += 1
                if not more:
                    self.state = self.TRAILERS if self.trailers else self.DONE
                findings = None
                if size < _TINY and more:
                    self.tiny += 1
                    if self.tiny == _TINY_MANY:
                        findings = [("http.tiny-body-messages", f"{_TINY_MANY} body messages "
                                     f"of under {_TINY} bytes in one response")]  # fmt: skip
                if size and self.status in (204, 304):
                    findings = [("http.no-content-body", f"{size} bytes of body for a "
                                 f"{self.status} response")]  # fmt: skip
                if self.declared is not None and (
                    self.body_sent > self.declared or (not more and self.body_sent != self.declared)
                ):
                    return self._length(more)
                return findings
            return self._body(state, body, more, message)
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
            findings, pairs = _check_headers(message.get("headers", ()), "http")
            forbidden = next((n for n, _ in pairs if n.lower() in _NOT_IN_TRAILERS), None)
            if forbidden is not None:
                findings.append(("http.trailers-forbidden", f"{_short(forbidden)} in trailers"))
            more = message.get("more_trailers", False)
            if type(more) is not bool:
                findings.append(("http.flag-bool", f"more_trailers is a {_type_name(more)}"))
            elif not more:
                self.state = self.DONE
            return findings + _check_values(message) or None
        if kind == "http.response.pathsend":
            if state != self.BODY:
                return [self._order(state, kind, "http.start-first")]
            if self.bodies:
                return [("http.pathsend-order", f"{kind} after {self.bodies} body message(s)")]
            path = message.get("path")
            self.state = self.TRAILERS if self.trailers else self.DONE
            self.declared = None  # the file's length is the server's to match
            if type(path) is not str:
                return [("http.pathsend-path", f"path is a {_type_name(path)}")]
            if not os.path.isabs(path):
                return [("http.pathsend-absolute", f"path {_short(path)} is relative")]
            return None
        if kind == "http.response.zerocopysend":
            if state != self.BODY:
                return [self._order(state, kind, "http.start-first")]
            findings = []
            if not callable(getattr(message.get("file"), "fileno", None)):
                findings.append(("http.zerocopysend-file", f"file is a "
                                 f"{_type_name(message.get('file'))}"))  # fmt: skip
            for key in ("offset", "count"):
                value = message.get(key)
                if value is not None and (type(value) is not int or value < 0):
                    findings.append(("http.zerocopysend-range", f"{key} is {_short(value)}"))
            if message.get("more_body", False) is False:
                self.state = self.TRAILERS if self.trailers else self.DONE
            return findings or None
        if kind == "http.response.early_hint":
            links = message.get("links")
            if type(links) not in (list, tuple) or not all(type(x) is bytes for x in links):
                return [("http.early-hint-links", f"links is {_short(links)}")]
            return None
        if kind == "http.response.push":
            findings, _ = _check_headers(message.get("headers", ()), "http")
            if type(message.get("path")) is not str:
                findings.append(("http.push-path", f"path is {_short(message.get('path'))}"))
            return findings or None
        if kind == "http.response.debug":
            info = message.get("info")
            if info is not None and not isinstance(info, dict):
                return [("http.debug-info", f"info is a {_type_name(info)}")]
            return None
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
        elif status < 200:
            findings.append(("http.status-informational", f"status {status}"))
        self.status = status
        headers = message.get("headers", ())
        scan = _scan_headers(headers)
        if scan is None:
            more, pairs = _check_headers(headers, "http")
            findings += more
            lengths = [v for n, v in pairs if n.lower() == b"content-length"]
            chunked = any(n.lower() == b"transfer-encoding" for n, _ in pairs)
        else:
            lengths, chunked = scan
        trailers = message.get("trailers", False)
        if type(trailers) is not bool:
            findings.append(("http.flag-bool", f"trailers is a {_type_name(trailers)}"))
        self.trailers = bool(trailers) if type(trailers) is bool else False
        self.state = self.BODY
        if not _START_KEYS.issuperset(message):
            findings += _check_values(message)
        if lengths:
            findings += self._framing(lengths, chunked, status)
        return findings or None

    def _framing(self, lengths: list[bytes], chunked: bool, status: int) -> list[Finding]:
        """Content-Length and Transfer-Encoding (RFC 9110 §8.6, RFC 9112 §6)."""
        findings: list[Finding] = []
        if len(lengths) > 1 and len(set(lengths)) > 1:
            findings.append(("http.content-length-once", f"Content-Length {lengths!r:.40}"))
        value = lengths[0]
        if not (value.isdigit() and len(value) < 20):
            findings.append(("http.content-length-value", f"Content-Length {_short(value)}"))
        if status == 204 or 100 <= status < 200:
            findings.append(("http.content-length-forbidden", f"Content-Length on a {status}"))
        if chunked:
            findings.append(("http.transfer-encoding-length", "Transfer-Encoding and "
                             "Content-Length both set"))  # fmt: skip
        if not findings and not (self.no_body or status in (204, 304) or status < 200):
            self.declared = int(value)
        return findings

    def _body(self, state: int, body: Any, more: Any, message: dict[str, Any]) -> list[Finding]:
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
        findings += _check_values(message)
        self.body_sent += len(body)
        self.bodies += 1
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
_HANDSHAKE_HEADERS = frozenset(
    (b"sec-websocket-protocol", b"sec-websocket-accept", b"sec-websocket-extensions",
     b"upgrade", b"connection")
)  # fmt: skip


class WebSocketChecker(Checker):
    """``websocket`` (ASGI WebSocket 2.5, the denial response extension)."""

    __slots__ = ("connected", "extensions", "state", "subprotocols")

    protocol = "websocket"
    receive_rule = "websocket.receive-after-disconnect"

    CONNECTING, OPEN, CLOSED, DENYING = range(4)

    def __init__(self, scope: Mapping[str, Any]) -> None:
        Checker.__init__(self)
        self.state = self.CONNECTING
        self.connected = False
        subprotocols = scope.get("subprotocols")
        self.subprotocols = list(subprotocols) if isinstance(subprotocols, (list, tuple)) else []
        extensions = scope.get("extensions")
        self.extensions = extensions if _is_mapping(extensions) else {}

    def _received(self, kind: str, message: dict[str, Any]) -> list[Finding] | None:
        if kind == "websocket.receive":
            text, data = message.get("text"), message.get("bytes")
            if (text is None) == (data is None):
                return [("websocket.receive-one", f"{'both' if text is not None else 'neither'}"
                         " of bytes and text")]  # fmt: skip
            if (text is not None and type(text) is not str) or (
                data is not None and type(data) is not bytes
            ):
                return [("websocket.receive-types", f"text is a {_type_name(text)}, bytes is a "
                         f"{_type_name(data)}")]  # fmt: skip
        elif kind == "websocket.connect":
            if self.connected:
                return [("websocket.receive-type", "a second websocket.connect")]
            self.connected = True
            return None
        elif kind == "websocket.disconnect":
            code = message.get("code", 1005)
            if type(code) is not int:
                return [("websocket.disconnect-code", f"code is {_short(code)}")]
            return None
        else:
            return [("websocket.receive-type", f"receive() returned {_short(kind)}")]
        if not self.connected:
            self.connected = True
            return [("websocket.connect-first", f"{kind} before websocket.connect")]
        return None

    def _sent(self, kind: str, message: dict[str, Any]) -> list[Finding] | None:
        state = self.state
        if kind == "websocket.send":
            if state == self.OPEN:
                text, data = message.get("text"), message.get("bytes")
                if (text is None) == (data is None):
                    both = "both" if text is not None else "neither"
                    return [("websocket.send-one", f"{both} of bytes and text given")]
                if text is not None:
                    if type(text) is not str:
                        return [("websocket.send-types", f"text is a {_type_name(text)}")]
                    if not text.isascii():
                        try:
                            text.encode("utf-8")
                        except UnicodeEncodeError:
                            return [("websocket.text-encodable", "text holds a lone surrogate")]
                    return None
                if type(data) is bytes:
                    return None
                if _is_bytes(data):
                    return [("asgi.bytes-exact", f"bytes is a {_type_name(data)}")]
                return [("websocket.send-types", f"bytes is a {_type_name(data)}")]
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
                more, pairs = _check_headers(message["headers"], "websocket", pseudo=False)
                findings += more
                reserved = next((n for n, _ in pairs if n.lower() in _HANDSHAKE_HEADERS), None)
                if reserved is not None:
                    findings.append(("websocket.header-reserved", f"{_short(reserved)}"))
            return findings + _check_values(message) or None
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
            return findings + _check_values(message) or None
        if kind == "websocket.http.response.start":
            if "websocket.http.response" not in self.extensions:
                return [("asgi.extension-offered",
                         "websocket.http.response is not in scope['extensions']")]  # fmt: skip
            if state != self.CONNECTING:
                return [("websocket.denial-order", f"{kind} after the handshake was answered")]
            self.state = self.DENYING
            findings = []
            status = message.get("status")
            if type(status) is not int or not 100 <= status <= 599:
                findings.append(("websocket.denial-status", f"status is {_short(status)}"))
            if "headers" in message:
                more, _ = _check_headers(message["headers"], "websocket", pseudo=False)
                findings += more
            return findings or None
        if kind == "websocket.http.response.body":
            if state != self.DENYING:
                if state == self.CLOSED:
                    return [("websocket.after-close", f"{kind} after the exchange closed")]
                return [("websocket.denial-order", f"{kind} without a denial response start")]
            findings = []
            body, more = message.get("body", b""), message.get("more_body", False)
            if not _is_bytes(body) or type(more) is not bool:
                findings.append(("websocket.denial-body", f"body is a {_type_name(body)}, "
                                 f"more_body a {_type_name(more)}"))  # fmt: skip
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

    __slots__ = ("answered", "pending", "phase", "state")

    def __init__(self, scope: Mapping[str, Any]) -> None:
        Checker.__init__(self)
        self.pending = ""  # "startup" or "shutdown" while the app owes an answer
        self.phase = ""  # the last question received
        self.answered = False  # startup answered
        self.state = scope.get("state")  # the live namespace the app fills at startup

    def received(self, message: Any) -> list[Finding] | None:
        if type(message) is not dict or type(message.get("type")) is not str:
            return [("asgi.receive-message", f"receive() returned {_short(message)}")]
        kind = message["type"]
        if kind not in ("lifespan.startup", "lifespan.shutdown") or (
            kind == "lifespan.startup" and self.phase
        ):
            return [("lifespan.receive-type", f"receive() returned {_short(kind)}"
                     + (" again" if kind == "lifespan.startup" else ""))]  # fmt: skip
        self.pending = self.phase = kind[len("lifespan.") :]
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
        if phase == "startup":
            self.answered = True
            state = self.state
            if isinstance(state, dict) and not all(type(k) is str for k in state):
                findings.append(("lifespan.state-keys", "a key of scope['state'] is not a str"))
        if answer == "failed" and type(message.get("message", "")) is not str:
            findings.append(("lifespan.failed-message",
                             f"message is a {_type_name(message.get('message'))}"))  # fmt: skip
        return findings + _check_values(message) or None

    def ended(self, outcome: str) -> list[Finding] | None:
        if outcome == "complete" and self.phase and not self.answered and not self.broken:
            return [("lifespan.no-answer", "the app returned without answering lifespan.startup")]
        return None


def checker_for(scope: Mapping[str, Any]) -> Checker | None:
    """A fresh checker for an exchange of ``scope``, or None for a scope type this
    module has no rules for."""
    kind = scope.get("type")
    if kind == "http":
        return HTTPChecker(scope)
    if kind == "websocket":
        return WebSocketChecker(scope)
    if kind == "lifespan":
        return LifespanChecker(scope)
    return None


class Strict:
    """``--strict``: a recorder tap that counts the spec violations that fail the
    run (by ``policy``: errors, or errors and warnings) as views drain them.

    Install with ``recorder.taps.append(strict)``; it runs in the consumer's thread,
    never the server's. ``on_first`` is called with the first failing
    :class:`~asgi_scope.trace.events.SpecViolation` (headless mode prints it loudly);
    :attr:`count` is how many were seen, for the exit code at shutdown; every
    finding (failing or not, muted ones aside) is kept in :attr:`findings` for
    ``--report``, up to :data:`KEPT`.
    """

    __slots__ = ("count", "findings", "first", "on_first", "policy")

    KEPT = 10_000
    """Findings kept for the report; past that they are only counted."""

    def __init__(
        self,
        on_first: Callable[[SpecViolation], None] | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.count = 0
        self.first: SpecViolation | None = None
        self.on_first = on_first
        self.policy = policy if policy is not None else Policy(strict="error")
        self.findings: list[SpecViolation] = []

    def __call__(self, batch: list[Event]) -> None:
        for event in batch:
            if type(event) is SpecViolation:
                if self.policy.muted(event.rule):
                    continue
                if len(self.findings) < self.KEPT:
                    self.findings.append(event)
                if not self.policy.fails(event.rule):
                    continue
                self.count += 1
                if self.first is None:
                    self.first = event
                    if self.on_first is not None:
                        self.on_first(event)


class Mute:
    """A recorder tap that drops the spec violations of the rules ``policy`` mutes
    from each drained batch, in place. Install it first
    (``recorder.taps.insert(0, mute)``): the taps after it and the view then never
    see a muted finding, whatever the event source (our server, attach, a capture)."""

    __slots__ = ("policy",)

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __call__(self, batch: list[Event]) -> None:
        muted = self.policy.muted
        if any(type(e) is SpecViolation and muted(e.rule) for e in batch):
            batch[:] = [e for e in batch if type(e) is not SpecViolation or not muted(e.rule)]
