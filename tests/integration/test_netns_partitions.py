"""Partitions through a real cut link: the master and the schedulers on one test host, the agent
on another (network namespaces joined by a bridge, frameworks.netns.Topology); the agent's link
goes down for longer than the master's ping window, then comes back (Mesos' PartitionTest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from frameworks.netns import Topology, unavailable
from tests.integration.netns_support import Launcher

_why = unavailable()
pytestmark = [pytest.mark.integration, pytest.mark.netns,
              pytest.mark.skipif(_why is not None, reason=f"network namespaces unavailable: {_why}")]

PING = ("--agent_ping_timeout=0.5", "--max_agent_ping_timeouts=4")  # unreachable after 2 s without pongs


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    with Topology(["master", "agent"]) as net:
        launch = Launcher(tmp_path, net)
        try:
            yield launch
        finally:
            launch.close()


def test_a_partitioned_agent_is_unreachable_and_its_aware_tasks_come_back_when_it_heals(launcher: Launcher) -> None:
    master = launcher.master("master", 5050, *PING)
    address = f"{launcher.ip('master')}:5050"
    agent = launcher.agent("agent", address, 5051)
    aware = launcher.scheduler("master", address, "--partition-aware", "--prefix=aware")
    plain = launcher.scheduler("master", address, "--prefix=plain")
    aid = aware.wait_for("status", task_id="aware0", state="TASK_RUNNING")["agent_id"]
    plain.wait_for("status", task_id="plain0", state="TASK_RUNNING")

    assert launcher.net is not None
    launcher.net.cut("agent")
    unreachable = aware.wait_for("status", task_id="aware0", state="TASK_UNREACHABLE")
    lost = plain.wait_for("status", task_id="plain0", state="TASK_LOST")
    for status in (unreachable, lost):
        assert status["reason"] == "REASON_AGENT_REMOVED" and status["source"] == "SOURCE_MASTER"
        assert isinstance(status["unreachable_time"], float) and status["agent_id"] == aid
    assert unreachable["unreachable_time"] == lost["unreachable_time"]
    aware.wait_for("agent_lost", agent_id=aid)
    plain.wait_for("agent_lost", agent_id=aid)
    master.wait_for("agent_unreachable", agent_id=aid)
    aware.tell(f"reconcile aware0 {aid}")
    answer = aware.wait_for("status", task_id="aware0", state="TASK_UNREACHABLE", reason="REASON_RECONCILIATION")
    assert answer["unreachable_time"] == unreachable["unreachable_time"]
    agent.wait_for("master_ping_timeout")  # the agent side of the partition: it will re-register

    launcher.net.heal("agent")
    master.wait_for("agent_reregistered", timeout=60, agent_id=aid, was_unreachable=True)
    again = aware.wait_for("status", task_id="aware0", state="TASK_RUNNING")
    assert (again["reason"], again["source"]) == ("REASON_AGENT_REREGISTERED", "SOURCE_MASTER")
    killed = plain.wait_for("status", task_id="plain0", state="TASK_KILLED")  # killed on the agent
    assert killed["agent_id"] == aid
    aware.tell("reconcile")
    assert aware.wait_for("status", task_id="aware0", reason="REASON_RECONCILIATION")["state"] == "TASK_RUNNING"
    assert agent.proc.poll() is None  # never shut down: Mesos 1.1+ re-admits the agent
