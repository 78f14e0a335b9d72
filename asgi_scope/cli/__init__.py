"""The ``asgi-scope`` command: one click group, one module per command family.

:mod:`~asgi_scope.cli.run` (``run``, the default), :mod:`~asgi_scope.cli.captures`
(``open``, ``export``, ``replay``), :mod:`~asgi_scope.cli.remote`
(``attach``, ``proxy``) and :mod:`~asgi_scope.cli.rules` (``rules``); the
options and exit codes they share are in :mod:`~asgi_scope.cli.options`. Each
command builds a config and an event source and runs a
:class:`~asgi_scope.session.Session`.

Flags follow uvicorn's where they overlap. Exit codes: 0 after a clean stop;
1 for a file, address or upstream that cannot be used; 2 for a usage error
(click's); 3 when the app cannot be loaded or the server cannot start
(uvicorn's ``STARTUP_FAILURE``): one line on stderr, no traceback, except for
an error raised inside the user's own module, whose traceback is the user's to
see; 4 after a ``--strict`` run in which the app broke an ASGI rule.
"""

from __future__ import annotations

import click

from asgi_scope.cli.captures import export, open_capture, replay
from asgi_scope.cli.options import CONTEXT
from asgi_scope.cli.remote import attach, proxy
from asgi_scope.cli.rules import rules
from asgi_scope.cli.run import run


class DefaultGroup(click.Group):
    """A group whose default command runs when the first argument names no command.

    ``asgi-scope main:app --port 0`` is ``asgi-scope run main:app --port 0``;
    ``asgi-scope open FILE`` is the ``open`` command. Flags given first
    (``asgi-scope --help``, ``--version``, ``--headless APP``) go to the default
    command too, so the command line of a plain run is the same as before
    subcommands existed. An app module named like a command (``open``) is still
    reachable as ``asgi-scope run open``.
    """

    def __init__(self, *args: object, default: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.default = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [self.default, *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, default="run", context_settings=CONTEXT)
def main() -> None:
    """Run an ASGI app and watch it (``run``, the default), watch one that runs
    elsewhere (``attach``, ``proxy``), or work with captures."""


for _command in (run, open_capture, export, replay, attach, proxy, rules):
    main.add_command(_command)
