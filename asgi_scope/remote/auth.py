"""Who may stream, and to whom: a secret only the user can read, proven both ways.

A stream carries cookies and ``Authorization`` headers. Over TCP on loopback
any local user can connect to ``attach`` (and feed it fake exchanges), or bind
the port first (and receive the middleware's stream). So before a byte of the
trace moves, each end proves it knows the user's **token**, without sending
it (an HMAC-SHA256 challenge both ways, RFC 2104):

1. the listener sends ``asgi-scope-auth 1 <nonce L, 32 hex bytes>``;
2. the middleware answers ``<nonce M> <HMAC(token, "middleware" L M)>``;
3. the listener checks it (else: refused, dropped with one note) and answers
   ``<HMAC(token, "listener" L M)>``;
4. the middleware checks that (else: an impostor listens; nothing is sent)
   and only then sends the capture header and the events.

Each line ends with ``\\n`` and is at most :data:`MAX_AUTH_LINE` bytes. The
token is ``$ASGI_SCOPE_TOKEN`` if set, else the file ``asgi-scope.token``
beside the default socket (``$XDG_RUNTIME_DIR``, else the private directory
``/tmp/asgi-scope-<uid>``): created by ``attach`` mode 0600 with 32 random
bytes, and read by both ends only if it is a regular file of their uid that
no one else may read. Unix sockets keep their directory checks too.

Not protected: a local root, or anyone who can read the token. Imported by the
middleware, inside the user's app: nothing heavy.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import secrets
import stat

from asgi_scope.remote.stream import default_address, make_private_dir, parse_address

TOKEN_ENV = "ASGI_SCOPE_TOKEN"
"""The environment variable that, when set, is the token (UTF-8)."""

TOKEN_NAME = "asgi-scope.token"
"""The token file's name, beside the default socket."""

GREETING = b"asgi-scope-auth 1 "
"""How the listener's challenge line starts (the handshake's version 1)."""

NONCE = 16
"""Bytes of randomness in each nonce (32 hex digits on the wire)."""

MAX_AUTH_LINE = 256
"""The longest handshake line either end reads, in bytes."""


class AuthError(Exception):
    """The handshake failed or there is no usable token; ``str()`` is one line."""


def token_path() -> str:
    """Where the token file is: beside the default socket (see the module doc)."""
    return os.path.join(os.path.dirname(parse_address(default_address()).path), TOKEN_NAME)


def load_token(*, create: bool) -> bytes:
    """The user's token: ``$ASGI_SCOPE_TOKEN``, else the token file, made (with
    its private directory) if missing and ``create`` (the listener's side).
    Raises :class:`AuthError` if there is none, or the file is not the user's
    alone (a symbolic link, not a regular file, another uid, readable by others)."""
    value = os.environ.get(TOKEN_ENV, "")
    if value:
        return value.encode("utf-8")
    path = token_path()
    if create:
        problem = make_private_dir(path)
        if problem:
            raise AuthError(f"no token: {problem}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        except OSError as exc:
            raise AuthError(f"cannot create the token {path}: {exc.strerror or exc}") from None
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
    return _read_token(path)


def _read_token(path: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise AuthError(f"no token at {path}: start `asgi-scope attach` first") from None
    except OSError as exc:
        why = "is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise AuthError(f"the token {path} {why}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            raise AuthError(f"the token {path} is not a regular file of yours")
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise AuthError(f"the token {path} may be read by others (mode must be 0600)")
        token = handle.read(1024).strip()
    if len(token) < 32:
        raise AuthError(f"the token {path} is too short")
    return token


def _mac(token: bytes, role: bytes, ours: bytes, theirs: bytes) -> str:
    return hmac.new(token, role + ours + theirs, hashlib.sha256).hexdigest()


def _nonce(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise AuthError("a malformed nonce") from None
    if len(value) != NONCE:
        raise AuthError("a malformed nonce")
    return value


def challenge() -> tuple[bytes, bytes]:
    """The listener's first line: ``(nonce L, line)``."""
    nonce = secrets.token_bytes(NONCE)
    return nonce, GREETING + nonce.hex().encode() + b"\n"


def answer(token: bytes, line: bytes) -> tuple[bytes, bytes, bytes]:
    """The middleware's answer to a challenge ``line``: ``(nonce L, nonce M,
    line)``. Raises :class:`AuthError` if ``line`` is no challenge of ours."""
    if not line.startswith(GREETING) or not line.endswith(b"\n"):
        raise AuthError("the peer is not an asgi-scope listener (no challenge)")
    theirs = _nonce(line[len(GREETING) :].strip().decode("ascii", "replace"))
    ours = secrets.token_bytes(NONCE)
    proof = _mac(token, b"middleware", theirs, ours)
    return theirs, ours, f"{ours.hex()} {proof}\n".encode()


def check_answer(token: bytes, challenged: bytes, line: bytes) -> tuple[bytes, bytes]:
    """The listener's check of the middleware's answer ``line`` to the nonce
    ``challenged``; returns ``(nonce M, the listener's proof line)``. Raises
    :class:`AuthError` if the peer does not know the token."""
    parts = line.decode("ascii", "replace").split()
    if len(parts) != 2:
        raise AuthError("no answer to the challenge (not an asgi-scope stream?)")
    theirs = _nonce(parts[0])
    if not hmac.compare_digest(parts[1], _mac(token, b"middleware", challenged, theirs)):
        raise AuthError("the token it proved is not this user's")
    return theirs, (_mac(token, b"listener", challenged, theirs) + "\n").encode()


def check_proof(token: bytes, challenged: bytes, ours: bytes, line: bytes) -> None:
    """The middleware's check of the listener's proof ``line``. Raises
    :class:`AuthError` if the listener does not know the token."""
    expected = _mac(token, b"listener", challenged, ours)
    if not hmac.compare_digest(line.strip().decode("ascii", "replace"), expected):
        raise AuthError("the listener did not prove it knows the token")
