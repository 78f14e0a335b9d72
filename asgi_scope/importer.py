"""Turn an import string such as ``"main:app"`` into an ASGI 3 application.

This is what the ``APP`` argument, ``--app-dir``, ``--factory`` and
``--interface`` of the command line come down to::

    app = load_app("main:app")                         # ./main.py, attribute app
    app = load_app("pkg.web:api.app", app_dir="src")   # src/pkg/web.py, api.app
    app = load_app("main:create_app", factory=True)    # app = main.create_app()
    app = load_app("legacy:App", interface="asgi2")    # wrapped in ASGI2Adapter

Errors come in two kinds, and the difference matters to the person at the
terminal:

* :class:`AppLoadError` means the import string does not lead to an app: it is
  malformed, names a module that does not exist, names an attribute the module
  lacks, or leads to something that cannot be called. Its message is one line,
  meant to be printed as it is, with no traceback.
* Any other exception was raised by the user's own code while it ran: an
  ``import`` inside their module failed, their module raised, their factory
  raised. It propagates unchanged (same type, same traceback), because the
  traceback is the most useful thing to show.

Interfaces follow the ASGI specification ("Legacy Applications" in
https://asgi.readthedocs.io/en/latest/specs/main.html): an ASGI 3 app is
``async def app(scope, receive, send)``; an ASGI 2 app is a "double callable",
``app(scope)`` returning an instance that is then awaited as
``await instance(receive, send)``. Everything this module returns is ASGI 3.

This module knows nothing of servers or views; it imports only the standard
library.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = [
    "ASGI2Adapter",
    "ASGI2App",
    "ASGI3App",
    "AppLoadError",
    "Receive",
    "Scope",
    "Send",
    "load_app",
]

Scope = MutableMapping[str, Any]
"""The connection scope: a dict with at least ``"type"`` (``"http"``, ``"websocket"``,
``"lifespan"``) and ``"asgi"``."""

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
"""``await receive()`` returns the next event dict from the server."""

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
"""``await send(message)`` hands one event dict to the server."""

ASGI3App = Callable[[Scope, Receive, Send], Awaitable[None]]
"""A single callable: ``await app(scope, receive, send)``."""

ASGI2App = Callable[[Scope], Callable[[Receive, Send], Awaitable[None]]]
"""A double callable: ``instance = app(scope)``, then ``await instance(receive, send)``."""

INTERFACES = ("auto", "asgi3", "asgi2")
"""The values accepted by ``load_app(interface=...)``."""

_PREFIX = "Error loading ASGI app."


class AppLoadError(Exception):
    """The import string does not lead to an ASGI application.

    ``str(error)`` is a single line addressed to the user, such as
    ``Error loading ASGI app. Could not import module "mian".``; print it
    without a traceback. Exceptions raised by the user's own code are never
    wrapped in this class.
    """


class ASGI2Adapter:
    """Present an ASGI 2 double-callable application as an ASGI 3 one.

    ``await adapter(scope, receive, send)`` calls ``app(scope)`` to build the
    per-connection instance, then awaits ``instance(receive, send)``. Exceptions
    from either call propagate unchanged. The wrapped application is kept as
    :attr:`app`.
    """

    __slots__ = ("app",)

    def __init__(self, app: ASGI2App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        instance = self.app(scope)
        await instance(receive, send)

    def __repr__(self) -> str:
        return f"ASGI2Adapter({self.app!r})"


def load_app(
    spec: str,
    *,
    app_dir: str = ".",
    factory: bool = False,
    interface: str = "auto",
) -> ASGI3App:
    """Import the application named by ``spec`` and return it as an ASGI 3 callable.

    Args:
        spec: ``"<module>:<attribute>"``. The module is a dotted module path
            (``"pkg.web"``), the attribute a dotted attribute path inside it
            (``"api.app"`` means ``module.api.app``).
        app_dir: a directory, resolved to an absolute path and inserted at
            ``sys.path[0]`` before importing (unless already there), so that
            modules in it win over installed ones.
        factory: when true, the attribute is a factory: it is called with no
            arguments and whatever it returns is the application.
        interface: ``"asgi3"`` returns the application as it is; ``"asgi2"``
            wraps it in :class:`ASGI2Adapter`; ``"auto"`` decides by looking
            at it: a class is ASGI 3 only if its instances are awaitable (it
            has ``__await__``); any other object is ASGI 3 if it, or its
            ``__call__``, is a coroutine function; otherwise it is ASGI 2.

    Returns:
        An ASGI 3 application: ``await app(scope, receive, send)``.

    Raises:
        ValueError: ``interface`` is not one of :data:`INTERFACES` (a
            programming error, checked before anything is imported).
        AppLoadError: ``spec`` is malformed; ``app_dir`` is not a directory;
            the module named by ``spec`` (or one of its parent packages) does
            not exist; the attribute does not exist; the factory cannot be
            called with no arguments; the app is not callable; or, with
            ``interface="auto"``, the attribute is a plain function that takes
            no arguments (an app factory given without ``factory=True``).
        Exception: anything raised while the user's module is executed, or
            inside the user's factory, propagates unchanged. This includes a
            ``ModuleNotFoundError`` for a module that the user's code imports.
    """
    if interface not in INTERFACES:
        raise ValueError(f"interface must be one of {', '.join(INTERFACES)}; got {interface!r}")
    module_name, attr_path = _parse(spec)
    _prepend_app_dir(app_dir)
    module = _import_module(module_name)

    obj: Any = module
    for part in attr_path:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AppLoadError(
                f'{_PREFIX} Attribute "{".".join(attr_path)}" not found in module "{module_name}".'
            ) from None
    where = f'"{".".join(attr_path)}" in module "{module_name}"'

    if factory:
        obj = _call_factory(obj, where)
        if inspect.iscoroutine(obj):
            obj.close()  # Never awaited: close it so Python does not warn about it.
            raise AppLoadError(
                f"{_PREFIX} The factory {where} returned a coroutine: it must be a plain "
                "function (not async def) that returns the app."
            )
        if not callable(obj):
            raise AppLoadError(
                f"{_PREFIX} The factory {where} returned {_kind(obj)}, which is not callable."
            )
    elif not callable(obj):
        raise AppLoadError(f"{_PREFIX} Attribute {where} is {_kind(obj)}, which is not callable.")

    if interface == "auto":
        if not factory and _looks_like_factory(obj):
            raise AppLoadError(
                f"{_PREFIX} Attribute {where} takes no arguments, so it looks like an app "
                "factory: pass --factory to call it."
            )
        interface = "asgi3" if _is_asgi3(obj) else "asgi2"
    return ASGI2Adapter(obj) if interface == "asgi2" else obj


def _parse(spec: str) -> tuple[str, list[str]]:
    """Split ``"pkg.mod:obj.app"`` into ``("pkg.mod", ["obj", "app"])``.

    Raises AppLoadError unless there is exactly one colon, the module path has
    no empty segment (so no relative ``".mod"``), and each attribute segment is
    a Python identifier. A module part that is a file path (``main.py``,
    ``src/main``) gets its own message, since that is a common slip.
    """
    module_name, colon, attrs = spec.partition(":")
    if "/" in module_name or "\\" in module_name or module_name.endswith(".py"):
        stem = module_name.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py")
        raise AppLoadError(
            f'{_PREFIX} Import string "{spec}" names a file, but it needs a module name, '
            f'as in "{stem}:{attrs or "app"}" (use --app-dir for the directory).'
        )
    attr_path = attrs.split(".")
    if (
        not colon
        or not all(module_name.split("."))
        or not all(part.isidentifier() for part in attr_path)
    ):
        raise AppLoadError(
            f'{_PREFIX} Import string "{spec}" must be in format "<module>:<attribute>".'
        )
    return module_name, attr_path


def _prepend_app_dir(app_dir: str) -> None:
    """Put ``app_dir``, resolved, at ``sys.path[0]``; AppLoadError if it is not a directory."""
    path = Path(app_dir).resolve()
    if not path.is_dir():
        raise AppLoadError(f'{_PREFIX} App directory "{app_dir}" is not a directory.')
    if sys.path[:1] != [str(path)]:
        sys.path.insert(0, str(path))
    # Files may have appeared since the import system last listed this directory.
    importlib.invalidate_caches()


def _import_module(module_name: str) -> Any:
    """Import ``module_name``; AppLoadError only if it, or a parent package, is missing.

    A ``ModuleNotFoundError`` whose ``name`` is some other module was raised by
    an ``import`` inside the user's code, and is re-raised unchanged.
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        parts = module_name.split(".")
        ours = {".".join(parts[: i + 1]) for i in range(len(parts))}
        if exc.name not in ours:
            raise
        raise AppLoadError(f'{_PREFIX} Could not import module "{module_name}".') from None


def _call_factory(obj: Any, where: str) -> Any:
    """Call the factory with no arguments and return its result.

    AppLoadError if ``obj`` is not callable, or if the call itself is refused
    with a TypeError (wrong signature). A TypeError raised *inside* the
    factory's body, like any other exception from it, propagates unchanged.
    """
    if not callable(obj):
        raise AppLoadError(f"{_PREFIX} The factory {where} is {_kind(obj)}, which is not callable.")
    try:
        inspect.signature(obj).bind()
    except TypeError as exc:
        raise AppLoadError(
            f"{_PREFIX} The factory {where} cannot be called with no arguments: {exc}."
        ) from None
    except ValueError:
        pass  # No signature available (some builtins): just try the call.
    try:
        return obj()
    except TypeError as exc:
        # A traceback with no frame beyond this one: the call itself was refused.
        if exc.__traceback__ is not None and exc.__traceback__.tb_next is None:
            raise AppLoadError(
                f"{_PREFIX} Calling the factory {where} with no arguments failed: {exc}."
            ) from None
        raise


def _looks_like_factory(obj: Any) -> bool:
    """True for a plain, non-async function that cannot take a ``scope`` argument."""
    if not inspect.isfunction(obj) or inspect.iscoroutinefunction(obj):
        return False
    try:
        inspect.signature(obj).bind(None)
    except TypeError:
        return True
    return False


def _is_asgi3(obj: Any) -> bool:
    """Decide the interface of ``obj`` for ``interface="auto"`` (see :func:`load_app`)."""
    if inspect.isclass(obj):
        return hasattr(obj, "__await__")
    if inspect.iscoroutinefunction(obj):
        return True
    # ``obj`` is known to be callable, and Python looks special methods up on the type.
    return inspect.iscoroutinefunction(type(obj).__call__)


def _kind(obj: Any) -> str:
    """A short description of a value for error messages: ``None`` or ``an int``."""
    if obj is None:
        return "None"
    name = type(obj).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
