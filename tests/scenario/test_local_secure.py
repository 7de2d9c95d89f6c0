"""LocalCluster(secure=True): generated credentials, every check on, one line for a framework author."""

from __future__ import annotations

import base64
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest

from actors.errors import RemoteError
from actors.local_client import spawn_cluster_client
from frameworks import MesosSchedulerDriver
from frameworks.command import CommandScheduler
from frameworks.testing import LocalCluster, ZooKeeperServer
from transport.messages import MasterStateRequest


def _status(url: str, auth: tuple[str, str] | None = None) -> int:
    request = urllib.request.Request(url)
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code


def test_a_secured_local_cluster_runs_an_authenticated_framework() -> None:
    with LocalCluster(secure=True, allocation_interval=0.1) as cluster:
        security = cluster.security
        assert security is not None and security.secret not in repr(security)
        scheduler = CommandScheduler("echo secured", "cpus:0.1;mem:32", name="secured")
        driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "secured", "principal": security.principal},
                                      cluster.master, principal=security.principal, secret=security.secret,
                                      master_public_key=security.master_public_key)
        driver.start()
        try:
            assert scheduler.done.wait(60), "the task did not end"
            assert scheduler.failure is None and scheduler.exit_status() == 0
            # over CURVE: the driver's connection and the executor's (a real process) were handshakes
            assert cluster.node.endpoint.counters.get("curve", "handshakes") >= 2
        finally:
            driver.stop()
            driver.join(10)
        operator = (security.operator, security.operator_secret)
        assert _status(cluster.http + "/master/state") == 401
        assert _status(cluster.http + "/master/state", operator) == 200
        agent = cluster.agent_http(0)  # the agents' HTTP too, with the same credentials
        assert _status(agent + "/state") == _status(agent + "/metrics/snapshot") == 401
        assert _status(agent + "/state", (security.operator, "wrong")) == 401
        assert _status(agent + "/state", operator) == _status(agent + "/metrics/snapshot", operator) == 200


def test_a_secured_local_cluster_refuses_a_framework_without_its_secret() -> None:
    errors: list[str] = []
    done = threading.Event()

    class Scheduler:
        def error(self, driver: Any, message: str) -> None:
            errors.append(message)
            done.set()

    with LocalCluster(secure=True) as cluster:
        assert cluster.security is not None
        driver = MesosSchedulerDriver(Scheduler(), {"user": "", "name": "anonymous"}, cluster.master,
                                      master_public_key=cluster.security.master_public_key)
        driver.start()
        try:
            assert done.wait(10)
        finally:
            driver.stop()
        assert "is not authenticated" in errors[0]
        assert cluster.state()["frameworks"] == []


def test_a_secured_cluster_of_electing_masters_starts() -> None:
    """The cluster's own state requests authenticate with the leader, as any client must; a
    standby tells who leads without; the agent follows the elected master and authenticates."""
    with ZooKeeperServer() as zk, LocalCluster(secure=True, masters=2, zk=zk, start_timeout=20.0) as cluster:
        leader = cluster.leader()
        assert cluster.state()["leading"] is True and len(cluster.state()["slaves"]) == 1
        assert cluster.masters is not None
        standby = cluster.masters.pid(1 - leader)
        assert standby is not None and cluster.masters.ask(standby, 5.0)["leading"] is False


def test_a_process_of_the_secured_clusters_own_node_is_not_trusted_without_authenticating() -> None:
    with LocalCluster(secure=True) as cluster:
        stranger = spawn_cluster_client(cluster.node, None, "stranger")
        with pytest.raises(RemoteError, match="needs an authenticated peer"):
            stranger.request(cluster.master_pid, MasterStateRequest(), timeout=5.0).result(6.0)
        wrong = spawn_cluster_client(cluster.node, ("operator", "not-the-secret"), "impostor")
        with pytest.raises(RuntimeError, match="refused authentication as 'operator'"):
            wrong.state(cluster.master_pid, 5.0)
        assert len(cluster.state()["slaves"]) == 1


def test_a_cluster_given_credentials_as_flags_asks_its_state_as_their_first_principal(tmp_path: Any) -> None:
    creds = tmp_path / "credentials.json"
    creds.write_text('{"credentials": [{"principal": "ops", "secret": "ops-secret"}]}')
    with LocalCluster(authenticate_frameworks=True, credentials=str(creds)) as cluster:
        assert len(cluster.state()["slaves"]) == 1
