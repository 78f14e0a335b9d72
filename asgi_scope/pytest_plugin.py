"""A pytest plugin: the spec checker on every ASGI call your tests make.

Enable it with ``pytest -p asgi_scope.pytest_plugin`` (or
``addopts = "-p asgi_scope.pytest_plugin"``). While it is on, every app given to
``httpx.ASGITransport`` or Starlette's ``TestClient`` (FastAPI's too) is checked
by :mod:`asgi_scope.trace.spec` as it runs: each message the app sends, each
``receive()`` it makes and how its call ends. A test during which the app broke
a rule of severity ``error`` fails, naming the rule and the message; so does one
that broke a ``warning`` if the project's ``pyproject.toml`` says ``strict =
"warning"`` under ``[tool.asgi-scope]``, whose ``ignore`` list mutes rules here
too. Only the app's side is judged: the scope and messages a test client builds
are the client's business (httpx's ``raw_path`` holds the query, for one).

The checker only observes: the app gets its own ``receive`` and ``send`` results
and exceptions unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from typing import Any

import pytest

from asgi_scope.trace.rules import RULES, Policy, PolicyError, rule, severity_of
from asgi_scope.trace.spec import Checker, Finding, checker_for

App = Callable[..., Any]

_found: list[tuple[str, str, str]] = []
"""``(rule id, detail, message type)`` of the findings of the running test."""

_policy = Policy(strict="error")


def _note(findings: list[Finding] | None, message: Any) -> None:
    for rule_id, detail in findings or ():
        known = rule(rule_id)
        if known is not None and known.side == "server":
            continue  # the test client's scope or messages: not the app's doing
        if _policy.fails(rule_id):
            kind = message.get("type") if isinstance(message, dict) else type(message).__name__
            _found.append((rule_id, detail, str(kind) if kind is not None else "?"))


def _safely(check: Callable[[Any], list[Finding] | None], arg: Any) -> list[Finding] | None:
    try:
        return check(arg)
    except Exception:  # the checker must never break the app under test
        return None


def checked(app: App) -> App:
    """``app`` wrapped so that the spec checker sees each of its calls (ASGI 3)."""
    if getattr(app, "_asgi_scope_checked", False):
        return app

    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        checker: Checker | None = checker_for(scope) if isinstance(scope, dict) else None
        if checker is None:
            await app(scope, receive, send)
            return

        async def checked_receive() -> Any:
            message = await receive()
            _note(_safely(checker.received, message), message)
            return message

        async def checked_send(message: Any) -> None:
            _note(_safely(checker.sent, message), message)
            await send(message)

        outcome = "complete"
        try:
            await app(scope, checked_receive, checked_send)
        except BaseException:
            outcome = "error"
            raise
        finally:
            _note(_safely(checker.ended, outcome), None)

    wrapper._asgi_scope_checked = True  # type: ignore[attr-defined]
    return wrapper


def _wrap_init(cls: type) -> None:
    """Make ``cls(app, ...)`` (a test transport) check the app it is given."""
    original = cls.__init__

    def __init__(self: Any, app: App, *args: Any, **kwargs: Any) -> None:
        original(self, checked(app), *args, **kwargs)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[method-assign]


def _load_policy(rootpath: str) -> Policy:
    path = os.path.join(rootpath, "pyproject.toml")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: no TOML reader; the defaults hold
        return Policy(strict="error")
    if not os.path.isfile(path):
        return Policy(strict="error")
    with open(path, "rb") as file:
        table = tomllib.load(file).get("tool", {}).get("asgi-scope")
    try:
        policy = Policy.from_table(table) if table is not None else Policy()
    except PolicyError as exc:
        raise pytest.UsageError(f"{path}: {exc}") from None
    return Policy(policy.ignore, policy.strict or "error")


def pytest_configure(config: pytest.Config) -> None:
    """Wrap the test transports' apps, and read ``[tool.asgi-scope]``."""
    global _policy
    _policy = _load_policy(str(config.rootpath))
    try:
        import httpx
    except ImportError:
        pass
    else:
        _wrap_init(httpx.ASGITransport)
    try:
        from starlette import testclient
    except ImportError:
        pass
    else:
        _wrap_init(testclient._TestClientTransport)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail a test during which an app broke a rule (after the test's own outcome:
    an exception the broken message caused is chained, not hidden)."""
    _found.clear()
    try:
        yield
    finally:
        found, _found[:] = list(_found), []
        if found:
            lines = [
                f"{rule_id} ({severity_of(rule_id)}): {detail} [{kind}]"
                + (f"\n    the spec says: {RULES[rule_id].text}\n    fix: {RULES[rule_id].fix}"
                   if rule_id in RULES else "")
                for rule_id, detail, kind in found
            ]  # fmt: skip
            pytest.fail("ASGI spec violation:\n  " + "\n  ".join(lines), pytrace=False)
