"""The presenter registry: every event kind registered once, every facet safe. No sockets."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest

from asgi_scope.trace import events as events_module
from asgi_scope.trace import present
from asgi_scope.trace.events import (
    Event,
    MessageReceived,
    MessageSent,
    ProtocolError,
    ScopeCreated,
    ServerNote,
    WebSocketFrame,
)
from asgi_scope.trace.store import Store

KINDS = [
    cls
    for _, cls in inspect.getmembers(events_module, inspect.isclass)
    if issubclass(cls, Event) and cls is not Event and cls.__module__ == events_module.__name__
]

HOSTILE = "\x1b]52;c;SGVsbG8=\x07[bold]x[/]"


def _example(kind: type[Event], text: str = "x") -> Event:
    """An instance of ``kind`` whose every str field is ``text`` (and every bytes
    field its UTF-8), vocabularies excepted."""
    hints = typing.get_type_hints(kind, vars(events_module))
    values = {}
    for field in dataclasses.fields(kind):
        hint = hints[field.name]
        if typing.get_origin(hint) is typing.Literal:
            values[field.name] = typing.get_args(hint)[0]
        elif typing.get_origin(hint) is dict or (field.name == "message" and hint is not str):
            values[field.name] = {"type": "http", "path": text, "body": text.encode()}
        elif hint is bytes:
            values[field.name] = text.encode()
        elif hint is str:
            values[field.name] = text
        elif hint is bool:
            values[field.name] = True
        elif field.name == "wire":
            values[field.name] = (0, 4)
        elif "tuple" in str(hint):
            values[field.name] = (text, 1)
        else:
            values[field.name] = 1
    return kind(**values)


def test_every_event_kind_has_a_presenter():
    assert set(present.registered()) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_every_facet_answers_in_safe_text(kind: type[Event]):
    event = _example(kind, HOSTILE)
    shown = present.of(event)
    words = [shown.label(event), shown.summary(event), shown.arrow(event)]
    words += [part for part, _ in shown.line(event, {}) or []]
    explanation = shown.explain(event)
    words += [explanation.text, explanation.section]
    step = shown.step(event)
    if step is not None:
        words.append(step[2])
    for word in words:
        assert "\x1b" not in word and "\x07" not in word, (kind.__name__, word)
    assert isinstance(shown.style(event), str)
    assert len(shown.marker(event)) == 2


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_every_event_kind_is_explained_with_a_section(kind: type[Event]):
    explanation = present.explain(_example(kind))
    assert explanation.section
    sentences = explanation.text.count(". ") + 1
    assert 1 <= sentences <= 3 and explanation.text.endswith(".")


def test_an_unregistered_class_is_a_key_error():
    @dataclasses.dataclass(slots=True)
    class Stranger(Event):
        pass

    with pytest.raises(KeyError):
        present.of(Stranger(1, 0, 0))


def test_wire_ranges_say_their_direction():
    received = MessageReceived(2, 0, 1, 1, {"type": "http.request"}, (10, 20), 0)
    assert present.of(received).wire(received, None) == ("in", (10, 20))
    frame = _example(WebSocketFrame)
    assert present.of(frame).wire(frame, None) == (frame.direction, frame.wire)
    error = ProtocolError(3, 0, 1, 1, "client", 400, "bad", None)
    assert present.of(error).wire(error, None) is None


def test_a_sent_message_wire_is_the_bytes_it_became():
    from asgi_scope.trace.events import BytesSent

    store = Store()
    sent = MessageSent(2, 0, 1, 1, {"type": "http.response.body", "body": b"hi"}, 0)
    store.add([sent, BytesSent(3, 0, 1, 1, 100, b"hi", 2, 2)])
    exchange = store.exchanges[1]
    assert present.of(sent).wire(sent, exchange) == ("out", (100, 102))
    assert present.of(sent).wire(sent, None) is None


def test_the_headless_line_of_an_ending_takes_the_time_its_scope_left():
    starts: dict[int, int] = {}
    scope = ScopeCreated(1, 1_000, 1, 7, {"type": "http", "method": "GET", "path": "/"}, None)
    present.of(scope).line(scope, starts)
    assert starts == {7: 1_000}
    ended = _example(events_module.ExchangeEnded)
    ended.exchange, ended.t_ns, ended.status = 7, 3_000, 200
    [(text, style)] = present.of(ended).line(ended, starts)
    assert text == "complete 200 in 2 µs" and style == "ok" and starts == {}


def test_notes_are_about_the_tool_and_unknown_levels_are_plain():
    note = ServerNote(1, 0, 0, "warning", "w")
    assert present.of(note).note  # listed only where an exchange holds it (its output)
    assert present.of(note).line(note, {}) == [("w", "warning")]
    odd = ServerNote(1, 0, 0, "loud", "w")  # type: ignore[arg-type]  # from an old capture
    assert present.of(odd).line(odd, {}) == [("w", "")]
