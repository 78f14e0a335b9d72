"""Tracing apps that run elsewhere: under any server, in other processes.

:mod:`~asgi_scope.remote.middleware` (``TraceMiddleware``) runs inside the
user's app and streams its trace through :mod:`~asgi_scope.remote.sender`, to
an address parsed by :mod:`~asgi_scope.remote.stream`;
:mod:`~asgi_scope.remote.attach` is the listener ``asgi-scope attach`` runs.
"""
