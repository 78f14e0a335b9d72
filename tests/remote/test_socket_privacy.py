"""The default stream socket is the user's own: under ``$XDG_RUNTIME_DIR`` or in a
0700 directory ``/tmp/asgi-scope-<uid>``; ``attach`` binds it 0600 from the start;
the middleware will not stream to a socket another user owns. Real sockets,
real ``asgi-scope attach``, real middleware."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from asgi_scope.remote import stream
from asgi_scope.remote.attach import AttachRecorder, Listener, ListenError
from asgi_scope.remote.middleware import TraceMiddleware
from asgi_scope.remote.stream import (
    check_private_dir,
    default_address,
    parse_address,
)
from tests.live import wait_until
from tests.remote.servers import COMMAND
from tests.remote.test_middleware import Deaf, echo, timed_calls


def test_the_default_is_under_xdg_runtime_dir_else_a_private_tmp_dir(monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/4242")
    assert default_address() == "unix:/run/user/4242/asgi-scope.sock"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert default_address() == f"unix:/tmp/asgi-scope-{os.getuid()}/asgi-scope.sock"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/dir")  # not usable: ignored
    assert default_address() == f"unix:/tmp/asgi-scope-{os.getuid()}/asgi-scope.sock"
    assert "/tmp/asgi-scope.sock" not in default_address()


def test_attach_without_an_address_listens_under_xdg_runtime_dir_0600(sock_dir: Path):
    env = {**os.environ, "XDG_RUNTIME_DIR": str(sock_dir)}
    proc = subprocess.Popen(
        [COMMAND, "attach", "--headless"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    path = sock_dir / "asgi-scope.sock"
    try:
        wait_until(path.exists, what="the default socket")
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.fixture
def own_private_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The private tmp directory, moved under ``tmp_path`` for this test, so that
    the real ``/tmp/asgi-scope-<uid>`` of a second copy of the suite (or of the
    user) running meanwhile is never created, changed or removed here."""
    directory = tmp_path / f"asgi-scope-{os.getuid()}"
    monkeypatch.setattr(stream, "private_tmp_dir", lambda: str(directory))
    return directory


def test_attach_makes_the_private_tmp_dir_0700_and_binds_0600(own_private_dir: Path):
    directory = own_private_dir
    path = directory / "x.sock"
    listener = Listener(parse_address(f"unix:{path}"), AttachRecorder())
    modes = []

    def listening() -> None:
        modes.append(stat.S_IMODE(path.lstat().st_mode))
        listener.stop()

    asyncio.run(listener.serve(handle_signals=False, ready=listening))
    assert stat.S_IMODE(directory.lstat().st_mode) == 0o700
    assert directory.lstat().st_uid == os.getuid()
    assert check_private_dir(str(directory)) == ""
    assert modes == [0o600]


def test_a_directory_open_to_others_or_not_ours_is_not_private(tmp_path: Path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    assert "not 0700" in check_private_dir(str(shared))
    link = tmp_path / "link"
    link.symlink_to(shared)
    assert "not a directory" in check_private_dir(str(link))
    if os.getuid() == 0:
        other = tmp_path / "other"
        other.mkdir(mode=0o700)
        os.chown(other, 4242, -1)
        assert "belongs to uid 4242" in check_private_dir(str(other))


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the socket away")
def test_the_middleware_refuses_a_socket_another_user_owns(sock_dir: Path, capfd):
    path = sock_dir / "theirs.sock"
    deaf = Deaf(str(path))  # another local user bound the path first
    os.chown(path, 4242, -1)
    try:
        middleware = TraceMiddleware(echo, f"unix:{path}")
        timed_calls(middleware, 5, b"secret cookie")
        sender = middleware.sender
        assert sender is not None
        wait_until(lambda: sender.refused >= 1, what="a refusal")
        timed_calls(middleware, 5, b"secret cookie")
        time.sleep(2.5)  # past the retry interval: it is refused again, told once
        assert deaf.accepted == 0
        assert sender.refused >= 2 and middleware.dropped > 0
        err = capfd.readouterr().err
        assert err.count("belongs to uid 4242") == 1, err
    finally:
        deaf.close()


def test_attach_refuses_to_listen_in_the_private_tmp_dir_when_it_is_not_private(
    own_private_dir: Path,
):
    directory = own_private_dir
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    listener = Listener(parse_address(f"unix:{directory}/x.sock"), AttachRecorder())
    with pytest.raises(ListenError, match="not 0700"):
        asyncio.run(listener.serve(handle_signals=False))
