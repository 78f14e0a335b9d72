"""The demo app that asgi-scope serves when no APP is given.

A plain ASGI 3 application (https://asgi.readthedocs.io/en/latest/specs/www.html)
written with the standard library only, so that every message it receives
and sends is in plain sight. Each route shows one part of the HTTP flow:

- ``GET /``: an HTML page linking the others.
- ``GET /echo``: a form. ``POST /echo``: the request body sent back with the
  request's content-type, read from every ``http.request`` message until
  ``more_body`` is false.
- ``GET /stream``: five ``http.response.body`` chunks 0.3 s apart and no
  content-length, so the server frames it with ``Transfer-Encoding: chunked``.
- ``GET /slow?seconds=2``: answers after a delay (default 2 s, at most 30 s;
  400 if ``seconds`` is not a number from 0 up).
- ``GET /error``: raises RuntimeError before sending anything, so the server
  answers 500.
- ``GET /json``: the request's method, path, query string and headers as JSON
  (bytes decoded as latin-1, headers as ``[name, value]`` pairs in order).
- ``GET /bytes?n=65536``: ``n`` bytes of ``application/octet-stream`` (default
  64 KiB, at most 16 MiB; 400 if ``n`` is not a whole number in that range),
  for a response body of a chosen size (the benchmark's 64 KiB route).
- ``HEAD`` of any ``GET`` route: its head, without the body.
- Anything else: 404, or 405 with an ``allow`` header for a known path asked
  with the wrong method.

Every response has a content-type and a content-length, except ``/stream``.

Lifespan: ``lifespan.startup`` stores ``started_at`` (``time.time()``, seconds)
in ``scope["state"]`` when the server offers a state dict, then both startup
and shutdown are acknowledged. WebSocket connections are refused (closed
before accept, which the server turns into a 403).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from urllib.parse import parse_qs

__all__ = ["app"]

STREAM_CHUNKS = 5
STREAM_PAUSE = 0.3  # seconds between chunks
SLOW_DEFAULT = 2.0  # seconds
SLOW_MAX = 30.0  # seconds
BYTES_DEFAULT = 64 * 1024
BYTES_MAX = 16 * 1024 * 1024

INDEX = """<!doctype html>
<html><head><meta charset="utf-8"><title>asgi-scope demo</title></head>
<body><h1>Hello from the asgi-scope demo app</h1>
<p>Open these and watch the scope, the messages and the bytes go by:</p><ul>
<li><a href="/echo">/echo</a>: a form; its POST body is read from <code>http.request</code>
messages and sent straight back.</li>
<li><a href="/stream">/stream</a>: five body chunks, no content-length, so it goes chunked.</li>
<li><a href="/slow?seconds=2">/slow?seconds=2</a>: the response starts only after a delay.</li>
<li><a href="/error">/error</a>: the app raises before responding; the server sends 500.</li>
<li><a href="/json?hello=world">/json</a>: the scope's method, path, query string and
headers, as JSON.</li>
<li><a href="/bytes?n=65536">/bytes?n=65536</a>: a body of n bytes.</li>
<li><a href="/nowhere">/nowhere</a>: a plain 404.</li>
</ul></body></html>
"""

ECHO_FORM = """<!doctype html>
<html><head><meta charset="utf-8"><title>echo</title></head>
<body><h1>Echo</h1>
<form method="post" action="/echo" enctype="text/plain">
<textarea name="message" rows="4" cols="40">Hello, ASGI!</textarea><br>
<button type="submit">POST it</button></form></body></html>
"""


async def send_response(send, status: int, body: bytes, content_type: str, headers=()) -> None:
    """Send a whole response: ``http.response.start``, then one ``http.response.body``."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode("latin-1")),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_text(send, status: int, text: str, headers=()) -> None:
    """Send a whole ``text/plain`` response, encoded as UTF-8."""
    await send_response(send, status, text.encode(), "text/plain; charset=utf-8", headers)


async def index(scope, receive, send) -> None:
    """``GET /``: the home page."""
    await send_response(send, 200, INDEX.encode(), "text/html; charset=utf-8")


async def echo_form(scope, receive, send) -> None:
    """``GET /echo``: a form that POSTs a text/plain body to ``/echo``."""
    await send_response(send, 200, ECHO_FORM.encode(), "text/html; charset=utf-8")


async def echo(scope, receive, send) -> None:
    """``POST /echo``: send the request body back, with its content-type."""
    body = b""
    more_body = True
    while more_body:  # A body may arrive in any number of http.request messages.
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # The client went away: nobody is left to answer.
        body += message.get("body", b"")
        more_body = message.get("more_body", False)
    headers = dict(scope["headers"])  # Header names arrive lower-cased, as bytes.
    content_type = headers.get(b"content-type", b"application/octet-stream").decode("latin-1")
    await send_response(send, 200, body, content_type)


async def stream(scope, receive, send) -> None:
    """``GET /stream``: a response body sent in several ``http.response.body`` messages."""
    # No content-length: the server must use chunked framing (HTTP/1.1).
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for n in range(1, STREAM_CHUNKS + 1):
        if n > 1:
            await asyncio.sleep(STREAM_PAUSE)
        line = f"chunk {n} of {STREAM_CHUNKS}\n".encode()
        await send({"type": "http.response.body", "body": line, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def slow(scope, receive, send) -> None:
    """``GET /slow?seconds=N``: wait N seconds, then answer."""
    query = parse_qs(scope["query_string"].decode("latin-1"))
    try:
        seconds = float(query.get("seconds", [SLOW_DEFAULT])[-1])
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        await send_text(send, 400, "seconds must be a number from 0 to 30\n")
        return
    seconds = min(seconds, SLOW_MAX)
    await asyncio.sleep(seconds)
    await send_text(send, 200, f"Slept {seconds:g} s.\n")


async def error(scope, receive, send) -> None:
    """``GET /error``: fail before ``http.response.start``; the server must answer 500."""
    raise RuntimeError("the demo app failed on purpose (GET /error)")


async def echo_scope(scope, receive, send) -> None:
    """``GET /json``: describe the request as the app saw it in ``scope``."""
    document = {
        "method": scope["method"],
        "path": scope["path"],
        "query_string": scope["query_string"].decode("latin-1"),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
    }
    body = json.dumps(document, indent=2).encode() + b"\n"
    await send_response(send, 200, body, "application/json")


_BYTES: dict[int, bytes] = {}  # bodies already built, by size


async def some_bytes(scope, receive, send) -> None:
    """``GET /bytes?n=N``: a body of exactly N bytes."""
    query = parse_qs(scope["query_string"].decode("latin-1"))
    value = query.get("n", [str(BYTES_DEFAULT)])[-1]
    # ASCII digits only, and few: "²" is a digit to isdigit() but not to int(), and
    # int() of thousands of digits is slow, then refused (Python's digit limit).
    if not (value.isascii() and value.isdigit() and len(value) <= 9) or int(value) > BYTES_MAX:
        await send_text(send, 400, f"n must be a whole number from 0 to {BYTES_MAX}\n")
        return
    n = int(value)
    body = _BYTES.get(n)
    if body is None:
        pattern = b"asgi-scope demo body\n"
        body = (pattern * (n // len(pattern) + 1))[:n]
        if len(_BYTES) < 64:
            _BYTES[n] = body
    await send_response(send, 200, body, "application/octet-stream")


ROUTES = {
    ("GET", "/"): index,
    ("GET", "/echo"): echo_form,
    ("POST", "/echo"): echo,
    ("GET", "/stream"): stream,
    ("GET", "/slow"): slow,
    ("GET", "/error"): error,
    ("GET", "/json"): echo_scope,
    ("GET", "/bytes"): some_bytes,
}


async def http(scope, receive, send) -> None:
    """Handle one HTTP request: find its route, or answer 404 or 405. HEAD is
    GET's route: the server sends the head without the body (RFC 9110 §9.3.2)."""
    method, path = scope["method"], scope["path"]
    handler = ROUTES.get(("GET" if method == "HEAD" else method, path))
    if handler is not None:
        await handler(scope, receive, send)
        return
    allowed = {m for m, p in ROUTES if p == path}
    if "GET" in allowed:
        allowed.add("HEAD")
    if allowed:
        allow = ", ".join(sorted(allowed)).encode("latin-1")
        await send_text(send, 405, "Method Not Allowed\n", [(b"allow", allow)])
    else:
        await send_text(send, 404, f"Not Found: {scope['path']}\n")


async def lifespan(scope, receive, send) -> None:
    """Acknowledge ``lifespan.startup`` and ``lifespan.shutdown``, then return."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if "state" in scope:  # Shared with every request's scope["state"].
                scope["state"]["started_at"] = time.time()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope, receive, send) -> None:
    """The demo ASGI 3 application: dispatch on ``scope["type"]``."""
    if scope["type"] == "http":
        await http(scope, receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(scope, receive, send)
    elif scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1000})  # Before accept: HTTP 403.
    else:
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
