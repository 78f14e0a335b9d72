"""Stock Django under ``--headless --strict``: a ``startproject`` project with its
admin, served by the real ``asgi-scope`` command on port 0. Django does not
support lifespan and writes ``Content-Type`` with capitals (a warning): the run
exits 0, and lifespan is one info line, with no error and no traceback."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.live import TIMEOUT

COMMAND = str(Path(sys.executable).with_name("asgi-scope"))
DJANGO_ADMIN = str(Path(sys.executable).with_name("django-admin"))


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def test_stock_django_passes_strict_with_no_lifespan_error(tmp_path):
    pytest.importorskip("django")
    subprocess.run([DJANGO_ADMIN, "startproject", "mysite", str(tmp_path)], check=True)
    proc = subprocess.Popen(
        [COMMAND, "--headless", "--strict", "--port", "0", "--app-dir", str(tmp_path),
         "mysite.asgi:application"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    out: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
    seen: list[str] = []
    try:
        while True:  # the listening line says the port (each wait bounded by TIMEOUT)
            seen.append(out.get(timeout=TIMEOUT))
            found = re.search(r"listening on (http://\S+)", seen[-1])
            if found:
                break
        url = found.group(1)
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            assert client.get("/admin/login/").status_code == 200
            assert client.get("/admin/").status_code == 302
            assert client.get("/nope").status_code == 404
        while not any("#4" in line and "complete 404" in line for line in seen):
            seen.append(out.get(timeout=TIMEOUT))  # the third request's end was printed
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
    seen += list(out.queue)
    text = "".join(seen)
    assert proc.returncode == 0, err
    assert "ASGI 'lifespan' protocol appears unsupported." in text
    assert "Traceback" not in text and "raised" not in text
    assert "spec error" not in text and "SPEC VIOLATION" not in err
    assert "spec warning http.header-lowercase" in text  # shown, not failing
