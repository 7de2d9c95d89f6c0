"""A standby master's v1 HTTP APIs redirect to the leader (Mesos: 307 with Location), so a client
pointed at any master finds the leader: three masters electing through a real ZooKeeper."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from frameworks.testing import LocalCluster, ZooKeeperServer
from tests.integration.v1_client import Subscription, post

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def zk() -> Iterator[ZooKeeperServer]:
    with ZooKeeperServer() as server:
        yield server


def test_a_standby_answers_307_to_the_leaders_http_address(zk: ZooKeeperServer) -> None:
    with LocalCluster(agents=0, masters=2, zk=zk) as cluster:
        assert cluster.masters is not None
        leader = cluster.leader(timeout=30)
        standby = 1 - leader
        leader_url, standby_url = cluster.masters.http_url(leader), cluster.masters.http_url(standby)
        assert leader_url is not None and standby_url is not None
        subscribe = {"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "root", "name": "ha"}}}
        for path, body in (("/api/v1/scheduler", subscribe), ("/api/v1", {"type": "GET_STATE"})):
            code, headers, _ = post(standby_url, body, path=path)
            assert code == 307, (path, code)
            assert headers["Location"] == "//" + leader_url.split("//", 1)[1]
        followed = Subscription("http:" + headers["Location"], subscribe)  # where the client goes next
        try:
            assert followed.status == 200 and followed.next("SUBSCRIBED")["subscribed"]["framework_id"]["value"]
        finally:
            followed.close()
