"""The Textual UI: a live view of every exchange, message, scope and byte.

The only room that imports Textual. It reads a
:class:`~asgi_scope.trace.recorder.Recorder` and never reaches into the server;
quitting calls the ``on_quit`` it was given. Start it with
:class:`asgi_scope.ui.app.ScopeApp`.
"""
