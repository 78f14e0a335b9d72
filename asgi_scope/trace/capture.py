"""The capture file: a recorded session as JSON Lines, and reading it back.

A capture is the single source of what a view shows: the live UI, ``asgi-scope
open``, the HAR and curl exports all read the same :mod:`events
<asgi_scope.trace.events>`. Format (`JSON Lines <https://jsonlines.org/>`_:
UTF-8, one JSON value per ``\\n``-terminated line):

* line 1, the header: ``{"format": "asgi-scope-capture", "version": 1,
  "asgi_scope": "0.1.0", "app": "main:app", "started": "2026-11-22T00:00:00.123456Z",
  "started_ns": 1795305600123456000, "options": {"max_body": 1048576, ...}}``.
  ``started`` is the wall-clock time (UTC, ISO 8601) of ``t_ns`` 0; ``started_ns``
  the same in nanoseconds since the Unix epoch; ``options`` the flags that shaped
  the trace (``max_body``: bytes of body kept per exchange and direction).
* every other line, one event: ``{"kind": "MessageSent", "seq": 7, "t_ns": 912345,
  "conn": 1, ...}``; ``kind`` is the event class's name and the other keys are its
  dataclass fields, so a new event kind needs no change here.

Values are JSON, with tagged objects for what JSON lacks: ``{"$b": base64}``
for bytes (RFC 4648 §4, standard alphabet, padded), ``{"$t": [...]}`` for a
tuple, ``{"$d": [[key, value], ...]}`` for a dict whose keys are not all strings
(or start with ``$``), ``{"$f": "nan" | "inf" | "-inf"}`` for a float JSON
cannot write, and ``{"$repr": text, "$type": "module.Class"}`` for any other
object (Starlette's ``app``, ``endpoint``, ``route`` in a scope): its ``repr``
only. Nothing is pickled, and reading never imports or calls anything named in
a file: a ``$repr`` comes back as an :class:`Opaque` that shows the same text.

Versions: :data:`VERSION` is written; files of any version up to it are read
(older versions are upgraded here, as they appear); a newer version is refused
with a clear error, as is anything that is not a capture. A last line cut short
(the process was killed mid-write) is dropped with a warning.

Writing is off the hot path: :class:`CaptureWriter` is a tap on the
:class:`~asgi_scope.trace.recorder.Recorder`'s drain (the one point where each
batch of events leaves for its consumers) that queues whole batches for its own
thread, which encodes and writes them. Files are created with mode 0600: they
hold cookies and ``Authorization`` headers.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import math
import os
import threading
import time
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Union

from asgi_scope import __version__
from asgi_scope.trace import events as events_module
from asgi_scope.trace.backlog import Backlog
from asgi_scope.trace.events import Event
from asgi_scope.trace.private_file import create_private

FORMAT = "asgi-scope-capture"
"""The header's ``format`` value."""

VERSION = 1
"""The format version this release writes; it reads every version up to this one."""

MAX_DEPTH = 32
"""Containers nested deeper than this are written as their ``repr`` (a cycle guard)."""

MAX_REPR = 4096
"""Characters of an arbitrary object's ``repr`` kept."""

MAX_FIELD_INT = 2**63 - 1
"""The largest value an event's own integer field (a time in ns, a size, an id,
a status) may have when read back; the smallest is -1."""

MAX_VALUE_BITS = 64
"""Integers inside a value (a scope, a message) wider than this many bits are
read back as an :class:`Opaque` naming their width (views format numbers)."""


class CaptureError(Exception):
    """A file that is not a readable capture. ``str()`` is one line for the user,
    naming the file and, where it applies, the line: ``capture.jsonl:3: not JSON``."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class Opaque:
    """An object from the app that a capture kept only as text (its ``repr``).

    ``repr()`` of it is that text, so a reopened scope reads as the live one did;
    ``type`` is the object's ``module.qualname``.
    """

    text: str
    type: str = ""

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Header:
    """The first line of a capture: what was recorded, by what, when, how.

    ``started_ns`` is wall-clock nanoseconds since the Unix epoch at ``t_ns`` 0;
    ``options`` the flags that shaped the trace (``max_body`` in bytes...).
    """

    app: str
    started_ns: int
    options: dict[str, Any] = field(default_factory=dict)
    version: int = VERSION
    asgi_scope: str = __version__

    @property
    def started(self) -> str:
        """``started_ns`` as ISO 8601 UTC with microseconds, ``...T00:00:00.123456Z``."""
        return iso8601(self.started_ns)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "asgi_scope": self.asgi_scope,
            "app": self.app,
            "started": self.started,
            "started_ns": self.started_ns,
            "options": encode_value(self.options),
        }


@dataclass(slots=True)
class Capture:
    """A capture read back: its header, its events in ``seq`` order, and warnings
    (one line each, such as a truncated last line that was dropped)."""

    header: Header
    events: list[Event]
    warnings: list[str] = field(default_factory=list)


def iso8601(ns: int) -> str:
    """Epoch nanoseconds as ISO 8601 UTC, ``2026-11-22T00:00:00.123456Z``."""
    moment = datetime.fromtimestamp(ns // 1000 / 1e6, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def wall_clock_at_zero(now_ns: int) -> int:
    """Epoch nanoseconds of ``t_ns`` 0, for a recorder whose ``now()`` is ``now_ns``."""
    return time.time_ns() - now_ns


# -- values ---------------------------------------------------------------------


_PLAIN = frozenset({str, int, bool, type(None)})
_base64 = binascii.b2a_base64  # base64.b64encode without its wrapper's call


_SHORT = 256
"""Bytes this long at most are looked up in :data:`_SEEN` (longer ones, bodies,
are encoded each time: hashing them would cost what encoding does)."""

_SEEN: dict[Any, Any] = {}
"""The encoding of short bytes and of header pairs (``(bytes, bytes)`` tuples)
lately encoded (a pair of at most :data:`_SHORT` bytes in all), at most 4096, by
value: the same values come back on every
request (``host``, ``user-agent``, ``content-type``...), and their encoding
depends on their value only. Shared by the threads that write lines; its
encodings are read, never changed."""


_LONG = 4096
"""Bytes longer than this are a :class:`_Body` (shorter, escaping costs less
than splicing)."""


class _Body(dict):  # type: ignore[type-arg]
    """``{"$b": base64}`` of bytes longer than :data:`_LONG` (a body), as any
    dict to every reader; :func:`event_line` writes its text into the line as
    it is: base64 holds nothing JSON escapes, so it is not scanned for it."""

    __slots__ = ()


_bodies_handed = 0
"""How many times :func:`encode_value` returned a :class:`_Body`: a line whose
encoding did not move it has none to look for (threads may make it miss one:
that line is then written by the JSON encoder alone, the same text)."""

_last_body: tuple[bytes, Any] = (b"", None)
"""The last bytes longer than :data:`_SHORT` encoded, and their encoding: a body
the app sent and the bytes it became are one object, in two events in a row."""


def _seen(value: Any, encoded: Any) -> Any:
    """Keep ``encoded`` as the encoding of ``value`` in :data:`_SEEN`; return it."""
    if len(_SEEN) >= 4096:
        _SEEN.clear()
    _SEEN[value] = encoded
    return encoded


def encode_value(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready data, with the tags described in the module doc
    (parts of it may be shared with other calls' results: read, never change them)."""
    # Exact types first: scopes and messages are plain dicts, lists, header
    # tuples, bytes and str (the writer thread shares the GIL with the server).
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is bytes:
        if len(value) > _SHORT:
            global _last_body, _bodies_handed
            last = _last_body
            if last[0] is not value:
                text = _base64(value, newline=False).decode("ascii")
                encoded = _Body({"$b": text}) if len(value) > _LONG else {"$b": text}
                last = _last_body = (value, encoded)
            if len(value) > _LONG:
                _bodies_handed += 1
            return last[1]
        encoded = _SEEN.get(value)
        if encoded is None:
            encoded = _seen(value, {"$b": _base64(value, newline=False).decode("ascii")})
        return encoded
    if depth < MAX_DEPTH:
        depth += 1
        if kind is dict:
            if not value:  # scope["state"], each of scope["extensions"]
                return {}
            for key in value:
                if type(key) is not str or key[:1] == "$":
                    break
            else:
                return {
                    k: v if type(v) in _PLAIN else encode_value(v, depth) for k, v in value.items()
                }
        elif kind is list:
            return [v if type(v) in _PLAIN else encode_value(v, depth) for v in value]
        elif kind is tuple:
            if len(value) == 2 and type(value[0]) is bytes and type(value[1]) is bytes:
                short = len(value[0]) + len(value[1]) <= _SHORT
                encoded = _SEEN.get(value) if short else None  # a header pair
                if encoded is None:
                    name = _base64(value[0], newline=False).decode("ascii")
                    field_value = _base64(value[1], newline=False).decode("ascii")
                    encoded = {"$t": [{"$b": name}, {"$b": field_value}]}
                    if short:
                        _seen(value, encoded)
                return encoded
            return {"$t": [v if type(v) in _PLAIN else encode_value(v, depth) for v in value]}
        depth -= 1
    return _encode_other(value, depth)


def _encode_other(value: Any, depth: int) -> Any:
    """:func:`encode_value` for subclasses, floats, tagged dicts and other objects."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Opaque):
        return {"$repr": value.text, "$type": value.type}
    if depth < MAX_DEPTH:
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: encode_value(v, depth + 1) for k, v in value.items()}
            pairs = [
                [encode_value(k, depth + 1), encode_value(v, depth + 1)] for k, v in value.items()
            ]
            return {"$d": pairs}
        if isinstance(value, tuple):
            return {"$t": [encode_value(v, depth + 1) for v in value]}
        if isinstance(value, list):
            return [encode_value(v, depth + 1) for v in value]
    kind = type(value)
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ in the app must not stop recording
        text = f"<{kind.__qualname__} object; repr() raised {type(exc).__name__}>"
    return {"$repr": text[:MAX_REPR], "$type": f"{kind.__module__}.{kind.__qualname__}"}


class _BadValue(ValueError):
    pass


def decode_value(data: Any, depth: int = 0) -> Any:
    """The inverse of :func:`encode_value`. Raises ``ValueError`` on a malformed tag
    or containers nested more than twice :data:`MAX_DEPTH` deep (the writer
    never nests deeper than :data:`MAX_DEPTH`)."""
    if type(data) is int and data.bit_length() > MAX_VALUE_BITS:
        return Opaque(f"<an integer of {data.bit_length()} bits>", "builtins.int")
    if not isinstance(data, (list, dict)):
        return data
    if depth > 2 * MAX_DEPTH:
        raise _BadValue("nested too deeply")
    depth += 1
    if isinstance(data, list):
        return [decode_value(v, depth) for v in data]
    if len(data) == 1 or (len(data) == 2 and "$repr" in data):
        tag = next(iter(data))
        if tag.startswith("$"):
            return _decode_tagged(data, depth)
    if any(k.startswith("$") for k in data):
        raise _BadValue(f"unknown tag in {sorted(data)}")
    return {k: decode_value(v, depth) for k, v in data.items()}


def _decode_tagged(data: dict[str, Any], depth: int) -> Any:
    if "$b" in data:
        try:
            return base64.b64decode(data["$b"], validate=True)
        except (TypeError, ValueError):
            raise _BadValue("$b is not base64") from None
    if "$t" in data and isinstance(data["$t"], list):
        return tuple(decode_value(v, depth) for v in data["$t"])
    if "$d" in data and isinstance(data["$d"], list):
        pairs = data["$d"]
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise _BadValue("$d is not a list of pairs")
        try:
            return {_hashable(decode_value(k, depth)): decode_value(v, depth) for k, v in pairs}
        except TypeError:
            raise _BadValue("$d has a key that cannot be a key") from None
    if "$f" in data and data["$f"] in ("nan", "inf", "-inf"):
        return float(data["$f"])
    if "$repr" in data and isinstance(data["$repr"], str):
        return Opaque(data["$repr"], str(data.get("$type", "")))
    raise _BadValue(f"unknown tag {sorted(data)}")


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


# -- events ---------------------------------------------------------------------


def event_kinds() -> dict[str, type[Event]]:
    """Every event class of :mod:`asgi_scope.trace.events`, by name (read each time,
    so kinds added there are written and read with no change here)."""
    return {
        name: obj
        for name, obj in vars(events_module).items()
        if isinstance(obj, type)
        and issubclass(obj, Event)
        and obj is not Event
        and dataclasses.is_dataclass(obj)
    }


_FIELDS: dict[type, tuple[str, ...]] = {}
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_chunks: Callable[[Any, int], Sequence[str]] = (
    # _ENCODER's own C encoder, made once rather than at each encode() (as
    # JSONEncoder.iterencode does), with no cycle check: encode_value builds a new
    # tree, at most MAX_DEPTH deep, so no value in it can contain itself.
    json.encoder.c_make_encoder(
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    if json.encoder.c_make_encoder is not None
    else lambda value, _: _ENCODER.iterencode(value, _one_shot=True)
)


_LATELY: dict[int, tuple[dict[str, Any], Any]] = {}
"""The last scopes :func:`encode_event` encoded (at most :data:`LATELY_KEPT`), by
``id``, with their encoding: an event's scope is a snapshot nobody changes, and
the same object in a later event (an exchange's ``ScopeCreated`` and, left as it
was, its ``ExchangeEnded``) is not walked again. Only scopes: a request head is
bounded by the server's limits, a message's body is not. Shared by the threads
that write lines; each entry is one tuple, its dict kept so that its ``id`` is
not reused."""

LATELY_KEPT = 64
"""Scopes kept in :data:`_LATELY` at most (the exchanges of about as many
connections in flight; a scope of a 64 KiB head makes this about 6 MiB)."""


def encode_event(event: Event) -> dict[str, Any]:
    """``event`` as a JSON-ready dict: ``kind`` and every dataclass field (its
    values may be shared with another call's: read, never change them)."""
    kind = type(event)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(event))
    out: dict[str, Any] = {"kind": kind.__name__}
    for name in names:
        value = getattr(event, name)
        if type(value) in _PLAIN:
            out[name] = value
        elif name == "scope" and type(value) is dict and value:
            lately = _LATELY.pop(id(value), None)
            if lately is None or lately[0] is not value:
                lately = (value, encode_value(value))
                if len(_LATELY) >= LATELY_KEPT:
                    _LATELY.clear()
                _LATELY[id(value)] = lately
            out[name] = lately[1]
        else:
            out[name] = encode_value(value)
    return out


_MARK = '{"$B":'
"""What stands for a :class:`_Body` while a line is encoded: ``{"$B": i}``, ``i``
its index. Nothing else writes it: a key of an app's dict that starts with
``$`` is written in a ``$d`` list, and a ``"`` in a string is escaped."""


def event_line(event: Event) -> str:
    """One capture line for ``event``, with its ``\\n``."""
    pieces: list[str] = []
    _line_pieces(event, pieces)
    return "".join(pieces)


def _line_pieces(event: Event, pieces: list[str]) -> None:
    """Append the capture line of ``event`` to ``pieces``, in pieces: the base64
    text of a body (a :class:`_Body` in a field, or in a dict in a field: a
    message) is one, as it is; the rest goes through the JSON encoder. Appends
    nothing when ``event`` cannot be encoded (raises what encoding raised)."""
    handed = _bodies_handed
    out = encode_event(event)
    if handed == _bodies_handed:
        pieces.append("".join(_chunks(out, 0)) + "\n")
        return
    bodies: list[str] = []
    for name, value in out.items():
        kind = type(value)
        if kind is _Body:
            out[name] = {"$B": len(bodies)}
            bodies.append(value["$b"])
        elif kind is dict and name != "scope" and _Body in map(type, value.values()):
            value = out[name] = dict(value)  # its own copy: encodings are shared
            for key, item in value.items():
                if type(item) is _Body:
                    value[key] = {"$B": len(bodies)}
                    bodies.append(item["$b"])
    first, *rest = "".join(_chunks(out, 0)).split(_MARK)
    line = [first]
    for piece in rest:  # i}...: the body's text in its place
        end = piece.index("}")
        line += ('{"$b":"', bodies[int(piece[:end])], '"', piece[end:])
    line.append("\n")
    pieces += line


def event_lines(batch: list[Event]) -> tuple[list[str], int]:
    """The capture lines of ``batch``, as pieces of text to write one after the
    other (``writelines``), and how many events could not be encoded.

    An app can put values in its messages that no encoder foresaw (an int too
    long to print, a ``__repr__`` that raises): such an event is left out and
    counted, and the recording goes on. Pieces, not lines: a line or a batch
    joined is one more copy of the bodies in it, of a size the allocator maps
    and unmaps each time.
    """
    pieces: list[str] = []
    lost = 0
    for event in batch:
        try:
            _line_pieces(event, pieces)
        except Exception:
            lost += 1
    return pieces, lost


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(kind: type[Event]) -> dict[str, Any]:
    hints = _HINTS.get(kind)
    if hints is None:
        hints = _HINTS[kind] = typing.get_type_hints(kind, vars(events_module))
    return hints


def decode_event(data: Any, kinds: dict[str, type[Event]] | None = None) -> Event:
    """The event a JSON object describes. Raises ``ValueError`` saying what is wrong:
    not an object, unknown ``kind``, missing or unknown fields, or a field whose
    value does not have the field's type (an integer field out of -1 ..
    :data:`MAX_FIELD_INT` included)."""
    if not isinstance(data, dict):
        raise ValueError(f"an event is a JSON object, not {type(data).__name__}")
    kinds = kinds if kinds is not None else event_kinds()
    name = data.get("kind")
    kind = kinds.get(name) if isinstance(name, str) else None
    if kind is None:
        raise ValueError(f"unknown event kind {name!r}")
    fields = dataclasses.fields(kind)
    names = [f.name for f in fields]
    # A field added later with a default (ServerNote.exchange) may be absent: an older capture.
    missing = [f.name for f in fields if f.name not in data and f.default is dataclasses.MISSING]
    extra = [k for k in data if k != "kind" and k not in names]
    if missing or extra:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(extra)}"
        raise ValueError(f"{name} event: {problem}")
    hints = _hints(kind)
    values = []
    for f in fields:
        n = f.name
        value = data.get(n, f.default)
        if type(value) is not int:  # an int field is checked for range as it came
            value = decode_value(value)
        if not _conforms(value, hints[n]):
            if type(value) is int and hints[n] is int:
                raise ValueError(f"{name} event: {n} is out of range: {value!r:.60}")
            raise ValueError(f"{name} event: {n} is not {_type_name(hints[n])}: {value!r:.60}")
        values.append(value)
    return kind(*values)


def _conforms(value: Any, hint: Any) -> bool:
    """A light check of ``value`` against a type hint of an event field."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_conforms(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is Literal:
        # A value of the literal's type, not only its listed values: captures
        # written before a vocabulary grew still read (views show any str).
        return any(type(value) is type(arg) for arg in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        return len(value) == len(args) and all(
            _conforms(v, a) for v, a in zip(value, args, strict=True)
        )
    if origin is not None:
        return isinstance(value, origin)
    if hint is int:
        return type(value) is int and -1 <= value <= MAX_FIELD_INT
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


# -- reading --------------------------------------------------------------------


def read_capture(path: str | os.PathLike[str]) -> Capture:
    """Read and check a whole capture file.

    Raises :class:`CaptureError` (one line, naming the file and line) for a
    missing or unreadable file, an empty file, a first line that is not an
    asgi-scope header, a newer format version, or a line that is not JSON or
    not a valid event. A last line without its ``\\n`` that does not parse is
    taken for a write cut short: dropped, with a warning in ``warnings``.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise CaptureError(path, None, "no such file") from None
    except IsADirectoryError:
        raise CaptureError(path, None, "is a directory, not a capture file") from None
    except OSError as exc:
        raise CaptureError(path, None, exc.strerror or str(exc)) from None
    if not raw.strip():
        raise CaptureError(path, None, "empty file: not a capture")
    lines = raw.split(b"\n")
    complete = raw.endswith(b"\n")
    if complete:
        lines.pop()
    header = _read_header(path, lines[0], cut=not complete and len(lines) == 1)
    kinds = event_kinds()
    events: list[Event] = []
    warnings: list[str] = []
    for number, line in enumerate(lines[1:], start=2):
        last = number == len(lines)
        if not line.strip():
            if last:
                continue
            raise CaptureError(path, number, "empty line: every line is one event")
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
            if last and not complete:
                warnings.append(
                    f"{path}:{number}: last line cut short (recording stopped mid-write); "
                    f"showing the {len(events)} events before it"
                )
                break
            raise CaptureError(path, number, f"not valid JSON ({_json_problem(exc)})") from None
        try:
            events.append(decode_event(data, kinds))
        except ValueError as exc:
            raise CaptureError(path, number, f"not a valid event: {exc}") from None
        except RecursionError:
            raise CaptureError(path, number, "not a valid event: nested too deeply") from None
    return Capture(header, events, warnings)


def _json_problem(exc: Exception) -> str:
    """Why ``json.loads`` refused a line: its own words, or what else it raised
    (bad UTF-8, an int literal past Python's digit limit, nesting too deep)."""
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return "a number too long"


def parse_header(line: bytes, source: str) -> Header:
    """The header of a capture or a live stream from its first line (``\\n`` or not).

    Raises :class:`CaptureError` naming ``source`` (a file, or a stream's peer) for
    a line that is not an asgi-scope header, a newer format version, or a
    malformed ``started_ns`` or ``options``.
    """
    return _read_header(source, line, cut=False)


def _read_header(path: str | os.PathLike[str], line: bytes, cut: bool) -> Header:
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep
        problem = "cut short" if cut else f"not valid JSON ({_json_problem(exc)})"
        raise CaptureError(path, 1, f"not an asgi-scope capture: first line {problem}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CaptureError(path, 1, f"not an asgi-scope capture: no {FORMAT!r} header")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CaptureError(path, 1, f"capture header has no valid version: {version!r}")
    if version > VERSION:
        raise CaptureError(
            path,
            1,
            f"capture format version {version} is newer than this asgi-scope reads "
            f"(up to {VERSION}; it was written by asgi-scope {data.get('asgi_scope', '?')}): "
            "upgrade asgi-scope",
        )
    started_ns = data.get("started_ns")
    try:
        options = decode_value(data.get("options", {}))
    except ValueError:
        options = None
    in_range = type(started_ns) is int and 0 <= started_ns <= MAX_FIELD_INT
    if not in_range or not isinstance(options, dict):
        raise CaptureError(path, 1, "capture header: started_ns or options is malformed")
    return Header(
        app=str(data.get("app", "")),
        started_ns=started_ns,
        options=options,
        version=version,
        asgi_scope=str(data.get("asgi_scope", "")),
    )


# -- writing --------------------------------------------------------------------


def write_capture(path: str | os.PathLike[str], header: Header, events: Iterable[Event]) -> int:
    """Write a whole capture at once (saving from the UI); return the events written."""
    count = 0
    with create_private(path) as out:
        out.write(json.dumps(header.to_json(), ensure_ascii=False) + "\n")
        for event in events:
            out.write(event_line(event))
            count += 1
    return count


class CaptureWriter:
    """Writes every batch of events it is handed to a capture file, in a thread.

    Install it as a tap of the recorder (``recorder.taps.append(writer)``): the
    consumer's drain hands it each batch, which it only queues; its own thread
    encodes and writes whole batches and flushes after each. :meth:`close`
    writes what is queued and closes the file. Raises ``OSError`` at creation if
    the file cannot be created; a write error later stops writing and is kept in
    :attr:`error`.
    """

    def __init__(self, path: str | os.PathLike[str], header: Header) -> None:
        self.path = str(path)
        self.count = 0
        """Events written so far."""
        self.error: OSError | None = None
        self._file = create_private(path)
        self._file.write(json.dumps(header.to_json(), ensure_ascii=False) + "\n")
        self._file.flush()
        self.backlog = Backlog("the capture writer")
        """What waits to be written (bounded: a disk slower than the server loses
        events, counted, and a note in the capture says where)."""
        self._thread = threading.Thread(target=self._run, name="asgi-scope-capture", daemon=True)
        self._thread.start()

    def __call__(self, batch: Sequence[Event]) -> None:
        """Queue ``batch`` for writing (cheap; never blocks; dropped and counted
        past :data:`~asgi_scope.trace.backlog.LIMIT` events waiting)."""
        self.backlog.put(batch)

    def _run(self) -> None:
        out = self._file
        while True:
            batch = self.backlog.get()
            if batch is None:
                break
            if self.error is not None:
                continue
            lines, lost = event_lines(batch)
            try:
                out.writelines(lines)
                out.flush()
                self.count += len(batch) - lost
            except OSError as exc:
                self.error = exc

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then close the file (waits at most ``timeout`` s)."""
        if self._thread.is_alive():
            self.backlog.close()
            self._thread.join(timeout)
        try:
            self._file.close()
        except OSError as exc:
            self.error = self.error or exc


class Playback:
    """A finished capture as a recorder-like source for views: :meth:`drain` gives
    every event once, :meth:`now` the time of the last one (nothing is running)."""

    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self.max_body = int(capture.header.options.get("max_body", 0) or 0)
        self.taps: list[Any] = []
        self._pending = list(capture.events)
        self._end = max((e.t_ns for e in capture.events), default=0)

    def drain(self) -> list[Event]:
        """Every event of the capture the first time, then nothing."""
        events, self._pending = self._pending, []
        return events

    def now(self) -> int:
        """The ``t_ns`` of the capture's last event."""
        return self._end
