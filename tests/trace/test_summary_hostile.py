"""One-line summaries of values an app should never send but may."""

from __future__ import annotations

from asgi_scope.trace.summary import message_summary


class Evil(int):
    """An int whose text is an escape sequence."""

    def __str__(self) -> str:
        return "\x1b[31mX"

    def __repr__(self) -> str:
        return "\x1b]52;c;AA\x07"

    def __format__(self, spec: str) -> str:
        return "\x1b[2J"


def start(status: object) -> str:
    return message_summary({"type": "http.response.start", "status": status, "headers": []})


def test_a_status_is_summarized_with_its_phrase() -> None:
    assert start(200) == "200 OK, 0 headers"
    assert start(799) == "799, 0 headers"


def test_an_int_subclass_status_never_reaches_the_terminal_raw() -> None:
    text = start(Evil(200))
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b" in text


def test_values_python_will_not_print_are_summarized() -> None:
    assert "\x1b" not in start(10**5000)
    assert start(True).startswith("True")
