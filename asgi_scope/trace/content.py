"""Bodies made readable: content decoding and parsing by media type, UI-neutral.

A body as the trace keeps it is the bytes the app sent or received, still in its
``content-encoding`` (RFC 9110 §8.4) and its media type's own syntax. This
module undoes the one and parses the other, for the views, search, filters and
exports alike:

- :func:`decode` undoes ``gzip``, ``deflate``, ``br`` (where the ``brotli``
  package is installed: the ``brotli`` extra) and ``zstd`` (where Python has
  ``compression.zstd``), in the order the header lists them, bounded
  (:data:`MAX_DECODED`) against decompression bombs, and as far as a truncated
  body goes;
- :func:`media_type` and :func:`kind_of` read ``content-type`` (RFC 9110 §8.3);
- :func:`form` (``application/x-www-form-urlencoded``, the query string, per
  the WHATWG URL standard), :func:`multipart` (``multipart/form-data``, RFC
  7578), :func:`cookies` (``Cookie``, RFC 6265 §5.4), :func:`set_cookie`
  (RFC 6265 §5.2), :func:`events` (``text/event-stream``, WHATWG HTML
  §9.2.6), :func:`image_size` (PNG, GIF, JPEG, WebP headers) and
  :func:`text_of` (text in its charset).

Nothing here makes text safe to show: views pass every string through
:func:`~asgi_scope.trace.safe.safe_text`.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

try:  # the optional ``brotli`` extra
    import brotli  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None
try:  # Python 3.14+
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the Python version
    zstd = None

MAX_DECODED = 16 * 1024 * 1024
"""Bytes a decoded body may grow to; past that it is cut (a decompression bomb
stays a small cost)."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """A body with its content codings undone.

    ``body`` the decoded bytes (the input itself when nothing was undone);
    ``codings`` the codings undone, in the order applied (``["gzip"]``);
    ``error`` why decoding stopped early (an unknown or unavailable coding,
    corrupt or truncated data), else ``""``: ``body`` then holds what was
    decoded up to there, or the raw bytes if nothing was; ``cut`` whether
    :data:`MAX_DECODED` cut the body.
    """

    body: bytes
    codings: tuple[str, ...] = ()
    error: str = ""
    cut: bool = False

    @property
    def changed(self) -> bool:
        """Whether any coding was undone."""
        return bool(self.codings)


def _zlib(wbits: int) -> Callable[[bytes], tuple[bytes, bool]]:
    def run(data: bytes) -> tuple[bytes, bool]:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, MAX_DECODED)
        return out, bool(inflater.unconsumed_tail)

    return run


def _deflate(data: bytes) -> tuple[bytes, bool]:
    """``deflate`` is zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send raw
    DEFLATE: both are read, as browsers do."""
    try:
        return _zlib(zlib.MAX_WBITS)(data)
    except zlib.error:
        return _zlib(-zlib.MAX_WBITS)(data)


def _brotli(data: bytes) -> tuple[bytes, bool]:
    inflater = brotli.Decompressor()
    out = inflater.process(data)
    return out[:MAX_DECODED], len(out) > MAX_DECODED


def _zstd(data: bytes) -> tuple[bytes, bool]:
    inflater = zstd.ZstdDecompressor()
    out = inflater.decompress(data, MAX_DECODED)
    return out, not inflater.needs_input and not inflater.eof


_DECODERS: dict[str, Callable[[bytes], tuple[bytes, bool]]] = {
    "gzip": _zlib(16 + zlib.MAX_WBITS),
    "x-gzip": _zlib(16 + zlib.MAX_WBITS),
    "deflate": _deflate,
}
if brotli is not None:
    _DECODERS["br"] = _brotli
if zstd is not None:
    _DECODERS["zstd"] = _zstd

CODINGS = tuple(_DECODERS)
"""The content codings this Python can undo (``br`` and ``zstd`` only where
their module is present)."""


def decode(body: bytes, content_encoding: bytes | str | None) -> Decoded:
    """Undo the content codings ``content_encoding`` names (a header value such as
    ``b"gzip"`` or ``"deflate, br"``; RFC 9110 §8.4: applied in order, so undone
    last to first). ``identity`` and an empty value change nothing. Never raises:
    an unknown coding or corrupt data stops with :attr:`Decoded.error` set."""
    if isinstance(content_encoding, bytes):
        content_encoding = content_encoding.decode("latin-1")
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    done: list[str] = []
    cut = False
    for coding in reversed(codings):
        decoder = _DECODERS.get(coding)
        if decoder is None:
            unavailable = coding in ("br", "zstd")
            why = "not installed here" if unavailable else "unknown"
            return Decoded(body, tuple(done), f"content coding {coding!r}: {why}", cut)
        try:
            body, more = decoder(body)
        except Exception as exc:  # zlib.error, brotli.error, zstd.ZstdError
            reason = str(exc)[:120] or type(exc).__name__
            return Decoded(body, tuple(done), f"{coding}: {reason}", cut)
        cut = cut or more
        done.append(coding)
    return Decoded(body, tuple(done), "", cut)


def header(headers: Any, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case) in ASGI ``headers`` (a list
    of ``(name, value)`` byte pairs, as a scope or ``http.response.start`` holds
    them, names of any case), or None; anything malformed is skipped."""
    for pair in headers if isinstance(headers, (list, tuple)) else ():
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            key, value = pair
            if isinstance(key, bytes) and isinstance(value, bytes) and key.lower() == name:
                return value
    return None


@dataclass(frozen=True, slots=True)
class Content:
    """One side's body, ready to show: the ``raw`` bytes as kept, the body with its
    content codings undone (``decoded``), its media type (``mime``, ``params``)
    and the view that fits it (``kind``, see :func:`kind_of`)."""

    raw: bytes
    decoded: Decoded
    mime: str
    params: dict[str, str]
    kind: str

    @property
    def body(self) -> bytes:
        """The decoded body."""
        return self.decoded.body


def content_of(headers: Any, body: bytes) -> Content:
    """``body`` read with the ``content-encoding`` and ``content-type`` of
    ``headers`` (ASGI header pairs)."""
    decoded = decode(body, header(headers, b"content-encoding"))
    mime, params = media_type(header(headers, b"content-type"))
    return Content(body, decoded, mime, params, kind_of(mime, decoded.body))


def media_type(content_type: bytes | str | None) -> tuple[str, dict[str, str]]:
    """``content-type`` as ``(type/subtype lower-cased, {parameter: value})`` (RFC
    9110 §8.3.1; quoted values unquoted). Empty or absent: ``("", {})``."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    head, *params = (content_type or "").split(";")
    out = {}
    for param in params:
        name, sep, value = param.partition("=")
        if sep:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            out[name.strip().lower()] = value
    return head.strip().lower(), out


_TEXT_TYPES = {
    "application/javascript",
    "application/ecmascript",
    "application/xml",
    "application/xhtml+xml",
    "application/graphql",
    "application/x-ndjson",
    "application/yaml",
    "application/toml",
    "image/svg+xml",
}


def kind_of(mime: str, body: bytes = b"") -> str:
    """How a body of media type ``mime`` (from :func:`media_type`) is best shown:
    ``json``, ``form``, ``multipart``, ``event-stream``, ``image``, ``text`` or
    ``binary``. Without a type, a body that parses as JSON is ``json`` and one that
    decodes as UTF-8 without control characters is ``text``."""
    if mime == "application/json" or mime.endswith("+json"):
        return "json"
    if mime == "application/x-www-form-urlencoded":
        return "form"
    if mime == "multipart/form-data":
        return "multipart"
    if mime == "text/event-stream":
        return "event-stream"
    if mime.startswith("image/") and mime != "image/svg+xml":
        return "image"
    if mime.startswith("text/") or mime in _TEXT_TYPES:
        return "text"
    if not mime and body:
        if json_of(body) is not None:
            return "json"
        try:
            decoded = body.decode("utf-8")
        except UnicodeDecodeError:
            return "binary"
        printable = all(c.isprintable() or c in "\r\n\t" for c in decoded[:4096])
        return "text" if printable else "binary"
    return "binary"


def json_of(body: bytes | str) -> Any:
    """``body`` parsed as JSON (RFC 8259), or None if it is not JSON (a JSON
    ``null`` comes back as None too, which views show as the text it is)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def pretty_json(value: Any) -> str:
    """``value`` (parsed JSON) indented by two spaces, non-ASCII kept as is."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def text_of(body: bytes, charset: str | None = None) -> str:
    """``body`` as text in ``charset`` (the ``content-type`` parameter), UTF-8 when
    none is given or Python does not know it; undecodable bytes as ``\\xNN``."""
    encoding = "utf-8"
    if charset:
        with contextlib.suppress(LookupError):
            encoding = codecs.lookup(charset).name
    return body.decode(encoding, "backslashreplace")


def form(data: bytes | str) -> list[tuple[str, str]]:
    """An ``application/x-www-form-urlencoded`` body or a query string as its
    ``(name, value)`` pairs, in order, blanks kept (WHATWG URL §5.1: ``+`` is a
    space, percent-escapes are UTF-8)."""
    if isinstance(data, bytes):
        data = data.decode("latin-1")
    return parse_qsl(data, keep_blank_values=True, encoding="utf-8", errors="backslashreplace")


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a ``multipart/form-data`` body (RFC 7578 §4.2): its field
    ``name``, its ``filename`` (None for a plain field), its ``content_type``
    (``""`` if not given), its headers and its ``data``."""

    name: str
    filename: str | None
    content_type: str
    headers: list[tuple[str, str]]
    data: bytes


def multipart(body: bytes, boundary: str) -> list[Part]:
    """A ``multipart/form-data`` body (RFC 7578, framed per RFC 2046 §5.1.1) as its
    parts, read with the standard library's MIME parser. A body that does not
    parse (a wrong boundary, cut short) gives the parts found, maybe none."""
    if not boundary:
        return []
    quoted = boundary.replace("\\", "\\\\").replace('"', '\\"')
    head = f'Content-Type: multipart/form-data; boundary="{quoted}"\r\n\r\n'.encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return []
    parts = []
    for item in message.iter_parts():
        payload = item.get_payload(decode=True)
        parts.append(
            Part(
                name=str(item.get_param("name", "", header="content-disposition")),
                filename=item.get_filename(),
                content_type=item.get_content_type() if item.get("content-type") else "",
                headers=[(str(k), str(v)) for k, v in item.items()],
                data=payload if isinstance(payload, bytes) else b"",
            )
        )
    return parts


def cookies(header: bytes | str) -> list[tuple[str, str]]:
    """A ``Cookie`` header as its ``(name, value)`` pairs, in order (RFC 6265
    §5.4: ``name=value`` separated by ``;``; a pair without ``=`` is skipped)."""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    out = []
    for pair in header.split(";"):
        name, sep, value = pair.partition("=")
        if sep and name.strip():
            out.append((name.strip(), value.strip()))
    return out


@dataclass(frozen=True, slots=True)
class SetCookie:
    """One ``Set-Cookie`` header (RFC 6265 §5.2): the cookie's ``name`` and
    ``value`` and its attributes as ``(name, value)`` pairs (``("HttpOnly", "")``
    for a flag), names as sent."""

    name: str
    value: str
    attributes: list[tuple[str, str]] = field(default_factory=list)

    def attribute(self, name: str) -> str | None:
        """The last value of attribute ``name`` (case-insensitive), or None."""
        name = name.lower()
        found = [v for n, v in self.attributes if n.lower() == name]
        return found[-1] if found else None


def set_cookie(header: bytes | str) -> SetCookie | None:
    """A ``Set-Cookie`` header value parsed as RFC 6265 §5.2 does, or None when the
    user agent would ignore it (no ``=`` in the name-value pair, or no name)."""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    pair, *rest = header.split(";")
    name, sep, value = pair.partition("=")
    if not sep or not name.strip():
        return None
    attributes = []
    for item in rest:
        key, _, val = item.partition("=")
        if key.strip():
            attributes.append((key.strip(), val.strip()))
    return SetCookie(name.strip(), value.strip(), attributes)


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One event of a ``text/event-stream`` as the WHATWG HTML standard's
    event-stream interpretation (§9.2.6) dispatches it.

    ``event`` the type (``"message"`` when no ``event`` field came), ``data`` the
    data lines joined by ``\\n``, ``id`` the last event ID in force (None if never
    set), ``retry`` a reconnection time in ms if this block set one, ``comments``
    the block's comment lines (``: ...``). ``start`` and ``end`` are the offsets in
    the decoded stream of the block's first byte and just past its blank line.
    ``dispatched`` is False for a block with no data (the standard dispatches
    nothing for it: an id, retry or comment alone) and for the last block of a
    stream that ended before its blank line.
    """

    event: str
    data: str
    id: str | None
    retry: int | None
    comments: tuple[str, ...]
    start: int
    end: int
    dispatched: bool


_LINE = re.compile(rb"\r\n|\r|\n")


def _lines(stream: bytes) -> Iterator[tuple[bytes, int]]:
    """Each line of ``stream`` (CRLF, LF or CR ends one) and the offset just past
    its end; a last line with no end comes with the stream's length."""
    pos = 0
    for match in _LINE.finditer(stream):
        yield stream[pos : match.start()], match.end()
        pos = match.end()
    if pos < len(stream):
        yield stream[pos:], len(stream)


class _Block:
    """The fields of the block being read (WHATWG HTML §9.2.6's buffers)."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.event = ""
        self.data: list[str] = []
        self.retry: int | None = None
        self.comments: list[str] = []
        self.touched = False

    def done(self, last_id: str | None, end: int, ended: bool) -> ServerSentEvent:
        return ServerSentEvent(
            self.event or "message",
            "\n".join(self.data),
            last_id,
            self.retry,
            tuple(self.comments),
            self.start,
            end,
            ended and bool(self.data),
        )


def events(stream: bytes) -> list[ServerSentEvent]:
    """``stream`` (a ``text/event-stream`` body, decoded) as its events, per WHATWG
    HTML §9.2.6: a leading BOM is skipped, lines are UTF-8, ``field: value`` (one
    space after the colon dropped), ``:`` starts a comment, a blank line ends a
    block. A block that set only an id, a retry or comments comes back too, with
    ``dispatched`` False, so a view can show keep-alive comments."""
    out: list[ServerSentEvent] = []
    start = 3 if stream.startswith(b"\xef\xbb\xbf") else 0
    last_id: str | None = None
    block = _Block(start)
    for raw, end in _lines(stream[start:]):
        end += start
        line = raw.decode("utf-8", "replace")
        if not line:
            if block.touched:
                out.append(block.done(last_id, end, ended=True))
            block = _Block(end)
            continue
        block.touched = True
        if line.startswith(":"):
            block.comments.append(line[1:].removeprefix(" "))
            continue
        name, sep, value = line.partition(":")
        value = value.removeprefix(" ") if sep else ""
        if name == "event":
            block.event = value
        elif name == "data":
            block.data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            block.retry = int(value)
    if block.touched:  # the stream stopped inside a block: nothing dispatched (yet)
        out.append(block.done(last_id, len(stream), ended=False))
    return out


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """``(format, width, height)`` in pixels from a PNG, GIF, JPEG or WebP image's
    header, or None if ``data`` starts as none of them (or is cut before its size)."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return "PNG", width, height
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return "GIF", width, height
        if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
            return _webp(data)
        if data.startswith(b"\xff\xd8"):
            return _jpeg(data)
    except struct.error:
        return None
    return None


def _webp(data: bytes) -> tuple[str, int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return "WebP", width, height
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return "WebP", width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return "WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg(data: bytes) -> tuple[str, int, int] | None:
    """The size from the first start-of-frame marker (ITU T.81 §B.2.2)."""
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return "JPEG", width, height
        pos += 2 + length
    return None
