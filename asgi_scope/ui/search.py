"""Free-text search in the messages of an exchange, over everything the trace keeps.

The Messages detail shows a body cut at :data:`~asgi_scope.ui.render.MAX_VALUE`
characters; search reads the whole stored value instead (every str and bytes in
the message or scope snapshot: bodies up to the body cap, header names and
values, paths), so a word at byte 50,000 of a body is found and shown, as a
snippet with its offset, under the detail. A body with a ``content-encoding``
is searched decoded too, at its first body message.

Matching is case-insensitive (ASCII case for bytes), with :func:`re.finditer` on
the value itself: offsets from ``value.lower()`` would be wrong after a character
whose lower case is longer (``İ`` lowercases to two characters). Everything shown passes
through :func:`~asgi_scope.trace.safe.safe_text`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from asgi_scope.trace import content
from asgi_scope.trace.events import Event, MessageReceived, MessageSent, ScopeCreated
from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.store import Exchange

CONTEXT = 30
"""Characters shown either side of a match in a snippet."""

MAX_SNIPPETS = 20
"""Snippets shown per message (the count says how many matches there are)."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One match: ``where`` the value sits (``body``, ``headers[2][1]``), the
    ``offset`` of the match in that value (bytes or characters), and the value."""

    where: str
    offset: int
    value: str | bytes
    size: int = 0
    """Length of the match in ``value`` (bytes or characters)."""


def _leaves(value: Any, where: str, depth: int = 0) -> Iterator[tuple[str, str | bytes]]:
    if isinstance(value, (str, bytes)):
        yield where, value
    elif depth > 8:
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{where}.{key}" if where else str(key), depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{where}[{index}]", depth + 1)


def decoded_bodies(exchange: Exchange) -> dict[int, bytes]:
    """The request and response bodies of ``exchange`` that have a
    ``content-encoding``, decoded whole (:func:`~asgi_scope.trace.content.decode`),
    by the seq of the side's first body message, where search shows them."""
    scope_headers = exchange.scope.get("headers") if exchange.scope else None
    sides: dict[type, tuple[Any, list[int], list[bytes]]] = {
        MessageReceived: (scope_headers, [], []),
        MessageSent: (None, [], []),
    }
    for event in exchange.events:
        if not isinstance(event, (MessageReceived, MessageSent)):
            continue
        message = event.message if isinstance(event.message, dict) else {}
        kind = message.get("type")
        if kind == "http.response.start":
            sides[MessageSent] = (message.get("headers"), *sides[MessageSent][1:])
        elif kind in ("http.request", "http.response.body"):
            _, seqs, parts = sides[type(event)]
            body = message.get("body")
            if isinstance(body, bytes):
                seqs.append(event.seq)
                parts.append(body)
    out = {}
    for headers, seqs, parts in sides.values():
        coding = content.header(headers, b"content-encoding")
        if coding and seqs:
            out[seqs[0]] = content.decode(b"".join(parts), coding).body
    return out


def searchable(event: Event, decoded: bytes | None = None) -> Any:
    """What search reads in ``event``: a message or scope snapshot, else None;
    with ``decoded`` (from :func:`decoded_bodies`), the message and that body,
    as ``decoded body``."""
    if isinstance(event, (MessageReceived, MessageSent)):
        if decoded is not None and isinstance(event.message, dict):
            return {**event.message, "decoded body": decoded}
        return event.message
    if isinstance(event, ScopeCreated):
        return event.scope
    return None


def find(value: Any, term: str) -> list[Hit]:
    """Every match of ``term`` in the str and bytes of ``value``, in order."""
    if not term:
        return []
    text_term = re.compile(re.escape(term), re.IGNORECASE)
    byte_term = re.compile(re.escape(term.encode("utf-8", "surrogateescape")), re.IGNORECASE)
    hits = []
    for where, leaf in _leaves(value, ""):
        pattern = byte_term if isinstance(leaf, bytes) else text_term
        for match in pattern.finditer(leaf):  # type: ignore[arg-type]
            hits.append(Hit(where, match.start(), leaf, match.end() - match.start()))
    return hits


def hits_text(hits: list[Hit], term: str) -> Text:
    """The matches as snippets, the term highlighted, for under the detail."""
    text = Text()
    count = len(hits)
    text.append(f"{count} match{'es' if count != 1 else ''} for ", "bold")
    text.append(safe_text(term), "bold reverse")
    text.append(" in the full stored message\n", "bold")
    for hit in hits[:MAX_SNIPPETS]:
        value = hit.value
        size = hit.size
        lo, hi = max(hit.offset - CONTEXT, 0), hit.offset + size + CONTEXT
        before, match, after = (
            value[lo : hit.offset],
            value[hit.offset : hit.offset + size],
            value[hit.offset + size : hi],
        )
        text.append(f"  {safe_text(hit.where)} @{hit.offset}: ", "dim")
        text.append("…" if lo else "")
        for part, style in ((before, ""), (match, "bold reverse"), (after, "")):
            shown = part.decode("utf-8", "backslashreplace") if isinstance(part, bytes) else part
            text.append(safe_text(shown), style)
        text.append("…\n" if hi < len(value) else "\n")
    if count > MAX_SNIPPETS:
        text.append(f"  … {count - MAX_SNIPPETS} more\n", "dim")
    return text
