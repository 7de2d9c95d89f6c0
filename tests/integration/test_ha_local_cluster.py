"""``LocalCluster(masters=3, zk=...)``: three masters in this process elect through a real ZooKeeper;
stopping the leader elects a standby, agents and the framework follow it, the running tasks keep
running and new tasks still run."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from frameworks.testing import LocalCluster, ZooKeeperServer

pytestmark = pytest.mark.integration


class Launcher:
    """Launches each command put in ``todo`` on the next offer; records statuses and re-registrations."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.todo: list[tuple[str, str]] = []
        self.states: dict[str, list[str]] = {}
        self.reregistrations = 0

    def add(self, task_id: str, command: str) -> None:
        with self.cond:
            self.todo.append((task_id, command))

    def reregistered(self, driver: Any, master_info: Any) -> None:
        with self.cond:
            self.reregistrations += 1
            self.cond.notify_all()

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            with self.cond:
                job = self.todo.pop(0) if self.todo else None
            if job is None:
                driver.declineOffer(offer["id"], {"refuse_seconds": 0.2})
                continue
            driver.launchTasks(offer["id"], [{
                "name": job[0], "task_id": {"value": job[0]}, "agent_id": offer["agent_id"],
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                              {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}}],
                "command": {"value": job[1], "shell": True}}], {"refuse_seconds": 0.0})

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        with self.cond:
            self.states.setdefault(status["task_id"]["value"], []).append(status["state"])
            self.cond.notify_all()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: None

    def wait(self, predicate: Any, what: str, timeout: float = 30.0) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise AssertionError(f"no {what} within {timeout} s; states={self.states}")


def test_three_masters_in_one_process_survive_losing_the_leader() -> None:
    with ZooKeeperServer() as zk, LocalCluster(agents=2, resources="cpus:1;mem:256;disk:256", masters=3, zk=zk,
                                                zk_session_timeout=2.0, allocation_interval=0.1,
                                                start_timeout=30.0) as cluster:
        assert cluster.master == zk.url("/mesos")
        first = cluster.leader()
        assert cluster.state()["leading"] is True and len(cluster.state()["slaves"]) == 2
        scheduler = Launcher()
        for n in range(2):
            scheduler.add(f"sleeper-{n}", "sleep 600")
        driver = cluster.driver(scheduler, {"user": "", "name": "ha-local", "checkpoint": True,
                                            "failover_timeout": 600.0})
        driver.start()
        try:
            scheduler.wait(lambda: all("TASK_RUNNING" in scheduler.states.get(f"sleeper-{n}", []) for n in range(2)),
                           "two tasks running")
            cluster.stop_master(first)
            second = cluster.leader(timeout=20.0)
            assert second != first
            scheduler.wait(lambda: scheduler.reregistrations >= 1, "the framework re-registered with the new leader")
            assert cluster.wait_for_agents(2, timeout=30.0)
            running = {t["id"]: t["state"] for fw in cluster.state()["frameworks"] for t in fw["tasks"]}
            assert running == {"sleeper-0": "TASK_RUNNING", "sleeper-1": "TASK_RUNNING"}
            scheduler.add("after", "true")
            scheduler.wait(lambda: "TASK_FINISHED" in scheduler.states.get("after", []), "a task run after failover")
            assert all(states[-1] == "TASK_RUNNING" for t, states in scheduler.states.items() if t != "after")
            cluster.start_master(first)  # back as a standby: the leader stays
            assert cluster.leader() == second
        finally:
            driver.stop()
            driver.join(5)
