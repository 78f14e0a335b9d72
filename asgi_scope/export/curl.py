"""A curl command line that sends a recorded HTTP request again.

The command reproduces what the app received: method, target, headers in
order, body byte for byte. curl's own defaults are turned off where the
original request did not have them (``-H 'User-Agent:'`` removes curl's
``User-Agent``, ``-H 'Accept:'`` its ``Accept``, ``-H 'Expect:'`` its
``Expect: 100-continue`` for large bodies, ``-H 'Content-Type:'`` the form
type ``--data-binary`` implies); ``Content-Length`` and ``Host`` are
left to curl (the URL carries the host). ``--globoff`` and ``--path-as-is`` keep
curl from reading ``[]{}`` as globs or resolving ``/../``. A body that is UTF-8
text without NUL is passed as a quoted argument; any other body is piped in
through ``base64 -d`` so every byte survives the shell.

Every argument is quoted with :func:`shlex.quote` (POSIX sh): nothing from the
request can run in the shell that pastes it.
"""

from __future__ import annotations

import base64
import shlex

from asgi_scope.export.flows import Request
from asgi_scope.export.redact import redact_headers

LEFT_TO_CURL = frozenset({b"host", b"content-length", b"transfer-encoding"})
"""Request headers curl writes itself from the URL and the body."""

CURL_DEFAULTS = (b"user-agent", b"accept", b"expect", b"content-type")
"""Headers curl adds unless told not to (``-H 'Name:'`` removes one); the last
two only when it sends a body."""


def curl(req: Request, *, redact: bool = True) -> str:
    """The command, one option per line joined with `` \\`` line continuations.

    With ``redact`` credential headers are sent as ``[REDACTED]`` (see
    :mod:`asgi_scope.export.redact`). A body cut by the recording's body cap
    is sent as far as it was kept, and a comment line says so.
    """
    headers = redact_headers(req.headers) if redact else req.headers
    args = ["curl"]
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
        args += ["-X", req.method]
    args.append(req.url)
    names = {name.lower() for name, _ in headers}
    for name, value in headers:
        if name.lower() in LEFT_TO_CURL:
            continue
        text = name.decode("latin-1")
        args += ["-H", f"{text}: {value.decode('latin-1')}" if value else f"{text};"]
    for default in CURL_DEFAULTS:
        if default not in names and (has_body or default in (b"user-agent", b"accept")):
            args += ["-H", f"{default.decode()}:"]
    prefix = ""
    if has_body:
        try:
            text = req.body.decode("utf-8")
            if "\x00" in text:
                raise ValueError
            args += ["--data-binary", text]
        except ValueError:
            encoded = base64.b64encode(req.body).decode("ascii")
            prefix = f"printf %s {shlex.quote(encoded)} | base64 -d | "
            args += ["--data-binary", "@-"]
    command = prefix + _join(args)
    if req.truncated:
        command = (
            f"# the body was cut by the recording's body cap: {len(req.body)} of "
            f"{req.body_size} bytes kept\n{command}"
        )
    return command


def _join(args: list[str]) -> str:
    """Quote each argument; put each option and its value on a line of its own."""
    lines, current = [], [shlex.quote(args[0])]
    for arg in args[1:]:
        if arg.startswith("-") and len(current) > 1:
            lines.append(" ".join(current))
            current = []
        current.append(shlex.quote(arg))
    lines.append(" ".join(current))
    return " \\\n  ".join(lines)
