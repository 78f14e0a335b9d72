"""The ``attach`` and ``proxy`` commands: inspecting apps that run elsewhere.

Registered on the ``asgi-scope`` group by :mod:`asgi_scope.cli`. Exit codes:
0 after a clean stop; 1 when the address cannot be listened on (or the
upstream URL is unusable), with one line on stderr; 2 for a usage error.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

import click

from asgi_scope.cli import CONTEXT, main
from asgi_scope.stream import DEFAULT_ADDRESS
from asgi_scope.trace.store import DEFAULT_KEEP, DEFAULT_KEEP_BYTES

BAD_ADDRESS = 1
"""Exit code for an address that cannot be parsed, bound or reached."""


def _bad(message: str) -> None:
    click.echo(f"asgi-scope: {message}", err=True)
    sys.exit(BAD_ADDRESS)


@main.command("attach", context_settings=CONTEXT)
@click.argument("address", default=DEFAULT_ADDRESS, required=False)
@click.option("--headless", is_flag=True, help="Print the streams as lines instead of the TUI.")
@click.option(
    "--keep",
    default=DEFAULT_KEEP,
    show_default=True,
    type=click.IntRange(1),
    help="Exchanges kept to view; past that the oldest are dropped (and counted).",
)
@click.option(
    "--keep-bytes",
    default=DEFAULT_KEEP_BYTES,
    show_default=True,
    type=click.IntRange(0),
    help="Bytes of bodies kept to view; past that the oldest exchanges go.",
)
def attach(address: str, headless: bool, keep: int, keep_bytes: int) -> None:
    """Listen on ADDRESS for the streams of apps wrapped in TraceMiddleware and
    show them live (default: unix:/tmp/asgi-scope.sock; or HOST:PORT on a
    loopback host).

    Several processes (uvicorn --workers 4) may stream at once: each worker's
    pid is shown per exchange. Detach (quit) and attach again while the app
    runs; the middleware reconnects. Exit codes: 0; 1 when ADDRESS cannot be
    listened on.
    """
    from asgi_scope.attach import AttachRecorder, ListenError
    from asgi_scope.stream import AddressError, parse_address

    try:
        where = parse_address(address, files=False)
    except AddressError as exc:
        _bad(str(exc))
    recorder = AttachRecorder()
    if headless:
        _attach_headless(where, recorder)
        return
    from asgi_scope.attach import ListenerThread
    from asgi_scope.trace.capture import Header
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
        header=Header(f"attach {listening}", recorder.started_ns, {"source": "attach"}),
        keep=keep,
        keep_bytes=keep_bytes,
    )
    signal.signal(signal.SIGTERM, lambda *_: ui.exit())
    try:
        ui.run()
    finally:
        thread.stop(timeout=2)


def _attach_headless(where: object, recorder: object) -> None:
    from asgi_scope.attach import Listener, ListenError
    from asgi_scope.console import Printer, print_forever

    async def run() -> None:
        listener = Listener(where, recorder)  # type: ignore[arg-type]
        await listener.start()
        click.echo(f"asgi-scope: listening for streams on {listener.where}", err=True)
        loop = asyncio.get_running_loop()
        serving = loop.create_task(listener.serve())
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, serving.cancel)
        printing = loop.create_task(print_forever(recorder, Printer()))  # type: ignore[arg-type]
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        finally:
            listener.close()
            await asyncio.sleep(0)  # the streams' handlers record their detach
            printing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printing

    try:
        asyncio.run(run())
    except ListenError as exc:
        _bad(str(exc))
    except KeyboardInterrupt:
        pass
