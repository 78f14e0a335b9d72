"""Trace context: the OpenTelemetry ids of an exchange, the same for every view.

An exchange exported as OTLP (``--otlp``) is one SERVER span. Its trace id is
the caller's when the request carried a W3C ``traceparent`` header (W3C Trace
Context Level 1 §3.2: ``version-trace_id-parent_id-flags``, lowercase hex), so
the exchange joins the caller's trace and the caller's span is its parent;
otherwise a new trace id. Span ids are never sent by anyone else.

New ids are *derived*, not drawn: a keyed BLAKE2b hash (RFC 7693) of the
exchange id (and, for a layer's span, the ``seq`` of its
:class:`~asgi_scope.trace.events.LayerEntered`) under :data:`SESSION`'s key,
random for each inspector process. So the exporter, the Scope tab and the
``~tid`` filter, which all run in the inspector process, agree on an
exchange's ids without sharing any state, and two sessions never collide.

Pure: no I/O, no clock. An exchange made of an imported SERVER span
(``--otlp-listen``) keeps the ids it came with instead
(:meth:`~asgi_scope.trace.store.Exchange.otel_span`).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["SESSION", "Context", "Ids", "parse_traceparent"]

_TRACEPARENT = re.compile(rb"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_INVALID_TRACE = b"0" * 32
_INVALID_SPAN = b"0" * 16


@dataclass(frozen=True, slots=True)
class Context:
    """An exchange's ids: ``trace_id`` (16 bytes), its SERVER span's ``span_id``
    (8 bytes), the caller's span ``parent_id`` (8 bytes, ``b""`` for none) and
    the caller's trace ``flags`` (W3C Trace Context §3.2.2.5; 1: sampled)."""

    trace_id: bytes
    span_id: bytes
    parent_id: bytes = b""
    flags: int = 1

    @property
    def trace_hex(self) -> str:
        """The trace id as 32 lowercase hex digits, as Jaeger and Tempo show it."""
        return self.trace_id.hex()


def parse_traceparent(value: bytes) -> tuple[bytes, bytes, int] | None:
    """``(trace_id, parent_id, flags)`` of a ``traceparent`` header field value
    (W3C Trace Context Level 1 §3.2), or None when it is not one to honour.

    Version ``00`` must be exactly 55 characters; a later version may carry more
    after a ``-`` (§3.2.4, "Versioning of traceparent"); version ``ff``, and an
    all-zero trace or parent id, are invalid (§3.2.2). Surrounding spaces and
    tabs (RFC 9110 §5.5 OWS) are ignored.
    """
    text = value.strip(b" \t")
    match = _TRACEPARENT.match(text)
    if match is None:
        return None
    version, trace, parent, flags = match.groups()
    rest = text[match.end() :]
    if version == b"ff" or (rest if version == b"00" else rest[:1] not in (b"", b"-")):
        return None
    if trace == _INVALID_TRACE or parent == _INVALID_SPAN:
        return None
    return bytes.fromhex(trace.decode()), bytes.fromhex(parent.decode()), int(flags, 16)


class Ids:
    """Derives an inspector process's ids (see the module doc) under ``key``
    (16 bytes)."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _hash(self, size: int, *numbers: int) -> bytes:
        data = b"".join(n.to_bytes(8, "big") for n in numbers)
        return hashlib.blake2b(data, digest_size=size, key=self._key).digest()

    def of(self, exchange: int, headers: Iterable[tuple[bytes, bytes]] | None) -> Context:
        """The ids of exchange ``exchange`` whose request header fields are
        ``headers`` (the scope's ``(name, value)`` pairs; the first valid
        ``traceparent`` is honoured)."""
        span = self._hash(8, exchange, 0)
        for name, value in headers or ():
            if isinstance(name, bytes) and name.lower() == b"traceparent":
                parsed = parse_traceparent(value) if isinstance(value, bytes) else None
                if parsed is not None:
                    return Context(parsed[0], span, parsed[1], parsed[2])
                break
        return Context(self._hash(16, exchange, 1), span)

    def layer_span(self, exchange: int, seq: int) -> bytes:
        """The span id (8 bytes) of the layer call that began with the
        :class:`~asgi_scope.trace.events.LayerEntered` numbered ``seq``."""
        return self._hash(8, exchange, 2, seq)


SESSION = Ids(os.urandom(16))
"""This process's ids: what the exporter sends, the Scope tab shows, ``~tid`` finds."""
