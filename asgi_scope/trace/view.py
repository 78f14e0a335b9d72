"""The view model: which exchanges a view shows, in what order, and which has focus.

UI-neutral, in the spirit of mitmproxy's ``addons/view.py``: a :class:`View`
holds the ordered, filtered list of exchange ids (and of the store's marks,
rows that are not exchanges: a reload), the ids its filter keeps out, the
focused (cursor) row, follow mode, and the rows still running; it applies the
store's new and changed exchanges (:meth:`View.sync`) and its evictions
(:meth:`View.drop`). A widget renders it and moves its focus; it holds no HTTP
and draws nothing. Change callbacks (:attr:`View.on_change`) tell a listener
what changed, by name: ``"follow"``.

Not thread-safe: the view's thread (the one that drains the store) calls it.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from asgi_scope.trace.store import Exchange

Change = Literal["follow"]
"""What changed, as told to :attr:`View.on_change` listeners."""


@dataclass(slots=True)
class Synced:
    """What :meth:`View.sync` did: ``added`` rows (``shifted``: some among older
    rows, so rows below moved down); ``changed``, the ids of rows already there
    whose exchange changed; ``hidden``, the ids of rows the filter no longer keeps
    (for the caller to :meth:`View.drop`); ``touched``, every touched id, ascending."""

    added: bool = False
    shifted: bool = False
    changed: list[int] = field(default_factory=list)
    hidden: list[int] = field(default_factory=list)
    touched: list[int] = field(default_factory=list)


class View:
    """The rows of a view of the store's exchanges.

    ``ids`` are the shown exchange ids, ascending (the store's order), with the
    keys of the store's marks among them (``6.5``: a reload before exchange 7);
    ``cursor`` is the index of the focused row (0 when there is none);
    ``follow`` says whether the newest row takes the focus as it arrives.
    """

    def __init__(self) -> None:
        self.ids: list[float] = []
        """Ids of the exchanges shown, and keys of marks, ascending."""
        self.hidden: set[int] = set()
        """Ids the row filter keeps out."""
        self.unfinished: set[int] = set()
        """Shown ids whose exchange has not ended (their running time changes)."""
        self.row_filter: Callable[[Exchange], bool] | None = None
        """Which exchanges have a row (None: all); set with :meth:`set_filter`."""
        self.requests = 0
        """Client exchanges seen (not the server's lifespan), hidden ones included."""
        self.cursor = 0
        """Index of the focused row in :attr:`ids`."""
        self._follow = True
        self.on_change: list[Callable[[Change], None]] = []
        """Listeners, called with what changed after it changed."""

    @property
    def follow(self) -> bool:
        """Whether new exchanges take the focus as they arrive."""
        return self._follow

    @follow.setter
    def follow(self, follow: bool) -> None:
        self._follow = follow
        for listener in self.on_change:
            listener("follow")

    @property
    def focus(self) -> int | None:
        """The id of the focused exchange, if any row is shown."""
        return self.ids[self.cursor] if self.ids else None

    def index(self, exchange_id: int) -> int:
        """The row of ``exchange_id``. Raises :exc:`KeyError` if it has none."""
        ids = self.ids
        i = bisect_left(ids, exchange_id)
        if i == len(ids) or ids[i] != exchange_id:
            raise KeyError(exchange_id)
        return i

    def __contains__(self, exchange_id: object) -> bool:
        if not isinstance(exchange_id, (int, float)):
            return False
        ids = self.ids
        i = bisect_left(ids, exchange_id)
        return i < len(ids) and ids[i] == exchange_id

    def clamp(self) -> None:
        """Keep :attr:`cursor` on a row (or 0 when there is none)."""
        self.cursor = min(max(self.cursor, 0), max(len(self.ids) - 1, 0))

    def reset(self) -> None:
        """No rows (after the store was cleared); follow mode stays."""
        self.ids.clear()
        self.unfinished.clear()
        self.hidden.clear()
        self.cursor = 0
        self.requests = 0

    def sync(
        self,
        exchanges: Mapping[int, Exchange],
        touched: Iterable[float],
        marks: Collection[float] = (),
    ) -> Synced:
        """Add or update the rows of ``touched`` exchanges (ids of ``exchanges``;
        ids no longer there are skipped) and marks (keys of ``marks``, shown
        whatever the filter). Rows the filter no longer keeps are listed in
        :attr:`Synced.hidden`, still shown: the caller drops them."""
        synced = Synced(touched=sorted(touched))
        ids = self.ids
        for exchange_id in synced.touched:
            exchange = exchanges.get(exchange_id)
            if exchange is None:
                if exchange_id in marks and exchange_id not in self:
                    synced.shifted |= bool(ids) and exchange_id < ids[-1]
                    insort(ids, exchange_id)
                    synced.added = True
                continue
            if self.row_filter is not None and not self._keeps(exchange, synced):
                continue
            if ids and exchange_id <= ids[-1]:
                synced.changed.append(exchange_id)
                if exchange_id not in self:
                    insort(ids, exchange_id)  # the rows after it move down
                    synced.added = synced.shifted = True
                    self.requests += bool(exchange.conn)
            else:
                ids.append(exchange_id)
                synced.added = True
                self.requests += bool(exchange.conn)
            if exchange.t_end is None:
                self.unfinished.add(exchange_id)
            else:
                self.unfinished.discard(exchange_id)
        return synced

    def _keeps(self, exchange: Exchange, synced: Synced) -> bool:
        """Apply the row filter to a touched exchange: hide its row if it no longer
        matches, let it in if it matches now. Hidden exchanges count in
        :attr:`requests` all the same."""
        assert self.row_filter is not None
        exchange_id = exchange.id
        if self.row_filter(exchange):
            if exchange_id in self.hidden:  # counted when it was hidden
                self.hidden.discard(exchange_id)
                self.requests -= bool(exchange.conn)
            return True
        if exchange_id not in self.hidden:
            self.hidden.add(exchange_id)
            if exchange_id in self:
                synced.hidden.append(exchange_id)
            else:
                self.requests += bool(exchange.conn)
        return False

    def drop(self, gone: set[int]) -> None:
        """Remove the rows of ``gone`` (exchanges the store dropped, the oldest
        usually, or rows the filter hid), keeping the focus on its exchange if it
        stays, else on the row that took its place."""
        self.unfinished -= gone
        self.hidden -= gone
        ids = self.ids
        focus = self.focus
        n = 0
        while n < len(ids) and ids[n] in gone:  # the usual case: a run of the oldest
            n += 1
        before = n
        del ids[:n]
        if len(gone) > n and any(i in gone for i in ids):  # others, here and there
            before += sum(1 for i in ids[: self.cursor - n] if i in gone)
            ids[:] = [i for i in ids if i not in gone]
        if focus is not None and focus not in gone:
            self.cursor = self.index(focus)
        else:
            self.cursor = max(self.cursor - before, 0)
        self.clamp()

    def set_filter(
        self,
        row_filter: Callable[[Exchange], bool] | None,
        exchanges: Mapping[int, Exchange],
        marks: Collection[float] = (),
    ) -> None:
        """Show only the ``exchanges`` that ``row_filter`` keeps (None: all), and every
        mark, the focus staying on its exchange if it still has a row, else on the
        last row."""
        focus = self.focus
        self.row_filter = row_filter
        keep = sorted(i for i, x in exchanges.items() if row_filter is None or row_filter(x))
        self.hidden = set(exchanges).difference(keep)
        keep = sorted([*keep, *marks])
        self.ids[:] = keep
        self.unfinished = {i for i in keep if i in exchanges and exchanges[i].t_end is None}
        self.cursor = self.index(focus) if focus is not None and focus in self else len(keep) - 1
        self.clamp()
