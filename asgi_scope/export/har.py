"""HAR 1.2: the HTTP Archive format browsers' developer tools read and write.

Spec: "HTTP Archive (HAR) format", version 1.2 (Jan Odvarko,
http://www.softwareishard.com/blog/har-12-spec/; W3C Web Performance draft);
sections are cited by their names, as in "HAR ``timings``". WebSocket messages go in the
``_webSocketMessages`` extension of an entry (custom fields start with ``_``,
HAR "Custom Fields"), the shape Chrome DevTools writes and imports: a list of
``{"type": "send" | "receive", "time": <epoch seconds>, "opcode": 1 | 2,
"data": <text, or base64 for binary>}``, on an entry whose ``_resourceType`` is
``"websocket"`` and whose response is the ``101``.

Timings (HAR ``timings``, in milliseconds) map the server's view of an exchange onto the
client's phases, each instant taken from the trace:

* ``blocked``: the request's first byte arrived while the previous exchange on
  its connection was still running (pipelining): until that one ended; else 0;
* ``send``: then until the request was read (the app received its last
  ``http.request``; at most until the first response byte);
* ``wait``: then until the first response byte was written;
* ``receive``: first to last response byte written;
* ``dns``, ``connect``, ``ssl``: -1, they do not apply to a server's view.

``time`` is their sum (HAR ``entries``). ``startedDateTime`` is the capture's wall-clock
start plus the first byte's ``t_ns``.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import ipaddress
import json
import os
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from asgi_scope import __version__
from asgi_scope.export.redact import DEFAULT, REDACTED, Redactor
from asgi_scope.trace import content as body_content
from asgi_scope.trace.capture import iso8601
from asgi_scope.trace.flow import Flow, Headers, Request, Response
from asgi_scope.trace.private_file import create_private

HAR_VERSION = "1.2"


def har(
    flows: list[Flow],
    started_ns: int,
    *,
    redact: Redactor | None = DEFAULT,
    comment: str = "",
) -> dict:
    """The HAR document (HAR ``log``) for ``flows``.

    ``started_ns`` is the wall-clock time (nanoseconds since the Unix epoch) of
    ``t_ns`` 0. With a ``redact`` redactor the values of secret header fields,
    cookies, query parameters and form fields are replaced (see
    :mod:`asgi_scope.export.redact`); None keeps everything.
    """
    log: dict[str, Any] = {
        "version": HAR_VERSION,
        "creator": {"name": "asgi-scope", "version": __version__},
        "pages": [],
        "entries": [entry(f, started_ns, redact=redact) for f in flows],
    }
    if comment:
        log["comment"] = comment
    return {"log": log}


def write_har(path: str | os.PathLike[str], document: dict) -> None:
    """Write ``document`` as JSON to ``path``, created with mode 0600 (an
    export made with ``--no-redact`` holds credentials).

    The JSON is ASCII (``\\uXXXX`` escapes): text from the app may hold a lone
    surrogate, which UTF-8 cannot encode. It is serialized before the file is
    opened, so a document that cannot be written leaves no partial file.
    """
    text = json.dumps(document, ensure_ascii=True, indent=2) + "\n"
    with create_private(path) as out:
        out.write(text)


def _ms(ns: int | float) -> float:
    return round(max(ns, 0) / 1e6, 3)


def timings(flow: Flow) -> dict[str, float]:
    """HAR ``timings`` of ``flow``, in milliseconds (see the module doc)."""
    t = flow.times
    start = t.first_in if t.first_in is not None else (t.scope or 0)
    blocked_until = t.queued_behind if t.queued_behind is not None else start
    read = max(x for x in (t.last_in, t.scope, t.request_read, blocked_until) if x is not None)
    if t.first_out is not None:
        read = min(read, t.first_out)
        wait_until, last = t.first_out, t.last_out or t.first_out
    else:
        wait_until = last = max(read, t.end or read)
    return {
        "blocked": _ms(blocked_until - start),
        "dns": -1,
        "connect": -1,
        "send": _ms(read - blocked_until),
        "wait": _ms(wait_until - read),
        "receive": _ms(last - wait_until),
        "ssl": -1,
    }


def entry(flow: Flow, started_ns: int, *, redact: Redactor | None = DEFAULT) -> dict[str, Any]:
    """One HAR ``entries`` item for ``flow``."""
    phases = timings(flow)
    start = flow.times.first_in if flow.times.first_in is not None else flow.times.scope or 0
    out: dict[str, Any] = {
        "startedDateTime": iso8601(started_ns + start),
        "time": round(sum(v for v in phases.values() if v > 0), 3),
        "request": request(flow.request, redact=redact),
        "response": response(flow.response, redact=redact),
        "cache": {},
        "timings": phases,
        "connection": str(flow.conn),
        "_resourceType": "websocket" if flow.kind == "websocket" else "other",
    }
    if flow.server is not None:
        with contextlib.suppress(ValueError):  # a host name, not an address
            out["serverIPAddress"] = str(ipaddress.ip_address(flow.server[0]))
    if flow.kind == "websocket":
        out["_webSocketMessages"] = [
            {
                "type": m.direction,
                "time": (started_ns + m.t_ns) / 1e9,
                "opcode": m.opcode,
                "data": m.data if isinstance(m.data, str) else _b64(m.data),
            }
            for m in flow.messages
        ]
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _text(data: bytes) -> str:
    return data.decode("latin-1")


def _headers(headers: Headers, redact: Redactor | None) -> list[dict[str, str]]:
    """HAR ``headers``: names and values as on the wire (ISO-8859-1, RFC 9110 §5.5)."""
    shown = redact.headers(headers) if redact is not None else headers
    return [{"name": _text(n), "value": _text(v)} for n, v in shown]


def _cookies(headers: Headers, name: bytes, redact: Redactor | None) -> list[dict[str, Any]]:
    """HAR ``cookies`` from ``Cookie`` (RFC 6265 §4.2) or ``Set-Cookie`` (§4.1)."""
    out: list[dict[str, Any]] = []
    for header, value in headers:
        if header.lower() != name:
            continue
        text = value.decode("latin-1")
        pairs = text.split(";") if name == b"cookie" else text.split(";", 1)[:1]
        for pair in pairs:
            key, eq, val = pair.strip().partition("=")
            if not eq:
                continue
            shown = _text(REDACTED) if redact is not None else val
            cookie: dict[str, Any] = {"name": key, "value": shown}
            if name == b"set-cookie":
                cookie.update(_cookie_attributes(text))
            out.append(cookie)
    return out


def _cookie_attributes(text: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for part in text.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        key = key.lower()
        if key in ("path", "domain", "expires"):
            attributes[key] = value
        elif key == "httponly":
            attributes["httpOnly"] = True
        elif key == "secure":
            attributes["secure"] = True
    return attributes


def _mime(headers: Headers) -> str:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.decode("latin-1")
    return ""


def request(req: Request, *, redact: Redactor | None = DEFAULT) -> dict[str, Any]:
    """HAR ``request``."""
    cookies = _cookies(req.headers, b"cookie", redact)
    if redact is not None:
        req = redact.request(req)
    out: dict[str, Any] = {
        "method": req.method,
        "url": req.url,
        "httpVersion": req.http_version,
        "cookies": cookies,
        "headers": _headers(req.headers, None),
        "queryString": [
            {"name": n, "value": v}
            for n, v in parse_qsl(urlsplit(req.target).query, keep_blank_values=True)
        ],
        "headersSize": req.head_size,
        "bodySize": req.body_size,
    }
    if req.body_size or req.body:
        out["postData"] = post_data(req)
    return out


def post_data(req: Request) -> dict[str, Any]:
    """HAR ``postData``: the body as text; a body that is not UTF-8 also in
    ``_base64`` (HAR 1.2 has no encoding for postData); form fields as
    ``params`` for ``application/x-www-form-urlencoded``."""
    mime = _mime(req.headers)
    out: dict[str, Any] = {"mimeType": mime}
    try:
        out["text"] = req.body.decode("utf-8")
    except UnicodeDecodeError:
        out["text"] = req.body.decode("utf-8", "replace")
        out["_base64"] = _b64(req.body)
    if mime.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        out["params"] = [
            {"name": n, "value": v} for n, v in parse_qsl(out["text"], keep_blank_values=True)
        ]
    if req.truncated:
        out["comment"] = f"truncated: {len(req.body)} of {req.body_size} bytes kept"
    return out


def response(resp: Response | None, *, redact: Redactor | None = DEFAULT) -> dict[str, Any]:
    """HAR ``response``; for an exchange that got none, status 0 (as browsers
    write an aborted request) and empty content."""
    if resp is None:
        return {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": "x-unknown"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "comment": "no response was sent",
        }
    location = resp.header(b"location")
    return {
        "status": resp.status,
        "statusText": resp.reason,
        "httpVersion": resp.http_version,
        "cookies": _cookies(resp.headers, b"set-cookie", redact),
        "headers": _headers(resp.headers, redact),
        "content": content(resp),
        "redirectURL": location.decode("latin-1") if location else "",
        "headersSize": resp.head_size,
        "bodySize": resp.body_size,
    }


def content(resp: Response) -> dict[str, Any]:
    """HAR ``content`` as Chrome DevTools writes it: the body with its
    ``content-encoding`` undone (:func:`asgi_scope.trace.content.decode`),
    ``size`` its decoded length and ``compression`` the bytes the coding saved;
    ``text`` in the body's charset for text, base64 with ``encoding`` only for a
    binary body. A body that does not decode is given as sent, with a comment."""
    read = body_content.content_of(resp.headers, resp.body)
    body = read.body
    size = len(body) if read.decoded.changed and not resp.truncated else resp.body_size
    out: dict[str, Any] = {"size": size, "mimeType": _mime(resp.headers) or "x-unknown"}
    if read.decoded.changed and not resp.truncated:
        out["compression"] = size - resp.body_size
    if body:
        text = _body_text(body, read.kind, read.params.get("charset"))
        if text is None:
            out["text"] = _b64(body)
            out["encoding"] = "base64"
        else:
            out["text"] = text
    notes = []
    if resp.truncated:
        notes.append(f"truncated: {len(resp.body)} of {resp.body_size} bytes kept")
    if read.decoded.error:
        notes.append(f"not decoded: {read.decoded.error}")
    if notes:
        out["comment"] = "; ".join(notes)
    return out


def _body_text(body: bytes, kind: str, charset: str | None) -> str | None:
    """``body`` as text in its charset (UTF-8 if none or unknown), or None for an
    image or bytes the charset cannot decode (binary)."""
    if kind == "image":
        return None
    encoding = "utf-8"
    if charset:
        with contextlib.suppress(LookupError):
            encoding = codecs.lookup(charset).name
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        return None
