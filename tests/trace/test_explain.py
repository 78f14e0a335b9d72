"""Explain mode's sentences: one for every event kind and every message type and
state, each with the spec section it comes from, none interpolating raw input."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest

from asgi_scope.trace import events as events_module
from asgi_scope.trace.events import Event, MessageReceived, MessageSent, SpecViolation
from asgi_scope.trace.explain import _UNKNOWN_MESSAGE, MESSAGES
from asgi_scope.trace.present import explain
from asgi_scope.trace.rules import RULES

KINDS = [
    cls
    for _, cls in inspect.getmembers(events_module, inspect.isclass)
    if issubclass(cls, Event) and cls is not Event and cls.__module__ == events_module.__name__
]


def _example(kind: type[Event]) -> Event:
    """An instance of ``kind`` with plausible field values."""
    values = {}
    hints = typing.get_type_hints(kind, vars(events_module))
    for field in dataclasses.fields(kind):
        hint = str(field.type)
        if typing.get_origin(hints[field.name]) is typing.Literal:  # a vocabulary: its first word
            values[field.name] = typing.get_args(hints[field.name])[0]
        elif field.name in ("scope", "message", "state"):
            values[field.name] = {"type": "http"}
        elif "bytes" in hint:
            values[field.name] = b"x"
        elif "str" in hint:
            values[field.name] = "x"
        elif "bool" in hint:
            values[field.name] = True
        elif "tuple" in hint or "Wire" in hint:
            values[field.name] = None
        else:
            values[field.name] = 1
    return kind(**values)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_every_event_kind_is_explained_with_a_section(kind: type[Event]):
    explanation = explain(_example(kind))
    assert explanation.section
    sentences = explanation.text.count(". ") + 1
    assert 1 <= sentences <= 3 and explanation.text.endswith(".")


# Every message type the server gives or an app sends, and the states that matter.
MESSAGE_TYPES = [
    {"type": "http.request", "body": b"", "more_body": True},
    {"type": "http.request", "body": b""},
    {"type": "http.disconnect"},
    {"type": "http.response.start", "status": 200},
    {"type": "http.response.body", "more_body": True},
    {"type": "http.response.body"},
    {"type": "http.response.trailers"},
    {"type": "http.response.pathsend", "path": "/x"},
    {"type": "http.response.debug"},
    {"type": "websocket.connect"},
    {"type": "websocket.accept"},
    {"type": "websocket.receive", "text": "x"},
    {"type": "websocket.send", "text": "x"},
    {"type": "websocket.close"},
    {"type": "websocket.disconnect", "code": 1000},
    {"type": "websocket.http.response.start", "status": 403},
    {"type": "websocket.http.response.body"},
    *({"type": t} for t in (
        "lifespan.startup", "lifespan.startup.complete", "lifespan.startup.failed",
        "lifespan.shutdown", "lifespan.shutdown.complete", "lifespan.shutdown.failed",
    )),
]  # fmt: skip


@pytest.mark.parametrize("message", MESSAGE_TYPES, ids=lambda m: m["type"])
def test_every_message_type_and_state_is_explained(message):
    for kind in (MessageReceived, MessageSent):
        explanation = explain(kind(1, 0, 1, 1, message, None, 0) if kind is MessageReceived
                              else kind(1, 0, 1, 1, message, 0))  # fmt: skip
        assert explanation is not _UNKNOWN_MESSAGE
        assert explanation.section.startswith(("ASGI", "RFC"))


def test_the_table_and_the_tests_list_the_same_types_and_states():
    from asgi_scope.trace.explain import _state

    assert {(m["type"], _state(m)) for m in MESSAGE_TYPES} == set(MESSAGES)


def test_more_body_changes_the_words():
    more = explain(MessageSent(1, 0, 1, 1, {"type": "http.response.body", "more_body": True}, 0))
    last = explain(MessageSent(1, 0, 1, 1, {"type": "http.response.body"}, 0))
    assert "more_body is True" in more.text and "more_body is False" in last.text


def test_strange_messages_and_violations_are_explained_safely():
    for message in ("not a dict", {"type": 42}, {"type": "websocket.send"}, None):
        assert explain(MessageSent(1, 0, 1, 1, message, 0)) is not None
    event = SpecViolation(1, 0, 1, 1, "http.body-bytes", RULES["http.body-bytes"].section,
                          "body is a str \x1b[31m", 0)  # fmt: skip
    explanation = explain(event)
    assert "\x1b" not in explanation.text and "\\x1b" in explanation.text
    assert explanation.section == RULES["http.body-bytes"].section
