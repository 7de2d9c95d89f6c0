"""The registry in ZooKeeper, with real processes: after the leader is killed, the new leader knows
which agents to wait for; reconciliation says nothing about a task on an agent that has not
re-registered yet; an agent that never comes back is marked unreachable after
--agent_reregister_timeout, not before."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from typing import Any

import pytest

from actors.node import Node
from frameworks.testing import ZooKeeperServer
from tests.integration.operators_support import Script, kill_executors_under
from tests.integration.test_ha_failover import SESSION, Leaders, _master

pytestmark = pytest.mark.integration

REREGISTER = 4.0  # the masters' --agent_reregister_timeout, seconds


class OnePerAgent:
    """Launches one ``sleep 600`` on each agent it is offered; records statuses and lost agents."""

    def __init__(self, agents: int) -> None:
        self.agents = agents
        self.cond = threading.Condition()
        self.task_of: dict[str, str] = {}  # agent id -> task id
        self.statuses: list[dict[str, Any]] = []
        self.lost: list[str] = []
        self.reregistrations = 0

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        pass

    def reregistered(self, driver: Any, master_info: Any) -> None:
        with self.cond:
            self.reregistrations += 1
            self.cond.notify_all()

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            aid = offer["agent_id"]["value"]
            with self.cond:
                fresh = aid not in self.task_of
                if fresh:
                    self.task_of[aid] = f"sleeper-{len(self.task_of) + 1}"
            if not fresh:
                driver.declineOffer(offer["id"], {"refuse_seconds": 3600.0})
                continue
            driver.launchTasks(offer["id"], [{
                "name": self.task_of[aid], "task_id": {"value": self.task_of[aid]}, "agent_id": offer["agent_id"],
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                              {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}}],
                "command": {"value": "sleep 600", "shell": True}}], {"refuse_seconds": 3600.0})

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        with self.cond:
            self.statuses.append(dict(status))
            self.cond.notify_all()

    def slaveLost(self, driver: Any, agent_id: Any) -> None:
        with self.cond:
            self.lost.append(agent_id["value"])
            self.cond.notify_all()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: None

    def wait(self, predicate: Any, what: str, timeout: float = 30.0) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise AssertionError(f"no {what} within {timeout} s; statuses={self.statuses[-6:]} lost={self.lost}")

    def wait_running(self, count: int) -> None:
        self.wait(lambda: {s["task_id"]["value"] for s in self.statuses if s["state"] == "TASK_RUNNING"}
                  == {f"sleeper-{n}" for n in range(1, count + 1)}, f"{count} tasks running")

    def answers(self, since: int, task: str) -> list[str]:
        with self.cond:
            return [s["state"] for s in self.statuses[since:]
                    if s["task_id"]["value"] == task and s.get("reason") == "REASON_RECONCILIATION"]


def start_agents(scripts: list[Script], master: str, tmp_path: Any, count: int, first: int = 0) -> list[Script]:
    """``count`` mesopy-agent processes following ``master`` (host:port or zk://), work dirs
    tmp_path/agent<i> for i from ``first``."""
    agents = []
    for i in range(first, first + count):
        agent = Script("mesopy-agent", f"--master={master}", "--port=0", f"--work_dir={tmp_path / f'agent{i}'}",
                       "--resources=cpus:1;mem:512;disk:512", "--registration_backoff_factor=0.05")
        scripts.append(agent)
        agents.append(agent)
    return agents


def kill_agent(agent: Script, work_dir: str) -> None:
    """kill -9 the agent, and its executors (for good: it never comes back)."""
    agent.proc.send_signal(signal.SIGKILL)
    agent.proc.wait(5)
    kill_executors_under(work_dir)


def _when(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00")).timestamp()


def silent_then_lost(scheduler: OnePerAgent, driver: Any, master: Script, kept: str, gone: str,
                     since: dict[str, Any]) -> None:
    """After a failover or restart (logged as ``since``) with agent ``kept`` back and ``gone`` not:
    reconciliation says nothing about gone's task, until gone is marked unreachable
    --agent_reregister_timeout after ``since`` (not before); then TASK_LOST."""
    # Both in one request: the answer for gone's task would come before kept's.
    mark = len(scheduler.statuses)
    driver.reconcileTasks([
        {"task_id": {"value": scheduler.task_of[gone]}, "agent_id": {"value": gone}, "state": "TASK_RUNNING"},
        {"task_id": {"value": scheduler.task_of[kept]}, "agent_id": {"value": kept}, "state": "TASK_RUNNING"}])
    scheduler.wait(lambda: scheduler.answers(mark, scheduler.task_of[kept]) == ["TASK_RUNNING"],
                   "the re-registered agent's task reconciled")
    assert scheduler.answers(mark, scheduler.task_of[gone]) == [] and scheduler.lost == []
    marked = master.wait_for("agent_unreachable", agent_id=gone, registered=False, timeout=30)
    assert _when(marked) - _when(since) >= REREGISTER - 0.05
    scheduler.wait(lambda: scheduler.lost == [gone], "slaveLost for the missing agent")
    mark = len(scheduler.statuses)
    driver.reconcileTasks([
        {"task_id": {"value": scheduler.task_of[gone]}, "agent_id": {"value": gone}, "state": "TASK_RUNNING"}])
    scheduler.wait(lambda: scheduler.answers(mark, scheduler.task_of[gone]) == ["TASK_LOST"],
                   "TASK_LOST for the unreachable agent's task (the framework is not partition-aware)")


def test_a_new_leader_waits_for_registered_agents_then_marks_the_missing_one_unreachable(
        scripts: list[Script], tmp_path: Any) -> None:
    from frameworks import MesosSchedulerDriver

    with ZooKeeperServer() as zk:
        url = zk.url("/mesos")
        leaders = Leaders(url)
        masters: dict[str, Script] = {}
        for _ in range(2):
            pid, script = _master(url, scripts, SESSION, f"--agent_reregister_timeout={REREGISTER}secs")
            masters[pid] = script
        leader = leaders.next()
        agents = start_agents(scripts, url, tmp_path, 2)
        ids = [agent.wait_for("agent_registered", reregistered=False, timeout=20)["agent_id"] for agent in agents]
        scheduler = OnePerAgent(2)
        node = Node().start()
        driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "registry", "checkpoint": True,
                                                  "failover_timeout": 600.0}, url, node=node)
        driver.start()
        try:
            scheduler.wait_running(2)
            kept, gone = ids
            kill_agent(agents[1], str(tmp_path / "agent1"))  # for good; then the leader is killed
            masters.pop(leader).proc.send_signal(signal.SIGKILL)
            new_leader = leaders.next(other_than=leader)
            elected = masters[new_leader].wait_for("master_elected", timeout=15)
            assert elected["recovered_agents"] == 2
            agents[0].wait_for("agent_registered", reregistered=True, timeout=30, master=new_leader)
            scheduler.wait(lambda: scheduler.reregistrations >= 1, "the framework's re-registration")
            silent_then_lost(scheduler, driver, masters[new_leader], kept, gone, since=elected)
            assert not any("Traceback" in line for s in scripts for line in s.lines)
        finally:
            driver.stop()
            driver.join(5)
            node.stop()
            leaders.detector.stop()


def test_a_registry_write_that_fails_is_not_ignored_the_master_exits(scripts: list[Script], tmp_path: Any) -> None:
    from kazoo.client import KazooClient

    with ZooKeeperServer() as zk:
        url = zk.url("/mesos")
        _, master = _master(url, scripts)
        master.wait_for("master_elected", timeout=15)
        start_agents(scripts, url, tmp_path, 1)[0].wait_for("agent_registered", timeout=20)
        # Someone else writes the registry (as a second leader would): this master's version is stale.
        client = KazooClient(hosts=zk.hosts)
        client.start(timeout=15)
        try:
            data, _ = client.get("/mesos/registry")
            client.set("/mesos/registry", data)
        finally:
            client.stop()
            client.close()
        (second,) = start_agents(scripts, url, tmp_path, 1, first=1)
        failed = master.wait_for("registrar_failed", timeout=20)
        assert "BadVersion" in failed["reason"]
        assert master.proc.wait(15) == 1
        assert any("not leading any more (registry write failed" in line for line in master.lines)
        assert not any(e.get("event") == "agent_registered" for e in list(second.events.queue))
