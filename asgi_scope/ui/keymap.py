"""The user's keymap: ``keymap.toml`` in asgi-scope's config directory.

``$XDG_CONFIG_HOME/asgi-scope/keymap.toml`` (else ``~/.config/asgi-scope/keymap.toml``)
rebinds actions of :mod:`asgi_scope.ui.actions` by id::

    [keymap]
    "exchanges.next" = "j,down"
    "app.quit" = "ctrl+q"

The app hands it to Textual's ``App.set_keymap``. A file that does not parse, or
names an action that does not exist, is ignored as a whole: the default keys
stay, and the app says why in one warning note. Reading TOML needs
:mod:`tomllib` (Python 3.11+); on 3.10 the file is ignored, with a note.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from asgi_scope.ui.actions import BY_ID

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None  # type: ignore[assignment]

MAX_SIZE = 64 * 1024
"""The largest keymap file read (bytes)."""

SHOWN_PROBLEMS = 3
"""Problems of a keymap file listed in its note (the rest are counted)."""


def keymap_path(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the keymap file is: under ``$XDG_CONFIG_HOME``, else ``~/.config``."""
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "asgi-scope" / "keymap.toml"


def valid_keys(keys: object) -> bool:
    """Whether ``keys`` is a key string as Textual reads it: names joined by commas
    (``"j,down"``, ``"ctrl+q"``), none empty, no spaces."""
    if not isinstance(keys, str) or not keys:
        return False
    return all(part and not any(c.isspace() for c in part) for part in keys.split(","))


def parse_keymap(text: str) -> tuple[dict[str, str], list[str]]:
    """The keymap in TOML ``text`` and its problems; a keymap is only returned
    when there is no problem (a file half applied would surprise more)."""
    assert tomllib is not None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"not TOML ({exc})"]
    table = data.get("keymap")
    if not isinstance(table, dict):
        return {}, ["no [keymap] table"]
    problems = []
    for action_id, keys in table.items():
        if action_id not in BY_ID:
            problems.append(f"no action {action_id!r}")
        elif not valid_keys(keys):
            problems.append(f'{action_id}: {keys!r} is not a key string such as "j,down"')
    return ({} if problems else dict(table)), problems


def load_keymap(path: Path) -> tuple[dict[str, str], str]:
    """``(keymap, warning)`` from the file at ``path``: ``({}, "")`` when there is no
    file; an empty keymap and why, in a line, when it cannot be used."""
    try:
        if path.stat().st_size > MAX_SIZE:
            return {}, f"{path} is over {MAX_SIZE} bytes: ignored, the default keys stay"
        if tomllib is None:
            version = f"{sys.version_info[0]}.{sys.version_info[1]}"
            return {}, f"{path} ignored: Python {version} cannot read TOML (3.11+ can)"
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}, ""
    except (OSError, UnicodeDecodeError) as exc:
        return {}, f"Could not read {path}: {exc}; the default keys stay"
    keymap, problems = parse_keymap(text)
    if problems:
        more = len(problems) - SHOWN_PROBLEMS
        listed = "; ".join(problems[:SHOWN_PROBLEMS]) + (f"; +{more} more" if more > 0 else "")
        return {}, f"{path} ignored, the default keys stay: {listed}"
    return keymap, ""
