"""A curl command line that sends a recorded HTTP request again.

The command reproduces what the app received: method, target, headers in
order, body byte for byte. curl's own defaults are turned off where the
original request did not have them (``-H 'User-Agent:'`` removes curl's
``User-Agent``, ``-H 'Accept:'`` its ``Accept``, ``-H 'Expect:'`` its
``Expect: 100-continue`` for large bodies, ``-H 'Content-Type:'`` the form
type ``--data-binary`` implies); ``Content-Length`` is left to curl.
``--globoff`` and ``--path-as-is`` keep curl from reading ``[]{}`` as globs or
resolving ``/../``.

The URL is built from the address the server listened on (the scope's
``server``), never from the request's ``Host`` header: a client chooses that
header, and the command may carry credentials. ``Host`` is sent as a ``-H``
header, so the app sees the same value.

A body that is safe UTF-8 text (no control characters but newlines, no bidi
tricks, see :func:`asgi_scope.trace.safe.safe_text`) and does not start with
``@`` (curl would read a local file) is passed as a quoted argument; any other
body is piped in through ``base64 -d`` so every byte survives the shell.

Every argument is quoted with :func:`shlex.quote` (POSIX sh): nothing from the
request can run in the shell that pastes it. An argument that is not printable
ASCII (a header value or target with an ESC or latin-1 C1 byte, say) is written
as ``"$(printf '\\033...')"`` with octal escapes: the exact bytes reach curl,
and no control character reaches the clipboard or the terminal.
"""

from __future__ import annotations

import base64
import shlex

from asgi_scope.export.redact import DEFAULT, Redactor
from asgi_scope.trace.flow import Request
from asgi_scope.trace.safe import safe_text

LEFT_TO_CURL = frozenset({b"content-length", b"transfer-encoding"})
"""Request headers curl writes itself from the body."""

CURL_DEFAULTS = (b"user-agent", b"accept", b"expect", b"content-type")
"""Headers curl adds unless told not to (``-H 'Name:'`` removes one); the last
two only when it sends a body."""

_PRINTABLE = frozenset(range(0x20, 0x7F))


def curl(req: Request, *, redact: Redactor | None = DEFAULT) -> str:
    """The command, one option per line joined with `` \\`` line continuations.

    With a ``redact`` redactor, secret header fields, query parameters and form
    fields are sent as ``[REDACTED]`` (see :mod:`asgi_scope.export.redact`);
    None keeps everything. A body cut by the recording's body cap
    is sent as far as it was kept, and a comment line says so.
    """
    if redact is not None:
        req = redact.request(req)
    headers = req.headers
    args: list[str | bytes] = ["curl"]
    if req.http_version == "HTTP/1.0":
        args.append("--http1.0")
    else:
        args.append("--http1.1")
    if any(c in req.target for c in "[]{}"):
        args.append("--globoff")
    if "/." in req.target:
        args.append("--path-as-is")
    has_body = bool(req.body) or req.body_size > 0
    if req.method == "HEAD":
        args.append("--head")
    elif not (req.method == "GET" and not has_body) and not (req.method == "POST" and has_body):
        args += ["-X", req.method.encode("utf-8")]
    url, note = _url(req)
    args.append(url)
    names = {name.lower() for name, _ in headers}
    for name, value in headers:
        if name.lower() in LEFT_TO_CURL:
            continue
        args += ["-H", name + b": " + value if value else name + b";"]
    for default in CURL_DEFAULTS:
        if default not in names and (has_body or default in (b"user-agent", b"accept")):
            args += ["-H", f"{default.decode()}:"]
    prefix = ""
    if has_body:
        text = _plain_text(req.body)
        if text is not None:
            args += ["--data-binary", text]
        else:
            encoded = base64.b64encode(req.body).decode("ascii")
            prefix = f"printf %s {shlex.quote(encoded)} | base64 -d | "
            args += ["--data-binary", "@-"]
    command = prefix + _join(args)
    if note:
        command = f"{note}\n{command}"
    if req.truncated:
        command = (
            f"# the body was cut by the recording's body cap: {len(req.body)} of "
            f"{req.body_size} bytes kept\n{command}"
        )
    return command


def _url(req: Request) -> tuple[bytes, str]:
    """The URL to the server's own address, and a comment line if it is not known."""
    note = ""
    if req.server is not None:
        host, port = req.server
        host = f"[{host}]" if ":" in host else host
        authority = f"{host}:{port}"
    else:
        authority = "localhost"
        note = "# the server's address was not recorded: localhost is a guess"
    if safe_text(authority) != authority or not authority.isascii():
        authority = "localhost"
    scheme = req.scheme if req.scheme in ("http", "https") else "http"
    target = req.target.encode("latin-1", "replace")
    return f"{scheme}://{authority}".encode("ascii") + target, note


def _plain_text(body: bytes) -> str | None:
    """``body`` as text fit to pass as an argument: UTF-8, safe to show (no control
    characters but newlines), and not starting with ``@`` (curl would read a
    file). None for any other body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith("@") or safe_text(text, keep_newlines=True) != text:
        return None
    return text


def _quote(arg: str | bytes) -> str:
    """One argument for POSIX sh. A str is text (already safe); bytes are as on
    the wire (latin-1): printable ASCII is quoted as is, anything else becomes a
    ``printf`` with octal escapes so the command holds no raw control byte."""
    if isinstance(arg, str):
        return shlex.quote(arg)
    if all(b in _PRINTABLE for b in arg):
        return shlex.quote(arg.decode("ascii"))
    fmt = "".join(
        "\\\\" if b == 0x5C else "%%" if b == 0x25 else chr(b) if b in _PRINTABLE else f"\\{b:03o}"
        for b in arg
    )
    return f'"$(printf {shlex.quote(fmt)})"'


def _join(args: list[str | bytes]) -> str:
    """Quote each argument; put each option and its value on a line of its own."""
    lines, current = [], [_quote(args[0])]
    for arg in args[1:]:
        if isinstance(arg, str) and arg.startswith("-") and len(current) > 1:
            lines.append(" ".join(current))
            current = []
        current.append(_quote(arg))
    lines.append(" ".join(current))
    return " \\\n  ".join(lines)
