"""asgi-scope: see ASGI.

Runs an ASGI application inside an embedded HTTP/1.1 server (h11) and records
every scope, every message crossing ``receive()`` and ``send()``, and every raw
byte on the socket, for a live terminal UI or a headless line-per-event trace.
"""

__version__ = "0.1.0"
