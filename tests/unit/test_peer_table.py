"""The table of connections to peers: idle ones closed, a limit in number, pong-only ones bounded."""

from __future__ import annotations

import pytest

from transport.peers import Closed, PeerTable


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="peer limits"):
        PeerTable(limit=0)
    with pytest.raises(ValueError, match="idle timeout"):
        PeerTable(idle_timeout=0)


def test_a_connection_unused_for_the_idle_timeout_is_let_go() -> None:
    table: PeerTable[str] = PeerTable(limit=10, idle_timeout=5.0)
    table.add("a:1", "sock-a", now=0.0)
    table.add("b:1", "sock-b", now=1.0)
    assert table.use("a:1", now=3.0) == "sock-a"
    assert table.idle(now=5.9) == []
    assert table.idle(now=6.0) == [Closed("b:1", "sock-b", "idle")]
    assert table.addresses() == ["a:1"]
    assert table.idle(now=8.0) == [Closed("a:1", "sock-a", "idle")]
    assert len(table) == 0 and table.use("a:1", now=9.0) is None


def test_past_the_limit_the_least_recently_used_is_evicted() -> None:
    table: PeerTable[int] = PeerTable(limit=3, idle_timeout=100.0)
    for i in range(3):
        assert table.add(f"h:{i}", i, now=float(i)) == []
    table.use("h:0", now=5.0)  # h:1 is now the least recently used
    assert table.add("h:9", 9, now=6.0) == [Closed("h:1", 1, "evicted")]
    assert table.addresses() == ["h:2", "h:0", "h:9"]


def test_pong_only_connections_are_bounded_oldest_first_until_used_for_real() -> None:
    table: PeerTable[int] = PeerTable(limit=100, idle_timeout=100.0, pong_limit=2)
    table.add("p:1", 1, now=0.0, pong=True)
    table.add("p:2", 2, now=0.0, pong=True)
    table.use("p:1", now=1.0)  # real traffic: no longer counted as pong-only
    assert table.add("p:3", 3, now=2.0, pong=True) == []
    assert table.add("p:4", 4, now=2.0, pong=True) == [Closed("p:2", 2, "pong_evicted")]
    table.use("p:3", now=3.0, pong=True)  # answering pings keeps it pong-only
    assert table.add("p:5", 5, now=3.0, pong=True) == [Closed("p:3", 3, "pong_evicted")]
    assert sorted(table.addresses()) == ["p:1", "p:4", "p:5"]


def test_pop_and_clear() -> None:
    table: PeerTable[int] = PeerTable()
    table.add("a:1", 1, now=0.0, pong=True)
    table.add("b:1", 2, now=0.0)
    assert table.pop("a:1") == 1 and table.pop("a:1") is None
    assert "b:1" in table and table.clear() == [2] and len(table) == 0
