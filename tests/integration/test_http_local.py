"""A LocalCluster's HTTP: the master's URL, each agent's own server, whose
/slave(N)/state follows the agent's process name, across an agent restart."""

from __future__ import annotations

import pytest

from frameworks.testing import LocalCluster
from tests.integration.http_support import get_json

pytestmark = pytest.mark.integration


def test_each_agent_of_a_local_cluster_has_its_own_http_server() -> None:
    with LocalCluster(agents=2) as cluster:
        slaves = {a["pid"]: a for a in get_json(cluster.http + "/master/slaves")["slaves"]}
        for i in range(2):
            state = get_json(cluster.agent_http(i) + f"/slave({i + 1})/state")
            assert state["pid"] == cluster.agents[i]
            assert get_json(cluster.agent_http(i) + "/state")["id"] == slaves[state["pid"]]["id"]
            assert slaves[state["pid"]]["address"]["port"] == int(cluster.agent_http(i).rpartition(":")[2])
        cluster.stop_agent(1)
        with pytest.raises(RuntimeError, match="agent\\(2\\)"):
            cluster.agent_http(1)
        cluster.start_agent(1)
        assert get_json(cluster.agent_http(1) + "/slave(2)/state")["pid"] == cluster.agents[1]
    with LocalCluster(agents=1, http=False) as quiet:
        with pytest.raises(RuntimeError, match="http=False"):
            quiet.http
