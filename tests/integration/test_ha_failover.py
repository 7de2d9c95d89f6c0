"""Master failover through ZooKeeper, with real OS processes: 3 masters elect a
leader; agents and a framework follow it (``zk://``); kill -9 of the leader
makes a standby lead, and everyone re-registers with it, losing no task."""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actors.ha import Leader, LeaderDetector
from actors.node import Node
from frameworks.testing import ZooKeeperServer
from tests.integration.operators_support import Script, StateClient, free_port

pytestmark = pytest.mark.integration

SESSION = "2secs"  # masters' --zk_session_timeout: how long a killed leader's znode outlives it
TASKS = 4


@pytest.fixture
def zk() -> Iterator[ZooKeeperServer]:
    with ZooKeeperServer() as server:
        yield server


class Leaders:
    """The test's own view of the election (a real detector)."""

    def __init__(self, url: str) -> None:
        self.changes: queue.Queue[Leader | None] = queue.Queue()
        self.detector = LeaderDetector(url, self.changes.put).start()

    def next(self, other_than: str = "", timeout: float = 20.0) -> str:
        while True:
            leader = self.changes.get(timeout=timeout)
            if leader is not None and leader.pid != other_than:
                return leader.pid


class Sleepers:
    """Launches ``TASKS`` ``sleep 600`` tasks, one per offer, then ``waiter`` (ends once ``release``
    exists), and records every callback."""

    def __init__(self, release: str) -> None:
        self.release = release
        self.cond = threading.Condition()
        self.launched = 0
        self.framework_id = ""
        self.statuses: list[dict[str, Any]] = []
        self.calls: list[str] = []

    def _note(self, name: str) -> None:
        with self.cond:
            self.calls.append(name)
            self.cond.notify_all()

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        self.framework_id = framework_id["value"]
        self._note("registered")

    def reregistered(self, driver: Any, master_info: Any) -> None:
        self._note("reregistered")

    def disconnected(self, driver: Any) -> None:
        self._note("disconnected")

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            with self.cond:
                launch = self.launched <= TASKS
                self.launched += launch
                n = self.launched
            if not launch:
                driver.declineOffer(offer["id"], {"refuse_seconds": 3600.0})
                continue
            name, command = (f"sleeper-{n}", "sleep 600") if n <= TASKS else \
                ("waiter", f"while [ ! -e {self.release} ]; do sleep 0.05; done")
            driver.launchTasks(offer["id"], [{
                "name": name, "task_id": {"value": name}, "agent_id": offer["agent_id"],
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                              {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}}],
                "command": {"value": command, "shell": True},
            }], {"refuse_seconds": 0.0})

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        with self.cond:
            self.statuses.append(dict(status))
            self.cond.notify_all()

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self._note(name)

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise AssertionError(f"no {what} within {timeout} s; calls={self.calls} statuses={self.statuses[-8:]}")

    def running(self, since: int = 0, reason: str | None = None) -> set[str]:
        with self.cond:
            return {s["task_id"]["value"] for s in self.statuses[since:] if s.get("state") == "TASK_RUNNING"
                    and (reason is None or s.get("reason") == reason) and s["task_id"]["value"] != "waiter"}

    def states(self, task: str) -> list[str]:
        with self.cond:
            return [s["state"] for s in self.statuses if s["task_id"]["value"] == task]

    def bad(self) -> list[dict[str, Any]]:
        with self.cond:
            return [s for s in self.statuses if s.get("state") not in ("TASK_STARTING", "TASK_RUNNING")
                    and not (s["task_id"]["value"] == "waiter" and s["state"] == "TASK_FINISHED")]


def _master(url: str, scripts: list[Script], session: str = SESSION, *flags: str) -> tuple[str, Script]:
    port = free_port()
    script = Script("mesopy-master", f"--port={port}", f"--zk={url}", f"--zk_session_timeout={session}",
                    "--allocation_interval=0.1", *flags)
    scripts.append(script)
    script.wait_for("master_started")
    return f"master@127.0.0.1:{port}", script


def _tasks(state: dict[str, Any], framework_id: str) -> dict[str, str]:
    return {t["id"]: t["state"] for fw in state.get("frameworks", []) if fw["id"] == framework_id
            for t in fw["tasks"]}


def test_killing_the_leader_elects_a_standby_and_everyone_follows_it(
        zk: ZooKeeperServer, scripts: list[Script], tmp_path: Any) -> None:
    from frameworks import MesosSchedulerDriver

    url = zk.url("/mesos")
    leaders = Leaders(url)
    masters = dict(_master(url, scripts) for _ in range(3))
    leader = leaders.next()
    assert leader in masters
    agents = []
    for i in range(2):
        agent = Script("mesopy-agent", f"--master={url}", "--port=0", f"--work_dir={tmp_path / f'agent{i}'}",
                       "--resources=cpus:1;mem:512;disk:512", "--registration_backoff_factor=0.05")
        scripts.append(agent)
        agents.append(agent)
    agent_ids = {agent.wait_for("agent_registered", reregistered=False, timeout=20)["agent_id"] for agent in agents}
    release = tmp_path / "release"
    scheduler = Sleepers(str(release))
    node = Node().start()
    driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "ha-test", "checkpoint": True,
                                              "failover_timeout": 600.0}, url, node=node)
    driver.start()
    try:
        scheduler.wait(lambda: len(scheduler.running()) == TASKS and "TASK_RUNNING" in scheduler.states("waiter"),
                       f"{TASKS} sleepers and the waiter running")
        framework_id = scheduler.framework_id
        for round_ in range(5):
            calls = len(scheduler.calls)  # before the kill: a dead master is seen at once
            victim = masters.pop(leader)
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait(5)
            if round_ == 0:  # an update produced while no master leads
                release.touch()
            new_pid, standby = _master(url, scripts)  # a fresh standby replaces the dead one
            masters[new_pid] = standby
            leader = leaders.next(other_than=leader)
            assert leader in masters and leader != new_pid
            elected = masters[leader]
            elected.wait_for("master_elected", timeout=15)
            for agent in agents:
                agent.wait_for("agent_registered", reregistered=True, timeout=30, master=leader)
            scheduler.wait(lambda: "reregistered" in scheduler.calls[calls:], f"round {round_}: reregistered")
            client = StateClient(leader.split("@")[1])
            try:
                state = client.wait_until(lambda s: len(_tasks(s, framework_id)) >= TASKS, timeout=20)
                tasks = _tasks(state, framework_id)
                assert {t for t, st in tasks.items() if st == "TASK_RUNNING"} == {f"sleeper-{n}" for n in range(1, TASKS + 1)}
                assert {a["id"] for a in state["slaves"] if a["active"]} == agent_ids
                assert state["leader"] == leader and state["leading"] is True
            finally:
                client.close()
            if round_ == 0:
                scheduler.wait(lambda: "TASK_FINISHED" in scheduler.states("waiter"), "the waiter's TASK_FINISHED")
            mark = len(scheduler.statuses)
            driver.reconcileTasks([])
            scheduler.wait(lambda: len(scheduler.running(mark, reason="REASON_RECONCILIATION")) == TASKS,
                           f"round {round_}: reconciliation")
            assert any(f"{leader} is now the leading master" in line for line in elected.lines)
        assert scheduler.bad() == []
        assert not any("Traceback" in line for s in scripts for line in s.lines)
    finally:
        driver.stop()
        driver.join(5)
        node.stop()
        leaders.detector.stop()


def _leading(masters: dict[str, Script]) -> Callable[[], str]:
    def leader() -> str:
        for pid in masters:
            client = StateClient(pid.split("@")[1])
            try:
                if client.state().get("leading"):
                    return pid
            except Exception:
                pass
            finally:
                client.close()
        return ""
    return leader


def test_zookeeper_losing_a_server_or_restarting_loses_no_task(scripts: list[Script], tmp_path: Any) -> None:
    from frameworks import MesosSchedulerDriver

    with ZooKeeperServer(servers=3) as ensemble:
        url = ensemble.url("/mesos")
        leaders = Leaders(url)
        masters = dict(_master(url, scripts, session="10secs") for _ in range(2))
        leader = leaders.next()
        agent = Script("mesopy-agent", f"--master={url}", "--port=0", f"--work_dir={tmp_path / 'agent'}",
                       "--resources=cpus:1;mem:512;disk:512", "--registration_backoff_factor=0.05")
        scripts.append(agent)
        agent.wait_for("agent_registered", timeout=20)
        scheduler = Sleepers(str(tmp_path / "release"))
        node = Node().start()
        driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "zk-loss", "checkpoint": True,
                                                  "failover_timeout": 600.0}, url, node=node)
        driver.start()
        try:
            scheduler.wait(lambda: len(scheduler.running()) == TASKS, f"{TASKS} tasks running")
            # One server of three (ZooKeeper's own leader) dies: the quorum stays, so does our leader.
            ensemble.stop_server([ensemble.mode(i) for i in range(3)].index("leader"))
            ensemble.wait_ready([i for i in range(3) if ensemble.mode(i) is not None])
            assert _leading(masters)() == leader
            # Every server restarts (kill -9, then start): the leader keeps its session or a master re-leads.
            ensemble.restart()
            current = ""
            for _ in range(100):
                current = _leading(masters)()
                if current:
                    break
                threading.Event().wait(0.2)
            assert current in masters
            client = StateClient(current.split("@")[1])
            try:
                state = client.wait_until(lambda s: len(_tasks(s, scheduler.framework_id)) == TASKS + 1, timeout=30)
                assert set(_tasks(state, scheduler.framework_id).values()) == {"TASK_RUNNING"}  # and the waiter
            finally:
                client.close()
            mark = len(scheduler.statuses)
            driver.reconcileTasks([])
            scheduler.wait(lambda: len(scheduler.running(mark, reason="REASON_RECONCILIATION")) == TASKS,
                           "reconciliation after the ZooKeeper restart")
            assert scheduler.bad() == []
        finally:
            driver.stop()
            driver.join(5)
            node.stop()
            leaders.detector.stop()
