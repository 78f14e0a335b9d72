"""Redaction: which fields hold secrets, and those values replaced.

A trace holds what crossed the wire, secrets included. The live view shows
everything; whatever leaves it (the HAR, curl, pytest and raw exports, the
headless printer's raw-bytes preview) goes through one :class:`Redactor`, so
one list decides what is a secret everywhere. Fields are recognised by their
parsed *names*, never by a byte pattern over a whole message: a header field
of a head with bare-LF line endings, a field of a chunked trailer section, a
query parameter and a form field are all found.

What is redacted (names compared case-insensitively):

* header fields :data:`HEADERS` (credentials: RFC 9110 §11.6.2, §11.7.2;
  cookies: RFC 6265 §4.1, §5.4), and any field whose name ends with one of
  :data:`HEADER_SUFFIXES` (``x-auth-token``, ``x-client-secret``);
* query parameters and ``application/x-www-form-urlencoded`` form fields
  named in :data:`PARAMS`;
* any header, parameter or field named with ``--redact NAME``;
* in a spec checker finding's detail (``--report``, the ``--strict`` lines),
  which quotes the app's values as Python literals (``header (b'authorization',
  b'Bearer …', b'x') is not a [name, value] pair``): the literal that follows a
  secret header's name literal, cut short (``…``) or not.

Each value becomes :data:`REDACTED`; names, order and everything else stay.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from asgi_scope.trace.flow import Flow, Headers, Request, Response

HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
    }
)
"""Header field names whose values are secrets."""

HEADER_SUFFIXES = ("-token", "-secret")
"""A header field whose name ends so is a secret too (``x-auth-token``)."""

PARAMS = frozenset({"api_key", "apikey", "token", "access_token", "password", "secret"})
"""Query parameter and form field names whose values are secrets."""

REDACTED = b"[REDACTED]"
"""What a redacted value becomes."""

FORM = b"application/x-www-form-urlencoded"

_LITERAL = r"""[bB]?(?:'(?:[^'\\…]|\\[^…])*(?:'|\\?…)|"(?:[^"\\…]|\\[^…])*(?:"|\\?…))"""
_PAIR = re.compile(rf"({_LITERAL})(\s*[,:]\s*)({_LITERAL})")
"""A str or bytes literal, a comma or colon, and the literal after it (a name and
its value in a tuple or dict repr); a literal may be cut short (``…``, as the
checker's ``_short`` cuts it)."""


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces secret values with :data:`REDACTED` (see the module doc).

    ``extra`` holds more names (lowercase) to redact as header fields, query
    parameters and form fields alike: ``--redact NAME``.
    """

    extra: frozenset[str] = frozenset()

    @classmethod
    def with_names(cls, names: Iterable[str]) -> Redactor:
        """A redactor that also redacts ``names`` (any case)."""
        return cls(frozenset(n.strip().lower() for n in names if n.strip()))

    def is_secret_header(self, name: bytes | str) -> bool:
        """True for a header field name whose value is a secret."""
        text = (name.decode("latin-1") if isinstance(name, bytes) else name).strip().lower()
        return text in HEADERS or text.endswith(HEADER_SUFFIXES) or text in self.extra

    def is_secret_param(self, name: bytes | str) -> bool:
        """True for a query parameter or form field name (percent-decoded) whose
        value is a secret."""
        text = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
        text = text.strip().lower()
        return text in PARAMS or text in self.extra

    def headers(self, headers: Headers) -> Headers:
        """``headers`` with every secret value replaced."""
        return [(n, REDACTED if self.is_secret_header(n) else v) for n, v in headers]

    def query(self, query: bytes) -> bytes:
        """A query string or form body (``a=1&token=x``, RFC 3986 §3.4, WHATWG
        URL's urlencoded) with secret values replaced; the rest as it was."""
        pairs = query.split(b"&")
        for i, pair in enumerate(pairs):
            name, eq, _ = pair.partition(b"=")
            if eq and self.is_secret_param(unquote_to_bytes(name.replace(b"+", b" "))):
                pairs[i] = name + b"=" + REDACTED
        return b"&".join(pairs)

    def target(self, target: str) -> str:
        """A request target (``/path?query``) with its query redacted."""
        path, mark, query = target.partition("?")
        if not mark:
            return target
        return path + "?" + self.query(query.encode("latin-1", "replace")).decode("latin-1")

    def request(self, req: Request) -> Request:
        """``req`` with its header fields, query and form body redacted."""
        body = req.body
        content_type = next((v for n, v in req.headers if n.lower() == b"content-type"), b"")
        if content_type.split(b";")[0].strip().lower() == FORM:
            body = self.query(body)
        return dataclasses.replace(
            req, headers=self.headers(req.headers), target=self.target(req.target), body=body
        )

    def response(self, resp: Response | None) -> Response | None:
        """``resp`` with its header fields redacted (None stays None)."""
        if resp is None:
            return None
        return dataclasses.replace(resp, headers=self.headers(resp.headers))

    def flow(self, flow: Flow) -> Flow:
        """``flow`` with its request, response and scope headers redacted."""
        scope = flow.scope
        if isinstance(scope.get("headers"), list):
            scope = dict(scope, headers=self.headers(scope["headers"]))
        return dataclasses.replace(
            flow,
            request=self.request(flow.request),
            response=self.response(flow.response),
            scope=scope,
        )

    def detail(self, text: str) -> str:
        """A spec checker finding's detail (prose quoting reprs, see
        :mod:`asgi_scope.trace.spec`) with the value literal after each secret
        header name literal replaced by ``b'[REDACTED]'``; the rest as it was."""

        def hide(match: re.Match[str]) -> str:
            try:
                name = ast.literal_eval(match[1])
            except (ValueError, SyntaxError):  # cut short: not a whole name
                return match[0]
            if isinstance(name, (str, bytes)) and self.is_secret_header(name):
                return match[1] + match[2] + repr(REDACTED)
            return match[0]

        return _PAIR.sub(hide, text)

    def head(self, head: bytes, limit: int | None = None) -> bytes:
        """A raw HTTP/1.x head or trailer section, as received (CRLF or bare-LF
        line endings, folded lines): every secret field's value replaced, and
        its continuation lines (obs-fold, RFC 9112 §5.2) dropped; a request
        line's query redacted. Other bytes stay as they were.

        With ``limit`` (bytes), only the start of that is returned: at least
        ``limit + 1`` bytes of it, or all of it when it is shorter (for a
        preview: the lines past it are not looked at)."""
        lines = head.split(b"\n")
        out: list[bytes] = []
        hiding = False
        size = 0  # bytes of out joined, each line's "\n" counted
        for index, line in enumerate(lines):
            if limit is not None and size > limit + 1:
                break
            end = b"\r" if line.endswith(b"\r") else b""
            if line[:1] in (b" ", b"\t"):  # obs-fold: continues the field above
                if not hiding:
                    out.append(line)
                    size += len(line) + 1
                continue
            name, colon, _ = line.partition(b":")
            field = bool(colon) and b" " not in name.strip()
            hiding = field and self.is_secret_header(name)
            if hiding:
                line = name + b": " + REDACTED + end
            elif index == 0 and not field and b"?" in line:  # a request line
                method, _, rest = line.partition(b" ")
                target, space, version = rest.partition(b" ")
                path, _, query = target.partition(b"?")
                line = method + b" " + path + b"?" + self.query(query) + space + version
            out.append(line)
            size += len(line) + 1
        return b"\n".join(out)


DEFAULT = Redactor()
"""The redactor of the documented lists, with no ``--redact`` names."""
