"""The ``attach`` and ``proxy`` commands: inspecting apps that run elsewhere.

Registered on the ``asgi-scope`` group by :mod:`asgi_scope.cli`, so like it this
module imports nothing heavy at import time (``--help`` stays fast). Exit codes:
0 after a clean stop; 1 when the address cannot be listened on (or the
upstream URL is unusable), with one line on stderr; 2 for a usage error.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import TYPE_CHECKING

import click

from asgi_scope.cli import CONTEXT, bind_options, keep_options, main, record_option
from asgi_scope.stream import default_address

if TYPE_CHECKING:
    from asgi_scope.attach import AttachRecorder
    from asgi_scope.stream import Address
    from asgi_scope.trace.capture import Header

BAD_ADDRESS = 1
"""Exit code for an address that cannot be parsed, bound or reached."""


def _bad(message: str) -> None:
    click.echo(f"asgi-scope: {message}", err=True)
    sys.exit(BAD_ADDRESS)


@main.command("attach", context_settings=CONTEXT)
@click.argument("address", default=default_address, required=False)
@click.option("--headless", is_flag=True, help="Print the streams as lines instead of the TUI.")
@keep_options
@record_option
def attach(address: str, headless: bool, keep: int, keep_bytes: int, record: str | None) -> None:
    """Listen on ADDRESS for the streams of apps wrapped in TraceMiddleware and
    show them live (default: unix:$XDG_RUNTIME_DIR/asgi-scope.sock, else
    unix:/tmp/asgi-scope-UID/asgi-scope.sock in a directory made mode 0700; or
    HOST:PORT on a loopback host).

    Several processes (uvicorn --workers 4) may stream at once: each worker's
    pid is shown per exchange. Detach (quit) and attach again while the app
    runs; the middleware reconnects. Exit codes: 0; 1 when ADDRESS cannot be
    listened on.
    """
    from asgi_scope.attach import AttachRecorder
    from asgi_scope.stream import AddressError, parse_address
    from asgi_scope.trace.capture import Header

    try:
        where = parse_address(address, files=False)
    except AddressError as exc:
        _bad(str(exc))
    recorder = AttachRecorder()
    header = Header(f"attach {where}", recorder.started_ns, {"source": "attach"})
    writer = None
    if record:
        from asgi_scope.trace.capture import CaptureWriter

        try:
            writer = CaptureWriter(record, header)
        except OSError as exc:
            _bad(f"cannot record to {record}: {exc.strerror or exc}")
        recorder.taps.append(writer)
    try:
        if headless:
            _attach_headless(where, recorder)
        else:
            _attach_tui(where, recorder, header, keep, keep_bytes)
    finally:
        if writer is not None:
            recorder.drain()  # what the view's last drain missed
            writer.close()


def _attach_tui(
    where: Address, recorder: AttachRecorder, header: Header, keep: int, keep_bytes: int
) -> None:
    from asgi_scope.attach import ListenError, ListenerThread
    from asgi_scope.ui.app import ScopeApp

    thread = ListenerThread(where, recorder)
    try:
        thread.start()
    except ListenError as exc:
        _bad(str(exc))
    listening = thread.listener.where
    ui = ScopeApp(
        recorder,
        app_name=f"attached to {listening}",
        url=listening,
        on_quit=thread.stop,
        header=header,
        keep=keep,
        keep_bytes=keep_bytes,
    )
    signal.signal(signal.SIGTERM, lambda *_: ui.exit())
    try:
        ui.run()
    finally:
        thread.stop(timeout=2)


def _attach_headless(where: object, recorder: object) -> None:
    import asyncio

    from asgi_scope.attach import Listener, ListenError
    from asgi_scope.console import Printer, printing

    async def run() -> None:
        listener = Listener(where, recorder)  # type: ignore[arg-type]
        await listener.start()
        click.echo(f"asgi-scope: listening for streams on {listener.where}", err=True)
        loop = asyncio.get_running_loop()
        serving = loop.create_task(listener.serve())
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, serving.cancel)
        async with printing(recorder, Printer()):  # type: ignore[arg-type]
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await serving
            finally:
                listener.close()
                await asyncio.sleep(0)  # the streams' handlers record their detach

    try:
        asyncio.run(run())
    except ListenError as exc:
        _bad(str(exc))
    except KeyboardInterrupt:
        pass


@main.command("proxy", context_settings=CONTEXT)
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
@click.option(
    "--max-body",
    default=1 << 20,
    show_default=True,
    type=click.IntRange(0),
    help="Bytes of body and raw bytes kept per exchange and direction, each side.",
)
@record_option
def proxy(
    upstream: str,
    host: str,
    port: int,
    headless: bool,
    timeout: float,
    max_body: int,
    record: str | None,
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
    from asgi_scope.config import Config
    from asgi_scope.proxy import ReverseProxy, UpstreamError, parse_upstream, reachable
    from asgi_scope.trace.recorder import Recorder

    try:
        target = parse_upstream(upstream)
    except UpstreamError as exc:
        _bad(str(exc))
    config = Config(
        app=f"proxy → {target.origin}{target.base}",
        host=host,
        port=port,
        lifespan="off",
        headless=headless,
        max_body=max_body,
    )
    if config.binds_all_interfaces:
        click.secho(
            f"asgi-scope: WARNING: listening on all interfaces ({config.host}): anyone who can "
            f"reach this machine can send requests through to {target.origin}.",
            err=True,
            fg="yellow",
            bold=True,
        )
    recorder = Recorder(max_body=max_body)
    app = ReverseProxy(target, recorder, timeout)
    why = reachable(target)
    if why:
        click.secho(
            f"asgi-scope: warning: upstream {target.origin} is not reachable now ({why}); "
            "clients get 502 until it is",
            err=True,
            fg="yellow",
        )
    writer = None
    if record:
        from asgi_scope.cli import capture_header
        from asgi_scope.trace.capture import CaptureWriter

        try:
            writer = CaptureWriter(record, capture_header(config, recorder))
        except OSError as exc:
            _bad(f"cannot record to {record}: {exc.strerror or exc}")
        recorder.taps.append(writer)
    try:
        if headless:
            _proxy_headless(config, app, recorder)
        else:
            _proxy_tui(config, app, recorder)
    finally:
        if writer is not None:
            recorder.drain()
            writer.close()


def _proxy_headless(config: object, app: object, recorder: object) -> None:
    import asyncio

    from asgi_scope.console import Printer, printing
    from asgi_scope.server.runner import Server, StartupError

    async def run() -> None:
        server = Server(config, app, recorder)  # type: ignore[arg-type]
        async with printing(recorder, Printer()):  # type: ignore[arg-type]
            await server.serve(
                ready=lambda: click.echo(f"asgi-scope: proxy listening on {server.url}", err=True)
            )

    try:
        asyncio.run(run())
    except StartupError as exc:
        _bad(str(exc))
    except KeyboardInterrupt:
        pass


def _proxy_tui(config: object, app: object, recorder: object) -> None:
    from asgi_scope.cli import capture_header
    from asgi_scope.server.runner import ServerThread, StartupError
    from asgi_scope.ui.app import ScopeApp

    thread = ServerThread(config, app, recorder)  # type: ignore[arg-type]
    try:
        thread.start()
    except StartupError as exc:
        _bad(str(exc))
    ui = ScopeApp(
        recorder,  # type: ignore[arg-type]
        app_name=config.app,  # type: ignore[attr-defined]
        url=thread.url,
        on_quit=thread.stop,
        header=capture_header(config, recorder),  # type: ignore[arg-type]
        keep=config.keep,  # type: ignore[attr-defined]
        keep_bytes=config.keep_bytes,  # type: ignore[attr-defined]
    )
    signal.signal(signal.SIGTERM, lambda *_: ui.exit())
    try:
        ui.run()
    finally:
        thread.stop(timeout=5, force=True)
