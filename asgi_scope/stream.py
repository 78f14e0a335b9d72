"""Live streams of events: where they go (addresses) and what opens one (the header).

A *stream* is a capture (:mod:`asgi_scope.trace.capture`) sent over a socket
instead of written to a file, by a :class:`~asgi_scope.middleware.TraceMiddleware`
to ``asgi-scope attach``: the same JSON Lines, a header line first, then one
event per line, written as the events happen. Each new connection starts with a
new header. The header's ``options`` say who is sending::

    {"source": "middleware", "pid": 4242, "raw_bytes": false, "max_body": 1048576}

This module is imported by the middleware, inside the user's app process, so it
imports nothing heavy: no Textual, no Rich, no h11.

Addresses (:func:`parse_address`), as given to ``sink=`` and ``attach``:

* ``unix:/tmp/asgi-scope.sock``: a Unix domain socket (the default);
* ``tcp:127.0.0.1:9100``, ``127.0.0.1:9100``, ``localhost:9100``, ``[::1]:9100``:
  TCP on a loopback address. Other hosts are refused: the stream carries
  cookies and ``Authorization`` headers in clear text;
* ``file:trace.jsonl`` or any other path (sink only): a capture file that
  ``asgi-scope open`` reads, created (truncated) by the first event. It is one
  process's: with several workers, put ``{pid}`` in the path
  (``trace-{pid}.jsonl``) for a file per worker.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

DEFAULT_ADDRESS = "unix:/tmp/asgi-scope.sock"
"""Where the middleware streams and ``attach`` listens when told nothing else."""

SOURCE_MIDDLEWARE = "middleware"
"""The header's ``options["source"]`` and :class:`ConnectionOrigin` ``source`` of
a stream from :class:`~asgi_scope.middleware.TraceMiddleware`."""

MAX_LINE = 64 * 1024 * 1024
"""The longest line a listener accepts, in bytes (a 1 MiB body is ~1.4 MiB of
base64; a peer sending more without a newline is refused)."""


class AddressError(ValueError):
    """An address that cannot be used; ``str()`` is one line for the user."""


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed address. ``kind`` is ``"unix"``, ``"tcp"`` or ``"file"``; ``path``
    is set for unix and file, ``host`` and ``port`` for tcp."""

    kind: str
    path: str = ""
    host: str = ""
    port: int = 0

    def __str__(self) -> str:
        if self.kind == "tcp":
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"tcp:{host}:{self.port}"
        return f"{self.kind}:{self.path}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tcp(text: str, original: str) -> Address:
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise AddressError(f"{original!r} is not HOST:PORT (for instance 127.0.0.1:9100)")
    if not _loopback(host):
        raise AddressError(
            f"{original!r}: only loopback hosts (127.0.0.1, ::1, localhost) may carry a "
            "trace: it holds cookies and credentials in clear text"
        )
    return Address("tcp", host=host, port=int(port))


def parse_address(text: str, *, files: bool = True) -> Address:
    """Parse an address (see the module doc). With ``files`` False (``attach``),
    only sockets are accepted. Raises :class:`AddressError` with one line."""
    text = text.strip()
    if not text:
        raise AddressError("empty address")
    if text.startswith("unix:"):
        path = text[5:]
        if not path:
            raise AddressError(f"{text!r}: no socket path after unix:")
        return Address("unix", path=path)
    if text.startswith("tcp:"):
        return _tcp(text[4:], text)
    if text.startswith("file:"):
        if not files:
            raise AddressError(f"{text!r}: attach listens on a socket; open a file with `open`")
        return Address("file", path=text[5:])
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and (host.startswith("[") or "/" not in host):
        return _tcp(text, text)
    if not files:
        raise AddressError(
            f"{text!r} is not a socket address: use unix:PATH or HOST:PORT (127.0.0.1:9100)"
        )
    return Address("file", path=text)
