"""What every command shares: exit codes, the one-line failure, and the options
declared once (``--host``/``--port``, ``--keep``/``--keep-bytes``, ``--record``,
``--otlp``).

Imports nothing heavy (``--help`` stays fast).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

import click

from asgi_scope.trace.recorder import DEFAULT_MAX_BODY
from asgi_scope.trace.rules import Policy, PolicyError
from asgi_scope.trace.store import DEFAULT_KEEP, DEFAULT_KEEP_BYTES

if TYPE_CHECKING:
    from asgi_scope.export.redact import Redactor
    from asgi_scope.session import Session

BAD_INPUT = 1
"""Exit code for a file that is not a readable capture, an address that cannot be
listened on, or an upstream URL that cannot be used."""

STARTUP_FAILURE = 3
"""Exit code when the app cannot be loaded or the server cannot start (uvicorn's)."""

STRICT_FAILURE = 4
"""Exit code after a ``--strict`` run in which the app broke an ASGI rule of the
failing severity (``--strict``: error; ``--strict=warning``: error or warning)."""

CONTEXT = {"help_option_names": ["-h", "--help"]}


def fail(message: str, code: int) -> NoReturn:
    """One line ``asgi-scope: message`` on stderr, then exit with ``code``."""
    click.echo(f"asgi-scope: {message}", err=True)
    sys.exit(code)


def warn_all_interfaces(host: str, reach: str) -> None:
    """The loud warning for a bind to every interface: ``reach`` says what anyone
    who can reach this machine gets to (``"send requests to the app"``)."""
    click.secho(
        f"asgi-scope: WARNING: listening on all interfaces ({host}): anyone who can "
        f"reach this machine can {reach}.",
        err=True,
        fg="yellow",
        bold=True,
    )


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


redact_option = click.option(
    "--redact",
    "redact_names",
    metavar="NAME",
    multiple=True,
    help=(
        "Also redact the header field, query parameter or form field NAME in what "
        "leaves the live view (exports, the headless raw-bytes preview); repeatable."
    ),
)
"""``--redact NAME``, for every command with exports or a headless view."""


OTEL_EXTRA = "--otlp needs OpenTelemetry's protobuf messages: pip install 'asgi-scope[otel]'"
"""The one line for ``--otlp`` without the ``asgi-scope[otel]`` extra."""


def need_otel(option: str) -> None:
    """Exit with one line (code 1) unless ``opentelemetry-proto`` (the
    ``asgi-scope[otel]`` extra) is installed; ``option`` names the flag that needs it."""
    from asgi_scope.export.extras import installed

    if not installed("opentelemetry.proto"):
        fail(OTEL_EXTRA.replace("--otlp", option, 1), BAD_INPUT)


class OtlpTarget(NamedTuple):
    """Where and how ``--otlp`` sends: the collector's URL and the OTLP protocol
    (``"http/protobuf"`` or ``"grpc"``, the values of the SDK's
    ``OTEL_EXPORTER_OTLP_PROTOCOL``)."""

    endpoint: str
    protocol: str


GRPC_EXTRA = "--otlp-protocol grpc needs grpcio: pip install 'asgi-scope[otel-grpc]'"
"""The one line for ``--otlp-protocol grpc`` without ``grpcio``."""


def _otlp_protocol(ctx: click.Context, param: click.Parameter, value: str) -> None:
    ctx.meta["asgi_scope.otlp_protocol"] = value  # read by --otlp's callback, which runs later


def _otlp(ctx: click.Context, param: click.Parameter, value: str | None) -> OtlpTarget | None:
    from urllib.parse import urlsplit

    from asgi_scope.export.extras import installed

    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"an http:// or https:// URL, not {value!r}")
    need_otel("--otlp")
    protocol = ctx.meta.get("asgi_scope.otlp_protocol", "http/protobuf")
    if protocol == "grpc" and not installed("grpc"):
        fail(GRPC_EXTRA, BAD_INPUT)
    return OtlpTarget(value, protocol)


def otlp_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--otlp ENDPOINT`` (an :class:`OtlpTarget`, or None) and
    ``--otlp-protocol``, for every command that records a session (run, attach,
    proxy)."""
    command = click.option(
        "--otlp",
        metavar="ENDPOINT",
        callback=_otlp,
        help=(
            "Send each exchange to an OpenTelemetry Collector at ENDPOINT (OTLP/HTTP "
            "protobuf, e.g. http://127.0.0.1:4318): a span per exchange and per middleware "
            "layer, a log record per message, secrets redacted. Needs asgi-scope[otel]."
        ),
    )(command)
    return click.option(
        "--otlp-protocol",
        type=click.Choice(["http/protobuf", "grpc"]),
        default="http/protobuf",
        show_default=True,
        is_eager=True,
        expose_value=False,
        callback=_otlp_protocol,
        help=(
            "How --otlp sends: OTLP/HTTP protobuf, or OTLP/gRPC (ENDPOINT such as "
            "http://127.0.0.1:4317; needs asgi-scope[otel-grpc])."
        ),
    )(command)


def export_otlp(session: Session, target: OtlpTarget | None) -> None:
    """Add ``--otlp``'s exporter to ``session`` (nothing without a target); its
    notes (the first loss, the summary at the end) go to stderr."""
    if target is not None:
        session.export_otlp(
            target.endpoint,
            note=lambda text: click.echo(f"asgi-scope: {text}", err=True),
            protocol=target.protocol,
        )


max_body_option = click.option(
    "--max-body",
    default=DEFAULT_MAX_BODY,
    show_default=True,
    type=click.IntRange(0),
    help="Bytes of body (and raw bytes) kept per exchange and direction; the rest is counted.",
)
"""``--max-body``, for every command that serves (run, proxy)."""


class StrictCommand(click.Command):
    """A command with ``--strict[=LEVEL]``: a bare ``--strict`` never takes the next
    argument (the APP) as its level; ``--strict=warning`` gives one."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        args = [f"{a}=on" if a == "--strict" and i < end else a for i, a in enumerate(args)]
        return super().parse_args(ctx, args)


def strict_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--strict[=error|warning]``, ``--ignore RULE`` (repeatable), ``--report FILE``
    and ``--report-format``: the spec checker's policy and its CI report, for every
    command that checks an app (run, attach, proxy; use :class:`StrictCommand`)."""
    command = click.option(
        "--report-format",
        "report_format",
        type=click.Choice(["sarif", "junit", "json"]),
        default="sarif",
        show_default=True,
        help="The --report format: SARIF 2.1.0, JUnit XML or JSON.",
    )(command)
    command = click.option(
        "--report",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="At shutdown, write the spec checker's findings to FILE (mode 0600) for CI.",
    )(command)
    command = click.option(
        "--ignore",
        "ignore",
        multiple=True,
        metavar="RULE",
        help="Mute a spec rule (repeatable; 'http.scope.' mutes a prefix). "
        "`asgi-scope rules` lists them.",
    )(command)
    return click.option(
        "--strict",
        type=click.Choice(["on", "error", "warning"]),
        default=None,
        metavar="[=error|=warning]",
        help="Exit with code 4 if the app broke an ASGI rule of severity error "
        "(=warning: or warning); headless, say so loudly at once. The default level "
        "is [tool.asgi-scope] strict in pyproject.toml, else error.",
    )(command)


def load_policy(directory: str, ignore: tuple[str, ...], strict: str | None) -> Policy:
    """The spec checker's policy: ``[tool.asgi-scope]`` of ``directory``'s
    pyproject.toml (``ignore``, ``strict``: the level ``--strict`` fails at), then
    ``--ignore`` and ``--strict``. Exits with :data:`BAD_INPUT` and one line for a
    file or table that cannot be used, or a rule id nobody knows."""
    policy = Policy()
    path = os.path.join(directory, "pyproject.toml")
    try:
        if os.path.isfile(path):
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10: no TOML reader of its own
                tomllib = None  # type: ignore[assignment]
            if tomllib is not None:
                with open(path, "rb") as file:
                    table = tomllib.load(file).get("tool", {}).get("asgi-scope")
                if table is not None:
                    policy = Policy.from_table(table)
        level = policy.strict if strict == "on" else strict
        policy = policy.merged(ignore)
        return Policy(policy.ignore, (level or "error") if strict else None)  # type: ignore[arg-type]
    except (OSError, ValueError) as exc:  # PolicyError, tomllib's TOMLDecodeError
        fail(f"{path}: {exc}" if not isinstance(exc, PolicyError) else str(exc), BAD_INPUT)


def check_strictly(session: Session, policy: Policy, report: str | None, headless: bool) -> None:
    """Mute what ``policy`` mutes, and keep the findings when ``policy`` is strict or
    a ``report`` is asked for (``--report`` alone: findings kept, nothing fails);
    headless and strict, the first failing one is said loudly on stderr at once."""
    session.mute(policy)
    if policy.strict or report:
        loudly = (lambda e: _say_loudly(e, session.redact)) if headless and policy.strict else None
        session.watch_strictly(loudly, policy)


def end_strictly(session: Session, report: str | None, report_format: str, app: str) -> None:
    """At shutdown: write the ``report`` of the kept findings (``app`` names what was
    checked), then exit with :data:`STRICT_FAILURE` and one line if any failed the
    policy. Findings leave through the session's redactor (``--redact``)."""
    from asgi_scope import __version__
    from asgi_scope.export.report import write_report

    watch = session.strict
    if watch is None:
        return
    if report:
        try:
            write_report(report, report_format, watch.findings, app, __version__, session.redact)
        except OSError as exc:
            click.echo(f"asgi-scope: cannot write the report {report}: {exc.strerror or exc}",
                       err=True)  # fmt: skip
    if watch.count:
        first = _violation(watch.first, session.redact)
        click.secho(f"asgi-scope: {watch.count} spec violation(s); the first: {first}",
                    err=True, fg="red")  # fmt: skip
        sys.exit(STRICT_FAILURE)


def _violation(event: object, redact: Redactor | None = None) -> str:
    from asgi_scope.trace.safe import safe_text

    rule, detail = getattr(event, "rule", "?"), getattr(event, "detail", "")
    if redact is not None:
        detail = redact.detail(detail)
    return safe_text(f"{rule}: {detail} (#{getattr(event, 'exchange', 0)})")


def _say_loudly(event: object, redact: Redactor) -> None:
    """``--strict``, headless: the first violation at once, loudly on stderr (the
    TUI marks it in the exchange table instead)."""
    line = f"asgi-scope: SPEC VIOLATION {_violation(event, redact)}"
    click.secho(line, err=True, fg="red", bold=True)


def _filter(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from asgi_scope.trace.filter import FilterError, parse

    try:
        parse(value)
    except FilterError as exc:
        raise click.BadParameter(f"{exc} (at character {exc.position + 1})") from None
    return value


def check_headless(headless: bool, format_: str, filter_: str) -> None:
    """``--format`` and ``--filter`` shape headless output only: a usage error
    without ``--headless``."""
    if not headless and (format_ != "events" or filter_):
        raise click.UsageError("--format and --filter shape --headless output: add --headless")


def headless_options(command: Callable[..., None]) -> Callable[..., None]:
    """``--format`` and ``--filter``: what a headless session prints (run, open)."""
    command = click.option(
        "--filter",
        "filter_",
        metavar="FILTER",
        default="",
        callback=_filter,
        help="Headless: only the exchanges FILTER matches (~c 5xx, ~m POST & ~p '/api/*').",
    )(command)
    return click.option(
        "--format",
        "format_",
        type=click.Choice(["events", "access"]),
        default="events",
        show_default=True,
        help="Headless: a line per event, or per exchange as an access log.",
    )(command)
