"""Explain mode: one or two plain sentences per event, for learners, and where the
spec says so.

:func:`explain` maps an event (and, for messages, its type and state such as
``more_body``) to an :class:`Explanation`: what just happened and why, in
words, and the spec section it comes from. The sentences are written once per
event kind and state, here; every view (the TUI's Messages detail, the headless
``--explain`` lines) shows the same words. The texts are fixed prose: nothing
from the network or the app is interpolated except through
:func:`~asgi_scope.trace.safe.safe_text`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgi_scope.trace.events import (
    AppRaised,
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    ConnectionOpened,
    Event,
    ExchangeEnded,
    LifespanState,
    MessageReceived,
    MessageSent,
    ProtocolError,
    ScopeCreated,
    ServerNote,
    SpecViolation,
    WebSocketFrame,
)
from asgi_scope.trace.safe import safe_text

__all__ = ["MESSAGES", "Explanation", "explain"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """``text``: one or two sentences; ``section``: where the spec says so."""

    text: str
    section: str


_WWW = "ASGI HTTP 2.5"
_WS = "ASGI WebSocket 2.5"
_LIFE = "ASGI Lifespan 2.0"

MESSAGES: dict[tuple[str, str], Explanation] = {
    # (message type, state) -> explanation; state "" when the type has just one.
    ("http.request", "more"): Explanation(
        "The server read part of the request body and handed it to the app's receive(). "
        "more_body is True: more chunks follow, so the app should keep calling receive().",
        f"{_WWW}, Request - receive event",
    ),
    ("http.request", "last"): Explanation(
        "The app's receive() returned the last (or only) piece of the request body. "
        "more_body is False: the request is complete and the app can answer.",
        f"{_WWW}, Request - receive event",
    ),
    ("http.disconnect", ""): Explanation(
        "receive() returned http.disconnect: the response was sent or the client went "
        "away. The exchange is over; the app should stop and return.",
        f"{_WWW}, Disconnect - receive event",
    ),
    ("http.response.start", ""): Explanation(
        "The app started its response: the status and headers. The server holds them "
        "until the first body message, then writes the status line and headers.",
        f"{_WWW}, Response Start - send event",
    ),
    ("http.response.body", "more"): Explanation(
        "A piece of the response body. more_body is True, so the server keeps the "
        "response open (chunked, without a Content-Length) for the next piece.",
        f"{_WWW}, Response Body - send event",
    ),
    ("http.response.body", "last"): Explanation(
        "The last piece of the response body: more_body is False, so the response is "
        "complete and the connection may carry the next request (keep-alive).",
        f"{_WWW}, Response Body - send event",
    ),
    ("http.response.trailers", ""): Explanation(
        "Trailer fields, sent after the body as the end of a chunked response, because "
        "the app announced trailers: True in http.response.start.",
        "ASGI extension HTTP Trailers",
    ),
    ("http.response.pathsend", ""): Explanation(
        "The app asked the server to send a file as the body, by path: the server reads "
        "it and writes it, so the app does not copy it through send().",
        "ASGI extension Path Send",
    ),
    ("http.response.debug", ""): Explanation(
        "Debug information for test clients; nothing goes on the wire.",
        "ASGI extension Debug",
    ),
    ("websocket.connect", ""): Explanation(
        "A client asked to open a WebSocket. The handshake waits for the app: it must "
        "answer with websocket.accept, or websocket.close to refuse (HTTP 403).",
        f"{_WS}, Connect - receive event",
    ),
    ("websocket.accept", ""): Explanation(
        "The app accepted the WebSocket: the server answers the handshake with "
        "101 Switching Protocols, and frames can flow both ways.",
        f"{_WS}, Accept - send event",
    ),
    ("websocket.receive", ""): Explanation(
        "A whole message from the client (its frames put together): text as str, or "
        "binary as bytes.",
        f"{_WS}, Receive - receive event",
    ),
    ("websocket.send", ""): Explanation(
        "The app sent a message; the server turns it into a text or binary frame.",
        f"{_WS}, Send - send event",
    ),
    ("websocket.close", ""): Explanation(
        "The app closed the WebSocket: before accept this refuses the handshake "
        "(HTTP 403); after, the server sends a close frame with the app's code.",
        f"{_WS}, Close - send event",
    ),
    ("websocket.disconnect", ""): Explanation(
        "The WebSocket is closed (the client's close frame, or the connection lost: "
        "1006). The code says why; the app should return.",
        f"{_WS}, Disconnect - receive event",
    ),
    ("websocket.http.response.start", ""): Explanation(
        "Instead of accepting, the app answers the handshake with an HTTP response of "
        "its own (status and headers), a denial response.",
        "ASGI extension WebSocket Denial Response",
    ),
    ("websocket.http.response.body", ""): Explanation(
        "The body of the app's denial response to the handshake.",
        "ASGI extension WebSocket Denial Response",
    ),
    ("lifespan.startup", ""): Explanation(
        "The server is starting: before it accepts any connection it asks the app to "
        "start up (open pools, load models) and waits for the answer.",
        f"{_LIFE}, Startup - receive event",
    ),
    ("lifespan.startup.complete", ""): Explanation(
        "The app is ready: the server starts listening. What the app put in "
        "scope['state'] is copied into every request's scope.",
        f"{_LIFE}, Startup Complete - send event",
    ),
    ("lifespan.startup.failed", ""): Explanation(
        "The app could not start: the server stops with its message and serves nothing.",
        f"{_LIFE}, Startup Failed - send event",
    ),
    ("lifespan.shutdown", ""): Explanation(
        "The server is stopping: it has finished serving and asks the app to clean up.",
        f"{_LIFE}, Shutdown - receive event",
    ),
    ("lifespan.shutdown.complete", ""): Explanation(
        "The app has cleaned up; the server can exit.",
        f"{_LIFE}, Shutdown Complete - send event",
    ),
    ("lifespan.shutdown.failed", ""): Explanation(
        "The app failed to clean up; the server exits anyway and reports it.",
        f"{_LIFE}, Shutdown Failed - send event",
    ),
}
"""Every message type the server or an app may pass, by type and state."""

_UNKNOWN_MESSAGE = Explanation(
    "A message whose type the ASGI spec does not define for this exchange (or not a "
    "dict at all): the server refuses it, and the spec checker flags it.",
    "ASGI 3.0, Events",
)

_OUTCOMES = {
    "complete": "The app's call returned after finishing its response: the exchange is done.",
    "error": "The app raised: if it had not started a response the server answered 500, "
    "else it closed the connection.",
    "incomplete": "The app returned without finishing its response; the server answered "
    "500 or closed the connection so the client is not left waiting.",
    "disconnect": "The client went away before the response was complete; the app's call "
    "then returned.",
}

_OPCODES = {
    0: "a continuation frame: the next part of a fragmented message",
    1: "a text frame (UTF-8)",
    2: "a binary frame",
    8: "a close frame: the closing handshake, with a code and a reason",
    9: "a ping: the other side must answer with a pong (the server does, not the app)",
    10: "a pong, the answer to a ping",
}


def _state(message: dict[str, Any]) -> str:
    kind = message.get("type")
    if kind in ("http.request", "http.response.body"):
        return "more" if message.get("more_body") else "last"
    return ""


def explain(event: Event) -> Explanation:
    """One or two sentences on what ``event`` is and why it happened, with the
    spec section (or RFC) it comes from. Every event kind has one."""
    if isinstance(event, (MessageReceived, MessageSent)):
        message = event.message
        if not isinstance(message, dict):
            return _UNKNOWN_MESSAGE
        kind = message.get("type")
        found = MESSAGES.get((kind, _state(message))) if isinstance(kind, str) else None
        return found or _UNKNOWN_MESSAGE
    if isinstance(event, ScopeCreated):
        kind = event.scope.get("type")
        if kind == "lifespan":
            return Explanation(
                "The server called the app once with a lifespan scope, before serving, to "
                "run its startup and, at the end, its shutdown.",
                f"{_LIFE}, Scope",
            )
        if kind == "websocket":
            return Explanation(
                "An HTTP request asked to upgrade to a WebSocket: the server built the "
                "connection scope from it and called the app, which will get websocket.connect.",
                f"{_WS}, Connection Scope",
            )
        return Explanation(
            "The server parsed the request head (method, path, headers) into a scope and "
            "called the app with it: one call per request, even on a kept-alive connection.",
            f"{_WWW}, HTTP Connection Scope",
        )
    if isinstance(event, BytesReceived):
        return Explanation(
            "Bytes arrived from the client on the socket. The server feeds them to its HTTP "
            "parser (h11), which turns them into the request head and body.",
            "RFC 9112 §2 (message format)",
        )
    if isinstance(event, BytesSent):
        return Explanation(
            "The server wrote bytes to the socket: what an app message became (status line "
            "and headers, body, chunk framing), or an answer of its own.",
            "RFC 9112 §2, §7 (message format, chunked)",
        )
    if isinstance(event, ConnectionOpened):
        return Explanation(
            "A client opened a TCP connection. One connection may carry many requests, one "
            "after another (keep-alive).",
            "RFC 9112 §9 (connection management)",
        )
    if isinstance(event, ConnectionClosed):
        return Explanation(
            f"The connection closed, by the {safe_text(event.by)} "
            f"({safe_text(event.reason)}). Anything in flight on it is over.",
            "RFC 9112 §9.6 (tear-down)",
        )
    if isinstance(event, AppRaised):
        return Explanation(
            "The app raised an exception. The server records it and answers 500 if no "
            "response had started, or closes the connection if one had.",
            "ASGI 3.0, Error Handling",
        )
    if isinstance(event, ProtocolError):
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
    if isinstance(event, ExchangeEnded):
        scope = event.scope if isinstance(event.scope, dict) else {}
        if scope.get("type") == "lifespan" and event.outcome == "complete":
            return Explanation(
                "The app's lifespan call returned, startup and shutdown answered: "
                "the server can exit.",
                "ASGI Lifespan 2.0, Scope",
            )
        return Explanation(
            _OUTCOMES.get(event.outcome, "The app's call returned."), "ASGI 3.0, Applications"
        )
    if isinstance(event, WebSocketFrame):
        what = _OPCODES.get(event.opcode, "a frame with a reserved opcode")
        who = "The client sent" if event.direction == "in" else "The server sent"
        return Explanation(f"{who} {what}.", "RFC 6455 §5 (data framing)")
    if isinstance(event, LifespanState):
        return Explanation(
            "What the app put in scope['state'] during startup. Every request's scope gets "
            "a shallow copy of it, so the app can share a database pool with its routes.",
            f"{_LIFE}, Lifespan State",
        )
    if isinstance(event, SpecViolation):
        return Explanation(
            f"The app broke the ASGI rule {safe_text(event.rule)}: "
            f"{safe_text(event.detail)}. The detail quotes what the spec asks.",
            safe_text(event.section),
        )
    if isinstance(event, ServerNote):
        return Explanation(
            "A note from the server about itself (listening, lifespan, a warning): not part "
            "of any exchange.",
            "asgi-scope",
        )
    return _BY_NAME.get(type(event).__name__, _OTHER)


_BY_NAME = {
    # Kinds recorded by other front ends than the embedded server (by name, so this
    # module needs no import of theirs).
    "ConnectionOrigin": Explanation(
        "Says who recorded this connection when it was not asgi-scope's own server: "
        "a middleware inside the app's process, or asgi-scope's proxy.",
        "asgi-scope",
    ),
    "UpstreamBytes": Explanation(
        "Bytes the proxy exchanged with the upstream server for this request: the "
        "forwarded request, or the upstream's response.",
        "RFC 9110 §7.6 (intermediaries)",
    ),
    "ProxyTimings": Explanation(
        "How the proxy spent this exchange's time: connecting upstream, waiting on the "
        "upstream, waiting on the client.",
        "RFC 9110 §7.6 (intermediaries)",
    ),
}

_OTHER = Explanation("An event asgi-scope recorded.", "asgi-scope")
