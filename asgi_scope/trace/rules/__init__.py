"""The rule catalogue: every ASGI rule the spec checker knows, with its severity,
the spec's own words, the spec document and version it comes from, and a fix.

One module per layer (as asgion splits its catalogue): :mod:`.general` (messages
and values in every protocol, the scope's common keys), :mod:`.scope` (what the
server gives the app: the ``http``, ``websocket`` and ``lifespan`` scopes and the
messages ``receive()`` returns), :mod:`.http`, :mod:`.websocket` and
:mod:`.lifespan` (the app's messages and their order), :mod:`.extensions`
(trailers, path send, zero-copy send, early hints, push, debug, the WebSocket
denial response) and :mod:`.semantic` (HTTP semantics and performance).

The checker (:mod:`asgi_scope.trace.spec`) finds; this package says what was
found. :class:`Policy` says which findings count (``⚠``), which fail
``--strict``, and which are muted (``--ignore``, ``[tool.asgi-scope]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from asgi_scope.trace.rules import (
    extensions,
    general,
    http,
    lifespan,
    scope,
    semantic,
    websocket,
)
from asgi_scope.trace.rules.rule import COUNTED, SEVERITIES, Rule, Severity

__all__ = [
    "COUNTED",
    "LAYERS",
    "RULES",
    "SEVERITIES",
    "Policy",
    "PolicyError",
    "Rule",
    "Severity",
    "rule",
    "severity_of",
]

LAYERS: tuple[str, ...] = (
    "general",
    "http.scope",
    "websocket.scope",
    "lifespan.scope",
    "http.events",
    "websocket.events",
    "lifespan.events",
    "http.fsm",
    "websocket.fsm",
    "lifespan.fsm",
    "extensions",
    "semantic",
)
"""The catalogue's layers, asgion's: every rule is in one."""

RULES: dict[str, Rule] = {
    r.id: r
    for module in (general, scope, http, websocket, lifespan, extensions, semantic)
    for r in module.RULES
}
"""Every rule the checker knows, by id."""


def rule(rule_id: str) -> Rule | None:
    """The :class:`Rule` of ``rule_id``, or None for an id this version does not know
    (a capture written by a newer release)."""
    return RULES.get(rule_id)


def severity_of(rule_id: str) -> Severity:
    """The severity of ``rule_id``; ``"warning"`` for an id this version does not know."""
    known = RULES.get(rule_id)
    return known.severity if known is not None else "warning"


class PolicyError(ValueError):
    """A ``[tool.asgi-scope]`` table or an ``--ignore`` that cannot be used; the
    message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Which findings count and fail: ``ignore`` mutes rule ids (and whole
    prefixes ending in ``.``, such as ``"http.scope."``); ``strict`` is the least
    severity that fails ``--strict`` (``"error"`` or ``"warning"``), or None."""

    ignore: frozenset[str] = frozenset()
    strict: Severity | None = None

    def muted(self, rule_id: str) -> bool:
        """True for a rule the user silenced."""
        if rule_id in self.ignore:
            return True
        return any(p.endswith(".") and rule_id.startswith(p) for p in self.ignore)

    def fails(self, rule_id: str) -> bool:
        """True if a finding of ``rule_id`` fails ``--strict``."""
        if self.strict is None or self.muted(rule_id):
            return False
        severity = severity_of(rule_id)
        return severity == "error" or (self.strict == "warning" and severity == "warning")

    def merged(self, ignore: Iterable[str] = (), strict: str | None = None) -> Policy:
        """This policy with more ignored ids and, if given, another strict level.

        Raises :class:`PolicyError` for an id the catalogue does not know (a typo
        would silently mute nothing) or a level other than error/warning."""
        ignore = tuple(ignore)
        for rule_id in ignore:
            if not isinstance(rule_id, str) or not (
                rule_id in RULES
                or (rule_id.endswith(".") and any(r.startswith(rule_id) for r in RULES))
            ):
                raise PolicyError(f"unknown rule {rule_id!r} (asgi-scope rules lists them)")
        if strict is not None and strict not in ("error", "warning"):
            raise PolicyError(f"strict must be 'error' or 'warning', not {strict!r}")
        return Policy(self.ignore | frozenset(ignore), strict or self.strict)  # type: ignore[arg-type]

    @classmethod
    def from_table(cls, table: Any) -> Policy:
        """The policy of a ``[tool.asgi-scope]`` table (``ignore = [...]``,
        ``strict = "error" | "warning" | true | false``). Raises :class:`PolicyError`."""
        if not isinstance(table, dict):
            raise PolicyError("[tool.asgi-scope] must be a table")
        unknown = set(table) - {"ignore", "strict"}
        if unknown:
            raise PolicyError(f"[tool.asgi-scope]: unknown key {sorted(unknown)[0]!r}")
        ignore = table.get("ignore", [])
        if not isinstance(ignore, list):
            raise PolicyError("[tool.asgi-scope] ignore must be a list of rule ids")
        strict = table.get("strict")
        if strict is True:
            strict = "error"
        elif strict is False:
            strict = None
        return cls().merged(ignore, strict)
