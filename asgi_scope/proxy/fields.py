"""The fields a reverse proxy rewrites (RFC 9110 §7.6): hop-by-hop fields
dropped, ``Via`` appended, the ``X-Forwarded-*`` fields set, and the body's
framing kept or re-made (RFC 9112 §6.3).
"""

from __future__ import annotations

from typing import Any

from asgi_scope.proxy.upstream import Upstream

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)
"""Fields never forwarded (RFC 9110 §7.6.1, and the proxy-* pair, which are for
a forward proxy's own authentication)."""

VIA = b"1.1 asgi-scope"
"""Our ``Via`` entry (RFC 9110 §7.6.3: protocol version and a pseudonym)."""

REWRITTEN = frozenset(
    {
        b"host",
        b"content-length",
        b"via",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
    }
)


def connection_tokens(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    """Field names listed in ``Connection`` (hop-by-hop too, RFC 9110 §7.6.1)."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return tokens


def request_framing(scope: dict[str, Any]) -> bytes | None:
    """``Content-Length`` to keep, ``b"chunked"`` or None (no body), from the
    client's framing fields (RFC 9112 §6.3)."""
    length = None
    chunked = False
    for name, value in scope.get("headers", []):
        lower = name.lower()
        if lower == b"content-length":
            length = value.strip()
        elif lower == b"transfer-encoding":
            chunked = True
    if chunked:
        return b"chunked"
    return length


def response_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    """The upstream's response fields, hop-by-hop ones dropped, our Via added.
    ``Content-Length`` is kept: the body is forwarded byte for byte."""
    pairs = [(bytes(n), bytes(v)) for n, v in headers]
    named = connection_tokens(pairs)
    out = [(n, v) for n, v in pairs if n not in HOP_BY_HOP and n not in named and n != b"via"]
    via = [v for n, v in pairs if n == b"via"]
    out.append((b"via", b", ".join([*via, VIA])))
    return out


def request_headers(
    upstream: Upstream, scope: dict[str, Any], framing: bytes | None
) -> list[tuple[bytes, bytes]]:
    """The headers to send upstream (see the module doc); ``framing`` is the
    ``Content-Length`` value to keep, ``b"chunked"``, or None for no body."""
    headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
    named = connection_tokens(headers)
    forwarded_for = [v for n, v in headers if n.lower() == b"x-forwarded-for"]
    host = next((v for n, v in headers if n.lower() == b"host"), b"")
    via = [v for n, v in headers if n.lower() == b"via"]
    out = [(b"host", upstream.authority)]
    for name, value in headers:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in named or lower in REWRITTEN:
            continue
        out.append((name, value))
    if framing == b"chunked":
        out.append((b"transfer-encoding", b"chunked"))
    elif framing is not None:
        out.append((b"content-length", framing))
    out.append((b"via", b", ".join([*via, VIA])))
    client = scope.get("client")
    if client:
        address = str(client[0]).encode("ascii", "replace")
        out.append((b"x-forwarded-for", b", ".join([*forwarded_for, address])))
    elif forwarded_for:
        out.append((b"x-forwarded-for", b", ".join(forwarded_for)))
    out.append((b"x-forwarded-proto", str(scope.get("scheme", "http")).encode()))
    if host:
        out.append((b"x-forwarded-host", host))
    out.append((b"connection", b"close"))
    return out


def target(upstream: Upstream, scope: dict[str, Any]) -> bytes:
    """The request target sent upstream (RFC 9112 §3.2): the base path, then the
    path and query, never a path outside the base.

    The path (raw, as received) gets a leading ``/`` if it had none, and its dot
    segments are removed (RFC 3986 §5.2.4; ``%2e`` counts as ``.``, as servers
    decode it), before the base is put in front: ``_internal`` becomes
    ``/base/_internal``, ``/../admin`` becomes ``/base/admin``. ``OPTIONS *``
    (asterisk form, §3.2.4) names the server, not a path: it goes as it came.
    """
    path = scope.get("raw_path") or scope["path"].encode("utf-8")
    if path == b"*" and scope.get("method") == "OPTIONS":
        return b"*"
    base = upstream.base.encode() + remove_dot_segments(path)
    query = scope.get("query_string") or b""
    return base + b"?" + query if query else base


def remove_dot_segments(path: bytes) -> bytes:
    """``path`` starting with ``/``, with ``.`` and ``..`` segments (also written
    ``%2e``) resolved as RFC 3986 §5.2.4 does; ``..`` never climbs above ``/``."""
    kept: list[bytes] = []
    segments = path.split(b"/")
    if segments[0] == b"":
        segments = segments[1:]
    for index, segment in enumerate(segments):
        dots = segment.lower().replace(b"%2e", b".")
        last = index == len(segments) - 1
        if dots == b"..":
            if kept:
                kept.pop()
        elif dots != b".":
            kept.append(segment)
            continue
        if last:
            kept.append(b"")  # "/a/.." is "/", "/a/." is "/a/": the slash stays
    return b"/" + b"/".join(kept)
