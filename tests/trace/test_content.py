"""Content decoding and parsing (trace/content.py), without sockets or Textual."""

from __future__ import annotations

import gzip
import random
import struct
import zlib

import pytest

from asgi_scope.trace import content


def test_gzip_deflate_and_stacked_codings_are_undone_in_reverse_order():
    body = b'{"a": 1}' * 50
    assert content.decode(gzip.compress(body), b"gzip").body == body
    assert content.decode(zlib.compress(body), "deflate").body == body
    raw_deflate = zlib.compressobj(wbits=-15)
    raw = raw_deflate.compress(body) + raw_deflate.flush()
    assert content.decode(raw, "deflate").body == body  # as browsers read it too
    stacked = gzip.compress(zlib.compress(body))  # deflate first, then gzip
    decoded = content.decode(stacked, "deflate, gzip")
    assert decoded.body == body
    assert decoded.codings == ("gzip", "deflate")
    assert content.decode(body, "identity") == content.Decoded(body)


def test_brotli_where_installed():
    brotli = pytest.importorskip("brotli")
    assert content.decode(brotli.compress(b"hello" * 9), "br").body == b"hello" * 9


def test_a_truncated_gzip_body_decodes_as_far_as_it_goes():
    body = random.Random(1).randbytes(100_000).hex().encode()  # compresses about 2:1
    cut = gzip.compress(body)[:2000]
    decoded = content.decode(cut, "gzip")
    assert not decoded.error
    assert 0 < len(decoded.body) < len(body)
    assert body.startswith(decoded.body)


def test_unknown_or_corrupt_codings_keep_the_raw_bytes_and_say_why():
    unknown = content.decode(b"abc", "compress")
    assert unknown.body == b"abc" and "unknown" in unknown.error and not unknown.changed
    corrupt = content.decode(b"not gzip at all", "gzip")
    assert corrupt.body == b"not gzip at all" and corrupt.error.startswith("gzip")


def test_a_decompression_bomb_is_cut_at_the_cap():
    bomb = gzip.compress(b"\0" * (content.MAX_DECODED + 1000))
    decoded = content.decode(bomb, "gzip")
    assert len(decoded.body) == content.MAX_DECODED
    assert decoded.cut


@pytest.mark.parametrize(
    ("header", "mime", "params"),
    [
        (b"application/json", "application/json", {}),
        (b"Text/HTML; Charset=ISO-8859-1", "text/html", {"charset": "ISO-8859-1"}),
        (
            b'multipart/form-data; boundary="a \\"b\\""',
            "multipart/form-data",
            {"boundary": 'a "b"'},
        ),
        (None, "", {}),
    ],
)
def test_media_type(header, mime, params):
    assert content.media_type(header) == (mime, params)


@pytest.mark.parametrize(
    ("mime", "body", "kind"),
    [
        ("application/json", b"", "json"),
        ("application/problem+json", b"", "json"),
        ("application/x-www-form-urlencoded", b"", "form"),
        ("multipart/form-data", b"", "multipart"),
        ("text/event-stream", b"", "event-stream"),
        ("image/png", b"", "image"),
        ("image/svg+xml", b"", "text"),
        ("text/plain", b"", "text"),
        ("application/octet-stream", b"{}", "binary"),
        ("", b'{"x": [1]}', "json"),
        ("", b"plain words\n", "text"),
        ("", b"\x00\x01\x02", "binary"),
    ],
)
def test_kind_of(mime, body, kind):
    assert content.kind_of(mime, body) == kind


def test_text_in_its_charset_and_unknown_charsets_fall_back_to_utf8():
    assert content.text_of("café".encode("latin-1"), "iso-8859-1") == "café"
    assert content.text_of("café".encode(), "no-such-charset") == "café"
    assert content.text_of(b"\xff", None) == "\\xff"


def test_forms_and_query_strings_keep_order_blanks_and_utf8():
    assert content.form(b"a=1&b=&a=%C3%A9+x&flag") == [
        ("a", "1"),
        ("b", ""),
        ("a", "é x"),
        ("flag", ""),
    ]


def test_multipart_parts_with_names_filenames_and_data():
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="title"\r\n\r\n'
        b"hello\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
        b"\x89PNG\x00\x01\r\n"
        b"--XyZ--\r\n"
    )
    title, upload = content.multipart(body, "XyZ")
    assert (title.name, title.filename, title.data) == ("title", None, b"hello")
    assert (upload.name, upload.filename, upload.content_type) == ("file", "a.png", "image/png")
    assert upload.data == b"\x89PNG\x00\x01"
    assert content.multipart(body, "wrong") == []


def test_cookie_and_set_cookie_headers():
    assert content.cookies(b"a=1; b=x=y; junk; c=") == [("a", "1"), ("b", "x=y"), ("c", "")]
    cookie = content.set_cookie(b"sid=abc; Path=/; HttpOnly; Max-Age=60; SameSite=Lax")
    assert cookie is not None
    assert (cookie.name, cookie.value) == ("sid", "abc")
    assert cookie.attribute("httponly") == ""
    assert cookie.attribute("max-age") == "60"
    assert content.set_cookie(b"no-equals-sign") is None


def test_event_stream_parsed_as_whatwg_reads_it():
    stream = (
        b"\xef\xbb\xbf: keep-alive\r\n\r\n"
        b"event: tick\ndata: 1\ndata:2\nid: 7\nretry: 3000\n\n"
        b"data: no type\r\r"
        b"id\n\n"
        b"data: cut"
    )
    keep, tick, plain, reset, cut = content.events(stream)
    assert keep.comments == ("keep-alive",) and not keep.dispatched
    assert (tick.event, tick.data, tick.id, tick.retry) == ("tick", "1\n2", "7", 3000)
    assert tick.dispatched
    assert stream[tick.start : tick.end].startswith(b"event: tick")
    assert stream[tick.start : tick.end].endswith(b"\n\n")
    assert (plain.event, plain.data, plain.id) == ("message", "no type", "7")
    assert reset.id == "" and not reset.dispatched
    assert cut.data == "cut" and not cut.dispatched and cut.end == len(stream)


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (
            b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 64, 32),
            ("PNG", 64, 32),
        ),
        (b"GIF89a" + struct.pack("<HH", 3, 5), ("GIF", 3, 5)),
        (
            b"\xff\xd8\xff\xe0"
            + struct.pack(">H", 4)
            + b"JF"
            + b"\xff\xc0"
            + struct.pack(">HBHH", 11, 8, 20, 40)
            + b"\x00" * 8,
            ("JPEG", 40, 20),
        ),
        (b"not an image", None),
        (b"\x89PNG\r\n\x1a\n", None),
    ],
)
def test_image_size(data, size):
    assert content.image_size(data) == size


def test_content_of_reads_both_headers():
    body = gzip.compress(b'{"ok": true}')
    headers = [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]
    read = content.content_of(headers, body)
    assert read.kind == "json" and read.body == b'{"ok": true}' and read.raw == body
