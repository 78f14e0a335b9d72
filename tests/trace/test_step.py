"""Step mode's gate against a real server: a real client waits on a held message,
other connections do not, and releases cross threads as the UI's would."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from asgi_scope.demo import app as demo_app
from asgi_scope.trace.events import MessageSent
from asgi_scope.trace.filter import parse
from asgi_scope.trace.step import Gate, Held
from tests.live import TIMEOUT, Live


def _serve(serve, gate: Gate) -> Live:
    live = serve(demo_app)
    gate._now = live.recorder.now
    live.recorder.gate = gate  # read by each new shim
    return live


def _request(url: str, results: list[Any], **kwargs: Any) -> threading.Thread:
    def run() -> None:
        try:
            results.append(
                httpx.request(kwargs.pop("method", "GET"), url, timeout=TIMEOUT, **kwargs)
            )
        except Exception as exc:  # recorded for the assertion
            results.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_held(gate: Gate, count: int = 1) -> list[Held]:
    deadline = time.monotonic() + TIMEOUT
    while len(gate.held()) < count:
        assert time.monotonic() < deadline, f"never held {count}: {gate.held()}"
        time.sleep(0.005)
    return gate.held()


def _next(gate: Gate, after: Held) -> Held:
    deadline = time.monotonic() + TIMEOUT
    while True:
        held = [h for h in gate.held() if h.number > after.number]
        if held:
            return held[0]
        assert time.monotonic() < deadline, "nothing new held"
        time.sleep(0.005)


def test_each_message_waits_for_a_step_and_the_client_waits_too(serve):
    gate = Gate(stepping=True)
    live = _serve(serve, gate)
    results: list[Any] = []
    thread = _request(f"{live.url}/echo", results, method="POST", content=b"hi")
    first = _wait_held(gate)[0]
    assert (first.direction, first.message["type"]) == ("receive", "http.request")
    assert first.message["body"] == b"hi"
    time.sleep(0.2)
    assert not results  # the client is still waiting
    live.collect()
    assert not live.events(MessageSent)  # nothing crossed yet
    kinds = []
    held = first
    for _ in range(2):
        assert gate.step() == held
        held = _next(gate, held)
        kinds.append((held.direction, held.message["type"]))
    assert kinds == [("send", "http.response.start"), ("send", "http.response.body")]
    assert not results
    gate.step()
    thread.join(TIMEOUT)
    assert results[0].status_code == 200 and results[0].text == "hi"


def test_continue_exchange_lets_it_finish_and_the_next_one_is_held_again(serve):
    gate = Gate(stepping=True)
    live = _serve(serve, gate)
    results: list[Any] = []
    thread = _request(f"{live.url}/", results)
    held = _wait_held(gate)[0]
    assert gate.continue_exchange(held.exchange) == 1
    thread.join(TIMEOUT)
    assert results[0].status_code == 200
    thread = _request(f"{live.url}/", results)
    assert _wait_held(gate)[0].exchange != held.exchange
    assert gate.continue_all() == 1
    thread.join(TIMEOUT)
    assert results[1].status_code == 200 and not gate.stepping


def test_a_breakpoint_holds_only_matching_exchanges_and_others_are_served(serve):
    gate = Gate(stepping=True)
    gate.set_breakpoint(parse("~m POST & ~p /echo"))
    live = _serve(serve, gate)
    results: list[Any] = []
    held_thread = _request(f"{live.url}/echo", results, method="POST", content=b"x")
    _wait_held(gate)
    # Other requests, on other connections, go through while /echo is held.
    for path in ("/", "/json"):
        assert httpx.get(f"{live.url}{path}", timeout=TIMEOUT).status_code == 200
    assert len(gate.held()) == 1 and not results
    gate.continue_all()
    held_thread.join(TIMEOUT)
    assert results[0].status_code == 200


def test_shutdown_is_not_stuck_on_a_held_message(serve):
    gate = Gate(stepping=True)
    live = _serve(serve, gate)
    results: list[Any] = []
    _request(f"{live.url}/", results)
    _wait_held(gate)
    gate.continue_all()  # what quitting the UI does first
    live.stop()
