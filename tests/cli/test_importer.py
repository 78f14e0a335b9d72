"""Tests for ``asgi_scope.importer.load_app``.

Modules are written to ``tmp_path`` by each test, or taken from ``tests/apps``.
The ``isolated`` fixture restores ``sys.path`` and forgets every module
imported during the test, so tests can reuse names like ``main``.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from asgi_scope.importer import AppLoadError, ASGI2Adapter, load_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Undo load_app's sys.path insertion and forget the test modules it imported.

    Only modules loaded from the temporary directories or from ``tests/`` are
    forgotten; third-party packages imported on the way (FastAPI) stay loaded.
    """
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    roots = (str(tmp_path_factory.getbasetemp()), str(REPO / "tests"))
    yield
    for name in set(sys.modules) - before:
        origin = getattr(sys.modules[name], "__file__", None) or ""
        if origin.startswith(roots):
            del sys.modules[name]
            # A parent package that stays loaded keeps the child as an attribute.
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                monkeypatch.delattr(sys.modules[parent], child, raising=False)


def write(directory: Path, relative: str, source: str) -> Path:
    """Write a dedented module under ``directory`` (creating packages' folders)."""
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


ASGI3_MAIN = """
    async def app(scope, receive, send):
        pass

    class Holder:
        class Inner:
            async def app(scope, receive, send):
                pass

    not_callable = 42
    nothing = None
"""


def run(app: Any, scope: dict[str, Any], incoming: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run an ASGI 3 app to completion; return the messages it sent."""
    sent: list[dict[str, Any]] = []
    queue = list(incoming)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def http_scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


# Loading that works ---------------------------------------------------------


def test_loads_attribute_from_app_dir(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", ASGI3_MAIN)
    app = load_app("main:app", app_dir=str(tmp_path))
    assert app is sys.modules["main"].app
    assert sys.path[0] == str(tmp_path.resolve())


def test_app_dir_is_resolved_and_not_inserted_twice(
    isolated: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "src", "main.py", ASGI3_MAIN)
    monkeypatch.chdir(tmp_path)
    load_app("main:app", app_dir="src")
    load_app("main:app", app_dir="./src/../src")
    assert sys.path[0] == str((tmp_path / "src").resolve())
    assert sys.path.count(sys.path[0]) == 1


def test_dotted_attribute(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", ASGI3_MAIN)
    app = load_app("main:Holder.Inner.app", app_dir=str(tmp_path))
    assert app is sys.modules["main"].Holder.Inner.app


def test_dotted_module_in_package(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/web/__init__.py", "")
    write(tmp_path, "pkg/web/api.py", ASGI3_MAIN)
    app = load_app("pkg.web.api:Holder.Inner.app", app_dir=str(tmp_path))
    assert app is sys.modules["pkg.web.api"].Holder.Inner.app


def test_repo_test_apps(isolated: None) -> None:
    from tests.apps import plain

    assert load_app("tests.apps.plain:app", app_dir=str(REPO)) is plain.app


# Error messages -------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    ["main", "main:", ":app", "main:app:x", "main:app.", "main:.app", "main..x:app", ".main:app"],
)
def test_bad_format(isolated: None, tmp_path: Path, spec: str) -> None:
    with pytest.raises(AppLoadError) as info:
        load_app(spec, app_dir=str(tmp_path))
    assert str(info.value) == (
        f'Error loading ASGI app. Import string "{spec}" must be in format "<module>:<attribute>".'
    )


@pytest.mark.parametrize("spec", ["main.py:app", "src/main:app"])
def test_file_path_instead_of_module(isolated: None, tmp_path: Path, spec: str) -> None:
    write(tmp_path, "main.py", "raise AssertionError('must not be imported')\n")
    with pytest.raises(AppLoadError) as info:
        load_app(spec, app_dir=str(tmp_path))
    message = str(info.value)
    assert message.startswith(f'Error loading ASGI app. Import string "{spec}" names a file')
    assert '"main:app"' in message


def test_module_not_found(isolated: None, tmp_path: Path) -> None:
    with pytest.raises(AppLoadError) as info:
        load_app("mian:app", app_dir=str(tmp_path))
    assert str(info.value) == 'Error loading ASGI app. Could not import module "mian".'
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_parent_package_not_found(isolated: None, tmp_path: Path) -> None:
    with pytest.raises(AppLoadError) as info:
        load_app("nopkg_xyz.sub:app", app_dir=str(tmp_path))
    assert str(info.value) == 'Error loading ASGI app. Could not import module "nopkg_xyz.sub".'


def test_submodule_not_found(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "pkg/__init__.py", "")
    with pytest.raises(AppLoadError) as info:
        load_app("pkg.missing:app", app_dir=str(tmp_path))
    assert str(info.value) == 'Error loading ASGI app. Could not import module "pkg.missing".'


def test_attribute_not_found(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", ASGI3_MAIN)
    with pytest.raises(AppLoadError) as info:
        load_app("main:ap", app_dir=str(tmp_path))
    assert str(info.value) == 'Error loading ASGI app. Attribute "ap" not found in module "main".'


def test_dotted_attribute_not_found(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", ASGI3_MAIN)
    with pytest.raises(AppLoadError) as info:
        load_app("main:Holder.Outer.app", app_dir=str(tmp_path))
    assert str(info.value) == (
        'Error loading ASGI app. Attribute "Holder.Outer.app" not found in module "main".'
    )


@pytest.mark.parametrize(("attr", "kind"), [("not_callable", "an int"), ("nothing", "None")])
def test_not_callable(isolated: None, tmp_path: Path, attr: str, kind: str) -> None:
    write(tmp_path, "main.py", ASGI3_MAIN)
    with pytest.raises(AppLoadError) as info:
        load_app(f"main:{attr}", app_dir=str(tmp_path))
    assert str(info.value) == (
        f'Error loading ASGI app. Attribute "{attr}" in module "main" is {kind}, '
        "which is not callable."
    )


def test_repo_not_callable(isolated: None) -> None:
    with pytest.raises(AppLoadError, match="is an int, which is not callable"):
        load_app("tests.apps.plain:not_callable", app_dir=str(REPO))


def test_app_dir_missing(isolated: None, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(AppLoadError) as info:
        load_app("main:app", app_dir=str(missing))
    assert str(info.value) == (
        f'Error loading ASGI app. App directory "{missing}" is not a directory.'
    )


def test_unknown_interface_is_value_error(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", "raise AssertionError('must not be imported')\n")
    with pytest.raises(ValueError, match="wsgi"):
        load_app("main:app", app_dir=str(tmp_path), interface="wsgi")


def test_messages_are_one_line(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", ASGI3_MAIN)
    write(tmp_path, "fac.py", "def make(x):\n    pass\n")
    cases: list[tuple[str, dict[str, Any]]] = [
        ("main", {}),
        ("mian:app", {}),
        ("main:ap", {}),
        ("main:not_callable", {}),
        ("fac:make", {"factory": True}),
    ]
    for spec, kwargs in cases:
        with pytest.raises(AppLoadError) as info:
            load_app(spec, app_dir=str(tmp_path), **kwargs)
        assert "\n" not in str(info.value)


# Errors from the user's own code propagate unchanged -------------------------


def test_missing_import_inside_user_module_propagates(isolated: None) -> None:
    with pytest.raises(ModuleNotFoundError) as info:
        load_app("tests.apps.broken_import:app", app_dir=str(REPO))
    assert not isinstance(info.value, AppLoadError)
    assert info.value.name == "this_package_does_not_exist_xyz"
    # The traceback still reaches into the user's module.
    frames = [tb.tb_frame.f_code.co_filename for tb in _walk(info.value.__traceback__)]
    assert any(name.endswith("broken_import.py") for name in frames)


def test_missing_sibling_inside_package_propagates(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/main.py", "from pkg import helpers_missing_xyz\n")
    with pytest.raises(ImportError) as info:
        load_app("pkg.main:app", app_dir=str(tmp_path))
    assert not isinstance(info.value, AppLoadError)


def test_missing_submodule_import_inside_user_module_propagates(
    isolated: None, tmp_path: Path
) -> None:
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/main.py", "import pkg.gone_xyz\n")
    with pytest.raises(ModuleNotFoundError) as info:
        load_app("pkg.main:app", app_dir=str(tmp_path))
    assert info.value.name == "pkg.gone_xyz"


def test_exception_inside_user_module_propagates(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", "raise RuntimeError('settings missing')\n")
    with pytest.raises(RuntimeError, match="settings missing"):
        load_app("main:app", app_dir=str(tmp_path))


def test_attribute_error_inside_user_module_propagates(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", "import os\nos.not_there_xyz\n")
    with pytest.raises(AttributeError, match="not_there_xyz"):
        load_app("main:app", app_dir=str(tmp_path))


def _walk(tb: Any) -> Any:
    while tb is not None:
        yield tb
        tb = tb.tb_next


# Factories ------------------------------------------------------------------


def test_factory(isolated: None) -> None:
    app = load_app("tests.apps.plain:factory", app_dir=str(REPO), factory=True)
    sent = run(app, http_scope(), [{"type": "http.request", "body": b""}])
    assert sent[1]["body"] == b"hello factory"


def test_factory_from_tmp_module(isolated: None, tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.py",
        """
        calls = []

        def create_app():
            calls.append(1)

            async def app(scope, receive, send):
                pass

            return app
        """,
    )
    app = load_app("main:create_app", app_dir=str(tmp_path), factory=True)
    module = sys.modules["main"]
    assert module.calls == [1]
    assert app.__name__ == "app"


def test_factory_needing_arguments(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", "def create_app(settings):\n    pass\n")
    with pytest.raises(AppLoadError) as info:
        load_app("main:create_app", app_dir=str(tmp_path), factory=True)
    message = str(info.value)
    assert message.startswith(
        'Error loading ASGI app. The factory "create_app" in module "main" cannot be called '
        "with no arguments:"
    )
    assert "settings" in message


def test_factory_refused_by_builtin(isolated: None, tmp_path: Path) -> None:
    # No inspectable signature: the call itself raises TypeError, with no frame of its own.
    write(tmp_path, "main.py", "make = getattr\n")
    with pytest.raises(AppLoadError) as info:
        load_app("main:make", app_dir=str(tmp_path), factory=True)
    assert str(info.value).startswith(
        'Error loading ASGI app. Calling the factory "make" in module "main" with no arguments '
        "failed: getattr expected"
    )


def test_type_error_inside_factory_propagates(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", "def create_app():\n    return len(1)\n")
    with pytest.raises(TypeError) as info:
        load_app("main:create_app", app_dir=str(tmp_path), factory=True)
    assert not isinstance(info.value, AppLoadError)


def test_exception_inside_factory_propagates(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", "def create_app():\n    raise KeyError('DATABASE_URL')\n")
    with pytest.raises(KeyError, match="DATABASE_URL"):
        load_app("main:create_app", app_dir=str(tmp_path), factory=True)


def test_factory_returning_non_callable(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", "def create_app():\n    return None\n")
    with pytest.raises(AppLoadError) as info:
        load_app("main:create_app", app_dir=str(tmp_path), factory=True)
    assert str(info.value) == (
        'Error loading ASGI app. The factory "create_app" in module "main" returned None, '
        "which is not callable."
    )


def test_async_factory_is_refused_without_warning(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", "async def create_app():\n    pass\n")
    with pytest.raises(AppLoadError, match="returned a coroutine"):
        load_app("main:create_app", app_dir=str(tmp_path), factory=True)


def test_factory_without_flag_is_explained(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "main.py", "def create_app():\n    pass\n")
    with pytest.raises(AppLoadError, match="looks like an app factory: pass --factory"):
        load_app("main:create_app", app_dir=str(tmp_path))


# Interfaces -----------------------------------------------------------------

INTERFACES_MODULE = """
    import functools

    async def asgi3_function(scope, receive, send):
        pass

    def asgi2_function(scope):
        async def instance(receive, send):
            pass
        return instance

    class ASGI2Class:
        def __init__(self, scope):
            self.scope = scope

        async def __call__(self, receive, send):
            pass

    class ASGI3Class:
        def __init__(self, scope, receive, send):
            pass

        def __await__(self):
            yield from ()

    class AsyncCallable:
        async def __call__(self, scope, receive, send):
            pass

    class SyncCallable:
        def __call__(self, scope):
            return asgi3_function

    class Methods:
        async def app(self, scope, receive, send):
            pass

    async_instance = AsyncCallable()
    sync_instance = SyncCallable()
    bound_method = Methods().app
    partial_app = functools.partial(asgi3_function)
"""


@pytest.mark.parametrize(
    ("attr", "asgi3"),
    [
        ("asgi3_function", True),
        ("asgi2_function", False),
        ("ASGI2Class", False),
        ("ASGI3Class", True),
        ("async_instance", True),
        ("sync_instance", False),
        ("bound_method", True),
        ("partial_app", True),
    ],
)
def test_auto_interface(isolated: None, tmp_path: Path, attr: str, asgi3: bool) -> None:
    write(tmp_path, "apps.py", INTERFACES_MODULE)
    app = load_app(f"apps:{attr}", app_dir=str(tmp_path))
    original = getattr(sys.modules["apps"], attr)
    if asgi3:
        assert app is original
    else:
        assert isinstance(app, ASGI2Adapter)
        assert app.app is original


def test_forced_interfaces(isolated: None, tmp_path: Path) -> None:
    write(tmp_path, "apps.py", INTERFACES_MODULE)
    module_app = load_app("apps:ASGI2Class", app_dir=str(tmp_path), interface="asgi3")
    assert module_app is sys.modules["apps"].ASGI2Class
    wrapped = load_app("apps:asgi3_function", app_dir=str(tmp_path), interface="asgi2")
    assert isinstance(wrapped, ASGI2Adapter)
    assert wrapped.app is sys.modules["apps"].asgi3_function


def test_asgi2_adapter_runs_the_double_callable(isolated: None) -> None:
    app = load_app("tests.apps.plain:asgi2_app", app_dir=str(REPO))
    plain = sys.modules["tests.apps.plain"]  # the module load_app imported
    assert isinstance(app, ASGI2Adapter)
    assert app.app is plain.App
    assert repr(app) == f"ASGI2Adapter({plain.App!r})"

    sent = run(
        app,
        http_scope(),
        [
            {"type": "http.request", "body": b"part 1", "more_body": True},
            {"type": "http.request", "body": b"part 2", "more_body": False},
        ],
    )
    assert sent == [
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"11")],
        },
        {"type": "http.response.body", "body": b"hello asgi2"},
    ]


def test_asgi2_adapter_runs_lifespan(isolated: None) -> None:
    app = load_app("tests.apps.plain:asgi2_app", app_dir=str(REPO))
    sent = run(
        app,
        {"type": "lifespan", "asgi": {"version": "2.0"}, "state": {}},
        [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}],
    )
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_asgi2_adapter_passes_scope_to_constructor() -> None:
    seen: list[Any] = []

    def double(scope: Any) -> Any:
        seen.append(scope)

        async def instance(receive: Any, send: Any) -> None:
            await send({"type": "done", "got": await receive()})

        return instance

    scope = http_scope()
    sent = run(ASGI2Adapter(double), scope, [{"type": "ping"}])
    assert seen == [scope]
    assert sent == [{"type": "done", "got": {"type": "ping"}}]


def test_fastapi_app_is_asgi3(isolated: None) -> None:
    pytest.importorskip("fastapi")
    from tests.apps import fastapi_app

    assert load_app("tests.apps.fastapi_app:app", app_dir=str(REPO)) is fastapi_app.app
