"""``asgi-scope proxy``: a reverse proxy to one HTTP/1.1 server, traced both ways.

:mod:`~asgi_scope.proxy.app` is the ASGI app our server runs;
:mod:`~asgi_scope.proxy.upstream` its connection to the upstream (with the
upstream's clock and errors); :mod:`~asgi_scope.proxy.fields` the fields a
gateway rewrites; :mod:`~asgi_scope.proxy.websocket` the WebSocket relay.
"""
