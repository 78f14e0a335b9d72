"""The HTTP request cycle: one request/response exchange, as two state machines.

Sans-IO: a :class:`RequestCycle` turns the app's ``http.response.*`` messages
into bytes with the connection's ``h11.Connection``, and the request body h11
parsed into ``http.request`` messages; bytes go out, and the cycle waits,
through its :class:`~asgi_scope.server.edge.Edge`.

Each direction has its own state (as h11 keeps one per role): the request body
as the app's ``receive()`` sees it (:class:`RequestState`), the response as the
app's ``send()`` drives it (:class:`ResponseState`), after the ASGI HTTP spec
("Request", "Response Start", "Response Body", "Disconnect") and the
``http.response.trailers`` and ``http.response.pathsend`` extensions::

    request:   RECEIVING --(the end of the body parsed)--> RECEIVED
                    --(the last http.request received)--> DELIVERED

    response:  START --http.response.start--> BODY --body, more_body false--> COMPLETE
               BODY --(body, more_body false; trailers promised)--> TRAILERS
               TRAILERS --(trailers, more_trailers false)--> COMPLETE
               START, BODY, TRAILERS --(the client left, or h11 refused its bytes)--> DISCONNECTED
               START --(the app failed or broke the protocol: the server's 500)--> COMPLETE
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Callable
from typing import Any

import h11

from asgi_scope.server.edge import APP_ERRORS, Edge, Signal
from asgi_scope.server.h11_private import send_data, send_end, send_response
from asgi_scope.server.responses import REASONS, error_response
from asgi_scope.server.scope import Headers
from asgi_scope.trace.events import ProtocolError, ServerNote, Wire
from asgi_scope.trace.shim import Shim
from asgi_scope.trace.snapshot import plain

HIGH_WATER = 64 * 1024
"""Bytes of request body buffered for the app before the server stops reading
(each chunk counted as its length plus :data:`CHUNK_OVERHEAD`); also the size
of each read of a ``http.response.pathsend`` file."""

CHUNK_OVERHEAD = 64
"""Bytes each buffered body chunk counts for besides its data, so that a body
of many tiny chunks the app does not read also stops the reading."""


class RequestState(enum.Enum):
    """The request body, as the app's ``receive()`` sees it."""

    RECEIVING = enum.auto()
    """More of the body is to come from the client (``more_body`` is true)."""
    RECEIVED = enum.auto()
    """The whole body has arrived; the ``http.request`` with ``more_body`` false
    has not been received by the app yet."""
    DELIVERED = enum.auto()
    """The app has received the last ``http.request``; next comes ``http.disconnect``."""


class ResponseState(enum.Enum):
    """The response, as the app's ``send()`` drives it."""

    START = enum.auto()
    """Nothing sent: ``http.response.start`` expected."""
    BODY = enum.auto()
    """The head is sent: ``http.response.body`` until ``more_body`` is false."""
    TRAILERS = enum.auto()
    """The body is done, trailers were promised: ``http.response.trailers``
    until ``more_trailers`` is false."""
    COMPLETE = enum.auto()
    """The response is complete (the app's, or the server's 500 in its place),
    or the app broke the protocol and the connection is closing."""
    DISCONNECTED = enum.auto()
    """The client left (or sent bytes h11 refused) before the response was complete."""


# The states as module globals, for the hot path: on Python 3.11 looking a
# member up on its Enum class (``ResponseState.BODY``) takes about 75 ns, a
# global about 10 ns; a request makes some twenty such comparisons.
_RECEIVING, _RECEIVED, _DELIVERED = (
    RequestState.RECEIVING,
    RequestState.RECEIVED,
    RequestState.DELIVERED,
)
_START, _BODY, _TRAILERS = ResponseState.START, ResponseState.BODY, ResponseState.TRAILERS
_COMPLETE, _DISCONNECTED = ResponseState.COMPLETE, ResponseState.DISCONNECTED


class RequestCycle:
    """One request/response exchange: the app's ``receive`` and ``send`` over h11.

    ``edge`` is the connection's I/O, ``h`` its h11 state (already past this
    request's head), ``exchange`` the exchange id, ``scope`` the ``http`` scope,
    ``head`` true for a HEAD request (the response has no body, RFC 9110
    §9.3.2), ``app`` the ASGI app to call and ``defaults`` a function giving the
    server's own response header fields.
    """

    def __init__(
        self,
        edge: Edge,
        h: h11.Connection,
        exchange: int,
        scope: dict[str, Any],
        head: bool,
        app: Any,
        defaults: Callable[[], Headers],
    ) -> None:
        self.edge = edge
        self.h11 = h
        self.exchange = exchange
        self.scope = scope
        self.head_only = head
        self.app = app  # or the server's own 503 answer, past the limit
        self.defaults = defaults
        self.request = _RECEIVING
        self.response = _START
        self.body: list[bytes] = []
        self.buffered = 0  # bytes in self.body (with CHUNK_OVERHEAD each)
        self.body_wire: Wire | None = None
        self.trailers = False  # the app's http.response.start promised trailers
        self.trailer_fields: list[tuple[bytes, bytes]] = []
        self.chunked = False  # h11 framed the response body with chunked coding
        self.status = 0
        self.out_budget = edge.recorder.max_body
        self.message_event: Signal | None = None
        """What a ``receive()`` waiting for the body waits on: made by the first
        one that has to wait (most requests never do), so a wake-up before
        then is nothing to do (``receive()`` looks at the state before waiting)."""
        self.shim: Shim | None = Shim(edge.recorder, edge.conn, exchange, self.receive, self.send)
        """The exchange's shim until the app is called (it records the scope); then
        only :attr:`_shim`, a weak reference, so that the shim (which holds this
        cycle's ``receive`` and ``send``) and the cycle are no reference cycle and
        are freed as soon as the exchange is over, without the garbage collector."""
        self._shim = weakref.ref(self.shim)
        self.app_returned = False  # the app's call is over (the watchdog asks)

    @property
    def response_complete(self) -> bool:
        """True once the response is complete."""
        return self.response is _COMPLETE

    # fed by the connection

    def add_body(self, data: bytes, wire: Wire) -> None:
        """Buffer a body chunk h11 parsed from ``wire``, for the next ``receive()``."""
        self.body.append(data)
        self.buffered += len(data) + CHUNK_OVERHEAD
        self.body_wire = wire if self.body_wire is None else (self.body_wire[0], wire[1])
        self._wake()

    def end_body(self, wire: Wire) -> None:
        """The request body is complete (``wire``: the final chunk and trailers)."""
        self.request = _RECEIVED
        if wire[1] > wire[0]:
            self.body_wire = wire if self.body_wire is None else (self.body_wire[0], wire[1])
        self._wake()

    def connection_lost(self, status: int = 0) -> None:
        """The client left, or sent bytes h11 refused (answered with ``status``, if
        not 0): a response not yet complete never will be; ``receive()`` wakes
        to give ``http.disconnect``."""
        if self.response is not _COMPLETE:
            self.response = _DISCONNECTED
        if status:
            self.status = status  # what the client got, for ExchangeEnded
        self._wake()

    def _wake(self) -> None:
        """Wake a ``receive()`` waiting for the body, if one ever waited."""
        event = self.message_event
        if event is not None:
            event.set()

    # running the app

    async def run(self) -> None:
        """Call the app; answer 500 or close if it fails; record how it ended."""
        shim, self.shim = self.shim, None
        if shim is None:
            raise RuntimeError("an exchange's app is called once")
        outcome = "complete"
        try:
            await self.app(self.scope, shim.receive, shim.send)
        except BaseException as exc:  # the app's failure is what we show
            shim.raised(exc)
            outcome = "error"
            self._fail()
            if not isinstance(exc, APP_ERRORS):  # cancelled: the task's own end
                raise
        else:
            response = self.response
            if response is not _COMPLETE:
                outcome = "disconnect" if response is _DISCONNECTED else "incomplete"
                self._fail()
        finally:
            self.app_returned = True
            shim.ended(self.scope, outcome, self.status)

    def _cause(self) -> int:
        """The ``seq`` of the newest message the app sent (what the bytes written now
        are caused by): the shim's, alive while the app calls its ``send``; 0 when
        the server's ``send`` was called without it."""
        shim = self._shim()
        return shim.last_sent if shim is not None else 0

    def _fail(self) -> None:
        """The app raised or returned early: answer 500 if nothing was sent yet,
        close if a response was under way. A complete response stands, and so
        does its keep-alive connection."""
        edge = self.edge
        response = self.response
        if response is _COMPLETE or response is _DISCONNECTED:
            return
        if edge.is_closing():
            return
        if response is _START:
            self._send_500()
            self._wake()
            edge.close("server", "app failed before responding")
        else:
            edge.close("server", "app failed during the response")

    async def receive(self) -> tuple[dict[str, Any], Wire | None]:
        """The server's side of ASGI ``receive`` (see :class:`Shim`): ``http.request``
        messages until ``more_body`` is false, then ``http.disconnect`` once the
        response is complete or the client has left."""
        h = self.h11
        if self.response is _START and h.they_are_waiting_for_100_continue:
            # 100 Continue only once the app asks for the body (RFC 9110 §10.1.1).
            data = h.send(
                h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
            )
            self.out_budget -= self.edge.write(data, self.exchange, 0, self.out_budget)
        # Wait until there is something new to give: body, the end of the body
        # (once), or the end of the exchange. After the last ``http.request``
        # the next receive() blocks until http.disconnect is due (as uvicorn
        # does), so an app listening for disconnect does not spin.
        while True:
            response = self.response
            if response is _COMPLETE or response is _DISCONNECTED:
                return {"type": "http.disconnect"}, None
            if self.body or self.request is _RECEIVED:
                break
            self.edge.resume_reading()
            event = self.message_event
            if event is None:
                event = self.message_event = self.edge.signal()
            else:
                event.clear()
            await event.wait()
        body = b"".join(self.body)
        wire = self.body_wire
        self.body.clear()
        self.buffered = 0
        self.body_wire = None
        self.edge.resume_reading()
        more_body = self.request is _RECEIVING
        if not more_body:
            self.request = _DELIVERED
        return {"type": "http.request", "body": body, "more_body": more_body}, wire

    async def send(self, message: dict[str, Any]) -> None:
        """The server's side of ASGI ``send``: turn the message into h11 events.

        Raises ``RuntimeError`` for a message out of order or of the wrong type
        and for one h11 refuses (bad header, more body than Content-Length); the
        connection is then closed. After the client left, messages are dropped.
        """
        edge = self.edge
        if not edge.writable.is_set() and self.response is not _DISCONNECTED:
            await edge.writable.wait()
        response = self.response
        if response is _DISCONNECTED:
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "http.response.debug" and response is _START:
            return  # the debug extension: the shim recorded it, nothing goes on the wire
        if kind == "http.response.pathsend" and (response is _BODY or response is _COMPLETE):
            await self._pathsend(message)
            return
        head = False
        try:
            if response is _TRAILERS:
                if kind != "http.response.trailers":
                    raise RuntimeError(f"Expected 'http.response.trailers', got {kind!r}.")
                data = self._trailers(message)
            elif response is _START:
                if kind != "http.response.start":
                    raise RuntimeError(f"Expected 'http.response.start', got {kind!r}.")
                data = self._start(message)
                head = True
            elif response is _BODY:
                if kind != "http.response.body":
                    raise RuntimeError(f"Expected 'http.response.body', got {kind!r}.")
                data = self._body(message)
            else:
                raise RuntimeError(f"Unexpected {kind!r}: the response is already complete.")
        except h11.LocalProtocolError as exc:
            self._refused(str(exc))
            raise RuntimeError(f"Invalid HTTP response: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            self._refused(f"invalid {kind!r} message: {exc!r}")
            raise RuntimeError(f"Invalid ASGI message {kind!r}: {exc!r}") from exc
        self.out_budget -= edge.write(
            data, self.exchange, self._cause(), self.out_budget, head
        )
        if self.response is _COMPLETE:
            self._wake()
            edge.response_complete()

    def _start(self, message: dict[str, Any]) -> bytes:
        """``http.response.start`` → the response head (RFC 9112 §4, §6); → BODY."""
        status = plain(message["status"])  # an int subclass's methods are the app's
        headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", ())]
        names = {name.lower() for name, _ in headers}
        headers += [h for h in self.defaults() if h[0] not in names]
        h = self.h11
        if h.they_are_waiting_for_100_continue and b"connection" not in names:
            # A final answer before 100 Continue: the client may send the body
            # anyway or not at all, so the stream cannot carry another request
            # (RFC 9110 §10.1.1). Close after this response.
            headers.append((b"connection", b"close"))
        data = send_response(h, status, REASONS.get(status, b""), headers)
        self.response = _BODY
        self.status = status
        # http.response.trailers extension: the body's end waits for the trailers,
        # which only a chunked body can carry (RFC 9112 §7.1.2).
        self.trailers = bool(message.get("trailers", False))
        self.chunked = b"\r\ntransfer-encoding: chunked\r\n" in data.lower()
        return data

    def _body(self, message: dict[str, Any]) -> bytes:
        """``http.response.body`` → body bytes (framed by h11); → TRAILERS or COMPLETE
        when ``more_body`` is false."""
        body = message.get("body", b"")
        h = self.h11
        data = send_data(h, body) if body and not self.head_only else b""
        if not message.get("more_body", False):
            if self.trailers:
                self.response = _TRAILERS
                return data
            data += send_end(h)
            self.response = _COMPLETE
        return data

    def _trailers(self, message: dict[str, Any]) -> bytes:
        """``http.response.trailers``: the trailer section (RFC 9112 §7.1.2) and the
        end of the response, once ``more_trailers`` is false (→ COMPLETE). A
        response not sent chunked (Content-Length, HTTP/1.0, HEAD) cannot carry
        trailers: they are dropped, with a note."""
        self.trailer_fields += [(bytes(n), bytes(v)) for n, v in message.get("headers", ())]
        if message.get("more_trailers", False):
            return b""
        fields, self.trailer_fields = self.trailer_fields, []
        if fields and not (self.chunked and not self.head_only):
            edge = self.edge
            edge.recorder.record(
                ServerNote,
                conn=edge.conn,
                level="warning",
                text=f"#{self.exchange}: {len(fields)} trailer field(s) dropped: body not chunked",
            )
            fields = []
        self.response = _COMPLETE
        return self.h11.send(h11.EndOfMessage(headers=fields))

    async def _pathsend(self, message: dict[str, Any]) -> None:
        """``http.response.pathsend``: the server sends the file at ``path`` as the
        whole body (:data:`HIGH_WATER` bytes at a time, read off the loop), then
        ends the response (→ COMPLETE). Raises ``RuntimeError`` if the file
        cannot be read."""
        edge = self.edge
        path = message.get("path")
        cause = self._cause()
        try:
            if self.response is _COMPLETE:
                raise RuntimeError("Unexpected 'http.response.pathsend': the response is complete.")
            if not isinstance(path, str):
                raise TypeError(f"'path' must be a str, not {type(path).__name__}")
            file = await edge.to_thread(open, path, "rb")
        except (OSError, TypeError, RuntimeError) as exc:
            self._refused(f"invalid 'http.response.pathsend': {exc}")
            raise RuntimeError(f"Invalid 'http.response.pathsend': {exc}") from exc
        h = self.h11
        try:
            while not self.head_only and self.response is not _DISCONNECTED:
                chunk = await edge.to_thread(file.read, HIGH_WATER)
                if not chunk:
                    break
                data = send_data(h, chunk)
                self.out_budget -= edge.write(data, self.exchange, cause, self.out_budget)
                if not edge.writable.is_set():
                    await edge.writable.wait()
        finally:
            file.close()
        if self.response is _DISCONNECTED:
            return
        try:
            data = send_end(h)
        except h11.LocalProtocolError as exc:  # the file and Content-Length disagree
            self._refused(str(exc))
            raise RuntimeError(f"Invalid HTTP response: {exc}") from exc
        self.out_budget -= edge.write(data, self.exchange, cause, self.out_budget)
        self.response = _COMPLETE
        self._wake()
        edge.response_complete()

    def _refused(self, detail: str) -> None:
        """h11 or the message shape refused what the app sent: record it, answer
        500 if nothing of the response is on the wire yet (a bad status or
        header in ``http.response.start``), and close (→ COMPLETE)."""
        edge = self.edge
        can_answer = self.response is _START and self.h11.our_state is h11.SEND_RESPONSE
        status = 500 if can_answer else 0
        edge.recorder.record(
            ProtocolError,
            conn=edge.conn,
            exchange=self.exchange,
            by="app",
            status=status,
            detail=detail,
            wire=None,
        )
        if can_answer:
            self._send_500()
        self.response = _COMPLETE
        edge.close("server", "app broke the protocol")

    def _send_500(self) -> None:
        """The server's own 500 in the app's place (nothing of a response sent
        yet; → COMPLETE)."""
        self.status = 500
        data = error_response(self.h11, 500, b"Internal Server Error\n", [], self.defaults())
        self.out_budget -= self.edge.write(data, self.exchange, 0, self.out_budget)
        self.response = _COMPLETE
