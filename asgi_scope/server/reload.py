"""Which saved files restart the app (``--reload``), watched with watchfiles.

The flags and their defaults are uvicorn's: ``--reload-dir`` (the current
directory when none is given), ``--reload-include`` (``*.py``) and
``--reload-exclude`` (``.*``, ``.py[cod]``, ``.sw.*``, ``~*``), glob patterns
matched against a file's name or, for patterns with a ``/``, its path.
``--reload-delay`` (seconds) is how long changes are gathered before one
restart.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

DEFAULT_INCLUDES = ("*.py",)
DEFAULT_EXCLUDES = (".*", ".py[cod]", ".sw.*", "~*")


@dataclass(frozen=True)
class Watch:
    """What ``--reload`` watches: directories, include and exclude globs, the delay
    (seconds) over which changes are gathered."""

    dirs: Sequence[str] = field(default_factory=lambda: (os.getcwd(),))
    includes: Sequence[str] = DEFAULT_INCLUDES
    excludes: Sequence[str] = DEFAULT_EXCLUDES
    delay: float = 0.25

    def wanted(self, path: str) -> bool:
        """Whether a change to ``path`` restarts the app."""
        name = os.path.basename(path)

        def match(pattern: str) -> bool:
            target = path if "/" in pattern else name
            return fnmatch.fnmatch(target, pattern)

        return any(map(match, self.includes)) and not any(map(match, self.excludes))


async def changes(watch: Watch) -> AsyncIterator[str]:
    """Yield, for each gathered set of wanted changes, the changed path shown to the
    user (relative to the current directory when below it). Needs watchfiles
    (``pip install 'asgi-scope[reload]'``)."""
    from watchfiles import awatch

    dirs = [os.path.abspath(d) for d in watch.dirs]
    async for found in awatch(
        *dirs,
        watch_filter=lambda _, path: watch.wanted(path),
        debounce=max(int(watch.delay * 1000), 1),
        step=min(50, max(int(watch.delay * 1000), 1)),
    ):
        paths = sorted(path for _, path in found)
        if paths:
            yield _shown(paths[0]) + (f" (and {len(paths) - 1} more)" if len(paths) > 1 else "")


def _shown(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
