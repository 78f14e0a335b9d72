"""What the server gives the app: the ``http``, ``websocket`` and ``lifespan``
scopes' keys, types and values, and the messages ``receive()`` returns (HTTP &
WebSocket ASGI Message Format 2.5, Lifespan 2.0). Under ``asgi-scope APP`` these
test our own server; under ``attach`` and ``proxy``, the other one."""

from __future__ import annotations

from asgi_scope.trace.rules.rule import Rule

WWW = "ASGI HTTP 2.5"
WS = "ASGI WebSocket 2.5"
LIFE = "ASGI Lifespan 2.0"

_SCOPE_KEYS: dict[str, tuple[str, str, str]] = {
    # what: (severity, title, the spec's words)
    "http-version": ("error", "http_version is '1.0', '1.1', '2' or '3'",
                     "http_version (Unicode string) - One of '1.0', '1.1' or '2' (HTTP/3 "
                     "servers give '3')."),
    "scheme": ("error", "scheme is a non-empty str",
               "scheme (Unicode string) - URL scheme portion (likely 'http' or 'https'). "
               "Optional (but must not be empty); default is 'http'."),
    "scheme-known": ("info", "scheme is 'http' or 'https'",
                     "scheme (Unicode string) - URL scheme portion (likely 'http' or 'https')."),
    "query-encoded": ("warning", "query_string is percent-encoded ASCII",
                      "query_string (byte string) - URL portion after the ?, percent-encoded."),
    "path": ("error", "path is a str",
             "path (Unicode string) - HTTP request target excluding any query string, with "
             "percent-encoded sequences and UTF-8 byte sequences decoded into characters."),
    "path-decoded": ("warning", "path is raw_path, decoded",
                     "path (Unicode string) - ... with percent-encoded sequences and UTF-8 "
                     "byte sequences decoded into characters."),
    "raw-path": ("error", "raw_path is bytes or None",
                 "raw_path (byte string) - The original HTTP path component, unmodified from "
                 "the bytes that were received by the web server. Optional; if missing "
                 "defaults to None."),
    "raw-path-query": ("error", "raw_path holds no query",
                       "raw_path (byte string) - The original HTTP path component ... "
                       "query_string (byte string) - URL portion after the ?: the query is "
                       "not part of the path."),
    "query-string": ("error", "query_string is bytes",
                     "query_string (byte string) - URL portion after the ?, percent-encoded."),
    "root-path": ("error", "root_path is a str",
                  "root_path (Unicode string) - The root path this application is mounted "
                  "at; same as SCRIPT_NAME in WSGI. Optional; if missing defaults to ''."),
    "headers": ("error", "headers are [name, value] byte pairs",
                "headers (Iterable[[byte string, byte string]]) - An iterable of [name, "
                "value] two-item iterables, where name is the header name, and value is the "
                "header value."),
    "header-lowercase": ("error", "header names are lower-case",
                         "headers ... Order of header values must be preserved from the "
                         "original HTTP request ... Header names must be lowercased."),
    "client": ("error", "client is [host, port] or None",
               "client (Iterable[Unicode string, int]) - A two-item iterable of [host, "
               "port], where host is the remote host's IPv4 or IPv6 address, and port is the "
               "remote port as an integer. Optional; if missing defaults to None."),
    "server": ("error", "server is [host, port] or None",
               "server (Iterable[Unicode string, Optional[int]]) - Either a two-item iterable "
               "of [host, port], where host is the listening address for this server, and "
               "port is the integer listening port, or [path, None] where path is that of "
               "the unix socket. Optional; if missing defaults to None."),
    "spec-version": ("warning", "spec_version is one the spec defines",
                     "asgi['spec_version'] (Unicode string) - Version of the ASGI HTTP spec "
                     "this server understands; one of '2.0', '2.1', '2.2', '2.3', '2.4' or "
                     "'2.5'. Optional; if missing assume 2.0."),
    "method": ("error", "method is a str",
               "method (Unicode string) - The HTTP method name, uppercased."),
    "method-upper": ("warning", "method is upper-case",
                     "method (Unicode string) - The HTTP method name, uppercased."),
    "path-absolute": ("warning", "path starts with /",
                      "path (Unicode string) - HTTP request target excluding any query "
                      "string (an origin-form target, RFC 9112 §3.2.1, starts with '/')."),
    "subprotocols": ("error", "subprotocols is a list of str",
                     "subprotocols (Iterable[Unicode string]) - Subprotocols the client "
                     "advertised. Optional; if missing defaults to empty list."),
}  # fmt: skip

_FIX = {
    "scheme-known": "Give the request's scheme: 'http' or 'https' ('ws' or 'wss').",
    "query-encoded": "Pass the query as received (RFC 9112 admits only ASCII in the target).",
    "http-version": "Give the HTTP version as '1.1' (a str), not 'HTTP/1.1' or 1.1.",
    "scheme": "Set scheme to 'http'/'https' ('ws'/'wss'), or leave it out.",
    "path": "Give path as a str, decoded.",
    "path-decoded": "Percent-decode raw_path (UTF-8) into path; keep the raw bytes in raw_path.",
    "raw-path": "Give raw_path as the bytes of the request target's path, or None.",
    "raw-path-query": "Cut raw_path at the first '?': the query goes to query_string.",
    "query-string": "Give query_string as bytes (b'' when there is none).",
    "root-path": "Give root_path as a str ('' when not mounted).",
    "headers": "Give headers as a list of [bytes, bytes] pairs.",
    "header-lowercase": "Lower-case header names before building the scope.",
    "client": "Give client as [host: str, port: int], or None.",
    "server": "Give server as [host: str, port: int] (or [path, None]), or None.",
    "spec-version": "Set asgi['spec_version'] to the HTTP spec version served, e.g. '2.5'.",
    "method": "Give method as a str.",
    "method-upper": "Upper-case the method as received (or reject an unknown one with 501).",
    "path-absolute": "Give path the origin-form target: it starts with '/'.",
    "subprotocols": "Give subprotocols as a list of str (from Sec-WebSocket-Protocol).",
}

_HTTP = (
    "http-version", "method", "method-upper", "scheme", "scheme-known", "path",
    "path-absolute", "path-decoded", "raw-path", "raw-path-query", "query-string",
    "query-encoded", "root-path", "headers", "header-lowercase", "client", "server",
    "spec-version",
)  # fmt: skip
_WS = (
    "http-version", "scheme", "scheme-known", "path", "path-absolute", "path-decoded",
    "raw-path", "raw-path-query", "query-string", "query-encoded", "root-path", "headers",
    "header-lowercase", "client", "server", "subprotocols", "spec-version",
)  # fmt: skip


def _scope(protocol: str, spec: str, what: str) -> Rule:
    severity, title, text = _SCOPE_KEYS[what]
    if protocol == "websocket":
        text = text.replace("HTTP request target", "WebSocket request target")
        text = text.replace("'http' or 'https'", "'ws' or 'wss'")
        title = title.replace("'http' or 'https'", "'ws' or 'wss'")
    return Rule(f"{protocol}.scope.{what}", f"{protocol}.scope", severity, spec,  # type: ignore[arg-type]
                "Connection Scope", title, text, _FIX[what], "server")  # fmt: skip


def _received(id: str, spec: str, part: str, title: str, text: str, fix: str) -> Rule:
    layer = f"{id.split('.', 1)[0]}.events"
    return Rule(id, layer, "error", spec, part, title, text, fix, "server")


RULES = (
    *(_scope("http", WWW, what) for what in _HTTP),
    *(_scope("websocket", WS, what) for what in _WS),
    Rule("lifespan.scope.spec-version", "lifespan.scope", "warning", LIFE, "Scope",
         "spec_version is '1.0' or '2.0'",
         "asgi['spec_version'] (Unicode string) - The version of this spec being used. "
         "Optional; if missing defaults to '1.0'.",
         "Set asgi['spec_version'] to '2.0' (with state) or '1.0'.", "server"),
    Rule("lifespan.scope.state", "lifespan.scope", "error", LIFE, "Scope",
         "the lifespan state is a dict",
         "state Optional(dict[Unicode string, Any]) - An empty namespace where the "
         "application can persist state to be used when handling subsequent requests.",
         "Give the lifespan scope a fresh dict as 'state', or none.", "server"),
    # -- what receive() returns --------------------------------------------------
    _received("http.request-type", WWW, "Request - receive event",
              "receive() gives http.request or http.disconnect",
              "Request - receive event (type 'http.request'); Disconnect - receive event "
              "(type 'http.disconnect'): the messages an HTTP application receives.",
              "The server's receive() must return only http.request and http.disconnect."),
    _received("http.request-body", WWW, "Request - receive event", "the request body is bytes",
              "body (byte string) - Body of the request. Optional; if missing defaults to "
              "b''. If more_body is set, treat as start of body and concatenate on further "
              "chunks.",
              "Give the request body as bytes."),
    _received("http.request-more-body", WWW, "Request - receive event", "more_body is a bool",
              "more_body (bool) - Signifies if there is additional content to come (as part "
              "of a Request message). Optional; if missing defaults to False.",
              "Give more_body as True or False."),
    _received("http.request-after-body", WWW, "Disconnect - receive event",
              "no http.request after the body ended",
              "more_body ... If False, the request is complete and should be processed. "
              "(After it, receive() waits, then returns http.disconnect.)",
              "After the last body chunk, receive() must wait for the disconnect."),
    _received("http.request-after-disconnect", WWW, "Disconnect - receive event",
              "http.disconnect is the last message",
              "Sent to the application if receive is called after a response has been sent "
              "or after the HTTP connection has been closed (every later receive() returns it "
              "again).",
              "After http.disconnect, receive() must keep returning http.disconnect."),
    _received("websocket.message-after-disconnect", WS, "Disconnect - receive event",
              "websocket.disconnect is the last message",
              "Sent to the application when either connection to the client is lost ... "
              "(nothing is received after it).",
              "After websocket.disconnect, receive() must keep returning it."),
    _received("websocket.receive-type", WS, "Receive - receive event",
              "receive() gives connect, receive or disconnect",
              "websocket.connect, websocket.receive and websocket.disconnect are the "
              "messages a WebSocket application receives.",
              "The server's receive() must return only the three WebSocket receive events."),
    _received("websocket.connect-first", WS, "Connect - receive event",
              "websocket.connect comes first",
              "Sent to the application when the client initially opens a connection and is "
              "about to finish the WebSocket handshake.",
              "The first receive() of a WebSocket scope must return websocket.connect."),
    _received("websocket.receive-one", WS, "Receive - receive event",
              "a frame has exactly one of bytes and text",
              "bytes (byte string) - The message content, if it was binary mode, or None. "
              "text (Unicode string) - The message content, if it was text mode, or None. "
              "Exactly one of bytes or text must be non-None.",
              "Set exactly one of bytes and text in websocket.receive."),
    _received("websocket.receive-types", WS, "Receive - receive event",
              "a frame's bytes is bytes, text is str",
              "bytes (byte string) - The message content, if it was binary mode, or None. "
              "text (Unicode string) - The message content, if it was text mode, or None.",
              "Give binary messages as bytes and text messages as str."),
    _received("websocket.disconnect-code", WS, "Disconnect - receive event",
              "the disconnect code is an int",
              "code (int) - The WebSocket close code, as per the WebSocket spec. If no code "
              "was received in the frame from the client, the server should set this to "
              "1005 (the default value in the WebSocket specification).",
              "Give the close code as an int (1005 when the client sent none)."),
    _received("lifespan.receive-type", LIFE, "Startup / Shutdown - receive events",
              "receive() gives lifespan.startup or lifespan.shutdown",
              "lifespan.startup and lifespan.shutdown are the messages a lifespan "
              "application receives, startup first.",
              "The server's receive() must return lifespan.startup, then lifespan.shutdown."),
)  # fmt: skip
