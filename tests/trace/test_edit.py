"""Step mode's editor text (trace/edit.py): a held message as text and back, and
the errors that keep the editor open; the gate's edit and drop (trace/step.py)."""

from __future__ import annotations

import asyncio

import pytest

from asgi_scope.trace.edit import DROP, EditError, NotEditable, composed, editable, edited
from asgi_scope.trace.step import Gate

START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
}


def test_a_response_start_is_its_status_line_and_a_header_a_line() -> None:
    text, binary = editable(START)
    assert text == "200 OK\ncontent-type: text/plain\ncontent-length: 5" and binary is None
    message = edited(START, "HTTP/1.1 404 Gone\nContent-Type: text/plain\n\nX-Edited:  yes \n")
    assert message == {
        "type": "http.response.start",
        "status": 404,
        "headers": [(b"content-type", b"text/plain"), (b"x-edited", b"yes")],
    }


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("abc\nx: y", 1, "status is a number from 100 to 599"),
        ("99", 1, "status"),
        ("600 Nope", 1, "status"),
        ("200\nno colon here", 2, "'name: value'"),
        ("200\nx: y\nbad name: v", 3, "not a header name"),
        ("200\nx: caf\u00e9\u20ac", 2, "latin-1"),
        ("200\nx: a\rb", 2, "CR"),
    ],
)
def test_a_bad_status_or_header_line_names_its_line(text: str, line: int, words: str) -> None:
    with pytest.raises(EditError) as caught:
        edited(START, text)
    assert caught.value.line == line and words in str(caught.value)
    assert str(caught.value).startswith(f"line {line}: ")


def test_bodies_are_text_and_keep_more_body() -> None:
    body = {"type": "http.response.body", "body": b"hello", "more_body": True}
    assert editable(body) == ("hello", None)
    assert edited(body, "HÉLLO") == {**body, "body": "HÉLLO".encode()}
    request = {"type": "http.request", "body": b"a=1", "more_body": False}
    assert edited(request, "a=2")["body"] == b"a=2"


def test_what_cannot_be_edited_says_why() -> None:
    with pytest.raises(NotEditable, match="not UTF-8"):
        editable({"type": "http.response.body", "body": b"\xff\xfe"})
    with pytest.raises(NotEditable, match=r"websocket\.accept cannot be edited"):
        editable({"type": "websocket.accept"})
    with pytest.raises(NotEditable, match="10 bytes longer"):
        editable({"type": "http.request", "body": b"x"}, cut=10)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "http.response.body", "body": "a str body"},
        {"type": "http.response.start", "status": 200, "headers": [(b"a", b"b", b"c")]},
        {"type": "http.response.start", "status": 200, "headers": [b"x"]},
        {"type": "websocket.send", "bytes": "a str"},
    ],
)
def test_a_malformed_message_from_the_app_is_not_editable(message: dict) -> None:
    with pytest.raises(NotEditable, match="is malformed"):
        editable(message)


def test_websocket_messages_as_text_or_hex_and_the_composer() -> None:
    text_message = {"type": "websocket.send", "text": "hi"}
    assert editable(text_message) == ("hi", False)
    binary = {"type": "websocket.receive", "bytes": b"\x00\xff"}
    assert editable(binary) == ("00 ff", True)
    assert edited(binary, "68 69", True) == {"type": "websocket.receive", "bytes": b"hi"}
    assert edited(binary, "now text", False) == {"type": "websocket.receive", "text": "now text"}
    assert composed("0x0102", True) == {"type": "websocket.receive", "bytes": b"\x01\x02"}
    assert composed("hello", False) == {"type": "websocket.receive", "text": "hello"}
    with pytest.raises(EditError, match="hex digits"):
        composed("zz", True)


def test_the_gate_hands_over_an_edit_or_a_drop() -> None:
    async def main() -> None:
        gate = Gate(stepping=True)
        held = asyncio.create_task(gate.hold(1, 1, "send", START, {"type": "http"}))
        while not gate.held():
            await asyncio.sleep(0)  # the task reaches the gate
        number = gate.held()[0].number
        assert not gate.edit(number, {"type": "http.response.body"})  # not its type
        assert not gate.drop(number)  # not a WebSocket message
        assert gate.edit(number, {**START, "status": 201})
        assert (await held)["status"] == 201 and not gate.held()
        ws = {"type": "websocket.send", "text": "x"}
        held = asyncio.create_task(gate.hold(1, 2, "send", ws, {"type": "websocket"}))
        while not gate.held():
            await asyncio.sleep(0)
        assert gate.drop(gate.held()[0].number)
        assert await held == DROP
        assert not gate.edit(99, START)  # nothing held under that number

    asyncio.run(main())
