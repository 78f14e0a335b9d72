"""Rules of the ASGI extensions ("extensions.rst"): HTTP trailers, path send,
zero-copy send, early hints, server push, debug, the WebSocket denial response,
and the TLS extension a server puts in the scope."""

from __future__ import annotations

from asgi_scope.trace.rules.rule import Rule

EXT = "ASGI Extensions"


def _x(id: str, severity: str, part: str, title: str, text: str, fix: str) -> Rule:
    return Rule(id, "extensions", severity, EXT, part, title, text, fix)  # type: ignore[arg-type]


def _server(id: str, severity: str, part: str, title: str, text: str, fix: str) -> Rule:
    return Rule(id, "extensions", severity, EXT, part, title, text, fix, "server")  # type: ignore[arg-type]


RULES = (
    _x("http.trailers-order", "error", "HTTP Trailers",
       "trailers announced, and sent after the last body",
       "trailers (bool) in http.response.start: if True, the server must wait until it "
       "receives a http.response.trailers message after the Response Body event (more_body "
       "False). Trailers are sent only if announced there.",
       "Set trailers=True in http.response.start, then send trailers after the last body."),
    _x("http.trailers-forbidden", "warning", "HTTP Trailers; RFC 9110 §6.5.1",
       "no framing or routing fields in trailers",
       "Many fields cannot be processed outside the header section because their evaluation "
       "is necessary prior to receiving the content, such as those that describe message "
       "framing (Content-Length, Transfer-Encoding), routing, authentication ...",
       "Send Content-Length, Transfer-Encoding, Host and the like in the header section."),
    _x("http.pathsend-path", "error", "Path Send", "pathsend's path is a str",
       "path (Unicode string) - The string representation of the absolute path to the file "
       "to be sent.",
       "Send the path as a str: str(path)."),
    _x("http.pathsend-absolute", "error", "Path Send", "pathsend's path is absolute",
       "path (Unicode string) - The string representation of the absolute path to the file "
       "to be sent.",
       "Send an absolute path: os.path.abspath(path)."),
    _x("http.pathsend-order", "error", "Path Send", "pathsend right after the start",
       "http.response.pathsend ... is sent instead of http.response.body: the file is the "
       "whole body, so it follows http.response.start and no body came before it.",
       "Send the file alone after http.response.start, or send all of it as body messages."),
    _x("http.zerocopysend-file", "error", "Zero Copy Send",
       "zerocopysend's file is an open file",
       "file (file descriptor object) - An opened file descriptor object with an underlying "
       "OS file descriptor that can be used to call os.sendfile.",
       "Pass an open file object with a fileno()."),
    _x("http.zerocopysend-range", "error", "Zero Copy Send",
       "offset and count are non-negative ints",
       "offset (int) - Optional. If this value exists, it will specify the offset at which "
       "sendfile starts to read data from file. count (int) - Optional. count is the number "
       "of bytes to copy between the file descriptors.",
       "Give offset and count as ints >= 0 (or leave them out)."),
    _x("http.early-hint-links", "warning", "Early Hints",
       "early hint links are a list of bytes",
       "links (Iterable[byte string]) - An iterable of link headers to send (spec unclear: "
       "the extension names only this key; each is a Link field value).",
       "Send links as [b'</style.css>; rel=preload; as=style', ...]."),
    _x("http.push-path", "error", "HTTP/2 Server Push", "push's path is a str and headers pairs",
       "path (Unicode string) - HTTP path from URL. headers (Iterable[[byte string, byte "
       "string]]) - An iterable of [name, value] two-item iterables.",
       "Send path as a str and headers as byte pairs."),
    _x("http.debug-info", "warning", "Debug", "debug info is a dict",
       "info (dict) - a dict of debug information (template: the template name; context: "
       "the dict it was rendered with), for test clients.",
       "Send {'type': 'http.response.debug', 'info': {...}}."),
    _x("websocket.denial-order", "error", "WebSocket Denial Response",
       "a denial response is start, then body, before accept",
       "websocket.http.response.start is sent instead of accept, before the handshake "
       "completes, and is followed by websocket.http.response.body messages until more_body "
       "is False.",
       "Send websocket.http.response.start before accept, then its body messages."),
    _x("websocket.denial-status", "error", "WebSocket Denial Response",
       "a denial status is an int, 100 to 599",
       "status (int) - HTTP status code.",
       "Send the denial's status as an int, e.g. 403."),
    _x("websocket.denial-body", "error", "WebSocket Denial Response",
       "a denial body is bytes, more_body a bool",
       "body (byte string) - HTTP body content ... more_body (bool) - Signifies if there is "
       "additional content to come.",
       "Send the denial's body as bytes and more_body as True or False."),
    _server("asgi.scope-tls", "error", "TLS", "the tls extension's fields have their types",
            "server_cert (Unicode string or None) ... client_cert_chain (Iterable[Unicode "
            "string]) ... client_cert_name (Unicode string or None) ... client_cert_error "
            "(Unicode string or None) ... tls_version (integer or None) ... cipher_suite "
            "(integer or None).",
            "Give scope['extensions']['tls'] the types the TLS extension lists (PEM as str)."),
    _server("asgi.scope-tls-scheme", "warning", "TLS", "a TLS connection's scheme is https or wss",
            "This extension is only for connections made over TLS (spec unclear on the scheme: "
            "a connection over TLS is https, or wss for a WebSocket, as RFC 9110 §4.2.2 says).",
            "Set scope['scheme'] to 'https' (or 'wss') when the tls extension is present."),
)  # fmt: skip
