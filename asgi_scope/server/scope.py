"""The connection scopes the app is called with: one builder, one version table.

The ``http`` and ``websocket`` scopes follow the ASGI "HTTP & WebSocket ASGI
Message Format" ("Connection Scope" of each part), the ``lifespan`` scope the
ASGI Lifespan spec. What differs between ``http`` and ``websocket`` (``method``,
``subprotocols``, the extensions offered) is chosen by the scope's ``type``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import h11

from asgi_scope.server.target import split_target
from asgi_scope.trace.snapshot import snapshot

SPEC_VERSIONS = {"http": "2.3", "websocket": "2.5", "lifespan": "2.0"}
"""``scope["asgi"]["spec_version"]`` by scope ``type``: the newest version of each
spec whose every addition this server honours.

The HTTP & WebSocket spec is one document (2.5 as of 2024-06-05); its versions
add: 2.1 ``headers`` on ``websocket.accept``, 2.2 ``None`` as the ``server``
port, 2.3 ``reason`` on ``websocket.close``, 2.4 ``send()`` on a closed
connection raises an ``OSError``, 2.5 ``reason`` on ``websocket.disconnect``.
The WebSocket session honours all five (its ``send()`` raises
``ClientDisconnected``); the HTTP request cycle drops an ``http.response.*``
sent after the client left without raising, so ``http`` scopes say 2.3.
"""

ASGI_VERSION = "3.0"
"""``scope["asgi"]["version"]``: the ASGI core spec version (ASGI 3 applications)."""

Headers = list[tuple[bytes, bytes]]
"""Header fields as ASGI carries them: ``(lower-cased name, value)`` pairs, in order."""


def extensions(kind: str) -> dict[str, dict[str, Any]]:
    """The ``scope["extensions"]`` offered to a ``kind`` scope (only those the
    server implements): the trailers, path send and debug extensions for
    ``http``, the denial response for ``websocket``. A new dict every call."""
    if kind == "http":
        return {
            "http.response.trailers": {},
            "http.response.pathsend": {},
            "http.response.debug": {},
        }
    return {"websocket.http.response": {}}


def connection_scope(
    kind: str,
    request: h11.Request,
    headers: Headers,
    server: tuple[str, int] | None,
    client: tuple[str, int] | None,
    root_path: str,
    state: dict[str, Any],
    secure: bool = False,
) -> dict[str, Any]:
    """The ``http`` or ``websocket`` (``kind``) connection scope of ``request``
    (``scheme`` ``https``/``wss`` when ``secure``: over TLS).

    ``headers`` (the request's fields, see :data:`Headers`) become the scope's
    ``headers`` (a copy for ``websocket``, whose session keeps its own);
    ``server`` and ``client`` are ``(host, port)`` or None; ``root_path`` is
    prefixed to ``path`` and ``raw_path``; ``state`` (the lifespan's namespace)
    is copied. The request target may be in origin or absolute form (RFC 9112
    §3.2); ``path`` is percent-decoded, ``raw_path`` and ``query_string`` are
    not (h11 admits only ASCII in the target, so decoding it cannot fail).
    """
    raw_path, query_string = split_target(request.target)
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": ASGI_VERSION, "spec_version": SPEC_VERSIONS[kind]},
        "http_version": request.http_version.decode("ascii"),
        "server": server,
        "client": client,
    }
    if kind == "http":
        scope["scheme"] = "https" if secure else "http"
        scope["method"] = request.method.decode("ascii")
    else:
        scope["scheme"] = "wss" if secure else "ws"
    scope["root_path"] = root_path
    scope["path"] = root_path + unquote(raw_path.decode("ascii"))
    scope["raw_path"] = root_path.encode() + raw_path
    scope["query_string"] = query_string
    if kind == "http":
        scope["headers"] = headers
    else:
        scope["headers"] = headers.copy()
        protocols = next((v for n, v in headers if n == b"sec-websocket-protocol"), b"")
        scope["subprotocols"] = [
            p.strip().decode("latin-1") for p in protocols.split(b",") if p.strip()
        ]
    scope["state"] = state.copy()
    scope["extensions"] = extensions(kind)
    return scope


def trusted_proxies(allow: str) -> frozenset[str]:
    """``--forwarded-allow-ips`` as a set of addresses (``*``: every one)."""
    return frozenset(part.strip() for part in allow.split(",") if part.strip())


def apply_proxy_headers(scope: dict[str, Any], trusted: frozenset[str]) -> None:
    """uvicorn's ``--proxy-headers``: when the peer is a trusted proxy, the scope's
    ``scheme`` comes from ``X-Forwarded-Proto`` and its ``client`` from
    ``X-Forwarded-For`` (the nearest address that is not a trusted proxy; port 0)."""
    client = scope["client"]
    if client is None or ("*" not in trusted and client[0] not in trusted):
        return
    proto = forwarded_for = None
    for name, value in scope["headers"]:
        if name == b"x-forwarded-proto":
            proto = value.decode("latin-1").split(",")[-1].strip().lower()
        elif name == b"x-forwarded-for":
            forwarded_for = value.decode("latin-1")
    if proto in ("http", "https", "ws", "wss"):
        secure = proto in ("https", "wss")
        if scope["type"] == "websocket":
            scope["scheme"] = "wss" if secure else "ws"
        else:
            scope["scheme"] = "https" if secure else "http"
    if forwarded_for:
        hosts = [host.strip() for host in forwarded_for.split(",") if host.strip()]
        if hosts:
            nearest = next((h for h in reversed(hosts) if h not in trusted), hosts[0])
            scope["client"] = (hosts[0] if "*" in trusted else nearest, 0)


def lifespan_scope(state: dict[str, Any]) -> dict[str, Any]:
    """The ``lifespan`` scope (ASGI Lifespan spec, "Scope"): ``state`` is the
    namespace itself (not a copy), which the app fills during startup."""
    return {
        "type": "lifespan",
        "asgi": {"version": ASGI_VERSION, "spec_version": SPEC_VERSIONS["lifespan"]},
        "state": state,
    }


def snapshot_scope(scope: dict[str, Any]) -> dict[str, Any]:
    """A snapshot, for the trace, of an ``http`` scope :func:`connection_scope`
    built: what :func:`~asgi_scope.trace.snapshot.snapshot` makes of it, without
    walking what the server knows the shape of (header pairs are tuples of bytes)."""
    return {
        **scope,
        "asgi": scope["asgi"].copy(),
        "headers": scope["headers"].copy(),
        "state": snapshot(scope["state"]),
        "extensions": extensions(scope["type"]),
    }
