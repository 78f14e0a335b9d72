"""The lifespan protocol (ASGI Lifespan spec 2.0), run as exchange on conn 0.

``--lifespan auto`` runs startup and shutdown if the app supports them and
carries on without if it raises before startup completes (as uvicorn: one info
note, "ASGI 'lifespan' protocol appears unsupported.", and the traceback in a
``debug`` note, no error); ``on`` makes that a
startup failure; ``off`` never calls the app with a lifespan scope. An app that
sends ``lifespan.startup.failed`` stops the server in any mode. The ``state``
dict the app fills during startup is copied into every request's scope.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from asgi_scope.server.scope import lifespan_scope
from asgi_scope.server.state import ServerState
from asgi_scope.trace.events import LifespanState, ServerNote, Wire
from asgi_scope.trace.shim import Shim
from asgi_scope.trace.snapshot import snapshot


class LifespanFailed(Exception):
    """Startup failed: the app sent ``lifespan.startup.failed`` or, with
    ``--lifespan on``, raised. The message is for the user, one line."""


class Lifespan:
    """Drives one app's lifespan: :meth:`startup` before serving, :meth:`shutdown` after."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.startup_done = asyncio.Event()
        self.shutdown_done = asyncio.Event()
        self.failure = ""  # the message of a startup/shutdown .failed
        self.unsupported = False
        self.task: asyncio.Task[None] | None = None
        self.shim = Shim(state.recorder, 0, state.next_exchange(), self.receive, self.send)

    async def startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the app's answer.

        Raises :class:`LifespanFailed` if startup failed.
        """
        if self.state.config.lifespan == "off":
            return
        scope = lifespan_scope(self.state.lifespan_state)
        self.shim.scope_created(scope, None)
        self.task = asyncio.get_running_loop().create_task(self._run(scope))
        await self.messages.put({"type": "lifespan.startup"})
        await self.startup_done.wait()
        if self.failure or (self.unsupported and self.state.config.lifespan == "on"):
            raise LifespanFailed(self.failure or "the app does not support lifespan")

    async def shutdown(self, timeout: float | None = None) -> None:
        """Send ``lifespan.shutdown`` and wait for the app's answer (if it started),
        at most ``timeout`` seconds (None: for ever); then cancel the app's task."""
        if self.task is None or self.unsupported or self.failure:
            return
        await self.messages.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self.shutdown_done.wait(), timeout)
        except asyncio.TimeoutError:
            self._note("error", f"lifespan shutdown unfinished after {timeout} s: cancelled")
            self.cancel()

    def cancel(self) -> None:
        """Cancel the app's lifespan task (a forced stop)."""
        if self.task is not None:
            self.task.cancel()

    async def _run(self, scope: dict[str, Any]) -> None:
        shim, outcome = self.shim, "complete"
        try:
            await self.state.app(scope, shim.receive, shim.send)
        except BaseException as exc:  # an app without lifespan raises
            outcome = "error"
            auto = self.state.config.lifespan == "auto"
            if not self.startup_done.is_set() and auto and isinstance(exc, Exception):
                # uvicorn's --lifespan auto: one info line, no error; the traceback
                # is a "debug" note, which the notes panel (l) shows.
                self.unsupported = True
                outcome = "unsupported"
                self._note("info", "ASGI 'lifespan' protocol appears unsupported.")
                self._note("debug", "".join(traceback.format_exception(exc)).rstrip())
                return
            shim.raised(exc)
            if not self.startup_done.is_set():
                self.unsupported = True
                self._note("error", f"lifespan unsupported by the app ({type(exc).__name__})")
            elif not isinstance(exc, asyncio.CancelledError):
                # After startup: the app's lifespan failed while serving or at
                # shutdown (as uvicorn's "Exception in 'lifespan' protocol").
                self._note("error", f"lifespan raised {type(exc).__name__}: {exc}")
            if not isinstance(exc, Exception):
                raise
        finally:
            shim.ended(scope, outcome, 0)
            self.startup_done.set()
            self.shutdown_done.set()

    async def receive(self) -> tuple[dict[str, Any], Wire | None]:
        """The server's side of the lifespan ``receive``."""
        return await self.messages.get(), None

    async def send(self, message: dict[str, Any]) -> None:
        """The server's side of the lifespan ``send``."""
        kind = message.get("type")
        if kind in ("lifespan.startup.complete", "lifespan.startup.failed"):
            if kind == "lifespan.startup.failed":
                self.failure = str(message.get("message", "")) or "lifespan startup failed"
            else:
                state = self.state.lifespan_state
                self.state.recorder.record(
                    LifespanState, conn=0, exchange=self.shim.exchange, state=snapshot(state)
                )
                keys = ", ".join(map(str, state)) or "none"
                self._note("info", f"lifespan startup complete (state keys: {keys})")
            self.startup_done.set()
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            if kind == "lifespan.shutdown.failed":
                self._note("error", f"lifespan shutdown failed: {message.get('message', '')}")
            self.shutdown_done.set()
        else:
            raise RuntimeError(f"Unexpected lifespan message {kind!r}.")

    def _note(self, level: str, text: str) -> None:
        self.state.recorder.record(ServerNote, conn=0, level=level, text=text)
