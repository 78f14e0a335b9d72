"""OTLP/gRPC out (``--otlp ENDPOINT --otlp-protocol grpc``): the sender that
:class:`~asgi_scope.export.otlp_http.OtlpExporter` uses instead of POSTs.

Each signal is one unary call of the OTLP services (OTLP specification 1.x,
"OTLP/gRPC": ``opentelemetry.proto.collector.trace.v1.TraceService/Export``
and ``opentelemetry.proto.collector.logs.v1.LogsService/Export``), the request
the exporter already encoded passed as it is. ``http://HOST:PORT`` is a
plaintext channel, ``https://`` a TLS one with the system's roots, as the
OpenTelemetry SDK reads ``OTEL_EXPORTER_OTLP_ENDPOINT`` for gRPC (default port
4317). Needs ``grpcio`` (the ``asgi-scope[otel-grpc]`` extra; the CLI checks
for it before importing this).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import grpc

from asgi_scope.export.otlp_http import TIMEOUT, EndpointError, Refused

METHODS = {
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}
"""The OTLP/gRPC method of each signal."""


class GrpcSender:
    """OTLP/gRPC to ``endpoint`` on one channel (see the module doc). Raises
    :class:`~asgi_scope.export.otlp_http.EndpointError` for an ``endpoint`` that
    is not an ``http://`` or ``https://`` URL with a host."""

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EndpointError(f"--otlp takes an http:// or https:// URL, not {endpoint!r}")
        target = f"{parts.hostname}:{parts.port or 4317}"
        if parts.scheme == "https":
            self._channel = grpc.secure_channel(target, grpc.ssl_channel_credentials())
        else:
            self._channel = grpc.insecure_channel(target)
        # No serializers: the exporter hands over the encoded request, bytes back.
        self._calls = {signal: self._channel.unary_unary(m) for signal, m in METHODS.items()}

    def send(self, signal: str, body: bytes) -> None:
        """Export ``body`` (an encoded ``Export*ServiceRequest``) for ``signal``
        (``"traces"`` or ``"logs"``), waiting at most ``TIMEOUT`` seconds. Raises
        :class:`~asgi_scope.export.otlp_http.Refused` with the gRPC status when
        the call fails (the collector refused it, or could not be reached)."""
        try:
            self._calls[signal](body, timeout=TIMEOUT)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            name = code.name if code is not None else type(exc).__name__
            detail = exc.details() if isinstance(exc, grpc.Call) else ""
            raise Refused(f"{METHODS[signal]}: {name} {detail}".rstrip()) from exc

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()
