"""The atheris target's corpus, replayed in the normal test run (no atheris):
each input is a regression test of the request parsing path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.request_parsing import one_input

CORPUS = sorted((Path(__file__).parent / "corpus").iterdir())


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_input(path: Path) -> None:
    one_input(path.read_bytes())
