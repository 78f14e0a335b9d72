"""Middleware layers: find the app's chain of ASGI callables and record every boundary.

An ASGI app is usually a chain: each middleware holds the next callable and
calls it (Starlette's ``BaseHTTPMiddleware``, ``GZipMiddleware``, every pure
ASGI middleware keep it in ``.app``). :func:`wrap_layers` walks that chain as it
will run and puts a :class:`LayerShim` between each pair of layers (and a
:class:`RootShim` around the outermost, the app the server calls), so the trace
has, for every layer, the scope as it entered and every message it received
from the layer above and sent back up (events :class:`LayerEntered`,
:class:`LayerReceived`, :class:`LayerSent`, :class:`LayerReturned`), beside the
server's own boundary (:class:`~asgi_scope.trace.shim.Shim`).

The walk, from the app the server calls:

* a Starlette or FastAPI app (it has ``build_middleware_stack``) runs its
  ``middleware_stack``, which Starlette builds lazily at the first call: it is
  built here the way Starlette does (``app.build_middleware_stack()``), so the
  exception middlewares (``ServerErrorMiddleware``, ``ExceptionMiddleware``)
  and the router are layers too;
* a router (it has ``routes``) runs its own ``middleware_stack`` if it has
  one; each of its routes' ``app`` is a next layer (a route's endpoint, named
  after the endpoint's function; a mounted app, walked the same way);
* any other callable that holds an ASGI 3 callable in its own ``app``
  attribute is a middleware: the walk goes on into it;
* anything else is the end of the chain (Django's ``ASGIHandler``, a plain
  function): an app with no chain has one layer, the server's boundary.

A layer's name is its class name (``GZipMiddleware``), or a function's
qualified name (an endpoint), its module in :attr:`Layer.module`.

Which exchange a layer's call belongs to is carried by a context variable,
which the outermost layer sets from the server's :class:`Shim` (its ``receive``
is the shim's bound method) and each layer deepens: context variables follow
the call into child tasks (``BaseHTTPMiddleware`` runs the next layer in one).
Lifespan calls, and calls that did not come through our server, pass through
unrecorded. The shims await nothing of their own and change nothing the app
sees but the ``receive`` and ``send`` callables themselves.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asgi_scope.trace.events import LayerEntered, LayerReceived, LayerReturned, LayerSent
from asgi_scope.trace.recorder import Recorder
from asgi_scope.trace.shim import Shim
from asgi_scope.trace.snapshot import snapshot_message, snapshot_since

__all__ = ["Layer", "LayerShim", "NoLayersError", "RootShim", "discover", "wrap_layers"]

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

MAX_LAYERS = 64
"""Layers walked along one chain at most (a guard against a cycle of ``.app``)."""


class NoLayersError(Exception):
    """``--layers`` was asked for an app with no chain of layers to trace.
    ``str()`` is one line for the user."""


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer of the chain as discovered: ``name`` (class name, or an
    endpoint's function name), ``module`` it is defined in, ``depth`` from 0
    (the app the server calls)."""

    name: str
    module: str
    depth: int


class _Call:
    """One layer's call within one exchange: where to record and what it saw."""

    __slots__ = (
        "budget_in",
        "budget_out",
        "conn",
        "depth",
        "exchange",
        "memo",
        "recorder",
        "scope",
    )

    def __init__(
        self,
        recorder: Recorder,
        conn: int,
        exchange: int,
        depth: int,
        scope: dict[str, Any] | None,
        memo: list[Any] | None = None,
    ) -> None:
        self.recorder = recorder
        self.conn = conn
        self.exchange = exchange
        self.depth = depth
        self.scope = scope  # the snapshot of the scope as it entered this layer
        self.budget_in = self.budget_out = recorder.max_body
        self.memo = [None, None, 0] if memo is None else memo
        """The exchange's last message snapshotted, shared by its layers: ``[message,
        snapshot, body bytes kept]``. A layer that passes a message on unchanged
        (most do) reuses the snapshot instead of copying it again."""


def _snapshot(call: _Call, message: Any, budget: int) -> tuple[Any, int, int]:
    """:func:`snapshot_message` for one layer, reusing the snapshot the layer
    before took of the same message when it is still equal (compared in C) and
    was kept whole within this layer's budget."""
    memo = call.memo
    if message is memo[0] and memo[2] <= budget:
        try:
            if message == memo[1]:
                return memo[1], memo[2], 0
        except Exception:  # an app object with a strange __eq__ inside
            pass
    copy, kept, dropped = snapshot_message(message, budget)
    if not dropped:
        memo[0], memo[1], memo[2] = message, copy, kept
    return copy, kept, dropped


_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar(
    "asgi_scope_layer", default=None
)


class LayerShim:
    """Records one layer's side of a boundary, then calls the layer (``app``).

    ``await shim(scope, receive, send)``: records :class:`LayerEntered` with a
    snapshot of ``scope``, calls ``app`` with a ``receive`` and ``send`` that
    record :class:`LayerReceived` and :class:`LayerSent` (bodies cut at the
    recorder's ``max_body`` per layer and direction), and records
    :class:`LayerReturned` when the call returns or raises (the exception goes
    on unchanged). Outside a traced exchange it only calls ``app``. Attribute
    ``app`` is the layer, as Starlette's middlewares name the next callable
    (code that walks ``.app`` walks through).
    """

    __slots__ = ("app", "endpoint", "module", "name")

    def __init__(self, app: ASGIApp, name: str, module: str, *, endpoint: bool = False) -> None:
        self.app = app
        self.name = name
        self.module = module
        self.endpoint = endpoint

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.app!r})"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        above = _CALL.get()
        if above is None:
            return await self.app(scope, receive, send)
        recorder, conn, exchange, depth, name = (
            above.recorder,
            above.conn,
            above.exchange,
            above.depth + 1,
            self.name,
        )
        call = _Call(
            recorder, conn, exchange, depth, _scope_snapshot(scope, above.scope), above.memo
        )
        emit = recorder.emit
        emit[LayerEntered](
            conn=conn,
            exchange=exchange,
            depth=depth,
            layer=name,
            module=self.module,
            endpoint=self.endpoint,
            scope=call.scope,
        )
        emit_received, emit_sent = emit[LayerReceived], emit[LayerSent]

        async def layer_receive() -> Any:
            message = await receive()
            copy, kept, dropped = _snapshot(call, message, call.budget_in)
            call.budget_in -= kept
            emit_received(
                conn=conn, exchange=exchange, depth=depth, layer=name, message=copy, dropped=dropped
            )
            return message

        async def layer_send(message: Any) -> None:
            copy, kept, dropped = _snapshot(call, message, call.budget_out)
            call.budget_out -= kept
            emit_sent(
                conn=conn, exchange=exchange, depth=depth, layer=name, message=copy, dropped=dropped
            )
            await send(message)

        token = _CALL.set(call)
        try:
            await self.app(scope, layer_receive, layer_send)
        except BaseException as exc:
            emit[LayerReturned](
                conn=conn,
                exchange=exchange,
                depth=depth,
                layer=name,
                outcome="error",
                exc_type=type(exc).__qualname__,
            )
            raise
        finally:
            _CALL.reset(token)
        emit[LayerReturned](
            conn=conn, exchange=exchange, depth=depth, layer=name, outcome="complete", exc_type=""
        )


class RootShim(LayerShim):
    """The outermost layer's shim: the app the server calls. It reads the exchange
    from the server's :class:`Shim` (the ``receive`` it is given is the shim's) and
    records only :class:`LayerEntered` at depth 0: the server records the rest of
    this boundary itself. Lifespan calls and calls from other servers pass through."""

    __slots__ = ()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        call = _root_call(scope, receive)
        if call is None:
            return await self.app(scope, receive, send)
        call.recorder.emit[LayerEntered](
            conn=call.conn,
            exchange=call.exchange,
            depth=0,
            layer=self.name,
            module=self.module,
            endpoint=False,
            scope=None,
        )
        token = _CALL.set(call)
        try:
            await self.app(scope, receive, send)
        finally:
            _CALL.reset(token)


def _root_call(scope: Any, receive: Any) -> _Call | None:
    """The outermost layer's call for an HTTP or WebSocket exchange the server
    runs (its ``receive`` is a :class:`Shim`'s), else None."""
    shim = getattr(receive, "__self__", None)
    if type(shim) is not Shim or not isinstance(scope, dict):
        return None
    if scope.get("type") not in ("http", "websocket"):
        return None
    return _Call(shim.recorder, shim.conn, shim.exchange, 0, shim.scope)


def _scope_snapshot(scope: Any, above: dict[str, Any] | None) -> dict[str, Any] | None:
    """The scope as it enters a layer, sharing what is unchanged with ``above`` (the
    snapshot of the scope as it entered the layer above); ``above`` itself when
    nothing changed (one comparison in C: most layers change nothing)."""
    if not isinstance(scope, dict):
        return None
    if above is not None:
        try:
            if scope == above:
                return above
        except Exception:  # an app object with a strange __eq__: compare key by key
            pass
    return snapshot_since(scope, above if above is not None else {})


# -- discovery ---------------------------------------------------------------------


def _is_asgi3(obj: Any) -> bool:
    """Whether ``obj`` can be awaited as ``obj(scope, receive, send)`` (a coroutine
    function, or an object whose ``__call__`` is one; a LayerShim already is)."""
    if isinstance(obj, LayerShim):
        return True
    if inspect.isclass(obj) or not callable(obj):
        return False
    if inspect.iscoroutinefunction(obj):
        return True
    return inspect.iscoroutinefunction(type(obj).__call__)


def _name(obj: Any) -> tuple[str, str]:
    """A layer's ``(name, module)``: a function's qualified name, else its class's name."""
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        return obj.__qualname__, getattr(obj, "__module__", "") or ""
    kind = type(obj)
    return kind.__name__, kind.__module__


def _links(obj: Any) -> list[tuple[Any, str, Any, tuple[str, str] | None]]:
    """The next layers of ``obj``: ``(holder, attribute, next, name)`` for each place
    ``obj`` keeps a next layer (``name`` overrides the next layer's own name)."""
    if hasattr(obj, "build_middleware_stack") and hasattr(obj, "middleware_stack"):
        if obj.middleware_stack is None:  # built lazily, at the first call: as Starlette does
            obj.middleware_stack = obj.build_middleware_stack()
        return [(obj, "middleware_stack", obj.middleware_stack, None)]
    routes = getattr(obj, "routes", None)
    if isinstance(routes, list) and hasattr(obj, "middleware_stack"):
        stack = obj.middleware_stack
        if getattr(stack, "__self__", None) is not obj:  # the router's own middleware
            return [(obj, "middleware_stack", stack, None)]
        links = []
        for route in routes:
            inner = vars(route).get("app") if hasattr(route, "__dict__") else None
            if inner is None or not _is_asgi3(inner):
                continue
            endpoint = getattr(route, "endpoint", None)
            named = _name(endpoint) if inspect.isfunction(inner) and endpoint else None
            links.append((route, "app", inner, named))
        return links
    inner = getattr(obj, "app", None)
    if inner is None or getattr(inner, "__self__", None) is obj or not _is_asgi3(inner):
        return []
    return [(obj, "app", inner, None)]


def discover(app: Any) -> list[Layer]:
    """The main chain of ``app`` as it will run, outermost first, routes not
    included: ``[Layer("FastAPI", "fastapi.applications", 0), Layer(
    "ServerErrorMiddleware", ...), ..., Layer("APIRouter", ..., n)]``. One
    layer for an app with no chain. Builds a Starlette app's lazy
    ``middleware_stack`` (see the module docs)."""
    chain = [Layer(*_name(app), 0)]
    node, seen = app, {id(app)}
    while len(chain) < MAX_LAYERS:
        links = _links(node)
        if len(links) != 1 or links[0][0] is not node:  # the end, or a router's routes
            break
        node = links[0][2]
        node = node.app if isinstance(node, LayerShim) else node
        if id(node) in seen:
            break
        seen.add(id(node))
        chain.append(Layer(*_name(node), len(chain)))
    return chain


def wrap_layers(app: ASGIApp, required: bool = False) -> tuple[ASGIApp, list[Layer]]:
    """Put a :class:`LayerShim` at every boundary of ``app``'s chain (see the
    module docs); return the app for the server to call and the main chain
    (:func:`discover`). With no chain found (one layer), ``app`` comes back as
    it is, unless ``required`` (``--layers``): then :class:`NoLayersError`.
    Changes the app's objects in place: each next layer is replaced by a shim
    holding it; an app wrapped once is not wrapped again."""
    chain = discover(app)
    if len(chain) < 2:
        if required:
            raise NoLayersError(
                f"--layers: no middleware chain found in {chain[0].name} "
                "(it keeps no next ASGI callable in .app)"
            )
        return app, chain
    seen: set[int] = set()
    _wrap_below(app, seen, 0)
    return RootShim(app, *_name(app)), chain


def _wrap_below(node: Any, seen: set[int], walked: int) -> None:
    """Wrap every next layer of ``node`` in a shim, and walk on into each."""
    if id(node) in seen or walked >= MAX_LAYERS:
        return
    seen.add(id(node))
    for holder, attribute, inner, named in _links(node):
        if isinstance(inner, LayerShim):
            continue
        name, module = named or _name(inner)
        endpoint = not _links(inner)
        try:
            setattr(holder, attribute, LayerShim(inner, name, module, endpoint=endpoint))
        except (AttributeError, TypeError):  # a read-only slot: the chain ends here
            continue
        _wrap_below(inner, seen, walked + 1)
