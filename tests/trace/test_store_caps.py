"""The store's caps: at most ``keep`` exchanges and ``keep_bytes`` of bodies and
raw bytes; the oldest whole exchanges go first, and what went is counted."""

from __future__ import annotations

import itertools

from asgi_scope.trace.events import (
    BytesReceived,
    BytesSent,
    ConnectionClosed,
    ConnectionOpened,
    Event,
    ExchangeEnded,
    MessageSent,
    ScopeCreated,
    ServerNote,
)
from asgi_scope.trace.store import DEFAULT_KEEP, DEFAULT_KEEP_BYTES, NOTES_KEPT, Store

HEAD = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"


class Traffic:
    """Events as the server would record them, for exchanges on chosen connections."""

    def __init__(self) -> None:
        self.seq = itertools.count(1)
        self.exchange_ids = itertools.count(1)
        self.offsets: dict[int, list[int]] = {}  # conn -> [in, out]

    def _e(self, kind: type[Event], *fields: object) -> Event:
        seq = next(self.seq)
        return kind(seq, seq * 1000, *fields)

    def open(self, conn: int) -> list[Event]:
        self.offsets[conn] = [0, 0]
        return [self._e(ConnectionOpened, conn, ("127.0.0.1", 5000 + conn), ("127.0.0.1", 8000))]

    def close(self, conn: int) -> list[Event]:
        return [self._e(ConnectionClosed, conn, "client", "closed by client")]

    def exchange(self, conn: int, body: bytes = b"hello", end: bool = True) -> list[Event]:
        """One GET answered with ``body`` (head and body recorded, as bytes too)."""
        ex = next(self.exchange_ids)
        offsets = self.offsets[conn]
        start_in, start_out = offsets
        offsets[0] += len(HEAD)
        head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body)
        scope = {"type": "http", "method": "GET", "path": f"/{ex}", "headers": []}
        start = {"type": "http.response.start", "status": 200, "headers": []}
        events = [
            self._e(BytesReceived, conn, ex, start_in, HEAD, len(HEAD)),
            self._e(ScopeCreated, conn, ex, scope, (start_in, start_in + len(HEAD))),
        ]
        sent = self._e(MessageSent, conn, ex, start, 0)
        events += [sent, self._e(BytesSent, conn, ex, start_out, head, len(head), sent.seq)]
        offsets[1] += len(head)
        message = {"type": "http.response.body", "body": body, "more_body": False}
        sent = self._e(MessageSent, conn, ex, message, 0)
        events += [sent, self._e(BytesSent, conn, ex, offsets[1], body, len(body), sent.seq)]
        offsets[1] += len(body)
        if end:
            events.append(self._e(ExchangeEnded, conn, ex, scope, "complete", 200))
        return events

    def one_per_connection(self, n: int, conn_start: int = 1) -> list[Event]:
        events: list[Event] = []
        for conn in range(conn_start, conn_start + n):
            events += self.open(conn) + self.exchange(conn) + self.close(conn)
        return events


def test_defaults() -> None:
    assert (DEFAULT_KEEP, DEFAULT_KEEP_BYTES) == (10_000, 256 * 1024 * 1024)
    store = Store()
    assert (store.keep, store.keep_bytes) == (None, None)  # a capture file is read whole


def test_past_keep_the_oldest_exchanges_go_and_are_counted() -> None:
    traffic = Traffic()
    store = Store(keep=3)
    touched = store.add(traffic.one_per_connection(10))
    assert sorted(store.exchanges) == [8, 9, 10]
    assert store.dropped == 7
    assert store.take_evicted() == [1, 2, 3, 4, 5, 6, 7]
    assert store.take_evicted() == []
    # A closed connection goes with its last exchange; the others stay whole.
    assert sorted(store.connections) == [8, 9, 10]
    assert touched >= {8, 9, 10}
    for exchange_id in (8, 9, 10):
        exchange = store.exchanges[exchange_id]
        assert (exchange.status, exchange.state, exchange.path) == (200, "done", f"/{exchange_id}")
        conn = store.connections[exchange.conn]
        assert conn.slice("in", exchange.wire_in) == [(0, HEAD)]
    # Totals stay session totals.
    assert store.bytes_in == 10 * len(HEAD)


def test_later_batches_keep_dropping_the_oldest() -> None:
    traffic = Traffic()
    store = Store(keep=5)
    for batch in range(20):
        store.add(traffic.one_per_connection(7, conn_start=1 + batch * 7))
        assert len(store.exchanges) == 5
    assert sorted(store.exchanges) == list(range(136, 141))
    assert store.dropped == 135
    assert len(store.take_evicted()) == 135


def test_past_keep_bytes_the_oldest_exchanges_go() -> None:
    traffic = Traffic()
    body = b"x" * 1000
    one = Store()
    one.add(traffic.open(1) + traffic.exchange(1, body) + traffic.close(1))
    per_exchange = one.kept_bytes  # raw head in and out, the body as message and as bytes
    assert per_exchange > 2 * len(body)

    traffic = Traffic()
    store = Store(keep_bytes=per_exchange * 4 + 10)
    events: list[Event] = []
    for conn in range(1, 11):
        events += traffic.open(conn) + traffic.exchange(conn, body) + traffic.close(conn)
    store.add(events)
    assert sorted(store.exchanges) == [7, 8, 9, 10]
    assert store.kept_bytes == 4 * per_exchange <= store.keep_bytes
    assert store.dropped == 6
    assert store.dropped_bytes == 6 * per_exchange


def test_a_keep_alive_connection_loses_the_raw_bytes_of_dropped_exchanges() -> None:
    traffic = Traffic()
    store = Store(keep=2)
    events = traffic.open(1)
    for _ in range(10):
        events += traffic.exchange(1, b"0123456789")
    store.add(events)
    assert sorted(store.exchanges) == [9, 10]
    conn = store.connections[1]  # still open: kept
    assert conn.exchanges == [9, 10]
    assert conn.dropped == 8
    assert [offset for offset, _ in conn.received] == [8 * len(HEAD), 9 * len(HEAD)]
    assert len(conn.sent) == 4  # head and body of each kept exchange
    last = store.exchanges[10]
    assert b"".join(d for _, d in conn.slice("out", last.wire_out)).endswith(b"0123456789")
    # Closed, it stays while it has exchanges; once the last of them goes, it goes.
    store.add(traffic.close(1))
    assert 1 in store.connections
    store.add(traffic.open(2) + traffic.exchange(2) + traffic.exchange(2))
    assert 1 not in store.connections
    assert sorted(store.exchanges) == [11, 12]


def test_an_exchange_dropped_while_open_is_not_brought_back() -> None:
    traffic = Traffic()
    store = Store(keep=1)
    events = traffic.open(1) + traffic.exchange(1, end=False)
    *first, _ = events  # keep the open exchange's last BytesSent for later
    store.add(first)
    store.add(traffic.open(2) + traffic.exchange(2))
    assert sorted(store.exchanges) == [2]
    late = traffic._e(ExchangeEnded, 1, 1, {}, "complete", 200)
    touched = store.add([events[-1], late])
    assert 1 not in store.exchanges
    assert touched == set()
    assert sorted(store.exchanges) == [2]
    assert store.dropped == 1
    # Once ended, the id is forgotten (no set growing for ever).
    assert not store._gone


def test_the_flat_event_list_is_bounded_too() -> None:
    traffic = Traffic()
    store = Store(keep=100)
    for batch in range(100):  # 10,000 exchanges of 9 events each
        store.add(traffic.one_per_connection(100, conn_start=1 + batch * 100))
    assert len(store.exchanges) == 100
    assert len(store.connections) == 100
    assert store.dropped == 9_900
    assert len(store.events) <= 2 * 9 * 100 + 4096 + 9 * 100
    kept = {getattr(e, "exchange", 0) for e in store.events} - {0}
    assert kept >= set(store.exchanges)


def test_clear_keeps_the_caps_and_forgets_the_counts() -> None:
    traffic = Traffic()
    store = Store(keep=2, keep_bytes=10_000)
    store.add(traffic.one_per_connection(5))
    assert store.dropped == 3
    store.clear()
    assert (store.keep, store.keep_bytes, store.dropped, store.kept_bytes) == (2, 10_000, 0, 0)
    assert (store.events, store.exchanges, store.connections) == ([], {}, {})
    store.add(traffic.one_per_connection(3, conn_start=6))
    assert sorted(store.exchanges) == [7, 8]


def test_server_notes_are_capped_and_the_rest_counted() -> None:
    store = Store()
    store.add(ServerNote(n, n, 0, "output", f"line {n}") for n in range(1, 3 * NOTES_KEPT + 1))
    assert NOTES_KEPT <= len(store.notes) <= 2 * NOTES_KEPT
    assert store.notes_dropped + len(store.notes) == 3 * NOTES_KEPT
    assert store.notes[-1].text == f"line {3 * NOTES_KEPT}"
    assert len(store.events) == len(store.notes)  # the flat list let go of them too


def test_a_stream_that_runs_for_ever_keeps_at_most_events_kept_on_its_exchange() -> None:
    """An event stream of 50,000 chunks: the first EVENTS_KEPT events stay on the
    exchange, the rest are counted and still move its summary (bytes, state)."""
    from asgi_scope.trace.store import EVENTS_KEPT

    traffic = Traffic()
    store = Store(DEFAULT_KEEP, DEFAULT_KEEP_BYTES)
    store.add(traffic.open(1))
    e = traffic._e
    scope = {"type": "http", "method": "GET", "path": "/events", "headers": []}
    start = {"type": "http.response.start", "status": 200, "headers": []}
    store.add([e(ScopeCreated, 1, 1, scope, (0, 10)), e(MessageSent, 1, 1, start, 0)])
    chunks, offset = 50_000, 0
    for _ in range(chunks // 1000):
        batch = []
        for _ in range(1000):
            body = {"type": "http.response.body", "body": b"data: x\n\n", "more_body": True}
            sent = e(MessageSent, 1, 1, body, 0)
            batch += [sent, e(BytesSent, 1, 1, offset, b"", 12, sent.seq)]
            offset += 12
        store.add(batch)
    last = {"type": "http.response.body", "body": b"", "more_body": False}
    store.add([e(MessageSent, 1, 1, last, 0), e(ExchangeEnded, 1, 1, scope, "complete", 200)])
    exchange = store.exchanges[1]
    assert len(exchange.events) == EVENTS_KEPT + 1  # and the end, which is always kept
    recorded = 2 + 2 * chunks + 1  # scope and start, the chunks, the last body
    assert exchange.unkept == recorded - EVENTS_KEPT
    assert len(store.events) < EVENTS_KEPT + 10
    assert exchange.bytes_out == store.bytes_out == 12 * chunks
    assert (exchange.state, exchange.status) == ("done", 200)
    assert isinstance(exchange.events[-1], ExchangeEnded)
