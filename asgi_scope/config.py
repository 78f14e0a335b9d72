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
    ``timeout_graceful_shutdown`` None waits for in-flight requests for ever.
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
    max_body: int = 1 << 20
    timeout_keep_alive: float = 5.0
    timeout_graceful_shutdown: float | None = 10.0
    h11_max_incomplete_event_size: int = 16 * 1024
    limit_concurrency: int | None = None

    @property
    def is_demo(self) -> bool:
        """True when serving the built-in demo app."""
        return self.app == DEMO_APP

    @property
    def binds_all_interfaces(self) -> bool:
        """True when the host reaches beyond this machine (``0.0.0.0``, ``::``)."""
        return self.host in ("0.0.0.0", "::", "")
