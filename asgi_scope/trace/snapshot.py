"""Snapshots of ASGI scopes and messages, taken as they cross the shim.

An app may mutate or reuse its message dicts and buffers after ``send()``
returns (ASGI spec, "Applications": messages are plain dicts the app owns), so
the trace keeps its own copy: dicts, lists and tuples are copied, ``bytearray``
and ``memoryview`` become ``bytes``, and a subclass of ``str``, ``bytes``,
``int`` or ``float`` becomes the plain value (its ``__str__``, ``__repr__``,
``__len__`` or ``__format__`` may raise or lie: views must be able to show
it). Other objects (Starlette's ``app``,
``route``, ``endpoint``) are kept by reference: they are long-lived and views
only ``repr()`` them.
"""

from __future__ import annotations

from typing import Any

_MAX_DEPTH = 8
_ATOMS = (str, bytes, int, float, bool, type(None))
_ATOM_TYPES = frozenset(_ATOMS)
_BODY_KEYS = frozenset(("body", "bytes", "text"))


def snapshot(value: Any, depth: int = 0) -> Any:
    """Return a copy of ``value`` that later mutation of the original cannot reach.

    Containers deeper than 8 levels are kept by reference (a guard against cycles).
    A tuple of atoms is immutable already and is kept as it is (a header pair).
    """
    kind = type(value)
    if kind in _ATOM_TYPES or depth > _MAX_DEPTH:
        return value
    # Exact types first (the hot path: scopes and messages are plain dicts,
    # lists of header tuples); subclasses fall through to isinstance below.
    if kind is dict:
        depth += 1
        copy = value.copy()  # in C; then only the values that are not atoms
        for k, v in copy.items():
            if type(v) not in _ATOM_TYPES:
                copy[k] = snapshot(v, depth)  # same keys: iterating stays valid
        return copy
    if kind is tuple:
        for v in value:
            if type(v) not in _ATOM_TYPES:
                break
        else:
            return value
        return tuple(snapshot(v, depth + 1) for v in value)
    if kind is list:
        depth += 1
        copy = value.copy()  # in C; then only the items that are not immutable
        for i, v in enumerate(copy):
            item = type(v)
            if (  # a header pair: a tuple of two atoms, kept
                item is tuple
                and len(v) == 2
                and type(v[0]) in _ATOM_TYPES
                and type(v[1]) in _ATOM_TYPES
            ) or item in _ATOM_TYPES:
                continue
            copy[i] = snapshot(v, depth)
        return copy
    if isinstance(value, _ATOMS):
        return plain(value)
    if isinstance(value, dict):
        return {k: snapshot(v, depth + 1) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(snapshot(v, depth + 1) for v in value)
    if isinstance(value, list):
        return [snapshot(v, depth + 1) for v in value]
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def plain(value: Any) -> Any:
    """A subclass instance of ``str``, ``bytes``, ``int`` or ``float`` as the plain
    value it holds, without calling any method the subclass may override;
    anything else as it is."""
    if isinstance(value, str):
        return str.__getitem__(value, slice(None))
    if isinstance(value, bytes):
        return bytes.__getitem__(value, slice(None))
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    return value


def snapshot_since(value: dict[str, Any], earlier: dict[str, Any]) -> dict[str, Any]:
    """Snapshot the dict ``value`` again, sharing what is unchanged with ``earlier``.

    ``earlier`` is a snapshot of the same dict taken before (the scope when it
    was created; this is the scope as the app left it). A value that is the
    same object, or an equal container of the same type, is shared: snapshots
    are never mutated, so sharing is safe, and comparing is much cheaper than
    copying (a list of header tuples compares in C). A value whose comparison
    fails is copied. Equal means ``==``, as the Scope tab's diff has it: a
    nested ``1`` the app replaced with ``True`` reads as unchanged in both.
    A dict equal to ``earlier`` as a whole (the common case: the app changed
    nothing) is ``earlier`` itself, compared in C in one step.
    """
    try:
        if value == earlier:
            return earlier
    except Exception:  # an app object with a strange __eq__: key by key below
        pass
    out = {}
    for key, v in value.items():
        before = earlier.get(key, earlier)
        if v is before:
            out[key] = v
            continue
        kind = type(v)
        if kind in _ATOM_TYPES:
            out[key] = v
            continue
        if kind is type(before) and kind in _CONTAINERS:
            try:
                same = bool(v == before)
            except Exception:  # an app object with a strange __eq__
                same = False
            if same:
                out[key] = before
                continue
        out[key] = snapshot(v, 1)
    return out


_CONTAINERS = frozenset((dict, list, tuple))


def snapshot_message(message: Any, budget: int) -> tuple[Any, int, int]:
    """Snapshot an ASGI message, cutting its body to at most ``budget`` bytes.

    The body is the value of ``body`` (HTTP) or ``bytes`` / ``text`` (WebSocket).
    Returns ``(snapshot, kept, dropped)``: bytes (or characters, for ``text``) of
    body kept in the snapshot and cut from it. A message that is not a dict is
    returned as it is (the spec checker reports it; the server rejects it).
    """
    if type(message) is dict:  # the hot path: copied in C, then what is not an atom
        snap = message.copy()
        items, fill = snap.items(), False
    elif isinstance(message, dict):  # a subclass: its items, into a plain dict
        snap, items, fill = {}, message.items(), True
    else:
        return message, 0, 0
    kept = dropped = 0
    for key, value in items:
        kind = type(value)
        if key in _BODY_KEYS:
            if kind is not bytes and kind is not str:  # immutable: kept by reference
                if not isinstance(value, (bytes, bytearray, memoryview, str)):
                    snap[key] = snapshot(value, 1)
                    continue
                value = plain(value)
            size = len(value)
            if size > budget:
                value = value[: max(budget, 0)]
                dropped += size - len(value)
            kept += len(value)
            snap[key] = value if isinstance(value, (bytes, str)) else bytes(value)
        elif kind not in _ATOM_TYPES:
            snap[key] = snapshot(value, 1)
        elif fill:
            snap[key] = value
    return snap, kept, dropped
