"""``python -m asgi_scope``: the same as the ``asgi-scope`` command."""

from asgi_scope.cli import main

main()
