"""Fixtures for the remote tests: ``procs`` (subprocesses stopped after the test)
and ``sock_path`` (a fresh Unix socket path under /tmp, short enough for
``AF_UNIX``'s 107-byte limit)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.remote.servers import Processes


@pytest.fixture
def procs() -> Iterator[Processes]:
    processes = Processes()
    yield processes
    processes.stop_all()


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="as-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def sock_path(sock_dir: Path) -> str:
    return str(sock_dir / "s.sock")
