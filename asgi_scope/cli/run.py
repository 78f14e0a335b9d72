"""``asgi-scope run`` (the default command): load the app, serve it with our
server, and show the session.

Exit codes: 0 after a clean stop; 2 for a usage error; 3 when the app cannot be
loaded or the server cannot start; 4 after a ``--strict`` run in which the app
broke an ASGI rule.
"""

from __future__ import annotations

import sys
import traceback
from typing import TYPE_CHECKING

import click

from asgi_scope import __version__
from asgi_scope.cli.options import (
    CONTEXT,
    STARTUP_FAILURE,
    STRICT_FAILURE,
    bind_options,
    fail,
    keep_options,
    max_body_option,
    record_option,
    warn_all_interfaces,
)
from asgi_scope.config import DEMO_APP, Config
from asgi_scope.importer import AppLoadError, load_app
from asgi_scope.trace.recorder import Recorder

if TYPE_CHECKING:
    from asgi_scope.trace.capture import Header


@click.command("run", context_settings=CONTEXT)
@click.argument("app", required=False, metavar="[APP]")
@bind_options
@click.option(
    "--app-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Look for APP in this directory (put first on sys.path).",
)
@click.option("--factory", is_flag=True, help="APP is a function that returns the app.")
@click.option("--root-path", default="", help="The ASGI root_path, for an app mounted below /.")
@click.option(
    "--interface",
    type=click.Choice(["auto", "asgi3", "asgi2"]),
    default="auto",
    show_default=True,
    help="The app's ASGI interface; auto detects ASGI 2 double callables.",
)
@click.option(
    "--lifespan",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="Run the lifespan protocol: auto carries on if the app does not support it.",
)
@click.option(
    "--layers/--no-layers",
    default=None,
    help="Trace every middleware layer's boundary (default: on where the app has a chain; "
    "--layers fails if it has none).",
)
@click.option("--headless", is_flag=True, help="Print the trace as lines instead of the TUI.")
@click.option(
    "--quiet",
    is_flag=True,
    help="Trace without showing: no TUI, no line per event, nothing kept in memory "
    "(with --record, everything goes to the file); a count at the end.",
)
@keep_options
@max_body_option
@click.option(
    "--timeout-keep-alive",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Close a keep-alive connection after this many idle seconds.",
)
@click.option(
    "--timeout-request-head",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Answer 408 and close when a request head takes longer than this to arrive.",
)
@click.option(
    "--timeout-graceful-shutdown",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds in-flight requests get to finish at shutdown.",
)
@click.option(
    "--timeout-ws-close",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds a WebSocket client gets to answer the server's close frame.",
)
@click.option(
    "--limit-concurrency",
    default=None,
    type=click.IntRange(1),
    help="Answer 503 once this many connections or tasks are open.",
)
@click.option(
    "--ws-max-size",
    default=16 * 1024 * 1024,
    show_default=True,
    type=click.IntRange(1),
    help="Largest WebSocket message in bytes; a larger one closes the connection (1009).",
)
@click.option(
    "--server-header/--no-server-header",
    default=True,
    show_default=True,
    help="Add a server header to responses that have none.",
)
@click.option(
    "--date-header/--no-date-header",
    default=True,
    show_default=True,
    help="Add a date header to responses that have none.",
)
@record_option
@click.option(
    "--strict",
    is_flag=True,
    help="Exit with code 4 if the app broke an ASGI rule; headless, say so loudly at once.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Explain each event in plain words, with its spec section (TUI: press i).",
)
@click.option(
    "--step",
    is_flag=True,
    help="Step mode: hold each message at the shim until you press space (TUI only).",
)
@click.option(
    "--break",
    "break_",
    metavar="FILTER",
    help="Step only through exchanges matching FILTER, e.g. '~m POST' (implies --step).",
)
@click.version_option(__version__, "--version", prog_name="asgi-scope")
def run(
    app: str | None,
    record: str | None,
    strict: bool,
    explain: bool,
    step: bool,
    break_: str | None,
    **options: object,
) -> None:
    """Run an ASGI APP (as module:attribute, e.g. main:app) and watch every
    scope, message and byte it exchanges, live.

    With no APP, serves the built-in demo app. Other commands: open, export,
    replay; attach (apps wrapped in TraceMiddleware, under any server), proxy
    (any HTTP/1.1 server) (asgi-scope COMMAND --help).
    """
    from asgi_scope.console import Tally
    from asgi_scope.server.runner import Server, StartupError
    from asgi_scope.session import Session
    from asgi_scope.trace.layers import NoLayersError, wrap_layers

    config = Config(app=app or DEMO_APP, **options)  # type: ignore[arg-type]
    _check_step_flags(config, step, break_)
    try:
        asgi_app = load_app(
            config.app, app_dir=config.app_dir, factory=config.factory, interface=config.interface
        )
    except AppLoadError as exc:
        fail(str(exc), STARTUP_FAILURE)
    except Exception as exc:  # raised inside the user's own module: theirs to see
        click.echo(_user_traceback(exc), err=True)
        fail(f"error while importing {config.app!r} (traceback above)", STARTUP_FAILURE)
    if config.layers is not False:
        try:
            asgi_app, _ = wrap_layers(asgi_app, required=bool(config.layers))
        except NoLayersError as exc:
            fail(str(exc), STARTUP_FAILURE)
    if config.binds_all_interfaces:
        warn_all_interfaces(config.host, "send requests to the app")
    _tune_gc()
    server = Server(config, asgi_app, Recorder(max_body=config.max_body))
    headless = config.headless or config.quiet
    if not headless:  # the TUI can always step (S)
        server.recorder.gate = _gate(server.recorder, step, break_)
    session = Session(
        server,
        title="demo app" if config.is_demo else config.app,
        header=capture_header(config, server.recorder),
        view="quiet" if config.quiet else "headless" if config.headless else "tui",
        explain=explain,
        keep=config.keep,
        keep_bytes=config.keep_bytes,
        resend=True,
        ready=lambda: _hint(server.url, config),
    )
    if record:
        try:
            session.record_to(record)
        except OSError as exc:
            fail(f"cannot record to {record}: {exc.strerror or exc}", STARTUP_FAILURE)
    if strict:
        session.watch_strictly(_say_loudly if headless else None)
    try:
        error = session.run()
    except StartupError as exc:
        fail(str(exc), STARTUP_FAILURE)
    if error is not None:
        click.echo(f"asgi-scope: recording to {record} failed: {error}", err=True)
    if isinstance(session.printer, Tally):
        click.echo(f"asgi-scope: {session.printer.summary()}", err=True)
    watch = session.strict
    if watch is not None and watch.count:
        click.secho(
            f"asgi-scope: {watch.count} spec violation(s); the first: {_violation(watch.first)}",
            err=True,
            fg="red",
        )
        sys.exit(STRICT_FAILURE)


def _gate(recorder: Recorder, step: bool, break_: str | None) -> object:
    """Step mode's gate for the TUI: holding if ``--step`` or ``--break``."""
    from asgi_scope.trace.filter import parse
    from asgi_scope.trace.step import Gate

    gate = Gate(stepping=step or bool(break_), now=recorder.now)
    if break_:
        gate.set_breakpoint(parse(break_))
    return gate


def _check_step_flags(config: Config, step: bool, break_: str | None) -> None:
    """``--step`` and ``--break`` need the TUI, and ``--break`` a filter that parses."""
    if (step or break_) and (config.headless or config.quiet):
        raise click.UsageError("--step and --break need the TUI: drop --headless/--quiet")
    if break_:
        from asgi_scope.trace.filter import FilterError, parse

        try:
            parse(break_)
        except FilterError as exc:
            raise click.BadParameter(
                f"{exc} (at character {exc.position + 1})", param_hint="--break"
            ) from None


def _violation(event: object) -> str:
    from asgi_scope.trace.safe import safe_text

    rule, detail = getattr(event, "rule", "?"), getattr(event, "detail", "")
    return safe_text(f"{rule}: {detail} (#{getattr(event, 'exchange', 0)})")


def _say_loudly(event: object) -> None:
    """``--strict``, headless: the first violation at once, loudly on stderr (the
    TUI marks it in the exchange table instead)."""
    click.secho(f"asgi-scope: SPEC VIOLATION {_violation(event)}", err=True, fg="red", bold=True)


def capture_header(config: Config, recorder: Recorder) -> Header:
    """The capture header for a session of ``config`` recorded by ``recorder``."""
    from asgi_scope.trace.capture import Header, wall_clock_at_zero

    options = {
        name: getattr(config, name)
        for name in ("max_body", "factory", "app_dir", "root_path", "interface", "lifespan")
    }
    return Header(config.app, wall_clock_at_zero(recorder.now()), options)


GC_THRESHOLDS = (50_000, 20, 100)
"""The collector's thresholds while serving (CPython's are 700, 10, 10)."""


def _tune_gc() -> None:
    """Collect garbage less often while serving and recording.

    Every request allocates a few hundred objects (h11's events, the scope, the
    trace's events and snapshots), and under the TUI the store keeps ten
    thousand exchanges of them alive. At CPython's default thresholds the
    collector runs every 700 allocations and, every hundred runs, walks
    everything alive: a third of the server's time under the TUI once the
    store is full, and collections for nothing in the other modes. Collecting
    young objects every 50,000 allocations instead keeps the same bounded
    memory.
    """
    import gc

    gc.set_threshold(*GC_THRESHOLDS)


def _user_traceback(exc: BaseException) -> str:
    """The traceback of an error raised in the user's module, without the frames
    of asgi-scope's importer and of importlib that led there."""
    tb = traceback.TracebackException.from_exception(exc)
    tb.stack = traceback.StackSummary.from_list(
        [f for f in tb.stack if "importlib" not in f.filename and "asgi_scope" not in f.filename]
    )
    return "".join(tb.format()).rstrip()


def _hint(url: str, config: Config) -> None:
    """One line on stderr once the server listens: where, and (quiet) that
    nothing more will be shown."""
    if config.is_demo:
        click.echo(f"asgi-scope: serving the demo app; try: curl {url}/", err=True)
    if config.quiet:
        click.echo(
            f"asgi-scope: listening on {url} (--quiet: tracing, nothing shown; Ctrl+C to stop)",
            err=True,
        )
