"""``attach --otlp-listen HOST:PORT``: a small OTLP/HTTP receiver on the attach loop.

Answers ``POST /v1/traces`` and ``POST /v1/logs`` (OTLP specification 1.x,
"OTLP/HTTP"): bodies in binary protobuf (``Content-Type:
application/x-protobuf``) or OTLP/JSON (``application/json``), optionally
``Content-Encoding: gzip``. A request that was taken is answered ``200`` with an
empty ``ExportTraceServiceResponse`` (or ``ExportLogsServiceResponse``), in the
request's encoding, its ``partial_success`` counting what was left out past
:data:`MAX_ITEMS`; what it carried goes to
:class:`~asgi_scope.remote.otlp_in.OtelImport`. The HTTP/1.1 framing is h11's.

Refused, each with a ``google.rpc.Status`` body (as the specification asks)
and the connection kept: ``400`` a body that does not decode (bad protobuf,
bad JSON, bad gzip); ``401`` a missing or wrong token; ``404`` another path;
``405`` another method; ``413`` a body over :data:`MAX_BODY` bytes, before or
after gzip (a gzip bomb is cut as it inflates, never held whole); ``415``
another content type or encoding; ``413`` too for a body that would decode into
more than :data:`~asgi_scope.remote.otlp_in.MAX_MESSAGES` messages (counted
first: 16 MiB of empty messages would take gigabytes). Malformed HTTP gets h11's ``400`` and a
close. None of it stops attach.

**Who may send.** On loopback (the default, ``127.0.0.1``) anyone on this
machine, as for the OTLP Collector's own default. Anywhere else, every request
must carry the attach token (:mod:`asgi_scope.remote.auth`) as
``Authorization: Bearer TOKEN`` (compared in constant time): spans carry
URLs, headers and user ids, and a forged one is shown as an exchange. Use TLS
(a Collector in front) off a trusted network: the token travels in clear.

**Bounds.** :data:`MAX_CONNECTIONS` connections at once, each dropped after
:data:`IDLE_TIMEOUT` seconds without a byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import zlib
from collections.abc import Callable
from typing import Any

import h11
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from asgi_scope.remote.attach import AttachRecorder, ListenError, LoopServer
from asgi_scope.remote.auth import AuthError, load_token
from asgi_scope.remote.otlp_in import BadPayload, OtelImport, TooMany, decode
from asgi_scope.remote.stream import is_loopback
from asgi_scope.trace.events import ServerNote

__all__ = ["IDLE_TIMEOUT", "MAX_BODY", "MAX_CONNECTIONS", "MAX_ITEMS", "OtlpListener"]

MAX_BODY = 16 * 1024 * 1024
"""Bytes of a request body at most, as sent and once inflated."""

MAX_ITEMS = 10_000
"""Spans (or log records) taken from one request; the rest are counted as rejected."""

MAX_CONNECTIONS = 64
"""Connections served at once; one more is closed at once."""

IDLE_TIMEOUT = 30.0
"""Seconds a connection may send nothing before it is closed."""

READ_SIZE = 64 * 1024

LINGER_BYTES = 4 * MAX_BODY
"""Bytes of a refused request's body read and thrown away before closing, at most."""

LINGER_TIMEOUT = 5.0
"""Seconds each read of a refused request's body may wait."""

PATHS = {b"/v1/traces": "traces", b"/v1/logs": "logs"}
TYPES = {b"application/x-protobuf": False, b"application/json": True}


class Refused(Exception):
    """A request answered with ``status`` and one line of ``why``."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:4318`` for IPv6; a bare ``PORT`` is on
    ``127.0.0.1``) as ``(host, port)``. Raises ``ValueError`` saying why."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", value
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--otlp-listen: {value!r} is not HOST:PORT (a port 0-65535)")
    return host, int(port)


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-close and read what the client still sends (at most
    :data:`LINGER_BYTES`, each read within :data:`LINGER_TIMEOUT` seconds) until it
    closes: closing with its body unread would reset the connection, and a
    client still sending would lose the answer (RFC 9112 §9.6)."""
    with contextlib.suppress(OSError, RuntimeError):
        writer.write_eof()
    left = LINGER_BYTES
    while left > 0:
        data = await asyncio.wait_for(reader.read(READ_SIZE), LINGER_TIMEOUT)
        if not data:
            return
        left -= len(data)


def _status_body(code: int, message: str, as_json: bool) -> bytes:
    """A ``google.rpc.Status`` with ``code`` (gRPC's) and ``message``, encoded by
    hand (field 1 varint, field 2 string): opentelemetry-proto does not ship it."""
    if as_json:
        return f'{{"code":{code},"message":{json.dumps(message)}}}'.encode()
    text = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


_GRPC_CODE = {400: 3, 401: 16, 404: 12, 405: 12, 413: 8, 415: 3}
"""The gRPC status code of each refusal (OTLP's HTTP-to-gRPC mapping)."""


class OtlpListener(LoopServer):
    """Receives OTLP/HTTP on ``host:port`` into ``recorder`` (see the module doc).

    An event source of :mod:`asgi_scope.session`: :meth:`serve` binds (raises
    :class:`~asgi_scope.remote.attach.ListenError`), calls ``ready()`` and serves
    until :meth:`stop`. :attr:`refused` counts the requests refused so far,
    :attr:`importer` what was shown.
    """

    def __init__(self, host: str, port: int, recorder: AttachRecorder) -> None:
        self.host = host
        self.port = port
        self.recorder = recorder
        self.importer = OtelImport(recorder)
        self.refused = 0
        self._token: bytes | None = None
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def endpoint(self) -> str:
        """``http://HOST:PORT`` with the bound port (``:0`` resolved): what an
        exporter's ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set to."""
        port = self.port
        if self._server is not None and self._server.sockets:
            port = self._server.sockets[0].getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """``OTLP at`` and :attr:`endpoint`: where it listens, for the header."""
        return f"OTLP at {self.endpoint}"

    async def serve(
        self, *, handle_signals: bool = True, ready: Callable[[], None] | None = None
    ) -> None:
        """Listen, call ``ready()``, serve until :meth:`stop`. Raises
        :class:`~asgi_scope.remote.attach.ListenError` (one line) if it cannot
        listen, or needs the token and there is none. Installs no signal
        handlers (the attach listener beside it does)."""
        self._loop = asyncio.get_running_loop()
        where = f"{self.host}:{self.port}"
        if not is_loopback(self.host):
            try:
                self._token = load_token(create=True)
            except AuthError as exc:
                raise ListenError(f"cannot listen for OTLP on {where}: {exc}") from None
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            raise ListenError(f"cannot listen for OTLP on {where}: {exc.strerror or exc}") from None
        who = "loopback only" if self._token is None else "Authorization: Bearer <token> required"
        self._note("info", f"listening for OTLP/HTTP on {self.endpoint} ({who})")
        serving = self._loop.create_task(self._server.serve_forever())
        if ready is not None:
            ready()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        finally:
            self.close()

    def close(self) -> None:
        """Stop listening and drop every connection; tell the spans dropped that
        no note has told yet."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        self.importer.close()

    def _note(self, level: str, text: str) -> None:
        self.recorder.record(ServerNote, conn=0, level=level, text=text)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self._tasks) >= MAX_CONNECTIONS or task is None:
            writer.close()
            return
        self._tasks.add(task)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = await self._next(conn, reader)
                if isinstance(event, (h11.ConnectionClosed, h11.PAUSED)) or event is None:
                    break
                if isinstance(event, h11.Request):
                    await self._request(conn, event, reader, writer)
                    if conn.their_state is h11.SEND_BODY:  # refused before its body was read
                        await _linger(reader, writer)
                        break
                    if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                        break
                    try:
                        conn.start_next_cycle()
                    except h11.LocalProtocolError:
                        break
        except h11.RemoteProtocolError as exc:
            self.refused += 1
            with contextlib.suppress(h11.LocalProtocolError, OSError, ConnectionError):
                writer.write(self._answer(conn, exc.error_status_hint, str(exc), False))
                await writer.drain()
        except (OSError, ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _next(self, conn: h11.Connection, reader: asyncio.StreamReader) -> Any:
        """h11's next event, reading (within :data:`IDLE_TIMEOUT`) as needed; None
        at the end of the stream."""
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await asyncio.wait_for(reader.read(READ_SIZE), IDLE_TIMEOUT)
            conn.receive_data(data)
            if not data and conn.their_state is h11.IDLE:
                return None

    async def _request(
        self,
        conn: h11.Connection,
        request: h11.Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        headers = {name: value for name, value in request.headers}
        as_json = (
            headers.get(b"content-type", b"").split(b";")[0].strip().lower() == b"application/json"
        )
        try:
            signal = self._check(request, headers)
            body = await self._body(conn, reader, headers)
            message = decode(signal, body, as_json)
            if signal == "traces":
                rejected = self.importer.traces(message, MAX_ITEMS)  # type: ignore[arg-type]
                answer: Any = ExportTraceServiceResponse()
                if rejected:
                    answer.partial_success.CopyFrom(
                        ExportTracePartialSuccess(
                            rejected_spans=rejected,
                            error_message=f"at most {MAX_ITEMS} spans per request",
                        )
                    )
            else:
                rejected = self.importer.logs_of(message, MAX_ITEMS)  # type: ignore[arg-type]
                answer = ExportLogsServiceResponse()
                if rejected:
                    answer.partial_success.CopyFrom(
                        ExportLogsPartialSuccess(
                            rejected_log_records=rejected,
                            error_message=f"at most {MAX_ITEMS} log records per request",
                        )
                    )
        except TooMany as exc:
            await self._refuse(conn, writer, 413, str(exc), as_json)
            return
        except BadPayload as exc:
            await self._refuse(conn, writer, 400, str(exc), as_json)
            return
        except Refused as exc:
            await self._refuse(conn, writer, exc.status, str(exc), as_json)
            return
        except (h11.RemoteProtocolError, OSError, asyncio.TimeoutError):
            raise  # the connection's, not the request's: _handle answers or drops it
        except Exception as exc:  # a value no one foresaw: this request only, attach goes on
            await self._refuse(conn, writer, 400, f"unreadable: {type(exc).__name__}", as_json)
            return
        if as_json:
            payload = json_format.MessageToJson(answer, indent=None).encode()
        else:
            payload = answer.SerializeToString()
        content_type = b"application/json" if as_json else b"application/x-protobuf"
        writer.write(self._respond(conn, 200, content_type, payload))
        await writer.drain()

    def _check(self, request: h11.Request, headers: dict[bytes, bytes]) -> str:
        """The signal a request is for (``"traces"``, ``"logs"``). Raises
        :class:`Refused`."""
        signal = PATHS.get(request.target.split(b"?")[0])
        if signal is None:
            raise Refused(404, "not an OTLP/HTTP path: POST /v1/traces or /v1/logs")
        if request.method != b"POST":
            raise Refused(405, "OTLP/HTTP takes POST only")
        if self._token is not None:
            given = headers.get(b"authorization", b"")
            expected = b"Bearer " + self._token
            if not hmac.compare_digest(given, expected):
                raise Refused(401, "a token is required: Authorization: Bearer <attach token>")
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind not in TYPES:
            raise Refused(415, "Content-Type must be application/x-protobuf or application/json")
        if headers.get(b"content-encoding", b"identity").lower() not in (b"gzip", b"identity"):
            raise Refused(415, "Content-Encoding must be gzip or none")
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > MAX_BODY:
            raise Refused(413, f"a body over {MAX_BODY} bytes")
        return signal

    async def _body(
        self, conn: h11.Connection, reader: asyncio.StreamReader, headers: dict[bytes, bytes]
    ) -> bytes:
        """The request's whole body, inflated if gzipped. Raises :class:`Refused`
        (413) past :data:`MAX_BODY` bytes and :class:`BadPayload` for bad gzip."""
        gzipped = headers.get(b"content-encoding", b"").lower() == b"gzip"
        inflate = zlib.decompressobj(wbits=31) if gzipped else None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await self._next(conn, reader)
            if isinstance(event, h11.EndOfMessage):
                break
            if not isinstance(event, h11.Data):
                raise h11.RemoteProtocolError("the body ended early", 400)
            data = bytes(event.data)
            if inflate is not None:
                try:
                    data = inflate.decompress(data, MAX_BODY - size + 1)
                except zlib.error as exc:
                    raise BadPayload(f"the body is not gzip: {exc}") from None
                if inflate.unconsumed_tail:
                    raise Refused(413, f"a body over {MAX_BODY} bytes once inflated")
            size += len(data)
            if size > MAX_BODY:
                raise Refused(413, f"a body over {MAX_BODY} bytes")
            chunks.append(data)
        if inflate is not None and not inflate.eof:
            raise BadPayload("the body is not gzip: it ends before the gzip stream does")
        return b"".join(chunks)

    async def _refuse(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        status: int,
        why: str,
        as_json: bool,
    ) -> None:
        """Answer ``status``; a note for each of the first 20 refusals, all counted.
        The connection closes if the request's body was not read to its end."""
        self.refused += 1
        if self.refused <= 20:
            self._note("warning", f"OTLP request refused ({status}): {why}")
        writer.write(self._answer(conn, status, why, as_json))
        await writer.drain()

    def _answer(self, conn: h11.Connection, status: int, why: str, as_json: bool) -> bytes:
        body = _status_body(_GRPC_CODE.get(status, 2), why, as_json)
        kind = b"application/json" if as_json else b"application/x-protobuf"
        close = conn.their_state is not h11.DONE
        return self._respond(conn, status, kind, body, close=close)

    @staticmethod
    def _respond(
        conn: h11.Connection, status: int, kind: bytes, body: bytes, close: bool = False
    ) -> bytes:
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        if close:
            headers.append((b"connection", b"close"))
        return (
            conn.send(h11.Response(status_code=status, headers=headers))  # type: ignore[operator]
            + conn.send(h11.Data(data=body))
            + conn.send(h11.EndOfMessage())
        )
