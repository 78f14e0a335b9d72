"""Files that hold a trace are the user's alone: created 0600, never through a
symbolic link, never into a file another user owns or that is not a regular file.

Captures, HAR files and pytest exports carry credentials (``authorization``,
cookies, bodies). In a shared directory (``/tmp``) another local user may plant
a symbolic link, a FIFO or a file of their own at the path the user names;
writing through any of them would hand the trace over, or clobber and chmod a
file that is not ours (as root, even a device). So :func:`create_private`:

* creates a new file with ``O_CREAT | O_EXCL`` (never an existing one by
  accident) and mode 0600;
* opens an existing path with ``O_NOFOLLOW`` (a symbolic link as the final
  component is refused, not followed) and ``O_NONBLOCK`` (a FIFO with no
  reader fails at once instead of hanging), then, before writing a byte,
  checks on the open descriptor (no race with a rename) that it is a regular
  file owned by this uid; only then truncates it and sets its mode to 0600.

Anything else raises :class:`NotPrivate`, an ``OSError`` whose ``strerror``
says why in a few words, so callers print one line (``cannot record to PATH:
why``) and nothing is written.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from typing import IO


class NotPrivate(OSError):
    """The path cannot be written privately: ``strerror`` says why (a symbolic
    link, not a regular file, another user's file), ``filename`` is the path."""

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def create_private(path: str | os.PathLike[str]) -> IO[str]:
    """Open ``path`` for writing UTF-8 text that only its owner may read (0600),
    as the module doc says: a new file, or an existing regular file of this uid,
    truncated. Raises :class:`NotPrivate` for a symbolic link, a file that is not
    regular (a device, a FIFO, a directory) or another user's file, and
    ``OSError`` for the rest (no such directory, no permission)."""
    flags = os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fd = _open_existing(path, flags)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):  # a filesystem without modes
            os.fchmod(fd, 0o600)
        return os.fdopen(fd, "w", encoding="utf-8", newline="\n")
    except BaseException:
        os.close(fd)
        raise


def _open_existing(path: str | os.PathLike[str], flags: int) -> int:
    """A descriptor for the existing ``path``, once it is known to be a regular
    file of this uid (checked on the descriptor). Raises :class:`NotPrivate`."""
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotPrivate(errno.ELOOP, "is a symbolic link (not followed)", str(path)) from None
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads
            raise NotPrivate(errno.ENXIO, "is not a regular file (a FIFO)", str(path)) from None
        raise
    info = os.fstat(fd)
    why = ""
    if not stat.S_ISREG(info.st_mode):
        why = "is not a regular file"
    elif info.st_uid != os.getuid():
        why = f"belongs to uid {info.st_uid}, not to you (uid {os.getuid()})"
    if why:
        os.close(fd)
        raise NotPrivate(errno.EPERM, why, str(path))
    return fd
