"""The view model: rows, filter, focus, follow and evictions, without a UI or sockets."""

from __future__ import annotations

from asgi_scope.trace.store import Exchange
from asgi_scope.trace.view import View


def _exchanges(*ids: int, ended: bool = True) -> dict[int, Exchange]:
    out = {}
    for i in ids:
        exchange = Exchange(i, conn=1, t_start=i, method="GET", path=f"/{i}")
        exchange.t_end = i + 1 if ended else None
        out[i] = exchange
    return out


def test_rows_come_in_the_stores_order_and_late_ones_shift_the_rest():
    view = View()
    exchanges = _exchanges(1, 2, 3)
    first = view.sync(exchanges, [3, 1])
    assert view.ids == [1, 3] and first.added and first.touched == [1, 3]
    late = view.sync(exchanges, [2])
    assert view.ids == [1, 2, 3] and late.shifted and late.changed == [2]
    again = view.sync(exchanges, [3])
    assert not again.added and again.changed == [3] and view.requests == 3


def test_the_focus_stays_on_its_exchange_when_older_rows_are_evicted():
    view = View()
    view.sync(_exchanges(1, 2, 3, 4), [1, 2, 3, 4])
    view.cursor = view.index(3)
    view.drop({1, 2})
    assert view.ids == [3, 4] and view.focus == 3
    view.drop({3})  # the focused one goes: the row that took its place
    assert view.focus == 4
    view.drop({4})
    assert view.focus is None and view.cursor == 0


def test_a_filter_hides_rows_and_keeps_the_focus_if_it_can():
    view = View()
    exchanges = _exchanges(1, 2, 3)
    view.sync(exchanges, [1, 2, 3])
    view.cursor = view.index(2)
    view.set_filter(lambda x: x.id != 3, exchanges)
    assert view.ids == [1, 2] and view.hidden == {3} and view.focus == 2
    view.set_filter(lambda x: x.id == 3, exchanges)
    assert view.ids == [3] and view.focus == 3  # the focus had no row: the last row
    exchanges[3].path = "/gone"
    synced = view.sync(exchanges, [3])
    assert synced.hidden == []  # still matches (the filter reads the id)


def test_a_row_that_stops_matching_is_handed_back_to_drop():
    view = View()
    exchanges = _exchanges(1, 2)
    view.set_filter(lambda x: x.path != "/x", exchanges)
    view.sync(exchanges, [1, 2])
    exchanges[2].path = "/x"
    synced = view.sync(exchanges, [2])
    assert synced.hidden == [2] and 2 in view.hidden and 2 in view
    view.drop(set(synced.hidden))
    assert view.ids == [1]


def test_running_rows_are_tracked_until_they_end():
    view = View()
    exchanges = _exchanges(1, ended=False)
    view.sync(exchanges, [1])
    assert view.unfinished == {1}
    exchanges[1].t_end = 5
    view.sync(exchanges, [1])
    assert view.unfinished == set()


def test_follow_changes_are_told_to_listeners():
    view = View()
    heard: list[str] = []
    view.on_change.append(heard.append)
    assert view.follow
    view.follow = False
    assert heard == ["follow"] and not view.follow


def test_reset_forgets_rows_but_not_follow_mode():
    view = View()
    view.sync(_exchanges(1, 2), [1, 2])
    view.follow = False
    view.reset()
    assert view.ids == [] and view.requests == 0 and view.focus is None and not view.follow


def test_a_mark_has_a_row_between_exchanges_whatever_the_filter():
    view = View()
    exchanges = _exchanges(1, 2, 3)
    view.sync(exchanges, [1, 2, 3])
    view.cursor = view.index(3)
    mark = view.sync(exchanges, [2.5], marks={2.5})  # a reload before exchange 3
    assert view.ids == [1, 2, 2.5, 3] and mark.added and mark.shifted and not mark.changed
    assert 2.5 in view and view.requests == 3 and 2.5 not in view.unfinished
    view.set_filter(lambda x: x.id == 1, exchanges, marks={2.5})
    assert view.ids == [1, 2.5]
    view.drop({1})
    assert view.ids == [2.5]
