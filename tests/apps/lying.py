"""An app whose values raise when looked at, for the hardening tests.

Each route sends objects whose ``__str__``, ``__repr__``, ``__format__`` or
``__len__`` raise: ``/status`` an ``int`` subclass as the status, ``/header``
``bytes`` subclasses as a header, ``/body`` a ``bytes`` subclass whose
``__len__`` raises as the body, ``/type`` a ``str`` subclass as the message
type. Any other path: ``200 fine``.
"""

from __future__ import annotations

from typing import Any


class RaisingInt(int):
    def __str__(self) -> str:
        raise RuntimeError("str")

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        raise RuntimeError("format")


class RaisingStr(str):
    def __str__(self) -> str:
        raise RuntimeError("str")

    __repr__ = __str__


class RaisingBytes(bytes):
    def __repr__(self) -> str:
        raise RuntimeError("repr")

    def __len__(self) -> int:
        raise RuntimeError("len")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    start: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": []}
    body: dict[str, Any] = {"type": "http.response.body", "body": b"fine"}
    if path == "/status":
        start["status"] = RaisingInt(200)
    elif path == "/header":
        start["headers"] = [(RaisingBytes(b"x-a"), RaisingBytes(b"v"))]
    elif path == "/body":
        body = {"type": "http.response.body", "body": RaisingBytes(b"ok"), "more_body": False}
    elif path == "/type":
        start["type"] = RaisingStr("http.response.start")
    await send(start)
    await send(body)
