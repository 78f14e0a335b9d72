"""Request targets (RFC 9112 §3.2): from the request line to ``path`` and ``query_string``."""

from __future__ import annotations


def split_target(target: bytes) -> tuple[bytes, bytes]:
    """``(raw path, query string)`` of a request target, both still percent-encoded.

    The origin form (``/a/b?q=1``, §3.2.1) splits at the first ``?``. The absolute
    form (``http://host/a/b?q=1``, §3.2.2), which a server must accept, loses its
    scheme and authority first; an empty path becomes ``/``. Anything else (the
    asterisk form of ``OPTIONS *``) is kept as it is.
    """
    lowered = target[:8].lower()
    if lowered.startswith((b"http://", b"https://")):
        rest = target[target.index(b"//") + 2 :]
        cut = min((i for i in (rest.find(b"/"), rest.find(b"?")) if i >= 0), default=len(rest))
        target = rest[cut:]
        if not target.startswith(b"/"):
            target = b"/" + target
    raw_path, _, query_string = target.partition(b"?")
    return raw_path, query_string
