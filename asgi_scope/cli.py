"""The ``asgi-scope`` command: flags, exit codes, and picking the view.

Flags follow uvicorn's where they overlap. Exit codes: 0 after a clean stop;
2 for a usage error (click's); 3 when the app cannot be loaded or the server
cannot start (uvicorn's ``STARTUP_FAILURE``): one line on stderr, no
traceback, except for an error raised inside the user's own module, whose
traceback is the user's to see; 4 after a ``--strict`` run in which the app
broke an ASGI rule (the spec checker's findings).
"""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

import click

from asgi_scope import __version__
from asgi_scope.config import DEMO_APP, Config
from asgi_scope.importer import AppLoadError, load_app
from asgi_scope.trace.recorder import DEFAULT_MAX_BODY, Recorder
from asgi_scope.trace.store import DEFAULT_KEEP, DEFAULT_KEEP_BYTES

if TYPE_CHECKING:
    from asgi_scope.trace.capture import Capture, CaptureWriter, Header
    from asgi_scope.trace.spec import Strict
    from asgi_scope.trace.store import Store

STARTUP_FAILURE = 3

STRICT_FAILURE = 4
"""Exit code after a ``--strict`` run in which the app broke an ASGI rule."""


def _fail(message: str) -> None:
    click.echo(f"asgi-scope: {message}", err=True)
    sys.exit(STARTUP_FAILURE)


class DefaultGroup(click.Group):
    """A group whose default command runs when the first argument names no command.

    ``asgi-scope main:app --port 0`` is ``asgi-scope run main:app --port 0``;
    ``asgi-scope open FILE`` is the ``open`` command. Flags given first
    (``asgi-scope --help``, ``--version``, ``--headless APP``) go to the default
    command too, so the command line of a plain run is the same as before
    subcommands existed. An app module named like a command (``open``) is still
    reachable as ``asgi-scope run open``.
    """

    def __init__(self, *args: object, default: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.default = default

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [self.default, *args]
        return super().parse_args(ctx, args)


CONTEXT = {"help_option_names": ["-h", "--help"]}


def keep_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--keep`` and ``--keep-bytes``: the store's caps, for every command that
    shows a session (run, attach)."""
    command = click.option(
        "--keep-bytes",
        default=DEFAULT_KEEP_BYTES,
        show_default=True,
        type=click.IntRange(0),
        help="Bytes of bodies and raw bytes kept to view; past that the oldest exchanges go.",
    )(command)
    return click.option(
        "--keep",
        default=DEFAULT_KEEP,
        show_default=True,
        type=click.IntRange(1),
        help="Exchanges kept to view; past that the oldest are dropped (and counted).",
    )(command)


def bind_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--host`` and ``--port``: where a command that serves listens (run, proxy),
    with uvicorn's defaults."""
    command = click.option(
        "--port",
        default=8000,
        show_default=True,
        type=click.IntRange(0, 65535),
        help="Bind to this port; 0 picks a free one.",
    )(command)
    return click.option(
        "--host", default="127.0.0.1", show_default=True, help="Bind to this address."
    )(command)


record_option = click.option(
    "--record",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write every event to FILE, a capture (JSON Lines, mode 0600) that `open` reads.",
)
"""``--record FILE``, for every command that records a session (run, attach, proxy)."""


@click.group(cls=DefaultGroup, default="run", context_settings=CONTEXT)
def main() -> None:
    """Run an ASGI app and watch it (``run``, the default), watch one that runs
    elsewhere (``attach``, ``proxy``), or work with captures."""


@main.command("run", context_settings=CONTEXT)
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
@click.option("--headless", is_flag=True, help="Print the trace as lines instead of the TUI.")
@click.option(
    "--quiet",
    is_flag=True,
    help="Trace without showing: no TUI, no line per event, nothing kept in memory "
    "(with --record, everything goes to the file); a count at the end.",
)
@keep_options
@click.option(
    "--max-body",
    default=DEFAULT_MAX_BODY,
    show_default=True,
    type=click.IntRange(0),
    help="Bytes of body (and raw bytes) kept per exchange and direction; the rest is counted.",
)
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
    config = Config(app=app or DEMO_APP, **options)  # type: ignore[arg-type]
    _check_step_flags(config, step, break_)
    try:
        asgi_app = load_app(
            config.app, app_dir=config.app_dir, factory=config.factory, interface=config.interface
        )
    except AppLoadError as exc:
        _fail(str(exc))
    except Exception as exc:  # raised inside the user's own module: theirs to see
        click.echo(_user_traceback(exc), err=True)
        _fail(f"error while importing {config.app!r} (traceback above)")
    if config.binds_all_interfaces:
        click.secho(
            f"asgi-scope: WARNING: listening on all interfaces ({config.host}): anyone who can "
            "reach this machine can send requests to the app.",
            err=True,
            fg="yellow",
            bold=True,
        )
    _tune_gc()
    recorder = Recorder(max_body=config.max_body)
    if not (config.headless or config.quiet):  # the TUI can always step (S)
        recorder.gate = _gate(recorder, step, break_)
    writer = _start_recording(record, config, recorder) if record else None
    watch = _watch_strictly(config, recorder) if strict else None
    try:
        if config.headless or config.quiet:
            _run_headless(config, asgi_app, recorder, explain)
        else:
            _run_tui(config, asgi_app, recorder, explain)
    finally:
        # The session is over: a late Ctrl-C must not cut the recording short
        # (the writer's close is bounded) or turn a clean stop into "Aborted!".
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if watch is not None:
            recorder.drain()  # what the view's last drain missed, counted
        if writer is not None:
            recorder.drain()  # what the view's last drain missed goes to the writer
            writer.close()
            if writer.error is not None:
                click.echo(f"asgi-scope: recording to {record} failed: {writer.error}", err=True)
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


def _watch_strictly(config: Config, recorder: Recorder) -> Strict:
    """``--strict``: count violations as they are drained; headless, print the first
    one loudly on stderr (the TUI marks it in the exchange table instead)."""
    from asgi_scope.trace.spec import Strict

    def loudly(event: object) -> None:
        text = f"asgi-scope: SPEC VIOLATION {_violation(event)}"
        click.secho(text, err=True, fg="red", bold=True)

    watch = Strict(loudly if config.headless or config.quiet else None)
    recorder.taps.append(watch)
    return watch


def capture_header(config: Config, recorder: Recorder) -> Header:
    """The capture header for a session of ``config`` recorded by ``recorder``."""
    from asgi_scope.trace.capture import Header, wall_clock_at_zero

    options = {
        name: getattr(config, name)
        for name in ("max_body", "factory", "app_dir", "root_path", "interface", "lifespan")
    }
    return Header(config.app, wall_clock_at_zero(recorder.now()), options)


def _start_recording(path: str, config: Config, recorder: Recorder) -> CaptureWriter:
    from asgi_scope.trace.capture import CaptureWriter

    try:
        writer = CaptureWriter(path, capture_header(config, recorder))
    except OSError as exc:
        _fail(f"cannot record to {path}: {exc.strerror or exc}")
    recorder.taps.append(writer)
    return writer


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


def _run_headless(config: Config, app: object, recorder: Recorder, explain: bool = False) -> None:
    import asyncio

    from asgi_scope.console import Printer, Tally, printing
    from asgi_scope.server.runner import Server, StartupError

    printer: Printer | Tally = Tally() if config.quiet else Printer(explain=explain)

    async def run() -> None:
        server = Server(config, app, recorder)
        async with printing(recorder, printer):
            await server.serve(ready=lambda: _hint(server.url, config))

    try:
        asyncio.run(run())
    except StartupError as exc:
        printer.print(recorder.drain())
        _fail(str(exc))
    except KeyboardInterrupt:  # a second Ctrl-C while shutting down
        pass
    if isinstance(printer, Tally):
        click.echo(f"asgi-scope: {printer.summary()}", err=True)


def _hint(url: str, config: Config) -> None:
    """One line on stderr once the server listens: where, and (quiet) that
    nothing more will be shown."""
    if config.is_demo:
        click.echo(f"asgi-scope: serving the demo app; try: curl {url}/", err=True)
    if config.quiet:
        click.echo(
            f"asgi-scope: listening on {url} (--quiet: tracing, nothing shown; "
            "Ctrl+C to stop)",
            err=True,
        )


def _run_tui(config: Config, app: object, recorder: Recorder, explain: bool = False) -> None:
    from asgi_scope.server.runner import ServerThread, StartupError
    from asgi_scope.ui.app import ScopeApp, logging_follows_stdio

    thread = ServerThread(config, app, recorder)
    try:
        thread.start()
    except StartupError as exc:
        _fail(str(exc))
    name = "demo app" if config.is_demo else config.app
    ui = ScopeApp(
        recorder,
        app_name=name,
        url=thread.url,
        on_quit=thread.stop,
        header=capture_header(config, recorder),
        resend_url=thread.url,
        keep=config.keep,
        keep_bytes=config.keep_bytes,
    )
    ui.explaining = explain
    signal.signal(signal.SIGTERM, lambda *_: ui.exit())
    try:
        with logging_follows_stdio():
            ui.run()
    finally:
        # Quitting stopped the server gracefully, unless the user quit again at
        # once: then, or after a crash, stop it now.
        thread.stop(timeout=5, force=True)


BAD_INPUT = 1
"""Exit code of open, export and replay for a file that is not a readable capture."""


def _read(path: str) -> Capture:
    """The capture at ``path``; on a bad file, one line naming file and line, exit 1.
    Warnings (a last line cut short) go to stderr."""
    from asgi_scope.trace.capture import CaptureError, read_capture

    try:
        capture = read_capture(path)
    except CaptureError as exc:
        _bad_input(str(exc))
    for warning in capture.warnings:
        click.echo(f"asgi-scope: warning: {warning}", err=True)
    return capture


@main.command("open", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=True))
@click.option("--headless", is_flag=True, help="Print the capture as lines instead of the TUI.")
def open_capture(file: str, headless: bool) -> None:
    """Show a capture FILE (from --record or the UI's save) in the inspector,
    with no server running; --headless prints it as lines.

    Exit codes: 0, or 1 for a file that is not a readable capture.
    """
    from asgi_scope.trace.capture import Playback

    capture = _read(file)
    if headless:
        from asgi_scope.console import Printer

        Printer().print(capture.events)
        return
    from asgi_scope.ui.app import ScopeApp

    header = capture.header
    name = f"{header.app or '?'} (capture of {header.started[:19].replace('T', ' ')} UTC)"
    ui = ScopeApp(Playback(capture), app_name=name, url=file, header=header)  # type: ignore[arg-type]
    ui.run()


def _store_of(capture: Capture) -> Store:
    from asgi_scope.trace.store import Store

    store = Store(whole=True)  # an export leaves nothing out
    store.add(capture.events)
    return store


@main.command("export", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=True))
@click.option(
    "--har",
    "har_out",
    metavar="OUT",
    type=click.Path(dir_okay=False),
    help="Write the HTTP and WebSocket exchanges as HAR 1.2 to OUT.",
)
@click.option(
    "--curl", "as_curl", is_flag=True, help="Print a curl command for each HTTP exchange."
)
@click.option(
    "--raw", "as_raw", is_flag=True, help="Write the raw request bytes of the --exchange to stdout."
)
@click.option(
    "--pytest",
    "pytest_out",
    metavar="OUT",
    type=click.Path(dir_okay=False),
    help="Write a pytest test of the --exchange to OUT ('-' for stdout).",
)
@click.option(
    "--exchange",
    "-e",
    "exchanges",
    type=int,
    multiple=True,
    metavar="ID",
    help="Only this exchange (the # column); repeat for more.",
)
@click.option(
    "--app",
    "app_override",
    metavar="APP",
    help="The app the pytest test imports (default: the recorded one).",
)
@click.option(
    "--no-redact",
    is_flag=True,
    help="Keep authorization, cookie, set-cookie and proxy-authorization values.",
)
def export(
    file: str,
    har_out: str | None,
    as_curl: bool,
    as_raw: bool,
    pytest_out: str | None,
    exchanges: tuple[int, ...],
    app_override: str | None,
    no_redact: bool,
) -> None:
    """Export a capture FILE: HAR 1.2 (--har OUT), curl commands (--curl), the
    raw request bytes (--raw) or a pytest regression test (--pytest OUT) of an
    exchange. Credential headers are redacted unless --no-redact.

    Exit codes: 0; 1 for a file that is not a readable capture or an exchange
    that cannot be exported; 2 for a usage error.
    """
    if not (har_out or as_curl or as_raw or pytest_out):
        raise click.UsageError("say what to export: --har OUT, --curl, --raw or --pytest OUT")
    if (as_raw or pytest_out) and len(exchanges) != 1:
        raise click.UsageError("--raw and --pytest export one exchange: give --exchange ID")
    from asgi_scope.export.flows import flows

    capture = _read(file)
    store = _store_of(capture)
    redact = not no_redact
    missing = [i for i in exchanges if i not in store.exchanges]
    if missing:
        _bad_input(f"{file}: no exchange #{missing[0]} in this capture")
    chosen = flows(store, list(exchanges) if exchanges else None)
    if har_out:
        from asgi_scope.export.har import har, write_har

        comment = f"asgi-scope capture of {capture.header.app}, {capture.header.started}"
        document = har(chosen, capture.header.started_ns, redact=redact, comment=comment)
        try:
            write_har(har_out, document)
        except OSError as exc:
            _bad_input(f"{har_out}: {exc.strerror or exc}")
        click.echo(f"asgi-scope: wrote {len(chosen)} entries to {har_out}", err=True)
    if as_curl:
        from asgi_scope.export.curl import curl
        from asgi_scope.trace.safe import safe_text

        for flow in chosen:
            if flow.kind == "http":
                click.echo(
                    f"# #{flow.exchange} {safe_text(flow.request.method)} "
                    f"{safe_text(flow.request.target)}"
                )
                click.echo(curl(flow.request, redact=redact))
    if as_raw:
        from asgi_scope.export.raw import raw_request

        data = raw_request(store, store.exchanges[exchanges[0]], redact=redact)
        click.get_binary_stream("stdout").write(data)
    if pytest_out:
        _export_pytest(capture, chosen, pytest_out, app_override, redact)


def _export_pytest(
    capture: Capture, chosen: list, out: str, app_override: str | None, redact: bool
) -> None:
    from asgi_scope.export.pytest_test import pytest_test

    if not chosen:
        _bad_input("that exchange is not an HTTP exchange")
    header = capture.header
    try:
        source = pytest_test(
            chosen[0],
            app_override or header.app,
            factory=bool(header.options.get("factory")) and not app_override,
            redact=redact,
            source=f"a capture of {header.started}",
        )
    except ValueError as exc:
        _bad_input(str(exc))
    if out == "-":
        click.echo(source, nl=False)
        return
    from asgi_scope.trace.capture import create_private

    with create_private(out) as handle:
        handle.write(source)
    click.echo(f"asgi-scope: wrote {out}", err=True)


def _bad_input(message: str) -> NoReturn:
    click.echo(f"asgi-scope: {message}", err=True)
    sys.exit(BAD_INPUT)


@main.command("replay", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=True))
@click.argument("app", metavar="APP")
@click.option(
    "--app-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Look for APP in this directory (put first on sys.path).",
)
@click.option("--factory", is_flag=True, help="APP is a function that returns the app.")
@click.option(
    "--lifespan",
    type=click.Choice(["auto", "on", "off"]),
    default="auto",
    show_default=True,
    help="Run the lifespan protocol around the replay.",
)
def replay(file: str, app: str, app_dir: str, factory: bool, lifespan: str) -> None:
    """Send every HTTP request of a capture FILE again to APP, served by
    asgi-scope's own server on 127.0.0.1, and print, side by side, the status
    and body each got then and now.

    Requests go one at a time, in the order they were recorded, each on a new
    connection, with their recorded headers (Host rewritten to the new server)
    and body; WebSocket sessions are not replayed. Exit codes: 0 when done
    (differences are reported, not errors);
    1 for a file that is not a readable capture; 3 when APP cannot be loaded or
    served.
    """
    from asgi_scope.export.flows import flows
    from asgi_scope.resend import resend
    from asgi_scope.server.runner import ServerThread, StartupError
    from asgi_scope.trace.safe import safe_text
    from asgi_scope.trace.summary import fmt_bytes as size

    capture = _read(file)
    chosen = [f for f in flows(_store_of(capture)) if f.kind == "http"]
    # Nothing views this server's trace: keep no bodies in it (max_body=0).
    config = Config(
        app=app, app_dir=app_dir, factory=factory, lifespan=lifespan, port=0, max_body=0
    )
    try:
        asgi_app = load_app(app, app_dir=app_dir, factory=factory, interface="auto")
    except AppLoadError as exc:
        _fail(str(exc))
    thread = ServerThread(config, asgi_app, Recorder())
    try:
        thread.start()
    except StartupError as exc:
        _fail(str(exc))
    same = 0
    try:
        for flow in chosen:
            before = flow.response
            what = f"#{flow.exchange:<4} {safe_text(flow.request.method)} "
            what += safe_text(flow.request.target)
            try:
                answer = resend(flow.request, thread.url)
            except Exception as exc:  # the app broke the connection: a difference
                click.echo(
                    f"{what:<48} {before.status if before else '-':>3} → error: "
                    f"{safe_text(str(exc))}"
                )
                continue
            old_status = before.status if before else 0
            verdict = _body_verdict(
                before.body if before else b"",
                before.truncated if before else False,
                answer.body,
                size,
            )
            if old_status == answer.status and verdict == "same body":
                same += 1
            mark = "  " if old_status == answer.status else "≠ "
            click.echo(f"{what:<48} {old_status or '-':>3} → {answer.status:<3} {mark}{verdict}")
    finally:
        thread.stop()
    click.echo(f"{len(chosen)} requests: {same} the same, {len(chosen) - same} different")


def _body_verdict(old: bytes, truncated: bool, new: bytes, size: Callable[[int], str]) -> str:
    """``same body``, or how the new body differs from the recorded one."""
    if new == old or (truncated and new.startswith(old)):
        return "same body"
    at = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
        min(len(old), len(new)),
    )
    return f"body differs at byte {at} ({size(len(old))} → {size(len(new))})"


# The attach and proxy commands live in their own module; importing it registers
# them on ``main`` (it imports ``main`` from here, so this comes last).
from asgi_scope import remote_cli as _remote_cli  # noqa: E402, F401
