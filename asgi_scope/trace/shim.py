"""The tracing shim: wraps one exchange's ``receive`` and ``send``.

The server creates one :class:`Shim` per exchange (an HTTP request/response, a
lifespan) and hands the app ``shim.receive`` and ``shim.send`` instead of its
own callables. Each message is snapshotted as it crosses (ASGI spec: the app
owns its dicts and buffers and may reuse them) and recorded with one append.

The server's own callables speak a slightly richer protocol than ASGI's:
its ``receive`` returns ``(message, wire)``, where ``wire`` is the received byte
range the message came from (or None), and it reads :attr:`Shim.last_sent` to
tag the bytes a message became. The app sees plain ASGI.
"""

from __future__ import annotations

import collections
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from asgi_scope.trace.edit import DROP
from asgi_scope.trace.events import (
    AppRaised,
    ExchangeEnded,
    MessageReceived,
    MessageSent,
    ScopeCreated,
    SpecViolation,
    Wire,
)
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.rules import RULES
from asgi_scope.trace.snapshot import snapshot, snapshot_message, snapshot_since
from asgi_scope.trace.spec import Checker, Finding, check_scope, checker_for

ServerReceive = Callable[[], Awaitable[tuple[dict[str, Any], Wire | None]]]
ServerSend = Callable[[dict[str, Any]], Awaitable[None]]


class Shim:
    """Records what crosses one exchange's ``receive()`` and ``send()``.

    ``conn`` and ``exchange`` are the ids stamped on every event. Message bodies
    are kept up to ``recorder.max_body`` bytes per direction; the rest is counted
    in each event's ``dropped``. :attr:`last_sent` is the ``seq`` of the newest
    :class:`MessageSent`, for the server's :class:`BytesSent` ``cause``.
    """

    __slots__ = (
        "__weakref__",  # the request cycle's reference (server/cycle.py)
        "_budget_in",
        "_budget_out",
        "_check",
        "_gate",
        "_receive",
        "_recorder",
        "_scope",
        "_send",
        "composed",
        "conn",
        "exchange",
        "last_sent",
    )

    def __init__(
        self,
        recorder: Recorder,
        conn: int,
        exchange: int,
        receive: ServerReceive,
        send: ServerSend,
    ) -> None:
        self._recorder = recorder
        self.conn = conn
        self.exchange = exchange
        self._receive = receive
        self._send = send
        self._budget_in = self._budget_out = recorder.max_body
        self.last_sent = 0
        self._scope: dict[str, Any] | None = None  # the snapshot in ScopeCreated
        self._check: Checker | None = None  # the spec checker, once the scope is known
        self._gate = recorder.gate  # step mode (trace/step.py), or None
        self.composed: collections.deque[dict[str, Any]] = collections.deque()
        """Messages the user composed (trace/step.py), in the server's queue: the
        shim marks them ``"composed"`` as they come out of it."""

    @property
    def recorder(self) -> Recorder:
        """Where this shim records (the middleware layers' shims record there too)."""
        return self._recorder

    @property
    def scope(self) -> dict[str, Any] | None:
        """The snapshot of the scope the server built (None before :meth:`scope_created`)."""
        return self._scope

    def scope_created(
        self, scope: dict[str, Any], wire: Wire | None, snap: dict[str, Any] | None = None
    ) -> None:
        """Record the scope the server built, before the app is called with it.

        ``snap`` is a snapshot of ``scope`` the server made itself, knowing its
        shape (nobody else holds it); without one, ``scope`` is snapshotted here.
        """
        self._scope = snapshot(scope) if snap is None else snap
        self._check = checker_for(scope)
        event = self._recorder.emit[ScopeCreated](
            conn=self.conn, exchange=self.exchange, scope=self._scope, wire=wire
        )
        if self._check is not None and snap is None:
            # The server's side: the scope it built. Our own server's HTTP scopes
            # (built knowing their shape, hence ``snap``) are checked by its tests
            # against every scope rule, not per request on the hot path; another
            # server's (attach) and every other scope are checked here.
            self._checked(check_scope, scope, event.seq)

    async def receive(self) -> dict[str, Any]:
        """ASGI ``receive``: await the server's next message, record it, return it
        (in step mode, once the user releases it: trace/step.py; a message the
        user edited is recorded and returned as edited, one the user dropped is
        recorded and the next one awaited)."""
        message, wire = await self._receive()
        gate = self._gate
        if gate is not None and (gate.stepping or self.composed):
            return await self._receive_held(gate, message, wire)
        snap, kept, dropped = snapshot_message(message, self._budget_in)
        self._budget_in -= kept
        event = self._recorder.emit[MessageReceived](
            conn=self.conn, exchange=self.exchange, message=snap, wire=wire, dropped=dropped
        )
        if self._check is not None:
            self._checked(self._check.received, message, event.seq)
        if self._recorder.handoff is not None:  # an app process: to the inspector now
            self._recorder.handoff()
        return message

    async def _receive_held(self, gate: Any, message: Any, wire: Wire | None) -> dict[str, Any]:
        """:meth:`receive`'s end with a gate (step mode, or a message composed by
        the user on its way): hold it, then record and return what the user let go."""
        while True:  # a dropped message is recorded, and the next one held in turn
            user = ""
            if self.composed and message is self.composed[0]:
                self.composed.popleft()
                user, wire = "composed", None
            verdict = None
            if gate.stepping:  # step mode: wait for the user
                verdict = await gate.hold(
                    self.conn, self.exchange, "receive", message, self._scope
                )
            if verdict is not DROP:
                break
            snap, _, dropped = snapshot_message(message, self._budget_in)
            self._recorder.emit[MessageReceived](
                conn=self.conn, exchange=self.exchange, message=snap, wire=wire,
                dropped=dropped, user="dropped", original=None,
            )  # fmt: skip
            message, wire = await self._receive()
        original = None
        if verdict is not None:
            original, _, _ = snapshot_message(message, self._budget_in)
            message, user = verdict, user or "edited"
        snap, kept, dropped = snapshot_message(message, self._budget_in)
        self._budget_in -= kept
        event = self._recorder.emit[MessageReceived](
            conn=self.conn, exchange=self.exchange, message=snap, wire=wire, dropped=dropped,
            user=user, original=original,
        )  # fmt: skip
        if self._check is not None:
            self._checked(self._check.received, message, event.seq)
        if self._recorder.handoff is not None:
            self._recorder.handoff()
        return message

    async def send(self, message: dict[str, Any]) -> None:
        """ASGI ``send``: record ``message`` as the app gave it, then pass it on.

        Raises whatever the server's ``send`` raises (for instance ``RuntimeError``
        for a message out of order), as the app would see without the shim. In step
        mode it first waits until the user releases the message (trace/step.py),
        then passes on the user's edit instead, if any (recorded with the
        original), or nothing if the user dropped it.
        """
        gate = self._gate
        if gate is not None and gate.stepping:  # step mode: wait for the user
            verdict = await gate.hold(self.conn, self.exchange, "send", message, self._scope)
            if verdict is not None:
                return await self._send_altered(message, verdict)
        snap, kept, dropped = snapshot_message(message, self._budget_out)
        self._budget_out -= kept
        event = self._recorder.emit[MessageSent](
            conn=self.conn, exchange=self.exchange, message=snap, dropped=dropped
        )
        self.last_sent = event.seq
        if self._check is not None:
            self._checked(self._check.sent, message, event.seq)
        await self._send(message)
        if self._recorder.handoff is not None:  # an app process: to the inspector now
            self._recorder.handoff()

    async def _send_altered(self, message: dict[str, Any], verdict: Any) -> None:
        """Record ``message`` dropped by the user (and pass nothing on), or pass on
        the user's edit ``verdict`` instead, recorded with the original. The spec
        checker judges the app: it sees what the app sent."""
        dropping = verdict is DROP
        original, _, _ = snapshot_message(message, self._budget_out)
        snap, kept, dropped = snapshot_message(message if dropping else verdict, self._budget_out)
        self._budget_out -= kept
        event = self._recorder.emit[MessageSent](
            conn=self.conn, exchange=self.exchange, message=snap, dropped=dropped,
            user="dropped" if dropping else "edited", original=None if dropping else original,
        )  # fmt: skip
        self.last_sent = event.seq
        if self._check is not None:
            self._checked(self._check.sent, message, event.seq)
        if not dropping:
            await self._send(verdict)
        if self._recorder.handoff is not None:
            self._recorder.handoff()

    def _checked(self, check: Callable[[Any], list[Finding] | None], arg: Any, cause: int) -> None:
        """Run one spec check. The checker must never change what the app sees: if
        it fails on a value it did not foresee, it stops checking this exchange."""
        try:
            findings = check(arg)
        except Exception:
            self._check = None
            return
        if findings:
            self._violations(findings, cause)

    def _violations(self, findings: list[Finding], cause: int) -> None:
        """Record each spec checker finding as a :class:`SpecViolation` after ``cause``."""
        for rule_id, detail in findings:
            rule = RULES.get(rule_id)
            section = rule.section if rule is not None else ""
            self._recorder.record(
                SpecViolation,
                conn=self.conn,
                exchange=self.exchange,
                rule=rule_id,
                section=section,
                detail=detail,
                cause=cause,
            )

    def raised(self, exc: BaseException) -> None:
        """Record that the app raised ``exc`` (call from an ``except`` block)."""
        if self._check is not None and type(exc).__name__ == "CancelledError":
            self._check.cancelled = True  # it never finished: the spec checker says so
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            message = str(exc)
        except Exception:  # an exception's __str__ is the app's code
            message = f"<{type(exc).__qualname__}: str() failed>"
        self._recorder.record(
            AppRaised,
            conn=self.conn,
            exchange=self.exchange,
            exc_type=type(exc).__qualname__,
            message=message,
            traceback=text,
        )

    def ended(self, scope: dict[str, Any], outcome: str, status: int) -> None:
        """Record that the app's call returned: the scope as the app left it, the
        outcome (see :class:`ExchangeEnded`) and the status the client got."""
        before = self._scope
        after = snapshot(scope) if before is None else snapshot_since(scope, before)
        if self._check is not None:
            self._checked(self._check.ended, outcome, 0)
        self._recorder.emit[ExchangeEnded](
            conn=self.conn, exchange=self.exchange, scope=after, outcome=outcome, status=status
        )
