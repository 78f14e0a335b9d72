"""The reverse proxy's WebSocket relay when the client has gone: the server's
``ClientDisconnected`` on ``send`` is the client leaving, not an upstream failure
(as for HTTP). Real server, real proxy, a raw upstream over real sockets."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading

from asgi_scope.proxy.app import ReverseProxy
from asgi_scope.proxy.upstream import parse_upstream
from asgi_scope.trace.events import ProxyTimings
from tests.live import TIMEOUT
from tests.server import ws_client as wsc

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class SilentUpstream:
    """Accepts one WebSocket handshake, then never reads again (so the proxy's
    writes to it stall), and sends one text frame once ``go`` is set."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.go = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(65536)
            key = next(
                line.split(b":", 1)[1].strip()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            self.go.wait(TIMEOUT)
            conn.sendall(wsc.frame(wsc.TEXT, b"too late", mask=False))
            self.done.wait(TIMEOUT)

    def close(self) -> None:
        self.go.set()
        self.done.set()
        self.thread.join(TIMEOUT)
        self.sock.close()


def test_a_send_to_a_client_that_left_is_not_the_upstreams_failure(serve):
    upstream = SilentUpstream()
    try:
        proxy = ReverseProxy(parse_upstream(f"http://127.0.0.1:{upstream.port}"), None, 5.0)
        live = serve(proxy)
        proxy.recorder = live.recorder
        with live.connect() as raw:
            assert wsc.open_socket(raw, "/ws")[0] == 101
            # More than the upstream takes: the relay's client side stalls writing it.
            raw.send(wsc.frame(wsc.BINARY, b"x" * (8 * 1024 * 1024)))
            raw.send(wsc.frame(wsc.CLOSE, wsc.close_payload(1000)))
            assert wsc.read_close(raw)[0] == 1000
        upstream.go.set()  # the upstream's message arrives after the client has gone
        timing = live.wait_for(ProxyTimings)
        assert timing.status == 101
        assert timing.error == "", timing.error
    finally:
        upstream.close()
