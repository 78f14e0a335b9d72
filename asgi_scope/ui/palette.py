"""The command palette's actions (Ctrl-P): every app action of the table, by name.

Made from the same :mod:`asgi_scope.ui.actions` table as the key bindings and the
help, with the keys of the user's keymap; actions that share a name (``Quit``:
``q`` and ``ctrl+c``) are one command listing every key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from asgi_scope.ui.actions import Action
from asgi_scope.ui.screens.help import key_label


@dataclass(frozen=True, slots=True)
class Command:
    """One palette command: its ``title``, its ``help`` (with its keys) and the
    Textual ``action`` it runs on the app."""

    title: str
    help: str
    action: str


def commands(actions: Iterable[Action]) -> list[Command]:
    """The palette's commands for ``actions`` (keys as the user's keymap has them)."""
    merged: dict[tuple[str, str], tuple[Action, list[str]]] = {}
    for action in actions:
        merged.setdefault((action.description, action.action), (action, []))[1].append(
            key_label(action.keys)
        )
    return [
        Command(action.description, f"{action.help} ({' or '.join(keys)})", action.action)
        for action, keys in merged.values()
    ]


class ActionsProvider(Provider):
    """Offers the app's actions (``app.described_actions()``) by their names."""

    def _commands(self) -> list[Command]:
        return commands(self.app.described_actions())  # type: ignore[attr-defined]

    async def discover(self) -> Hits:
        """Every command, in the table's order, before anything is typed."""
        for command in self._commands():
            yield DiscoveryHit(
                command.title, partial(self.app.run_action, command.action), help=command.help
            )

    async def search(self, query: str) -> Hits:
        """The commands whose name matches ``query``, best first."""
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    partial(self.app.run_action, command.action),
                    help=command.help,
                )
