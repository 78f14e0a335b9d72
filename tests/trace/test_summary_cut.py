"""A long body is summarized from its start only, with the same result as
escaping all of it and cutting afterwards."""

from __future__ import annotations

import pytest

from asgi_scope.trace.safe import safe_text
from asgi_scope.trace.summary import short


def reference(value: bytes | str, limit: int) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    value = safe_text(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"abc",
        b"x" * 29,
        b"x" * 30,
        b"x" * 31,
        b"x" * 200,
        "é".encode() * 40,
        "€".encode() * 11,
        b"\xff\xfe" * 50,
        "a\x1bb" * 20,
        "\u202e" * 31,
        "x" * 30,
        "x" * 31,
        "💡" * 40,
    ],
)
@pytest.mark.parametrize("limit", [30, 40])
def test_the_start_is_enough(value: bytes | str, limit: int) -> None:
    assert short(value, limit) == reference(value, limit)


def test_a_64k_body_is_escaped_from_its_start_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from asgi_scope.trace import summary

    seen: list[int] = []

    def measured(text: str, **kwargs: object) -> str:
        seen.append(len(text))
        return safe_text(text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(summary, "safe_text", measured)
    assert short(b"asgi-scope demo body\n" * 4000, 30).endswith("…")
    assert seen == [31]  # not 84,000 characters
