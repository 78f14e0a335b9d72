"""A hostile local user plants something at the path the user will record or
export to, in a shared directory: a symbolic link to the victim's file, a FIFO,
their own file open to everyone, a device. Nothing is written through any of
them, the target is untouched, and the error says why in one line; the real
command (``asgi-scope --record``) refuses to start. A file of one's own is
overwritten and keeps mode 0600."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from asgi_scope.trace.private_file import NotPrivate, create_private
from tests.cli.test_cli import COMMAND, ROOT

ROOT_ONLY = pytest.mark.skipif(os.getuid() != 0, reason="needs root to play a second uid")
OTHER_UID = 4242


def test_a_new_file_is_created_0600(tmp_path: Path):
    path = tmp_path / "new.jsonl"
    with create_private(path) as out:
        out.write("secret\n")
    assert path.read_text() == "secret\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_of_ones_own_is_truncated_and_made_0600(tmp_path: Path):
    path = tmp_path / "old.jsonl"
    path.write_text("a much longer old content\n")
    path.chmod(0o666)
    with create_private(path) as out:
        out.write("new\n")
    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symbolic_link_is_not_followed(tmp_path: Path):
    victim = tmp_path / "victim.txt"
    victim.write_text("the victim's own\n")
    victim.chmod(0o644)
    link = tmp_path / "capture.jsonl"
    link.symlink_to(victim)
    with pytest.raises(NotPrivate, match="is a symbolic link"):
        create_private(link)
    assert victim.read_text() == "the victim's own\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_a_dangling_symbolic_link_is_not_followed_either(tmp_path: Path):
    link = tmp_path / "capture.jsonl"
    link.symlink_to(tmp_path / "would-be-created")
    with pytest.raises(NotPrivate, match="is a symbolic link"):
        create_private(link)
    assert not (tmp_path / "would-be-created").exists()


def test_a_fifo_is_refused_at_once_without_hanging(tmp_path: Path):
    fifo = tmp_path / "capture.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(NotPrivate, match="not a regular file"):
        create_private(fifo)


def test_a_fifo_with_a_reader_is_refused_too(tmp_path: Path):
    fifo = tmp_path / "capture.jsonl"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the thief, listening
    try:
        with pytest.raises(NotPrivate, match="not a regular file"):
            create_private(fifo)
        assert os.read(reader, 100) == b""
    finally:
        os.close(reader)


def test_a_device_is_refused_and_keeps_its_mode():
    before = os.stat("/dev/null")
    with pytest.raises(NotPrivate, match="not a regular file"):
        create_private("/dev/null")
    assert os.stat("/dev/null").st_mode == before.st_mode


def test_a_directory_is_refused(tmp_path: Path):
    with pytest.raises(OSError):
        create_private(tmp_path)


@ROOT_ONLY
def test_a_file_another_user_owns_is_refused_untouched(tmp_path: Path):
    theirs = tmp_path / "capture.jsonl"
    theirs.write_text("theirs\n")
    theirs.chmod(0o666)
    os.chown(theirs, OTHER_UID, -1)
    with pytest.raises(NotPrivate, match=f"belongs to uid {OTHER_UID}"):
        create_private(theirs)
    assert theirs.read_text() == "theirs\n"
    assert stat.S_IMODE(theirs.stat().st_mode) == 0o666


def test_record_through_a_planted_link_refuses_to_start(tmp_path: Path):
    victim = tmp_path / "victim.txt"
    victim.write_text("the victim's own\n")
    link = tmp_path / "session.jsonl"
    link.symlink_to(victim)
    result = subprocess.run(
        [COMMAND, "--headless", "--port", "0", "--record", str(link), "tests.apps.plain:app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"asgi-scope: cannot record to {link}: is a symbolic link (not followed)"
    ]
    assert victim.read_text() == "the victim's own\n"
