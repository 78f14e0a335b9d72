"""Filters nested past any sane depth: a FilterError with a position (shown inline by
the filter bar and ``--break``), never a RecursionError."""

from __future__ import annotations

import pytest

from asgi_scope.trace.filter import MAX_DEPTH, FilterError, parse
from tests.cli.test_cli import run


@pytest.mark.parametrize(
    "text",
    ["!" * 5000, "!" * 5000 + "~v", "(" * 5000 + "~v" + ")" * 5000, "(!" * 3000 + "x"],
    ids=["bangs", "bangs then a filter", "parentheses", "both"],
)
def test_deep_nesting_is_a_filter_error_with_a_position(text: str):
    with pytest.raises(FilterError) as caught:
        parse(text)
    assert "nested too deeply" in str(caught.value)
    assert 0 <= caught.value.position <= len(text)


def test_nesting_up_to_the_limit_still_parses():
    assert parse("!" * MAX_DEPTH + "~v") is not None
    assert parse("(" * MAX_DEPTH + "~v" + ")" * MAX_DEPTH) is not None


def test_break_with_a_deep_filter_is_a_usage_error_not_a_traceback():
    result = run("--break", "!" * 5000, "tests.apps.plain:app")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert "nested too deeply" in result.stderr
