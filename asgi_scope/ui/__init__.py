"""The Textual UI: a live view of every exchange, message, scope and byte.

The only room that imports Textual. It reads a
:class:`~asgi_scope.trace.recorder.Recorder` and never reaches into the server;
quitting calls the ``on_quit`` it was given. Start it with
:class:`asgi_scope.ui.app.ScopeApp`.

``app.py`` is the App; ``components/`` the widgets of its main screen (the
detail pane and its tabs together in ``components/detail/``), each with its
``.tcss``; ``screens/`` the modal screens; ``actions.py`` the one table of key
bindings, from which the bindings, the help and the command palette
(``palette.py``) are made, and which a user's ``keymap.toml`` (``keymap.py``)
overrides; ``share.py`` saves, exports and re-sends the selected exchange.
"""
