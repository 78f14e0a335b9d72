"""OTLP/HTTP out (``--otlp ENDPOINT``): a recorder tap that sends each ended
exchange to an OpenTelemetry Collector, batched, from its own thread.

The tap (:meth:`OtlpExporter.__call__`, run in the view's thread at each drain)
only appends the batch it is handed to a deque; the exporter's thread takes
them every :data:`POLL` seconds, builds the spans and log records
(:class:`~asgi_scope.export.otlp.SpanBuilder`), gathers them for up to
:data:`INTERVAL` seconds or :data:`MAX_BATCH` spans, and POSTs them as
OTLP/HTTP protobuf (OTLP specification 1.x, "OTLP/HTTP": ``POST
ENDPOINT/v1/traces`` and ``ENDPOINT/v1/logs``, ``Content-Type:
application/x-protobuf``, a ``200`` means accepted). Nothing waits on the
collector: when it is slow or down the queue (:data:`MAX_QUEUED` batches) fills
and later batches are dropped and counted, and a failed POST drops what it
carried; the first loss is told once through ``note``.

Needs the ``asgi-scope[otel]`` extra (``opentelemetry-proto``: the CLI checks
for it before importing this). The standard library's :mod:`http.client` does
the POST.
"""

from __future__ import annotations

import collections
import http.client
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol
from urllib.parse import urlsplit

from asgi_scope.export.otlp import Built, SpanBuilder, logs_request, trace_request
from asgi_scope.export.redact import DEFAULT, Redactor
from asgi_scope.trace.events import Event

__all__ = [
    "INTERVAL",
    "MAX_BATCH",
    "MAX_QUEUED",
    "EndpointError",
    "HttpSender",
    "OtlpExporter",
    "Refused",
    "Sender",
]

INTERVAL = 1.0
"""Seconds spans wait to be sent with others, at most."""

MAX_BATCH = 512
"""Spans sent in one request at most (the OpenTelemetry SDK's default batch)."""

MAX_QUEUED = 4096
"""Drained batches waiting for the exporter's thread; past that they are dropped."""

POLL = 0.05
"""Seconds between the exporter thread's looks at what the tap queued."""

TIMEOUT = 10.0
"""Seconds a POST to the collector may take (connecting, sending, answering)."""


class EndpointError(ValueError):
    """An ``--otlp`` endpoint that is not an ``http://`` or ``https://`` URL;
    ``str()`` is one line for the user."""


class OtlpExporter:
    """A recorder tap sending OTLP/HTTP protobuf to ``endpoint`` (see the module
    doc), or through ``sender`` when given (OTLP/gRPC:
    :class:`~asgi_scope.export.otlp_grpc.GrpcSender`).

    ``endpoint`` is the collector's base URL (``http://127.0.0.1:4318``, the
    OTLP/HTTP default port; a path is kept, ``/v1/traces`` appended, as
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` is; for gRPC ``http://127.0.0.1:4317``, a
    plaintext channel, or ``https://`` for TLS). ``service`` is the resource's
    ``service.name``; ``started_ns`` the wall clock (epoch ns) at ``t_ns`` 0;
    ``redact`` what is a secret; ``note`` is called (from the exporter's
    thread) with one line the first time spans are lost. Raises
    :class:`EndpointError` for an unusable ``endpoint``.

    Counters, read at the end: :attr:`spans` and :attr:`logs` sent,
    :attr:`dropped` spans lost (queue full, a failed POST, too many open
    exchanges).
    """

    def __init__(
        self,
        endpoint: str,
        service: str,
        started_ns: int,
        redact: Redactor = DEFAULT,
        note: Callable[[str], None] | None = None,
        sender: Sender | None = None,
    ) -> None:
        self._sender = sender if sender is not None else HttpSender(endpoint)
        self.endpoint = endpoint
        self.service = service
        self.note = note
        self.spans = self.logs = 0
        self._unsent = 0  # spans built but lost on the way (a failed POST)
        self._builder = SpanBuilder(started_ns, redact)
        self._batches: collections.deque[Sequence[Event]] = collections.deque()
        self._closing = threading.Event()
        self._lost_batches = 0
        self._noted = False
        self._thread = threading.Thread(target=self._run, name="asgi-scope-otlp", daemon=True)
        self._thread.start()

    def __call__(self, batch: Sequence[Event]) -> None:
        """The tap: queue ``batch`` for the exporter's thread, never waiting (an
        append; the thread looks every :data:`POLL` seconds, so the view's thread
        wakes nobody)."""
        if len(self._batches) < MAX_QUEUED:
            self._batches.append(batch)
        else:
            self._lost_batches += 1

    @property
    def dropped(self) -> int:
        """Spans lost so far: built but not sent (a failed POST), or never built
        (their exchange forgotten past the builder's open-exchange cap)."""
        return self._unsent + self._builder.dropped

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (waiting at most ``timeout`` seconds), stop, and
        tell ``note`` the :meth:`summary`."""
        self._closing.set()
        self._thread.join(timeout)
        if self.note is not None:
            self.note(self.summary())

    def summary(self) -> str:
        """One line for the end of the session: what was sent, what was lost."""
        line = f"OTLP: sent {self.spans} spans and {self.logs} log records to {self.endpoint}"
        lost = self.dropped
        if lost or self._lost_batches:
            line += f"; dropped {lost} spans and {self._lost_batches} event batches"
        return line

    def _run(self) -> None:
        pending = Built()
        deadline = 0.0
        batches = self._batches
        while True:
            closing = self._closing.wait(POLL)
            while batches:
                try:
                    for built in self._builder.feed(batches.popleft()):
                        pending.spans += built.spans
                        pending.logs += built.logs
                except Exception as exc:  # an app's strange values never end the export
                    self._lose(0, f"spans not built: {type(exc).__name__}: {exc}")
                time.sleep(0)  # let the view's loop have the GIL: it reads the app's events
                if len(pending.spans) >= MAX_BATCH:
                    self._send(pending)
                    pending = Built()
            if self._lost_batches and not self._noted:
                self._lose(0, "the exporter fell behind")
            if not pending.spans:
                deadline = time.monotonic() + INTERVAL
            elif closing or time.monotonic() >= deadline:
                self._send(pending)
                pending = Built()
            if closing:
                break
        self._sender.close()

    def _send(self, built: Built) -> None:
        if not built.spans:
            return
        sender = self._sender
        try:
            sender.send("traces", trace_request(self.service, built.spans).SerializeToString())
            self.spans += len(built.spans)
            if built.logs:
                sender.send("logs", logs_request(self.service, built.logs).SerializeToString())
                self.logs += len(built.logs)
        except (OSError, http.client.HTTPException, Refused) as exc:
            self._lose(len(built.spans), str(exc) or type(exc).__name__)

    def _lose(self, spans: int, why: str) -> None:
        self._unsent += spans
        if not self._noted and self.note is not None:
            self._noted = True
            self.note(
                f"OTLP export to {self.endpoint} is losing spans ({why}); "
                "the rest of the session is exported when it can be"
            )


class Sender(Protocol):
    """How the exporter's thread hands encoded requests to a collector:
    :class:`HttpSender` (OTLP/HTTP) or ``otlp_grpc.GrpcSender`` (OTLP/gRPC)."""

    def send(self, signal: str, body: bytes) -> None:
        """Send ``body`` (an encoded ``Export*ServiceRequest``) for ``signal``
        (``"traces"`` or ``"logs"``). Raises ``OSError``, ``HTTPException`` or
        :class:`Refused`."""

    def close(self) -> None:
        """Let go of the connection or channel."""


class Refused(Exception):
    """The collector refused an export (an HTTP status other than 200, a gRPC
    status other than OK); ``str()`` is one line naming the signal and why."""


class HttpSender:
    """OTLP/HTTP protobuf to ``endpoint`` (OTLP specification, "OTLP/HTTP"):
    :meth:`send` POSTs ``ENDPOINT/v1/traces`` or ``ENDPOINT/v1/logs`` on one
    kept-alive connection, made again after a failure. Raises
    :class:`EndpointError` for an ``endpoint`` that is not an http(s) URL."""

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EndpointError(f"--otlp takes an http:// or https:// URL, not {endpoint!r}")
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._base = parts.path.rstrip("/")
        self._conn: http.client.HTTPConnection | None = None

    def send(self, signal: str, body: bytes) -> None:
        """POST ``body`` (an encoded ``Export*ServiceRequest``) for ``signal``
        (``"traces"`` or ``"logs"``). Raises ``OSError``, ``HTTPException`` or
        :class:`Refused`."""
        if self._conn is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = kind(self._netloc, timeout=TIMEOUT)
        path = f"{self._base}/v1/{signal}"
        headers = {"Content-Type": "application/x-protobuf"}
        try:
            self._conn.request("POST", path, body, headers)
            response = self._conn.getresponse()
            response.read()
        except BaseException:
            self._conn.close()
            self._conn = None
            raise
        if response.status != 200:
            raise Refused(f"{path}: the collector answered {response.status} {response.reason}")

    def close(self) -> None:
        """Close the connection, if one is open."""
        if self._conn is not None:
            self._conn.close()
