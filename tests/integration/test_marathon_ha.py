"""Two mesopy-marathon instances with --zk (a real ZooKeeper): one leads, the other forwards
API calls to it; kill -9 of the leader: the other takes over with the state kept in
ZooKeeper, the same framework id, and the tasks still running."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actors.ha import ZooKeeperServer
from tests.integration.http_support import get_json, wait_until
from tests.integration.marathon_support import MarathonCluster

pytestmark = pytest.mark.integration


@pytest.fixture
def zk() -> Iterator[ZooKeeperServer]:
    with ZooKeeperServer() as server:
        yield server


def test_standby_forwards_and_takes_over(zk: ZooKeeperServer, tmp_path: Any) -> None:
    cluster = MarathonCluster(str(tmp_path), 1, f"--zk={zk.url('/marathon')}", "--zk_session_timeout=2000")
    try:
        leader_url = cluster.url
        standby_url = cluster.start_marathon(leader=False)
        standby_port = int(standby_url.rsplit(":", 1)[1])
        assert get_json(standby_url + "/v2/leader") == {"leader": f"127.0.0.1:{cluster.http_port}"}
        cluster.url = standby_url  # every call below goes through the standby
        status, body = cluster.call("POST", "/v2/apps", {"id": "/ha/app", "cmd": "sleep 1000", "cpus": 0.1,
                                                         "mem": 16, "instances": 2})
        assert status == 201, body
        app = cluster.wait_app("/ha/app", "2 running through the standby", tasksRunning=2)
        info = get_json(leader_url + "/v2/info")
        assert info["elected"] is True and info["marathon_config"]["ha"] is True
        assert cluster.marathon is not None
        cluster.marathon.kill()  # kill -9 of the leader
        standby = cluster.scripts[-1]
        standby.wait_for("marathon_registered", timeout=30)
        after = cluster.wait_app("/ha/app", "still running under the new leader", tasksRunning=2)
        assert sorted(t["id"] for t in after["tasks"]) == sorted(t["id"] for t in app["tasks"])
        new_info = get_json(standby_url + "/v2/info")
        assert new_info["elected"] is True and new_info["frameworkId"] == info["frameworkId"]
        assert get_json(standby_url + "/v2/leader") == {"leader": f"127.0.0.1:{standby_port}"}
        wait_until(lambda: cluster.call("DELETE", "/v2/apps/ha/app?force=true")[0] == 200, "deleted")
    finally:
        cluster.close()
