"""Sending a recorded request again, to a running server, as a client would.

Used by the inspector's re-send (in a worker thread, to its own server's URL)
and by ``asgi-scope replay``. The standard library's ``http.client`` is enough
and keeps the runtime dependencies as they are: the request goes to our own
server on a known address, one request per connection, with its headers
written in order and as given (``putrequest(skip_host=True,
skip_accept_encoding=True)``), so the app sees what it saw the first time.
``Content-Length`` is written from the body (RFC 9110 §8.6), never copied, and
``Transfer-Encoding`` is dropped: the body is sent whole.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

from asgi_scope.trace.flow import Headers, Request

DROPPED = frozenset({b"content-length", b"transfer-encoding", b"connection"})
"""Request headers rewritten for the new connection rather than copied."""


@dataclass(slots=True)
class Answer:
    """The response to a re-sent request: status, reason, headers, whole body."""

    status: int
    reason: str
    headers: Headers
    body: bytes


def resend(request: Request, base_url: str, *, timeout: float = 10.0, host: bool = True) -> Answer:
    """Send ``request`` to the server at ``base_url`` (``http://host:port``) and
    read the whole response.

    With ``host`` the recorded ``Host`` header is replaced by the server's
    address (as a client of ``base_url`` would send). Raises ``OSError``
    (refused, timed out) or ``http.client.HTTPException`` (a broken response).
    """
    url = urlsplit(base_url)
    if url.scheme != "http" or not url.hostname:
        raise ValueError(f"re-send needs an http:// URL, not {base_url!r}")
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)
    try:
        conn.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
        wrote_host = False
        for name, value in request.headers:
            lower = name.lower()
            if lower in DROPPED:
                continue
            if lower == b"host":
                if wrote_host:
                    continue
                wrote_host = True
                value = url.netloc.encode("ascii") if host else value
            conn.putheader(name, value)
        if not wrote_host:
            conn.putheader(b"host", url.netloc.encode("ascii"))
        conn.putheader(b"connection", b"close")
        if request.body or request.method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            conn.putheader(b"content-length", str(len(request.body)).encode())
        conn.endheaders(request.body or None)
        response = conn.getresponse()
        body = response.read()
        headers = [
            (n.encode("latin-1").lower(), v.encode("latin-1")) for n, v in response.getheaders()
        ]
        return Answer(response.status, response.reason, headers, body)
    finally:
        conn.close()
