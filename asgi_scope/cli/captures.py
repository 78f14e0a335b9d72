"""The commands on captures: ``open`` (view), ``export`` (HAR, curl, raw, pytest)
and ``replay`` (send every request again to an app).

Exit codes: 0; 1 for a file that is not a readable capture or an exchange that
cannot be exported; 2 for a usage error; 3 when ``replay``'s APP cannot be
loaded or served.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from asgi_scope.cli.options import (
    BAD_INPUT,
    CONTEXT,
    STARTUP_FAILURE,
    check_headless,
    fail,
    headless_options,
    redact_option,
)
from asgi_scope.config import Config
from asgi_scope.export.redact import Redactor
from asgi_scope.importer import AppLoadError, load_app
from asgi_scope.trace.recorder import Recorder

if TYPE_CHECKING:
    from asgi_scope.trace.capture import Capture
    from asgi_scope.trace.store import Store


def _read(path: str) -> Capture:
    """The capture at ``path``; on a bad file, one line naming file and line, exit 1.
    Warnings (a last line cut short) go to stderr."""
    from asgi_scope.trace.capture import CaptureError, read_capture

    try:
        capture = read_capture(path)
    except CaptureError as exc:
        fail(str(exc), BAD_INPUT)
    for warning in capture.warnings:
        click.echo(f"asgi-scope: warning: {warning}", err=True)
    return capture


@click.command("open", context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=True))
@click.option("--headless", is_flag=True, help="Print the capture as lines instead of the TUI.")
@redact_option
@headless_options
def open_capture(
    file: str, headless: bool, redact_names: tuple[str, ...], format_: str, filter_: str
) -> None:
    """Show a capture FILE (from --record or the UI's save) in the inspector,
    with no server running; --headless prints it as lines.

    Exit codes: 0, or 1 for a file that is not a readable capture.
    """
    from asgi_scope.session import CaptureSource, Session

    check_headless(headless, format_, filter_)
    capture = _read(file)
    header = capture.header
    name = f"{header.app or '?'} (capture of {header.started[:19].replace('T', ' ')} UTC)"
    view = "headless" if headless else "tui"
    redact = Redactor.with_names(redact_names)
    source = CaptureSource(capture, file)
    Session(
        source,
        title=name,
        header=header,
        view=view,
        redact=redact,
        format=format_,
        filter=filter_,
    ).run()


_controls = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]").search
"""Finds a control byte a terminal would act on (line endings and tabs are not)."""


def _store_of(capture: Capture) -> Store:
    from asgi_scope.trace.store import Store

    store = Store(whole=True)  # an export leaves nothing out
    store.add(capture.events)
    return store


@click.command("export", context_settings=CONTEXT)
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
    help="Keep every value: credentials, cookies, tokens, passwords.",
)
@redact_option
@click.option(
    "--force",
    is_flag=True,
    help="Write --raw bytes to a terminal even when they hold control characters.",
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
    redact_names: tuple[str, ...],
    force: bool,
) -> None:
    """Export a capture FILE: HAR 1.2 (--har OUT), curl commands (--curl), the
    raw request bytes (--raw) or a pytest regression test (--pytest OUT) of an
    exchange. Secrets are redacted unless --no-redact: credential and cookie
    header fields, fields named like *-token and *-secret, query parameters and
    form fields named token, password, api_key... (README: security), and each
    --redact NAME.

    Exit codes: 0; 1 for a file that is not a readable capture or an exchange
    that cannot be exported; 2 for a usage error.
    """
    if not (har_out or as_curl or as_raw or pytest_out):
        raise click.UsageError("say what to export: --har OUT, --curl, --raw or --pytest OUT")
    if (as_raw or pytest_out) and len(exchanges) != 1:
        raise click.UsageError("--raw and --pytest export one exchange: give --exchange ID")
    from asgi_scope.trace.flow import flows

    capture = _read(file)
    store = _store_of(capture)
    redact = None if no_redact else Redactor.with_names(redact_names)
    missing = [i for i in exchanges if i not in store.exchanges]
    if missing:
        fail(f"{file}: no exchange #{missing[0]} in this capture", BAD_INPUT)
    chosen = flows(store, list(exchanges) if exchanges else None)
    if har_out:
        from asgi_scope.export.har import har, write_har

        comment = f"asgi-scope capture of {capture.header.app}, {capture.header.started}"
        document = har(chosen, capture.header.started_ns, redact=redact, comment=comment)
        try:
            write_har(har_out, document)
        except OSError as exc:
            fail(f"{har_out}: {exc.strerror or exc}", BAD_INPUT)
        click.echo(f"asgi-scope: wrote {len(chosen)} entries to {har_out}", err=True)
    if as_curl:
        from asgi_scope.export.curl import curl
        from asgi_scope.trace.safe import safe_text

        for flow in chosen:
            if flow.kind == "http":
                target = redact.target(flow.request.target) if redact else flow.request.target
                click.echo(
                    f"# #{flow.exchange} {safe_text(flow.request.method)} {safe_text(target)}"
                )
                click.echo(curl(flow.request, redact=redact))
    if as_raw:
        from asgi_scope.export.raw import raw_request

        data = raw_request(store, store.exchanges[exchanges[0]], redact=redact)
        if not force and sys.stdout.isatty() and _controls(data):
            fail(
                "the raw bytes hold control characters: not written to a terminal "
                "(redirect to a file, or --force)",
                BAD_INPUT,
            )
        click.get_binary_stream("stdout").write(data)
    if pytest_out:
        _export_pytest(capture, chosen, pytest_out, app_override, redact)


def _export_pytest(
    capture: Capture, chosen: list, out: str, app_override: str | None, redact: Redactor | None
) -> None:
    from asgi_scope.export.pytest_test import pytest_test

    if not chosen:
        fail("that exchange is not an HTTP exchange", BAD_INPUT)
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
        fail(str(exc), BAD_INPUT)
    if out == "-":
        click.echo(source, nl=False)
        return
    from asgi_scope.trace.private_file import create_private

    with create_private(out) as handle:
        handle.write(source)
    click.echo(f"asgi-scope: wrote {out}", err=True)


@click.command("replay", context_settings=CONTEXT)
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
    from asgi_scope.export.resend import resend
    from asgi_scope.server.runner import Server, StartupError
    from asgi_scope.session import LoopThread
    from asgi_scope.trace.flow import flows
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
        fail(str(exc), STARTUP_FAILURE)
    thread = LoopThread(Server(config, asgi_app, Recorder()))
    try:
        thread.start()
    except StartupError as exc:
        fail(str(exc), STARTUP_FAILURE)
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
