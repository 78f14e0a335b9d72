"""One rule of the catalogue (:class:`Rule`) and the severities (:data:`Severity`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info", "perf"]
"""How bad a finding is.

``error``: a server cannot serve it as meant, or the spec says MUST and servers
refuse it. ``warning``: the spec's MUST or SHOULD that servers tolerate (a
capitalised header name, which h11 lowercases anyway). ``info``: worth knowing,
not wrong. ``perf``: correct, but slow (many tiny body messages).
"""

SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info", "perf")
"""Every severity, worst first."""

COUNTED: frozenset[str] = frozenset(("error", "warning"))
"""The severities the views count (``⚠``) and filter on (``~v``)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One ASGI rule.

    ``id`` is stable (``protocol.what``, or ``protocol.scope.what`` for what the
    server gives the app); ``layer`` is one of :data:`LAYERS`; ``side`` says who
    the rule binds: ``"app"`` (what it sends, how it uses ``receive()``) or
    ``"server"`` (the scope and the messages ``receive()`` returns). ``spec`` names
    the document and its version (``"ASGI HTTP 2.5"``, ``"RFC 9110"``), ``part``
    the section in it; ``text`` quotes the spec's own words (closely paraphrased
    where it spreads them over a page, said so with "spec unclear" where it is
    silent); ``title`` is a short phrase for lists; ``fix`` is a one-line hint.
    """

    id: str
    layer: str
    severity: Severity
    spec: str
    part: str
    title: str
    text: str
    fix: str
    side: Literal["app", "server"] = "app"

    @property
    def section(self) -> str:
        """Where the rule comes from, in one phrase: ``"ASGI HTTP 2.5, Response Body"``."""
        return f"{self.spec}, {self.part}" if self.part else self.spec

    @property
    def protocol(self) -> str:
        """``asgi``, ``http``, ``websocket`` or ``lifespan`` (the id's first word)."""
        return self.id.split(".", 1)[0]

    def record(self) -> dict[str, Any]:
        """The rule as a JSON-ready dict (``asgi-scope rules --format json``)."""
        return {**asdict(self), "section": self.section}
