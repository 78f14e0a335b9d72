"""The attach channel admits only its owner, both ways: a peer that does not
know the user's token feeds ``attach`` nothing (refused, one note, the listener
keeps serving), and a listener that cannot prove it knows the token receives
nothing of the middleware's trace. Real listeners, real sockets, the real
middleware; the token file is the user's alone."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from asgi_scope.remote import auth
from asgi_scope.remote.attach import AttachRecorder, Listener
from asgi_scope.remote.middleware import TraceMiddleware
from asgi_scope.remote.stream import parse_address
from asgi_scope.session import LoopThread
from asgi_scope.trace.events import ServerNote
from tests.live import wait_until
from tests.remote.test_attach import header_line, talk
from tests.remote.test_middleware import echo, timed_calls


@pytest.fixture
def listening(sock_path: str):
    recorder = AttachRecorder()
    thread = LoopThread(Listener(parse_address(f"unix:{sock_path}"), recorder))
    thread.start()
    yield thread.source, recorder
    thread.stop(5)


def notes(recorder: AttachRecorder) -> list[str]:
    return [e.text for e in recorder.drain() if isinstance(e, ServerNote)]


def test_a_peer_that_does_not_answer_the_challenge_is_refused(listening, sock_path: str):
    listener, recorder = listening
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(sock_path)
        sock.sendall(header_line())  # straight to the stream, no handshake
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(auth.GREETING)
    assert b"asgi-scope: refused: " in answer and b"not authenticated" in answer
    wait_until(lambda: listener.refused == 1, what="the refusal")
    assert listener.peers == 0
    assert any("not authenticated" in text for text in notes(recorder))


def test_a_peer_with_another_token_is_refused_and_feeds_nothing(listening, sock_path: str):
    listener, recorder = listening
    answer = talk(sock_path, header_line(), token=b"f" * 64)
    assert b"asgi-scope: refused: " in answer
    assert b"the token it proved is not this user's" in answer
    wait_until(lambda: listener.refused == 1, what="the refusal")
    assert not any("attached" in text for text in notes(recorder))
    # ...and the owner is still served
    assert talk(sock_path, header_line()) == b""
    wait_until(lambda: listener.refused == 1 and listener.peers == 0, what="the detach")


class Impostor:
    """A listener bound first by someone who does not know the token: it sends a
    challenge, then a made-up proof, and keeps whatever it is sent."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        self.sock.listen()
        self.received = bytearray()
        self.answered = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(5)
            _, line = auth.challenge()
            conn.sendall(line)
            self.received += conn.recv(256)  # the middleware's answer
            conn.sendall(b"0" * 64 + b"\n")
            self.answered.set()
            try:
                while chunk := conn.recv(65536):
                    self.received += chunk
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        self._thread.join(5)


def test_the_middleware_sends_nothing_to_a_listener_that_cannot_prove_itself(
    sock_dir: Path, capfd: pytest.CaptureFixture[str]
):
    auth.load_token(create=True)  # the user has attached before
    path = str(sock_dir / "impostor.sock")
    impostor = Impostor(path)
    app = TraceMiddleware(echo, sink=f"unix:{path}")
    try:
        timed_calls(app, 3, b"Authorization: Bearer s3cr3t")
        assert impostor.answered.wait(10)
        wait_until(lambda: app.sender is not None and app.sender.refused >= 1, what="a refusal")
        timed_calls(app, 3, b"more")
    finally:
        if app.sender is not None:
            app.sender.close()
        impostor.close()
    assert app.sender is not None and app.sender.connects == 0
    assert len(impostor.received.splitlines()) == 1  # the answer to its challenge, nothing else
    assert b"s3cr3t" not in impostor.received and b"asgi-scope-capture" not in impostor.received
    assert "the listener did not prove it knows the token" in capfd.readouterr().err


def test_a_token_file_others_may_read_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(auth.TOKEN_ENV, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    token = tmp_path / auth.TOKEN_NAME
    assert auth.load_token(create=True) == token.read_bytes().strip()
    assert oct(token.stat().st_mode & 0o777) == oct(0o600)
    token.chmod(0o644)
    with pytest.raises(auth.AuthError, match="may be read by others"):
        auth.load_token(create=False)


def test_a_token_that_is_a_symbolic_link_is_refused(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(auth.TOKEN_ENV, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    theirs = tmp_path / "theirs"
    theirs.write_text("a" * 64)
    os.chmod(theirs, 0o600)
    (tmp_path / auth.TOKEN_NAME).symlink_to(theirs)
    with pytest.raises(auth.AuthError, match="symbolic link"):
        auth.load_token(create=True)


def test_the_environment_token_wins(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(auth.TOKEN_ENV, "x" * 40)
    assert auth.load_token(create=False) == b"x" * 40


def test_the_handshake_proves_both_ends_and_only_with_one_token():
    token = b"t" * 64
    nonce, challenge = auth.challenge()
    challenged, ours, reply = auth.answer(token, challenge)
    assert challenged == nonce
    _, proof = auth.check_answer(token, nonce, reply)
    auth.check_proof(token, challenged, ours, proof)
    with pytest.raises(auth.AuthError):
        auth.check_answer(b"u" * 64, nonce, reply)
    with pytest.raises(auth.AuthError):
        auth.check_proof(b"u" * 64, challenged, ours, proof)
    with pytest.raises(auth.AuthError):
        auth.answer(token, b"HTTP/1.1 200 OK\r\n")
