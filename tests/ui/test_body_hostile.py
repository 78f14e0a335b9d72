"""Every content view escapes what the network sent (JSON keys and strings,
form fields, multipart names and file names, cookies, text in any charset,
event-stream fields and WebSocket text): no ESC, BEL, C1 or bidi control ever
reaches the terminal. And a huge body is drawn cut, not whole."""

from __future__ import annotations

import gzip
import json

import pytest

from asgi_scope.trace.content import ServerSentEvent
from asgi_scope.trace.events import MessageReceived
from asgi_scope.trace.stream import StreamEvent, WebSocketItem
from asgi_scope.ui.components.detail.body_view import side_text
from asgi_scope.ui.components.detail.stream_view import event_text, message_text

EVIL = "\x1b]52;c;SGVsbG8=\x07\x1b[2J\u202e\x9b"
RAW = ("\x1b", "\x07", "\u202e", "\x9b")


def assert_safe(plain: str, shown: bool = True) -> None:
    assert not any(char in plain for char in RAW), repr(plain)
    assert not shown or any(shown in plain for shown in ("\\x1b", "\\u001b", " 1b ")), (
        plain
    )  # shown, escaped


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ([(b"content-type", b"application/json")], json.dumps({EVIL: [EVIL]}).encode()),
        ([(b"content-type", b"application/x-www-form-urlencoded")], EVIL.encode() + b"=x"),
        ([(b"content-type", b"text/plain; charset=latin-1")], b"\x1b[2J \x9b"),
        (
            [(b"content-type", b"text/html"), (b"content-encoding", b"gzip")],
            gzip.compress(EVIL.encode(), mtime=0),
        ),
        ([(b"content-type", b"text/event-stream")], f"data: {EVIL}\n\n".encode()),
        ([(b"cookie", EVIL.encode("utf-8"))], b""),
        ([(b"set-cookie", f"a={EVIL}; Path={EVIL}".encode())], b""),
        (
            [(b"content-type", b"multipart/form-data; boundary=B")],
            (
                f'--B\r\nContent-Disposition: form-data; name="{EVIL}"; filename="{EVIL}"\r\n\r\n'
                f"{EVIL}\r\n--B--\r\n"
            ).encode(),
        ),
    ],
    ids=["json", "form", "latin-1", "gzip", "event-stream", "cookie", "set-cookie", "multipart"],
)
def test_every_body_view_escapes(headers, body) -> None:
    for raw in (False, True):
        title = "Request  GET" if headers[0][0] == b"cookie" else "Response  200"
        assert_safe(side_text(title, headers, body, len(body), raw=raw).plain, shown=not raw)


def test_stream_rows_in_full_escape() -> None:
    event = ServerSentEvent(EVIL, EVIL, EVIL, None, (EVIL,), 0, 1, True)
    assert_safe(event_text(StreamEvent(event, 0), 0).plain)
    message = MessageReceived(1, 0, 1, 1, {"type": "websocket.receive"}, None, 0)
    assert_safe(message_text(WebSocketItem("in", 0, EVIL, message), 0).plain)


def test_a_large_json_body_is_drawn_cut_not_whole() -> None:
    """A 1 MB document: the view stops near MAX_SHOWN characters, and says so."""
    from asgi_scope.ui.components.detail.body_view import MAX_SHOWN

    body = json.dumps([{"id": i, "name": f"item {i}"} for i in range(30_000)]).encode()
    text = side_text("Response  200", [(b"content-type", b"application/json")], body, len(body))
    assert len(text) < 2 * MAX_SHOWN
    assert '"name": "item 0"' in text.plain and text.plain.rstrip().endswith("v shows it raw)")
