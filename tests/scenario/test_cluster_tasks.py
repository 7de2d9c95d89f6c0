"""End to end: reconciliation, kill, framework messages with a custom executor, agent removal."""

from __future__ import annotations

from typing import Any

import pytest

from frameworks import encode_data
from frameworks.testing import LocalCluster
from tests.scenario.cluster_support import (
    Recorder,
    command_task,
    echo_task,
    framework,
    running,
    used,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

CLUSTER: dict[str, Any] = {"agents": 1, "resources": "cpus:2;mem:1024", "allocation_interval": 0.05}


def launch_first(*tasks: Any) -> Any:
    """Policy: launch ``tasks(offer)`` on the first offer, decline every later one for a minute."""
    def policy(rec: Recorder, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            if len(rec.offers) == 1 and offer is rec.offers[0][1]:
                driver.launchTasks(offer["id"], [make(offer) for make in tasks])
            else:
                driver.declineOffer(offer["id"], {"refuse_seconds": 60})
    return policy


def test_reconciliation_explicit_and_implicit_then_kill() -> None:
    with LocalCluster(**CLUSTER) as cluster:
        rec = Recorder(launch_first(lambda o: command_task("r1", o, 1, 128)))
        with running(cluster, rec, framework("reconcile")) as driver:
            running_status = rec.status("r1", "TASK_RUNNING")
            agent_id = running_status["agent_id"]

            def reconciled(tid: str, state: str) -> dict[str, Any]:
                return rec.status(tid, state, where=lambda s: s.get("reason") == "REASON_RECONCILIATION")

            driver.reconcileTasks([{"task_id": {"value": "r1"}, "agent_id": agent_id},
                                   {"task_id": {"value": "never-launched"}}])
            explicit = reconciled("r1", "TASK_RUNNING")
            assert explicit["agent_id"] == agent_id and explicit["source"] == "SOURCE_MASTER"
            assert "uuid" not in explicit or not explicit["uuid"]  # nothing to acknowledge
            # Not partition-aware: an unknown task is TASK_LOST (TASK_UNKNOWN if partition-aware).
            reconciled("never-launched", "TASK_LOST")

            before = len(rec.statuses)
            driver.reconcileTasks([])
            assert rec.wait(lambda: any(s.get("reason") == "REASON_RECONCILIATION" for s in rec.statuses[before:]))
            implicit = [s for s in rec.statuses[before:] if s.get("reason") == "REASON_RECONCILIATION"]
            assert [(s["task_id"]["value"], s["state"]) for s in implicit] == [("r1", "TASK_RUNNING")]

            driver.killTask({"value": "r1"})
            killed = rec.status("r1", "TASK_KILLED")
            assert killed["source"] in ("SOURCE_EXECUTOR", "SOURCE_AGENT")
            state = cluster.state()
            assert used(state, "cpus") == 0.0
            assert [t["state"] for t in state["frameworks"][0]["completed_tasks"]] == ["TASK_KILLED"]


def test_partition_aware_reconciliation_of_an_unknown_task_is_task_unknown() -> None:
    with LocalCluster(**CLUSTER) as cluster:
        rec = Recorder()
        info = framework("reconcile-pa", capabilities=[{"type": "PARTITION_AWARE"}])
        with running(cluster, rec, info) as driver:
            driver.reconcileTasks([{"task_id": {"value": "nope"}}])
            status = rec.status("nope", "TASK_UNKNOWN")
            assert status["reason"] == "REASON_RECONCILIATION"


def test_framework_message_round_trip_with_a_custom_executor() -> None:
    with LocalCluster(**CLUSTER) as cluster:
        rec = Recorder(launch_first(lambda o: echo_task("e1", o)))
        with running(cluster, rec, framework("echo")) as driver:
            agent_id = rec.status("e1", "TASK_RUNNING")["agent_id"]
            state = cluster.state()
            assert (used(state, "cpus"), used(state, "mem")) == (0.2, 96.0)  # task + its executor
            driver.sendFrameworkMessage({"value": "echo"}, agent_id, b"ping")
            assert rec.wait(lambda: bool(rec.messages)), "no reply from the executor"
            assert rec.messages == [("echo", agent_id["value"], encode_data(b"echo:ping"))]  # base64 text
            driver.sendFrameworkMessage({"value": "echo"}, agent_id, b"finish")
            rec.status("e1", "TASK_FINISHED")


def test_an_agent_that_stops_answering_pings_is_removed_and_its_task_lost() -> None:
    with LocalCluster(**CLUSTER, agent_ping_timeout=0.5, max_agent_ping_timeouts=3) as cluster:
        rec = Recorder(launch_first(lambda o: command_task("doomed", o, 1, 128)))
        # Checkpointing: the task is kept through the disconnection, until the pings fail.
        with running(cluster, rec, framework("removal", checkpoint=True)):
            agent_id = rec.status("doomed", "TASK_RUNNING")["agent_id"]["value"]
            # The agent's actor stops: it no longer answers the master's pings.
            cluster.stop_agent(0)
            assert rec.wait(lambda: agent_id in rec.lost_agents, 10), "no slaveLost"
            lost = rec.status("doomed", "TASK_LOST")
            assert lost["reason"] == "REASON_AGENT_REMOVED" and lost["source"] == "SOURCE_MASTER"
            state = cluster.state()
            assert state["slaves"] == []
            assert [t["state"] for t in state["frameworks"][0]["unreachable_tasks"]] == ["TASK_LOST"]
            assert [a["id"] for a in state["unreachable_agents"]] == [agent_id]


def test_a_non_checkpointing_frameworks_task_is_lost_as_soon_as_its_agent_stops() -> None:
    with LocalCluster(**CLUSTER, agent_ping_timeout=60, max_agent_ping_timeouts=5) as cluster:
        rec = Recorder(launch_first(lambda o: command_task("fragile", o, 1, 128)))
        with running(cluster, rec, framework("no-checkpoint")):
            agent_id = rec.status("fragile", "TASK_RUNNING")["agent_id"]["value"]
            cluster.stop_agent(0)
            # Long before any ping timeout (5 x 60 s): lost on the disconnection itself.
            lost = rec.status("fragile", "TASK_LOST")
            assert lost["reason"] == "REASON_AGENT_DISCONNECTED" and lost["source"] == "SOURCE_MASTER"
            assert "disconnected" in lost["message"]
            assert agent_id not in rec.lost_agents
            state = cluster.state()
            assert [s["id"] for s in state["slaves"]] == [agent_id] and state["deactivated_slaves"] == 1
            assert [t["state"] for t in state["frameworks"][0]["completed_tasks"]] == ["TASK_LOST"]
            assert state["frameworks"][0]["tasks"] == []
