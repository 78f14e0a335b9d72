"""A ready-to-run pytest test from one recorded HTTP exchange.

The test sends the same request to the app in-process with
``httpx.ASGITransport`` (no server, no port) and asserts the status, the
significant response headers (:data:`SIGNIFICANT`, those an app sets on
purpose; never ``date`` or timing headers) and the body it saw: a JSON body as
parsed JSON (unless it holds ``NaN``, which never equals itself, or nests
deeper than Python parses), any other body byte for byte. httpx decodes a
compressed response, so a ``gzip`` or ``deflate`` body is compared decompressed
(:mod:`zlib`); for any other ``Content-Encoding`` only the status and headers
are asserted. Paste it into a test suite: it
needs ``pytest`` and ``httpx``, and the app importable as it was recorded
(``module:attribute``, ``--factory`` honoured).

Generated source is built only from literals: every value from the capture is
written with :func:`repr` of a ``str``, ``bytes`` or ``int``, the test name is
reduced to ``[a-z0-9_]``, and the import is written only if the app string is
dotted Python identifiers; anything else raises ``ValueError``. ``ASGITransport``
does not run the lifespan protocol; an app that needs its startup is noted in
the test's docstring as the developer's to arrange.
"""

from __future__ import annotations

import json
import re
import zlib

from asgi_scope.export.redact import DEFAULT, Redactor
from asgi_scope.trace.flow import Flow

SIGNIFICANT = (
    b"content-type",
    b"location",
    b"cache-control",
    b"content-encoding",
    b"content-disposition",
    b"content-language",
    b"allow",
    b"www-authenticate",
    b"vary",
    b"access-control-allow-origin",
    b"access-control-allow-methods",
    b"access-control-allow-headers",
)
"""Response headers a test asserts when the app sent them."""

NOT_SENT = frozenset({b"host", b"content-length", b"transfer-encoding", b"connection"})
"""Request headers httpx writes itself."""

_IDENTIFIERS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _import(app: str, factory: bool) -> list[str]:
    """The lines that import ``app`` (``module:attr.sub``) as ``app``, calling it
    if it is a ``factory``."""
    module, colon, attr = app.partition(":")
    if not colon or not _IDENTIFIERS.fullmatch(module) or not _IDENTIFIERS.fullmatch(attr):
        raise ValueError(f"the app {app!r} is not module:attribute with Python identifiers")
    if attr == "app" and not factory:
        return [f"from {module} import app"]
    top, *rest = attr.split(".")
    expression = ".".join(["_recorded", *rest]) + ("()" if factory else "")
    return [f"from {module} import {top} as _recorded", "", f"app = {expression}"]


def _name(flow: Flow) -> str:
    path = flow.request.target.split("?")[0]
    slug = re.sub(r"[^a-z0-9]+", "_", f"{flow.request.method} {path}".lower()).strip("_")
    return f"test_{slug[:60] or 'request'}_{flow.exchange}"


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} never equals itself")


def _decoded(flow: Flow) -> bytes | None:
    """The response body as httpx hands it to the test (``response.content``):
    decompressed for ``gzip`` and ``deflate``; None when it cannot be known (another
    or a stacked encoding, a body the recording cut, bytes that do not inflate)."""
    resp = flow.response
    assert resp is not None
    coding = (resp.header(b"content-encoding") or b"").strip().lower()
    if coding in (b"", b"identity"):
        return resp.body
    if resp.truncated or coding not in (b"gzip", b"x-gzip", b"deflate"):
        return None
    try:
        if coding == b"deflate":  # zlib-wrapped, else raw deflate (as httpx tries)
            try:
                return zlib.decompressobj().decompress(resp.body)
            except zlib.error:
                return zlib.decompressobj(-zlib.MAX_WBITS).decompress(resp.body)
        return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(resp.body)
    except zlib.error:
        return None


def _json_body(flow: Flow, body: bytes) -> str | None:
    """``body`` re-encoded as JSON text to compare parsed, or None to compare
    bytes: not JSON, cut, ``NaN``/``Infinity`` (never equal to itself), or nested
    too deep for Python's parser (RecursionError)."""
    resp = flow.response
    assert resp is not None
    mime = (resp.header(b"content-type") or b"").split(b";")[0].strip().lower()
    if not (mime == b"application/json" or mime.endswith(b"+json")) or resp.truncated:
        return None
    try:
        parsed = json.loads(body, parse_constant=_reject_constant)
        return json.dumps(parsed, ensure_ascii=False)
    except (ValueError, RecursionError):
        return None


def pytest_test(
    flow: Flow,
    app: str,
    *,
    factory: bool = False,
    redact: Redactor | None = DEFAULT,
    source: str = "",
) -> str:
    """The source of a test module for ``flow``'s request to ``app``.

    ``app`` is the recorded ``module:attribute``; ``factory`` that it names a
    function returning the app; ``source`` is where the exchange came from (for
    the docstring). With a ``redact`` redactor, secret request header fields are
    left out (a comment lists them) and secret query parameters and form fields
    redacted (:mod:`asgi_scope.export.redact`); None keeps everything. Raises
    ``ValueError`` for a flow with no response or not HTTP, or an ``app`` that
    is not an import string.
    """
    if flow.kind != "http" or flow.response is None:
        raise ValueError(f"exchange #{flow.exchange} has no HTTP response to assert")
    req, resp = flow.request, flow.response
    status = int.__repr__(resp.status)  # not the repr of an int subclass the app made
    secret = redact.is_secret_header if redact is not None else lambda _: False
    left_out = [n.decode("latin-1") for n, _ in req.headers if secret(n)]
    headers = [
        (n.decode("latin-1"), v.decode("latin-1"))
        for n, v in req.headers
        if n.lower() not in NOT_SENT and not secret(n)
    ]
    if redact is not None:
        req = redact.request(req)
    doc = f"{req.method} {req.target} answered {status}, as recorded"
    if source:
        doc += f" in {source}"
    lines = [
        f'"""Regression test generated by asgi-scope from exchange #{flow.exchange}."""',
        "",
        "import asyncio",
        "import json",
        "",
        "import httpx",
        "",
        *_import(app, factory),
        "",
        "",
        f"def {_name(flow)}() -> None:",
        f"    {doc!r}",
        "",
        "    async def send() -> httpx.Response:",
        "        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)",
        f"        base_url = {f'{req.scheme}://{req.host}'!r}",
        "        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:",
        "            return await client.request(",
        f"                {req.method!r},",
        f"                {req.target!r},",
        *([f"                # left out (redacted): {', '.join(left_out)}"] if left_out else []),
        "                headers=[",
        *[f"                    ({n!r}, {v!r})," for n, v in headers],
        "                ],",
    ]
    if req.body:
        lines.append(f"                content={req.body!r},")
    lines += [
        "            )",
        "",
        "    response = asyncio.run(send())",
        "",
        f"    assert response.status_code == {status}",
    ]
    for name in SIGNIFICANT:
        value = resp.header(name)
        if value is not None:
            lines.append(
                f"    assert response.headers[{name.decode()!r}] == {value.decode('latin-1')!r}"
            )
    body = _decoded(flow)
    text = _json_body(flow, body) if body is not None else None
    if body is None:
        coding = (resp.header(b"content-encoding") or b"").decode("latin-1")
        lines.append(
            f"    # the body ({coding!r}, {resp.body_size} bytes) is not compared: httpx"
            " decodes it, and the recording holds it encoded or cut"
        )
    elif text is not None:
        lines.append(f"    assert response.json() == json.loads({text!r})")
    elif resp.truncated:
        lines.append(f"    # the recording kept {len(resp.body)} of {resp.body_size} body bytes")
        lines.append(f"    assert response.content.startswith({resp.body!r})")
        lines.append(f"    assert len(response.content) == {resp.body_size!r}")
    else:
        lines.append(f"    assert response.content == {body!r}")
    if text is None:
        lines.remove("import json")
    return "\n".join(lines) + "\n"
