"""Exports of recorded exchanges: HAR 1.2, curl commands, raw request bytes and
ready-to-run pytest tests. One idea per module, all reading the same
:class:`~asgi_scope.trace.flow.Flow`; nothing here knows Textual or sockets.
"""
