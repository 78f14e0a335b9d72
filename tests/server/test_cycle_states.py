"""The HTTP request cycle's state machines, driven without sockets.

A :class:`~asgi_scope.server.cycle.RequestCycle` over a real ``h11.Connection``
and a :class:`~tests.server.fake_edge.FakeEdge`: each test sends ASGI messages
or feeds request events, then asserts the states (:class:`RequestState`,
:class:`ResponseState`) and the bytes written, as h11's own tests do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from asgi_scope.server.cycle import RequestCycle, RequestState, ResponseState
from tests.server.fake_edge import FakeEdge, parse_request, scope_for

GET = b"GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"
POST = b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\n"

START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
START_CHUNKED = {"type": "http.response.start", "status": 200}
START_TRAILERS = {"type": "http.response.start", "status": 200, "trailers": True}
BODY = {"type": "http.response.body", "body": b"ok"}
BODY_MORE = {"type": "http.response.body", "body": b"o", "more_body": True}
BODY_END = {"type": "http.response.body", "body": b"k"}
TRAILERS = {"type": "http.response.trailers", "headers": [(b"x-sum", b"1")]}
TRAILERS_MORE = {**TRAILERS, "more_trailers": True}


def make_cycle(
    request: bytes = GET, app: Callable[..., Awaitable[None]] | None = None
) -> tuple[FakeEdge, RequestCycle]:
    edge = FakeEdge()
    h, event = parse_request(edge, request)
    scope = scope_for("http", event)
    cycle = RequestCycle(edge, h, 1, scope, event.method == b"HEAD", app, lambda: [])
    return edge, cycle


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, 5)

    return asyncio.run(main())


async def send_all(cycle: RequestCycle, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        await cycle.send(message)


# the response side


@pytest.mark.parametrize(
    ("messages", "state"),
    [
        ([], ResponseState.START),
        ([START], ResponseState.BODY),
        ([START_CHUNKED, BODY_MORE], ResponseState.BODY),
        ([START, BODY], ResponseState.COMPLETE),
        ([START_CHUNKED, BODY_MORE, BODY_END], ResponseState.COMPLETE),
        ([START_TRAILERS, BODY], ResponseState.TRAILERS),
        ([START_TRAILERS, BODY, TRAILERS_MORE], ResponseState.TRAILERS),
        ([START_TRAILERS, BODY, TRAILERS], ResponseState.COMPLETE),
        ([START_TRAILERS, BODY_MORE, BODY_END, TRAILERS_MORE, TRAILERS], ResponseState.COMPLETE),
    ],
)
def test_response_transitions(messages: list[dict[str, Any]], state: ResponseState):
    edge, cycle = make_cycle()
    run(send_all(cycle, messages))
    assert cycle.response is state
    assert cycle.response_complete is (state is ResponseState.COMPLETE)
    assert edge.responses_complete == (state is ResponseState.COMPLETE)


def test_the_head_goes_out_with_the_start_and_the_body_after():
    edge, cycle = make_cycle()
    run(cycle.send(START))
    head = edge.take()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert head.endswith(b"content-length: 2\r\n\r\n")
    run(cycle.send(BODY))
    assert edge.take() == b"ok"
    assert cycle.status == 200


def test_a_chunked_response_ends_with_the_last_chunk_and_its_trailers():
    edge, cycle = make_cycle()
    run(send_all(cycle, [START_TRAILERS, BODY_MORE, BODY_END]))
    assert cycle.chunked and cycle.response is ResponseState.TRAILERS
    assert edge.take().endswith(b"1\r\no\r\n1\r\nk\r\n")  # no last chunk yet
    run(cycle.send(TRAILERS))
    assert edge.take() == b"0\r\nx-sum: 1\r\n\r\n"


def test_a_head_request_is_answered_without_a_body():
    edge, cycle = make_cycle(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    run(send_all(cycle, [START, BODY]))
    assert cycle.response is ResponseState.COMPLETE
    assert edge.take().endswith(b"\r\n\r\n")


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        ([BODY], "Expected 'http.response.start'"),
        ([START, START], "Expected 'http.response.body'"),
        ([START_TRAILERS, BODY, BODY], "Expected 'http.response.trailers'"),
        ([START, BODY, BODY], "already complete"),
    ],
)
def test_a_message_out_of_order_raises_and_keeps_the_state(
    messages: list[dict[str, Any]], error: str
):
    _, cycle = make_cycle()
    run(send_all(cycle, messages[:-1]))
    state = cycle.response
    with pytest.raises(RuntimeError, match=error):
        run(cycle.send(messages[-1]))
    assert cycle.response is state


def test_a_response_h11_refuses_is_answered_500_and_closed():
    edge, cycle = make_cycle()
    bad = {"type": "http.response.start", "status": 200, "headers": [(b"bad name", b"x")]}
    with pytest.raises(RuntimeError, match="Invalid"):
        run(cycle.send(bad))
    assert cycle.response is ResponseState.COMPLETE
    assert cycle.status == 500
    assert edge.take().startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert edge.closed == ("server", "app broke the protocol")


def test_an_app_that_fails_before_responding_gets_a_500():
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("boom")

    edge, cycle = make_cycle(app=app)
    run(cycle.run())
    assert cycle.response is ResponseState.COMPLETE
    assert cycle.app_returned and cycle.status == 500
    assert edge.take().startswith(b"HTTP/1.1 500 ")
    assert edge.closed == ("server", "app failed before responding")


def test_an_app_that_fails_during_the_response_is_closed_without_a_500():
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(START_CHUNKED)
        await send(BODY_MORE)
        raise ValueError("boom")

    edge, cycle = make_cycle(app=app)
    run(cycle.run())
    assert cycle.response is ResponseState.BODY
    assert b" 500 " not in edge.take()
    assert edge.closed == ("server", "app failed during the response")


# the request side


def test_request_body_transitions():
    _, cycle = make_cycle(POST)
    assert cycle.request is RequestState.RECEIVING
    cycle.add_body(b"abc", (60, 63))
    assert run(cycle.receive()) == (
        {"type": "http.request", "body": b"abc", "more_body": True},
        (60, 63),
    )
    assert cycle.request is RequestState.RECEIVING
    cycle.add_body(b"de", (63, 65))
    cycle.end_body((65, 65))
    assert cycle.request is RequestState.RECEIVED
    message, wire = run(cycle.receive())
    assert message == {"type": "http.request", "body": b"de", "more_body": False}
    assert wire == (63, 65)
    assert cycle.request is RequestState.DELIVERED


def test_receive_waits_for_the_body_and_reading_resumes():
    edge, cycle = make_cycle(POST)
    edge.reading = False

    async def main() -> tuple[dict[str, Any], Any]:
        task = asyncio.ensure_future(cycle.receive())
        await asyncio.sleep(0)  # one turn: receive() is now waiting
        assert not task.done() and edge.reading  # it asked for more bytes
        cycle.add_body(b"abcde", (60, 65))
        cycle.end_body((65, 65))
        return await task

    message, _ = run(main())
    assert message == {"type": "http.request", "body": b"abcde", "more_body": False}


def test_after_the_last_request_message_disconnect_comes_when_the_response_is_complete():
    _, cycle = make_cycle()
    cycle.end_body((len(GET), len(GET)))
    assert run(cycle.receive())[0]["more_body"] is False

    async def main() -> dict[str, Any]:
        task = asyncio.ensure_future(cycle.receive())
        await asyncio.sleep(0)
        assert not task.done()  # blocked, not spinning on http.disconnect
        await send_all(cycle, [START, BODY])
        return (await task)[0]

    assert run(main()) == {"type": "http.disconnect"}


def test_100_continue_goes_out_when_the_app_first_receives():
    request = POST.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
    edge, cycle = make_cycle(request)
    assert edge.take() == b""
    cycle.end_body((0, 0))
    run(cycle.receive())
    assert edge.take() == b"HTTP/1.1 100 Continue\r\n\r\n"


# the client leaving


@pytest.mark.parametrize(
    ("messages", "state"),
    [
        ([], ResponseState.DISCONNECTED),
        ([START], ResponseState.DISCONNECTED),
        ([START_TRAILERS, BODY], ResponseState.DISCONNECTED),
        ([START, BODY], ResponseState.COMPLETE),
    ],
)
def test_connection_lost(messages: list[dict[str, Any]], state: ResponseState):
    _, cycle = make_cycle()
    run(send_all(cycle, messages))
    cycle.connection_lost()
    assert cycle.response is state
    assert run(cycle.receive()) == ({"type": "http.disconnect"}, None)


def test_after_the_client_left_sends_are_dropped():
    edge, cycle = make_cycle()
    run(cycle.send(START))
    edge.take()
    cycle.connection_lost()
    run(cycle.send(BODY))
    assert edge.take() == b""
    assert cycle.response is ResponseState.DISCONNECTED


def test_an_app_that_returns_after_the_client_left_ends_as_disconnect():
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "http.disconnect"

    edge, cycle = make_cycle(app=app)
    cycle.connection_lost()
    run(cycle.run())
    assert cycle.response is ResponseState.DISCONNECTED
    assert edge.take() == b"" and edge.closed is None
