"""``asgi-scope run`` (the default command): load the app, serve it with our
server, and show the session.

Exit codes: 0 after a clean stop; 2 for a usage error; 3 when the app cannot be
loaded or the server cannot start; 4 after a ``--strict`` run in which the app
broke an ASGI rule of the failing severity.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from asgi_scope import __version__
from asgi_scope.cli.options import (
    BAD_INPUT,
    CONTEXT,
    STARTUP_FAILURE,
    OtlpTarget,
    StrictCommand,
    bind_options,
    check_headless,
    check_strictly,
    end_strictly,
    export_otlp,
    fail,
    headless_options,
    keep_options,
    load_policy,
    max_body_option,
    otlp_option,
    record_option,
    redact_option,
    strict_options,
    warn_all_interfaces,
)
from asgi_scope.config import DEMO_APP, Config
from asgi_scope.export.redact import Redactor
from asgi_scope.trace.recorder import Recorder

if TYPE_CHECKING:
    from asgi_scope.server.reload import Watch
    from asgi_scope.trace.capture import Header


@click.command("run", cls=StrictCommand, context_settings=CONTEXT)
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
@click.option("--uds", metavar="PATH", help="Listen on this Unix domain socket instead.")
@click.option(
    "--fd", type=click.IntRange(0), help="Serve the listening socket of this file descriptor."
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, exists=True),
    help="Load environment variables for the app from this file (needs python-dotenv).",
)
@click.option("--ssl-keyfile", type=click.Path(dir_okay=False, exists=True), help="TLS key file.")
@click.option(
    "--ssl-certfile", type=click.Path(dir_okay=False, exists=True), help="TLS certificate file."
)
@click.option("--ssl-keyfile-password", help="The password of the TLS key file.")
@click.option(
    "--proxy-headers/--no-proxy-headers",
    default=False,
    show_default=True,
    help="Take the client and scheme from X-Forwarded-For/-Proto of trusted proxies.",
)
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Comma-separated proxy addresses trusted with --proxy-headers ('*': all).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug", "trace"]),
    default="info",
    show_default=True,
    help="Drop the server's own notes below this level.",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    help="Accepted for uvicorn's command lines: the trace is the access log.",
)
@click.option(
    "--http",
    type=click.Choice(["auto", "h11", "httptools"]),
    default="auto",
    help="Accepted as auto or h11: the server is h11's (it must see every byte).",
)
@click.option(
    "--loop",
    type=click.Choice(["auto", "asyncio", "uvloop"]),
    default="auto",
    help="Accepted as auto or asyncio: the app process runs asyncio's own loop.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=1,
    help="One app process only; to trace several workers use TraceMiddleware + attach.",
)
@click.option(
    "--reload",
    is_flag=True,
    help="Restart the app process when a watched file changes (the trace goes on).",
)
@click.option(
    "--reload-dir",
    "reload_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True),
    help="Watch this directory for changes (repeatable; default: the current one).",
)
@click.option(
    "--reload-include",
    "reload_includes",
    multiple=True,
    metavar="GLOB",
    help="Restart on changes to files matching GLOB (repeatable; default: *.py).",
)
@click.option(
    "--reload-exclude",
    "reload_excludes",
    multiple=True,
    metavar="GLOB",
    help="Ignore changes to files matching GLOB (repeatable; default: .* .py[cod] .sw.* ~*).",
)
@click.option(
    "--reload-delay",
    default=0.25,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds over which changes are gathered before one restart.",
)
@record_option
@otlp_option
@redact_option
@strict_options
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
@headless_options
@click.version_option(__version__, "--version", prog_name="asgi-scope")
def run(
    app: str | None,
    record: str | None,
    otlp: OtlpTarget | None,
    redact_names: tuple[str, ...],
    format_: str,
    filter_: str,
    strict: str | None,
    ignore: tuple[str, ...],
    report: str | None,
    report_format: str,
    explain: bool,
    step: bool,
    break_: str | None,
    access_log: bool,
    http: str,
    loop: str,
    workers: int,
    **options: object,
) -> None:
    """Run an ASGI APP (as module:attribute, e.g. main:app) and watch every
    scope, message and byte it exchanges, live.

    With no APP, serves the built-in demo app. Other commands: open, export,
    replay; attach (apps wrapped in TraceMiddleware, under any server), proxy
    (any HTTP/1.1 server) (asgi-scope COMMAND --help).
    """
    from asgi_scope.console import Tally
    from asgi_scope.server.runner import StartupError
    from asgi_scope.server.supervisor import AppStartError, Supervisor
    from asgi_scope.session import Session
    from asgi_scope.trace.channel import RelayRecorder

    _check_uvicorn_flags(http, loop, workers)
    config = Config(app=app or DEMO_APP, **options)  # type: ignore[arg-type]
    _check_step_flags(config, step, break_)
    policy = load_policy(config.app_dir, ignore, strict)
    check_headless(config.headless, format_, filter_)
    if config.binds_all_interfaces:
        warn_all_interfaces(config.host, "send requests to the app")
    _tune_gc()
    headless = config.headless or config.quiet
    server = Supervisor(  # the TUI can always step (S)
        config,
        RelayRecorder(max_body=config.max_body),
        gate=not headless,
        step=step,
        break_=break_,
        reload=_watch(config),
    )
    session = Session(
        server,
        title="demo app" if config.is_demo else config.app,
        header=capture_header(config, server.recorder),
        view="quiet" if config.quiet else "headless" if config.headless else "tui",
        explain=explain,
        format=format_,
        filter=filter_,
        keep=config.keep,
        keep_bytes=config.keep_bytes,
        resend=config.uds is None and not config.ssl_certfile,  # re-sent over plain TCP
        ready=lambda: _hint(server.url, config),
        redact=Redactor.with_names(redact_names),
    )
    if record:
        try:
            session.record_to(record)
        except OSError as exc:
            fail(f"cannot record to {record}: {exc.strerror or exc}", BAD_INPUT)
    export_otlp(session, otlp)
    check_strictly(session, policy, report, headless)
    try:
        error = session.run()
    except AppStartError as exc:
        if exc.details:
            click.echo(exc.details, err=True)
        fail(str(exc), STARTUP_FAILURE)
    except StartupError as exc:
        fail(str(exc), STARTUP_FAILURE)
    if error is not None:
        click.echo(f"asgi-scope: recording to {record} failed: {error}", err=True)
    if isinstance(session.printer, Tally):
        click.echo(f"asgi-scope: {session.printer.summary()}", err=True)
    end_strictly(session, report, report_format, config.app)
    if server.died is not None and headless:
        click.secho(f"asgi-scope: the app process ended: {server.died}", err=True, fg="red")
        sys.exit(STARTUP_FAILURE)


def _watch(config: Config) -> Watch | None:
    """What ``--reload`` watches (None without it); a usage error without watchfiles."""
    if not config.reload:
        if config.reload_dirs or config.reload_includes or config.reload_excludes:
            raise click.UsageError("--reload-dir/--reload-include/--reload-exclude need --reload")
        return None
    from asgi_scope.server.reload import DEFAULT_EXCLUDES, DEFAULT_INCLUDES, Watch

    try:
        import watchfiles  # noqa: F401
    except ImportError:
        raise click.UsageError(
            "--reload needs watchfiles: pip install 'asgi-scope[reload]'"
        ) from None
    return Watch(
        dirs=config.reload_dirs or (".",),
        includes=config.reload_includes or DEFAULT_INCLUDES,
        excludes=config.reload_excludes or DEFAULT_EXCLUDES,
        delay=config.reload_delay,
    )


def _check_uvicorn_flags(http: str, loop: str, workers: int) -> None:
    """uvicorn's flags that ask for what asgi-scope cannot be: one line each."""
    if http == "httptools":
        raise click.UsageError("--http httptools: asgi-scope's server is h11's (use h11 or auto)")
    if loop == "uvloop":
        raise click.UsageError("--loop uvloop: the app process runs asyncio's loop (use asyncio)")
    if workers > 1:
        raise click.UsageError(
            "--workers: asgi-scope runs one app process; to trace several workers, wrap the "
            "app in asgi_scope.TraceMiddleware, serve it with uvicorn --workers N and run "
            "`asgi-scope attach`"
        )


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
