"""The action table: the bindings, the help and the palette are made from it, and
a user's keymap (keymap.toml) rebinds its actions by id."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding

from asgi_scope.ui import keymap as keymap_module
from asgi_scope.ui.actions import ACTIONS, BY_ID, HELP_PLACES, actions
from asgi_scope.ui.app import ScopeApp
from asgi_scope.ui.components.detail.body_view import BodyView
from asgi_scope.ui.components.detail.hex_view import HexView
from asgi_scope.ui.components.detail.messages import MessageList
from asgi_scope.ui.components.detail.sequence import SequenceView
from asgi_scope.ui.components.detail.stream_view import StreamView
from asgi_scope.ui.components.exchanges import ExchangeTable
from asgi_scope.ui.components.filter_bar import FilterBar
from asgi_scope.ui.keymap import keymap_path, load_keymap, parse_keymap
from asgi_scope.ui.palette import commands
from asgi_scope.ui.screens.breakpoint import BreakpointScreen
from asgi_scope.ui.screens.editor import EditorScreen
from asgi_scope.ui.screens.help import HelpScreen
from asgi_scope.ui.screens.notes import NotesScreen
from asgi_scope.ui.screens.search import SearchScreen
from asgi_scope.ui.screens.share import PathScreen, ResendScreen, TextScreen
from tests.ui.conftest import run_app, screen_text

PLACES = {
    "app": ScopeApp,
    "exchanges": ExchangeTable,
    "messages": MessageList,
    "body": BodyView,
    "stream": StreamView,
    "hex": HexView,
    "sequence": SequenceView,
    "filter": FilterBar,
    "help": HelpScreen,
    "notes": NotesScreen,
    "search": SearchScreen,
    "breakpoint": BreakpointScreen,
    "path": PathScreen,
    "text": TextScreen,
    "resend": ResendScreen,
    "editor": EditorScreen,
}


def test_ids_are_unique_and_name_their_place() -> None:
    ids = [action.id for action in ACTIONS]
    assert len(ids) == len(set(ids))
    assert {action.where for action in ACTIONS} == set(PLACES)
    for action in ACTIONS:
        assert action.description and action.help, action


@pytest.mark.parametrize("where", sorted(PLACES))
def test_every_binding_is_an_action_of_the_table(where: str) -> None:
    bound = [b for b in PLACES[where].BINDINGS if isinstance(b, Binding)]
    assert len(bound) == len(PLACES[where].BINDINGS)  # no tuples without an id
    assert [(b.id, b.key, b.action, b.tooltip) for b in bound] == [
        (a.id, a.keys, a.action, a.help) for a in actions(where)
    ]


def test_the_help_and_the_palette_agree_with_the_bindings(traffic) -> None:
    async def check(app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for action in app.described_actions(HELP_PLACES):
            assert action.help[:30] in text, action
        titles = {command.title for command in commands(app.described_actions())}
        assert titles == {action.description for action in actions("app")}

    run_app(traffic, check, size=(120, 110))


def test_one_palette_command_per_name_with_every_key() -> None:
    quit_ = [c for c in commands(actions("app")) if c.title == "Quit"]
    assert len(quit_) == 1 and "(q or Ctrl-C)" in quit_[0].help, quit_


def test_the_keymap_file_is_under_xdg_config_home(tmp_path: Path) -> None:
    assert keymap_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "asgi-scope" / "keymap.toml"
    )
    assert keymap_path({}).parts[-3:] == (".config", "asgi-scope", "keymap.toml")


def write_keymap(text: str) -> Path:
    path = keymap_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


needs_tomllib = pytest.mark.skipif(
    keymap_module.tomllib is None, reason="Python 3.10: no tomllib, the keymap is ignored"
)


@needs_tomllib
def test_a_remapped_key_runs_the_action(traffic) -> None:
    write_keymap('[keymap]\n"app.follow" = "v"\n"detail.tab.scope" = "o,ctrl+o"\n')

    async def check(app, pilot):
        assert app.keymap == {"app.follow": "v", "detail.tab.scope": "o,ctrl+o"}
        assert app.follow
        await pilot.press("f")  # no longer bound
        await pilot.pause()
        assert app.follow
        await pilot.press("v")
        await pilot.pause()
        assert not app.follow
        await pilot.press("o")
        await pilot.pause()
        assert app._detail.active == "scope"
        help_text = {c.title: c.help for c in commands(app.described_actions())}
        assert help_text["Follow"].endswith("(v)") and "(o / ctrl+o)" in help_text["Scope"]
        await pilot.press("question_mark")
        await pilot.pause()
        assert "o / ctrl+o" in screen_text(app)
        assert not [n for n in app.store.notes if n.level == "warning"]

    run_app(traffic, check, size=(120, 110))


@needs_tomllib
@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[keymap\n", "not TOML"),
        ('[keys]\n"app.quit" = "x"\n', "no [keymap] table"),
        ('[keymap]\n"app.nope" = "x"\n', "no action 'app.nope'"),
        ('[keymap]\n"app.follow" = 3\n', "is not a key string"),
        ('[keymap]\n"app.follow" = "v, w"\n', "is not a key string"),
    ],
)
def test_a_bad_keymap_is_one_warning_and_the_defaults_stay(traffic, text: str, why: str) -> None:
    write_keymap(text)

    async def check(app, pilot):
        assert app.keymap == {}
        notes = [n for n in app.store.notes if n.level == "warning"]
        assert len(notes) == 1 and why in notes[0].text, notes
        await pilot.press("f")
        await pilot.pause()
        assert not app.follow  # the default key still works

    run_app(traffic, check)


def test_no_keymap_file_no_note(tmp_path: Path) -> None:
    assert load_keymap(tmp_path / "missing.toml") == ({}, "")


@needs_tomllib
def test_a_keymap_with_problems_is_not_half_applied() -> None:
    keymap, problems = parse_keymap('[keymap]\n"app.follow" = "v"\n"app.nope" = "x"\n')
    assert keymap == {} and problems == ["no action 'app.nope'"]
    assert "app.follow" in BY_ID


def test_without_tomllib_the_file_is_ignored_with_a_note(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "keymap.toml"
    path.write_text('[keymap]\n"app.follow" = "v"\n', "utf-8")
    monkeypatch.setattr(keymap_module, "tomllib", None)
    keymap, warning = load_keymap(path)
    assert keymap == {} and "cannot read TOML" in warning


def test_the_palette_runs_an_action_by_its_name(traffic) -> None:
    from textual.command import CommandPalette

    async def check(app, pilot):
        assert app.follow
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Follow")
        for _ in range(100):  # the palette searches in a worker: wait for the hit
            await pilot.pause(0.02)
            if "Follow the newest exchange" in screen_text(app):
                break
        else:
            raise AssertionError(screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette)
        assert not app.follow

    run_app(traffic, check)


def test_the_palette_names_keys_as_they_are_typed(traffic) -> None:
    """``/`` and ``?``, never Textual's names for them (``slash``, ``question_mark``)."""

    async def check(app, pilot):
        await pilot.press("ctrl+p")
        await pilot.pause()
        seen = ""
        for _ in range(100):  # the palette lists its commands from a worker
            await pilot.pause(0.02)
            seen = screen_text(app)
            if "(/)" in seen and "(?)" in seen:
                break
        else:
            raise AssertionError(seen)
        assert "slash" not in seen and "question_mark" not in seen

    run_app(traffic, check, size=(120, 60))
