"""Live streams of events: where they go (addresses) and what opens one (the header).

A *stream* is a capture (:mod:`asgi_scope.trace.capture`) sent over a socket
instead of written to a file, by a :class:`~asgi_scope.remote.middleware.TraceMiddleware`
to ``asgi-scope attach``: the same JSON Lines, a header line first, then one
event per line, written as the events happen. Each new connection starts with a
new header. The header's ``options`` say who is sending::

    {"source": "middleware", "pid": 4242, "raw_bytes": false, "max_body": 1048576}

This module is imported by the middleware, inside the user's app process, so it
imports nothing heavy: no Textual, no Rich, no h11.

Addresses (:func:`parse_address`), as given to ``sink=`` and ``attach``:

* ``unix:PATH``: a Unix domain socket. The default is
  ``$XDG_RUNTIME_DIR/asgi-scope.sock`` when ``XDG_RUNTIME_DIR`` is set, else
  ``/tmp/asgi-scope-<uid>/asgi-scope.sock`` in a directory of the user's own
  (created mode 0700 by ``attach``; both sides refuse it if it is anyone else's
  or open to others), so another local user cannot take the path first and
  receive the stream;
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
import os
import stat
from dataclasses import dataclass

SOCKET_NAME = "asgi-scope.sock"


def private_tmp_dir() -> str:
    """``/tmp/asgi-scope-<uid>``: the default socket's directory without
    ``XDG_RUNTIME_DIR``, the user's own (see :func:`check_private_dir`)."""
    return f"/tmp/asgi-scope-{os.getuid()}"


def default_address() -> str:
    """Where the middleware streams and ``attach`` listens when told nothing else:
    ``unix:$XDG_RUNTIME_DIR/asgi-scope.sock`` if that is set (an absolute path),
    else ``unix:/tmp/asgi-scope-<uid>/asgi-scope.sock``."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return f"unix:{os.path.join(runtime, SOCKET_NAME)}"
    return f"unix:{private_tmp_dir()}/{SOCKET_NAME}"


DEFAULT_ADDRESS = default_address()
""":func:`default_address` when this module was imported."""

SOURCE_MIDDLEWARE = "middleware"
"""The header's ``options["source"]`` and :class:`ConnectionOrigin` ``source`` of
a stream from :class:`~asgi_scope.remote.middleware.TraceMiddleware`."""

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


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
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
    if not is_loopback(host):
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


# -- whose socket ---------------------------------------------------------------


def check_private_dir(path: str) -> str:
    """Why the directory ``path`` is not private to this user (``""`` if it is):
    it must be a real directory (not a symlink) owned by our uid with mode 0700."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    if not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a directory"
    if info.st_uid != os.getuid():
        return f"{path} belongs to uid {info.st_uid}, not to you (uid {os.getuid()})"
    if stat.S_IMODE(info.st_mode) != 0o700:
        return f"{path} has mode {stat.S_IMODE(info.st_mode):04o}, not 0700"
    return ""


def make_private_dir(socket_path: str) -> str:
    """For a socket in :func:`private_tmp_dir` (the default without
    ``XDG_RUNTIME_DIR``): create that directory mode 0700 if it is missing.
    Returns why it cannot be used (``""`` if it can, or for any other path)."""
    directory = os.path.dirname(socket_path)
    if directory != private_tmp_dir():
        return ""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        return f"cannot create {directory}: {exc.strerror or exc}"
    return check_private_dir(directory)


def socket_problem(socket_path: str) -> str:
    """Why the middleware must not stream to the Unix socket ``socket_path``
    (``""`` if it may): in :func:`private_tmp_dir`, that directory must be
    private; and the socket itself must be our uid's, or another local user
    who bound the path first would receive the stream (cookies, credentials)."""
    directory = os.path.dirname(socket_path)
    if directory == private_tmp_dir() and os.path.lexists(directory):
        problem = check_private_dir(directory)
        if problem:
            return problem
    try:
        info = os.stat(socket_path)
    except OSError:
        return ""  # nothing there (yet): connecting fails on its own
    if info.st_uid != os.getuid():
        return f"{socket_path} belongs to uid {info.st_uid}, not to you (uid {os.getuid()})"
    return ""
