"""WebSocket rules for what the app sends and their order (HTTP & WebSocket ASGI
Message Format 2.5, WebSocket part; RFC 6455 where it defers to it)."""

from __future__ import annotations

from asgi_scope.trace.rules.rule import Rule

WS = "ASGI WebSocket 2.5"


def _ev(id: str, severity: str, spec: str, part: str, title: str, text: str, fix: str) -> Rule:
    return Rule(id, "websocket.events", severity, spec, part, title, text, fix)  # type: ignore[arg-type]


def _fsm(id: str, severity: str, spec: str, part: str, title: str, text: str, fix: str) -> Rule:
    return Rule(id, "websocket.fsm", severity, spec, part, title, text, fix)  # type: ignore[arg-type]


RULES = (
    _ev("websocket.subprotocol", "error", WS, "Accept - send event; RFC 6455 §4.2.2",
        "the subprotocol is one the client offered",
        "subprotocol (Unicode string) - The subprotocol the server wishes to accept. RFC "
        "6455: the server selects one or none of the client's subprotocols.",
        "Accept one of scope['subprotocols'], or None."),
    _ev("websocket.headers-shape", "error", WS, "Accept - send event",
        "headers are [name, value] pairs of bytes",
        "headers (Iterable[[byte string, byte string]]) - An iterable of [name, value] "
        "two-item iterables, where name is the header name, and value is the header value.",
        "Send headers as [(b'name', b'value'), ...]."),
    _ev("websocket.header-lowercase", "warning", WS, "Accept - send event",
        "header names are lower-case",
        "headers ... Header names must be lowercased.",
        "Lower-case header names."),
    _ev("websocket.header-reserved", "warning", WS, "Accept - send event",
        "no handshake headers in accept's headers",
        "headers ... The server must raise an exception if the headers contain "
        "sec-websocket-protocol: the subprotocol key sets it (the handshake headers are the "
        "server's).",
        "Pass the subprotocol as 'subprotocol'; leave sec-websocket-* headers to the server."),
    _ev("websocket.send-one", "error", WS, "Send - send event", "exactly one of bytes and text",
        "Exactly one of bytes or text must be non-None. One or both keys may be present, "
        "however.",
        "Send {'type': 'websocket.send', 'text': ...} or {..., 'bytes': ...}, not both."),
    _ev("websocket.send-types", "error", WS, "Send - send event", "bytes is bytes, text is str",
        "bytes (byte string) - Binary message content, or None. text (Unicode string) - "
        "Text message content, or None.",
        "Put str in 'text' and bytes in 'bytes'."),
    _ev("websocket.text-encodable", "error", "RFC 6455", "§5.6 Data Frames",
        "text is valid Unicode (no lone surrogates)",
        "The \"Payload data\" is text data encoded as UTF-8.",
        "Remove lone surrogates (e.g. text.encode('utf-8', 'replace').decode())."),
    _ev("websocket.close-code", "error", WS, "Close - send event; RFC 6455 §7.4",
        "the close code is an int an endpoint may send",
        "code (int) - The WebSocket close code, as per the WebSocket spec. RFC 6455: 1005, "
        "1006 and 1015 must not be set in a close frame; codes are 1000-4999.",
        "Close with 1000 (normal), 1001-1014 as RFC 6455 defines them, or 3000-4999."),
    _ev("websocket.close-reason", "error", WS, "Close - send event; RFC 6455 §5.5",
        "the close reason is a short str",
        "reason (Unicode string) - A reason given for the closure, can be any string. RFC "
        "6455: a control frame's payload is at most 125 bytes (123 for the reason).",
        "Keep the reason a str of at most 123 UTF-8 bytes."),
    _fsm("websocket.accept-first", "error", WS, "Connect - receive event", "accept before send",
         "This message must be responded to with either an Accept message or a Close message "
         "before the socket will pass websocket.receive messages.",
         "Send websocket.accept before websocket.send."),
    _fsm("websocket.accept-once", "error", WS, "Accept - send event",
         "accept once, only while connecting",
         "Sent by the application when it wishes to accept an incoming connection (in "
         "answer to websocket.connect, once).",
         "Send websocket.accept once."),
    _fsm("websocket.after-close", "error", WS, "Close - send event",
         "nothing after websocket.close",
         "Sent by the application to tell the server to close the connection; the exchange "
         "is over.",
         "Stop sending after websocket.close."),
    _fsm("websocket.no-answer", "error", WS, "Connect - receive event",
         "the app answers the handshake",
         "This message must be responded to with either an Accept message or a Close message "
         "(or a complete denial response).",
         "Answer websocket.connect with websocket.accept or websocket.close before returning."),
    _fsm("websocket.receive-after-disconnect", "warning", WS, "Disconnect - receive event",
         "no receive() after websocket.disconnect",
         "Sent to the application when either connection to the client is lost. After it "
         "the connection is gone: every further receive() returns it again.",
         "Stop calling receive() once it returned websocket.disconnect."),
    _fsm("websocket.send-after-disconnect", "info", WS, "Disconnect - receive event",
         "nothing sent after websocket.disconnect",
         "If send() is called on a closed connection the server should raise a "
         "server-specific subclass of OSError (the client is gone).",
         "Stop sending once receive() returned websocket.disconnect."),
)  # fmt: skip
