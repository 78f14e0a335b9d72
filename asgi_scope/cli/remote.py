"""The ``attach`` and ``proxy`` commands: inspecting apps that run elsewhere.

Like every command module, this one imports nothing heavy at import time
(``--help`` stays fast). Exit codes: 0 after a clean stop; 1 when the address
cannot be listened on (or the upstream URL is unusable), with one line on
stderr; 2 for a usage error; 4 after a ``--strict`` run that saw a finding of
the failing severity (as ``run``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from asgi_scope.cli.options import (
    BAD_INPUT,
    CONTEXT,
    OtlpTarget,
    StrictCommand,
    bind_options,
    check_strictly,
    end_strictly,
    export_otlp,
    fail,
    keep_options,
    load_policy,
    max_body_option,
    need_otel,
    otlp_option,
    record_option,
    redact_option,
    strict_options,
    warn_all_interfaces,
)
from asgi_scope.export.redact import Redactor
from asgi_scope.remote.stream import default_address

if TYPE_CHECKING:
    from asgi_scope.remote.attach import AttachRecorder
    from asgi_scope.remote.otlp_listen import OtlpListener
    from asgi_scope.session import Session


@click.command("attach", cls=StrictCommand, context_settings=CONTEXT)
@click.argument("address", default=default_address, required=False)
@click.option("--headless", is_flag=True, help="Print the streams as lines instead of the TUI.")
@click.option(
    "--otlp-listen",
    metavar="HOST:PORT",
    help=(
        "Receive OTLP/HTTP (POST /v1/traces, /v1/logs; protobuf or JSON) on HOST:PORT "
        "and show each SERVER span of an OpenTelemetry-instrumented app as an exchange; "
        "streams too when ADDRESS is given. Off loopback, requests need "
        "Authorization: Bearer <attach token>. Needs asgi-scope[otel]."
    ),
)
@keep_options
@record_option
@otlp_option
@redact_option
@strict_options
def attach(
    address: str,
    headless: bool,
    otlp_listen: str | None,
    keep: int,
    keep_bytes: int,
    record: str | None,
    otlp: OtlpTarget | None,
    redact_names: tuple[str, ...],
    strict: str | None,
    ignore: tuple[str, ...],
    report: str | None,
    report_format: str,
) -> None:
    from asgi_scope.remote.attach import AttachRecorder, Listener, ListenError
    from asgi_scope.remote.stream import AddressError, parse_address
    from asgi_scope.session import EventSource, Session, Together
    from asgi_scope.trace.capture import Header

    try:
        where = parse_address(address, files=False)
    except AddressError as exc:
        fail(str(exc), BAD_INPUT)
    policy = load_policy(".", ignore, strict)
    recorder = AttachRecorder()
    # --otlp-listen without an ADDRESS listens for OTLP alone; with one, for both.
    given = click.get_current_context().get_parameter_source("address")
    streams = otlp_listen is None or given is not click.core.ParameterSource.DEFAULT
    listener = Listener(where, recorder) if streams else None
    otel = _otlp_listener(otlp_listen, recorder) if otlp_listen is not None else None
    parts: list[EventSource] = [s for s in (listener, otel) if s is not None]
    source = parts[0] if len(parts) == 1 else Together(*parts)
    names = ([str(where)] if listener else []) + ([f"OTLP {otlp_listen}"] if otel else [])

    def ready() -> None:
        said = [f"for streams on {listener.url}"] if listener else []
        said += [f"for OTLP/HTTP on {otel.endpoint}"] if otel else []
        click.echo(f"asgi-scope: listening {' and '.join(said)}", err=True)

    session = Session(
        source,
        title=f"attached to {' + '.join(names)}",
        header=Header(f"attach {' + '.join(names)}", recorder.started_ns, {"source": "attach"}),
        view="headless" if headless else "tui",
        keep=keep,
        keep_bytes=keep_bytes,
        ready=ready,
        stop_timeout=2.0,
        redact=Redactor.with_names(redact_names),
    )
    check_strictly(session, policy, report, headless)
    _run(session, record, otlp, ListenError)
    first = next(iter(listener.apps), None) if listener else None
    end_strictly(session, report, report_format, first or f"attach {' + '.join(names)}")


def _otlp_listen_address(value: str) -> tuple[str, int]:
    """``--otlp-listen``'s ``(host, port)``; exits 1 with one line for a bad one
    or without the ``otel`` extra."""
    need_otel("--otlp-listen")
    from asgi_scope.remote.otlp_listen import parse_listen

    try:
        return parse_listen(value)
    except ValueError as exc:
        fail(str(exc), BAD_INPUT)


def _otlp_listener(value: str, recorder: AttachRecorder) -> OtlpListener:
    host, port = _otlp_listen_address(value)
    from asgi_scope.remote.otlp_listen import OtlpListener

    if host in ("0.0.0.0", "::"):
        warn_all_interfaces(host, "reach the OTLP receiver (each request needs the attach token)")
    return OtlpListener(host, port, recorder)


@click.command("proxy", cls=StrictCommand, context_settings=CONTEXT)
@click.argument("upstream", metavar="UPSTREAM")
@bind_options
@click.option("--headless", is_flag=True, help="Print the trace as lines instead of the TUI.")
@click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds to wait for the upstream to connect or answer (then 504).",
)
@max_body_option
@record_option
@otlp_option
@redact_option
@strict_options
def proxy(
    upstream: str,
    host: str,
    port: int,
    headless: bool,
    timeout: float,
    max_body: int,
    record: str | None,
    otlp: OtlpTarget | None,
    redact_names: tuple[str, ...],
    strict: str | None,
    ignore: tuple[str, ...],
    report: str | None,
    report_format: str,
) -> None:
    """Listen on --host:--port and forward every request to UPSTREAM, an HTTP/1.1
    server in any language (http://127.0.0.1:9000), showing both sides: the
    client's and the upstream's bytes, the timings, and the exchange as the ASGI
    messages an app would have seen.

    A reverse proxy to UPSTREAM only: the host a client names is never
    contacted. WebSocket upgrades are forwarded. An upstream that is down gets
    the client a 502 saying why. Exit codes: 0; 1 when UPSTREAM is not an
    http:// URL or the address cannot be bound.
    """
    from asgi_scope.cli.run import capture_header
    from asgi_scope.config import Config
    from asgi_scope.proxy.app import ReverseProxy
    from asgi_scope.proxy.upstream import UpstreamError, parse_upstream, reachable
    from asgi_scope.server.runner import Server, StartupError
    from asgi_scope.session import Session
    from asgi_scope.trace.recorder import Recorder

    try:
        target = parse_upstream(upstream)
    except UpstreamError as exc:
        fail(str(exc), BAD_INPUT)
    policy = load_policy(".", ignore, strict)
    config = Config(
        app=f"proxy → {target.origin}{target.base}",
        host=host,
        port=port,
        lifespan="off",
        headless=headless,
        max_body=max_body,
    )
    if config.binds_all_interfaces:
        warn_all_interfaces(config.host, f"send requests through to {target.origin}")
    recorder = Recorder(max_body=max_body)
    server = Server(config, ReverseProxy(target, recorder, timeout), recorder)
    why = reachable(target)
    if why:
        click.secho(
            f"asgi-scope: warning: upstream {target.origin} is not reachable now ({why}); "
            "clients get 502 until it is",
            err=True,
            fg="yellow",
        )
    session = Session(
        server,
        title=config.app,
        header=capture_header(config, recorder),
        view="headless" if headless else "tui",
        keep=config.keep,
        keep_bytes=config.keep_bytes,
        ready=lambda: click.echo(f"asgi-scope: proxy listening on {server.url}", err=True),
        redact=Redactor.with_names(redact_names),
    )
    check_strictly(session, policy, report, headless)
    _run(session, record, otlp, StartupError)
    end_strictly(session, report, report_format, f"{target.origin}{target.base}")


def _run(
    session: Session,
    record: str | None,
    otlp: OtlpTarget | None,
    cannot_start: type[Exception],
) -> None:
    """Record and export if asked, then run ``session``; a source that
    ``cannot_start`` is one line and exit 1."""
    if record:
        try:
            session.record_to(record)
        except OSError as exc:
            fail(f"cannot record to {record}: {exc.strerror or exc}", BAD_INPUT)
    export_otlp(session, otlp)
    try:
        error = session.run()
    except cannot_start as exc:
        fail(str(exc), BAD_INPUT)
    if error is not None:
        click.echo(f"asgi-scope: recording to {record} failed: {error}", err=True)
