"""One frozen :class:`Config`, built from the command line's flags.

Defaults and meanings follow uvicorn's flags of the same name where there is one.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_APP = "asgi_scope.demo:app"
"""The import string of the built-in demo app, served when no APP is given."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything that shapes a run.

    Sizes are bytes, times seconds. ``port`` 0 asks the OS for a free port.
    ``ws_max_size`` is the largest WebSocket message accepted (bytes; larger ones
    close the connection with 1009). ``server_header`` and ``date_header`` add
    those headers to responses that lack them (uvicorn's ``--no-server-header``
    and ``--no-date-header`` turn them off). ``limit_concurrency`` answers 503
    past that many connections and running tasks (None: no limit).
    ``timeout_request_head`` is how long a request head may take to arrive in
    full (408 after). ``timeout_graceful_shutdown`` None waits for in-flight requests for ever.
    ``timeout_ws_close`` is how long the server waits for the client's close frame
    after sending its own (RFC 6455 §7.1.1) before it drops the TCP connection
    (the ``close_timeout`` of the websockets library; uvicorn fixes it at 10 s).
    ``reload`` restarts the app process when a file it watches changes:
    ``reload_dirs`` (none: the current directory), ``reload_includes`` and
    ``reload_excludes`` (globs; empty: uvicorn's defaults), ``reload_delay``
    (seconds over which changes are gathered).
    ``uds`` (a Unix socket path) or ``fd`` (an inherited listening socket) replace
    ``host``/``port``. ``env_file`` is loaded into the app process's environment.
    ``ssl_certfile``/``ssl_keyfile``/``ssl_keyfile_password`` serve TLS.
    ``proxy_headers`` trusts ``X-Forwarded-For``/``-Proto`` from the addresses in
    ``forwarded_allow_ips`` (comma-separated, ``*`` for all). ``log_level``
    (``debug``, ``info``, ``warning``, ``error``, ``critical``) drops the server's
    own notes below it.
    ``quiet`` records without printing (headless, no line per event); ``keep``
    and ``keep_bytes`` cap the exchanges and the bytes of bodies a view keeps.
    ``layers`` traces each middleware layer's boundary: None where the app has a
    chain of layers, True demands one, False never (trace/layers.py).
    """

    app: str = DEMO_APP
    host: str = "127.0.0.1"
    port: int = 8000
    app_dir: str = "."
    factory: bool = False
    root_path: str = ""
    interface: str = "auto"
    lifespan: str = "auto"
    headless: bool = False
    quiet: bool = False
    keep: int = 10_000
    keep_bytes: int = 256 * 1024 * 1024
    max_body: int = 1 << 20
    timeout_keep_alive: float = 5.0
    timeout_request_head: float = 30.0
    timeout_graceful_shutdown: float | None = 10.0
    timeout_ws_close: float = 5.0
    h11_max_incomplete_event_size: int = 16 * 1024
    limit_concurrency: int | None = None
    ws_max_size: int = 16 * 1024 * 1024
    server_header: bool = True
    date_header: bool = True
    uds: str | None = None
    fd: int | None = None
    env_file: str | None = None
    ssl_keyfile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile_password: str | None = None
    proxy_headers: bool = False
    forwarded_allow_ips: str = "127.0.0.1"
    log_level: str = "info"
    reload: bool = False
    reload_dirs: tuple[str, ...] = ()
    reload_includes: tuple[str, ...] = ()
    reload_excludes: tuple[str, ...] = ()
    reload_delay: float = 0.25
    layers: bool | None = None

    @property
    def is_demo(self) -> bool:
        """True when serving the built-in demo app."""
        return self.app == DEMO_APP

    @property
    def binds_all_interfaces(self) -> bool:
        """True when the host reaches beyond this machine (``0.0.0.0``, ``::``)."""
        return self.uds is None and self.fd is None and self.host in ("0.0.0.0", "::", "")
