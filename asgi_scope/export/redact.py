"""Redaction of credentials in exports.

A capture holds what crossed the wire, secrets included; an export is made to
be shared, so by default the values of the headers below are replaced with
:data:`REDACTED` (``--no-redact`` keeps them).
"""

from __future__ import annotations

from asgi_scope.trace.flow import Headers

SENSITIVE = frozenset({b"authorization", b"proxy-authorization", b"cookie", b"set-cookie"})
"""Header names (lowercase) whose values are credentials: RFC 9110 §11.6.2 and
§11.7.2, RFC 6265 §4.1 and §5.4."""

REDACTED = b"[REDACTED]"
"""What a redacted header value becomes."""


def is_sensitive(name: bytes) -> bool:
    """True for a header whose value is a credential (case-insensitive)."""
    return name.lower() in SENSITIVE


def redact_headers(headers: Headers) -> Headers:
    """``headers`` with every sensitive value replaced by :data:`REDACTED`."""
    return [(n, REDACTED if is_sensitive(n) else v) for n, v in headers]


def redact_head(head: bytes) -> bytes:
    """A raw HTTP/1.x head (request or status line, then ``name: value`` lines,
    CRLF-separated) with every sensitive header's value redacted, bytes otherwise
    untouched."""
    lines = head.split(b"\r\n")
    for i, line in enumerate(lines[1:], start=1):
        name, colon, _ = line.partition(b":")
        if colon and is_sensitive(name.strip()):
            lines[i] = name + b": " + REDACTED
    return b"\r\n".join(lines)
