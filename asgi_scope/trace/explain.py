"""Explain mode's words: one or two plain sentences, for learners, and where the
spec says so.

An :class:`Explanation` says what just happened and why, in words, and the
spec section it comes from. The sentences for each ASGI message type and state
(such as ``more_body``) are written once, here, in :data:`MESSAGES`, with those
for a call's outcome and a frame's opcode; each event kind's own words are
registered with its presenter (:func:`asgi_scope.trace.present.explain`), so
every view (the TUI's Messages detail, the headless ``--explain`` lines) shows
the same words. The texts are fixed prose: nothing
from the network or the app is interpolated except through
:func:`~asgi_scope.trace.safe.safe_text`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "LIFE",
    "MESSAGES",
    "WEBSOCKET",
    "WWW",
    "Explanation",
    "message_explanation",
    "opcode_explanation",
    "outcome_explanation",
]


@dataclass(frozen=True, slots=True)
class Explanation:
    """``text``: one or two sentences; ``section``: where the spec says so."""

    text: str
    section: str


WWW = "ASGI HTTP 2.5"
WEBSOCKET = "ASGI WebSocket 2.5"
LIFE = "ASGI Lifespan 2.0"

MESSAGES: dict[tuple[str, str], Explanation] = {
    # (message type, state) -> explanation; state "" when the type has just one.
    ("http.request", "more"): Explanation(
        "The server read part of the request body and handed it to the app's receive(). "
        "more_body is True: more chunks follow, so the app should keep calling receive().",
        f"{WWW}, Request - receive event",
    ),
    ("http.request", "last"): Explanation(
        "The app's receive() returned the last (or only) piece of the request body. "
        "more_body is False: the request is complete and the app can answer.",
        f"{WWW}, Request - receive event",
    ),
    ("http.disconnect", ""): Explanation(
        "receive() returned http.disconnect: the response was sent or the client went "
        "away. The exchange is over; the app should stop and return.",
        f"{WWW}, Disconnect - receive event",
    ),
    ("http.response.start", ""): Explanation(
        "The app started its response: the status and headers. The server holds them "
        "until the first body message, then writes the status line and headers.",
        f"{WWW}, Response Start - send event",
    ),
    ("http.response.body", "more"): Explanation(
        "A piece of the response body. more_body is True, so the server keeps the "
        "response open (chunked, without a Content-Length) for the next piece.",
        f"{WWW}, Response Body - send event",
    ),
    ("http.response.body", "last"): Explanation(
        "The last piece of the response body: more_body is False, so the response is "
        "complete and the connection may carry the next request (keep-alive).",
        f"{WWW}, Response Body - send event",
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
        f"{WEBSOCKET}, Connect - receive event",
    ),
    ("websocket.accept", ""): Explanation(
        "The app accepted the WebSocket: the server answers the handshake with "
        "101 Switching Protocols, and frames can flow both ways.",
        f"{WEBSOCKET}, Accept - send event",
    ),
    ("websocket.receive", ""): Explanation(
        "A whole message from the client (its frames put together): text as str, or "
        "binary as bytes.",
        f"{WEBSOCKET}, Receive - receive event",
    ),
    ("websocket.send", ""): Explanation(
        "The app sent a message; the server turns it into a text or binary frame.",
        f"{WEBSOCKET}, Send - send event",
    ),
    ("websocket.close", ""): Explanation(
        "The app closed the WebSocket: before accept this refuses the handshake "
        "(HTTP 403); after, the server sends a close frame with the app's code.",
        f"{WEBSOCKET}, Close - send event",
    ),
    ("websocket.disconnect", ""): Explanation(
        "The WebSocket is closed (the client's close frame, or the connection lost: "
        "1006). The code says why; the app should return.",
        f"{WEBSOCKET}, Disconnect - receive event",
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
        f"{LIFE}, Startup - receive event",
    ),
    ("lifespan.startup.complete", ""): Explanation(
        "The app is ready: the server starts listening. What the app put in "
        "scope['state'] is copied into every request's scope.",
        f"{LIFE}, Startup Complete - send event",
    ),
    ("lifespan.startup.failed", ""): Explanation(
        "The app could not start: the server stops with its message and serves nothing.",
        f"{LIFE}, Startup Failed - send event",
    ),
    ("lifespan.shutdown", ""): Explanation(
        "The server is stopping: it has finished serving and asks the app to clean up.",
        f"{LIFE}, Shutdown - receive event",
    ),
    ("lifespan.shutdown.complete", ""): Explanation(
        "The app has cleaned up; the server can exit.",
        f"{LIFE}, Shutdown Complete - send event",
    ),
    ("lifespan.shutdown.failed", ""): Explanation(
        "The app failed to clean up; the server exits anyway and reports it.",
        f"{LIFE}, Shutdown Failed - send event",
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


def message_explanation(message: Any) -> Explanation:
    """The words for an ASGI message given to or sent by the app, by its type and
    state (:data:`MESSAGES`); a message the spec does not define gets a general one."""
    if not isinstance(message, dict):
        return _UNKNOWN_MESSAGE
    kind = message.get("type")
    found = MESSAGES.get((kind, _state(message))) if isinstance(kind, str) else None
    return found or _UNKNOWN_MESSAGE


def outcome_explanation(outcome: str, lifespan: bool = False) -> Explanation:
    """The words for how the app's call ended (``outcome`` of ``ExchangeEnded``);
    ``lifespan``: the call was the lifespan's."""
    if lifespan and outcome == "unsupported":
        return Explanation(
            "The app raised on the lifespan scope before answering startup: it does not "
            "support lifespan, and the server carries on without (as uvicorn's --lifespan "
            "auto). The traceback is in the notes panel.",
            f"{LIFE}, Scope",
        )
    if lifespan and outcome == "complete":
        return Explanation(
            "The app's lifespan call returned, startup and shutdown answered: the server can exit.",
            f"{LIFE}, Scope",
        )
    return Explanation(_OUTCOMES.get(outcome, "The app's call returned."), "ASGI 3.0, Applications")


def opcode_explanation(opcode: int) -> str:
    """What a WebSocket frame with ``opcode`` is, as a phrase (RFC 6455 §5.2)."""
    return _OPCODES.get(opcode, "a frame with a reserved opcode")
