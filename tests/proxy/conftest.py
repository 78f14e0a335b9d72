"""Fixtures for the proxy tests: ``procs``, the upstream servers started as
subprocesses and stopped after the test (shared with tests/remote)."""

from tests.remote.conftest import procs

__all__ = ["procs"]
