"""Snapshots of ASGI scopes and messages, taken as they cross the shim.

An app may mutate or reuse its message dicts and buffers after ``send()``
returns (ASGI spec, "Applications": messages are plain dicts the app owns), so
the trace keeps its own copy: dicts, lists and tuples are copied, ``bytearray``
and ``memoryview`` become ``bytes``. Other objects (Starlette's ``app``,
``route``, ``endpoint``) are kept by reference: they are long-lived and views
only ``repr()`` them.
"""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 8
_ATOMS = (str, bytes, int, float, bool, type(None))
_BODY_KEYS = ("body", "bytes", "text")


def snapshot(value: Any, depth: int = 0) -> Any:
    """Return a copy of ``value`` that later mutation of the original cannot reach.

    Containers deeper than 8 levels are kept by reference (a guard against cycles).
    """
    if isinstance(value, _ATOMS) or depth > _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {k: snapshot(v, depth + 1) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(snapshot(v, depth + 1) for v in value)
    if isinstance(value, list):
        return [snapshot(v, depth + 1) for v in value]
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def snapshot_message(message: Any, budget: int) -> tuple[Any, int, int]:
    """Snapshot an ASGI message, cutting its body to at most ``budget`` bytes.

    The body is the value of ``body`` (HTTP) or ``bytes`` / ``text`` (WebSocket).
    Returns ``(snapshot, kept, dropped)``: bytes (or characters, for ``text``) of
    body kept in the snapshot and cut from it. A message that is not a dict is
    returned as it is (the spec checker reports it; the server rejects it).
    """
    if not isinstance(message, dict):
        return message, 0, 0
    snap = {}
    kept = dropped = 0
    for key, value in message.items():
        if key in _BODY_KEYS and isinstance(value, (bytes, bytearray, memoryview, str)):
            size = len(value)
            if size > budget:
                value = value[: max(budget, 0)]
                dropped += size - len(value)
            kept += len(value)
            snap[key] = bytes(value) if not isinstance(value, (bytes, str)) else value
        else:
            snap[key] = snapshot(value, 1)
    return snap, kept, dropped
