"""Election and detection against a real ZooKeeper server (Debian's package, a private java process)."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import pytest
from kazoo.client import KazooClient

from actors.ha import Leader, LeaderDetector, MasterContender, ZooKeeperServer, master_info

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def zk() -> Iterator[ZooKeeperServer]:
    with ZooKeeperServer() as server:
        yield server


def _contender(url: str, port: int, events: queue.Queue[Any], timeout: float = 2.0) -> MasterContender:
    pid = f"master@127.0.0.1:{port}"
    return MasterContender(url, master_info(f"id-{port}", pid, "", "1.0"), session_timeout=timeout,
                           on_elected=lambda: events.put(("elected", port)),
                           on_leader=lambda leader: None, on_lost=lambda reason: events.put(("lost", port)))


def test_server_serves_on_loopback(zk: ZooKeeperServer) -> None:
    assert zk.mode() == "standalone"
    assert zk.url("/x").startswith("zk://127.0.0.1:")


def test_lowest_leads_and_a_standby_takes_over(zk: ZooKeeperServer) -> None:
    url = zk.url("/takeover")
    leaders: queue.Queue[Leader | None] = queue.Queue()
    detector = LeaderDetector(url, leaders.put).start()
    events: queue.Queue[Any] = queue.Queue()
    first, second = _contender(url, 1, events).start(), _contender(url, 2, events).start()
    try:
        assert leaders.get(timeout=5) is None
        assert events.get(timeout=5) == ("elected", 1)
        assert _next_leader(leaders).pid == "master@127.0.0.1:1"
        first.stop()
        assert events.get(timeout=5) == ("elected", 2)
        assert _next_leader(leaders).pid == "master@127.0.0.1:2"
    finally:
        second.stop()
        detector.stop()


def _next_leader(leaders: queue.Queue[Leader | None]) -> Leader:
    while True:
        leader = leaders.get(timeout=5)
        if leader is not None:
            return leader


def test_garbage_in_the_election_path_is_skipped_with_a_warning(zk: ZooKeeperServer, capsys: Any) -> None:
    url = zk.url("/garbage")
    raw = KazooClient(hosts=zk.hosts)
    raw.start(timeout=10)
    try:
        raw.ensure_path("/garbage")
        raw.create("/garbage/json.info_", b"{broken", sequence=True)  # lowest sequence, and invalid
        raw.create("/garbage/unknown_child", b"")
        events: queue.Queue[Any] = queue.Queue()
        contender = _contender(url, 7, events).start()
        try:
            assert events.get(timeout=5) == ("elected", 7)
        finally:
            contender.stop()
    finally:
        raw.stop()
        raw.close()
    err = capsys.readouterr().err
    assert "election_znode_skipped" in err and "unknown_child" in err and "invalid JSON" in err


def test_a_leader_cut_off_from_zookeeper_loses_leadership() -> None:
    events: queue.Queue[Any] = queue.Queue()
    with ZooKeeperServer() as server:
        contender = _contender(server.url(), 3, events, timeout=1.0).start()
        try:
            assert events.get(timeout=5) == ("elected", 3)
            server.stop_server(0)  # no server for longer than the session timeout
            assert events.get(timeout=10) == ("lost", 3)
        finally:
            contender.stop()


def test_a_quick_zookeeper_restart_keeps_the_leader() -> None:
    events: queue.Queue[Any] = queue.Queue()
    with ZooKeeperServer() as server:
        contender = _contender(server.url(), 4, events, timeout=10.0).start()
        try:
            assert events.get(timeout=5) == ("elected", 4)
            server.restart()
            leaders: queue.Queue[Leader | None] = queue.Queue()
            detector = LeaderDetector(server.url(), leaders.put).start()
            assert _next_leader(leaders).pid == "master@127.0.0.1:4"
            detector.stop()
            assert events.empty()
        finally:
            contender.stop()


def test_an_ensemble_losing_one_server_keeps_its_leader() -> None:
    events: queue.Queue[Any] = queue.Queue()
    with ZooKeeperServer(servers=3) as ensemble:
        assert sorted(str(ensemble.mode(i)) for i in range(3)) == ["follower", "follower", "leader"]
        contender = _contender(ensemble.url(), 5, events, timeout=10.0).start()
        try:
            assert events.get(timeout=5) == ("elected", 5)
            ensemble.stop_server([ensemble.mode(i) for i in range(3)].index("leader"))
            leaders: queue.Queue[Leader | None] = queue.Queue()
            detector = LeaderDetector(ensemble.url(), leaders.put).start(connect_timeout=30)
            assert _next_leader(leaders).pid == "master@127.0.0.1:5"
            detector.stop()
            assert events.empty()
        finally:
            contender.stop()
