"""A master restart with real OS processes: the agent re-registers with its
running task, the framework (checkpointing, with a failover timeout) re-registers
with its id, reconciles its task as running, and can still kill it."""

from __future__ import annotations

import importlib.util
import signal
import threading
from collections.abc import Callable
from typing import Any

import pytest

from actors.node import Node
from tests.integration.operators_support import (
    Script,
    StateClient,
    free_port,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        importlib.util.find_spec("actors.executor.command") is None,
        reason="the command executor (actors.executor.command) is not written yet",
    ),
]


class Recorder:
    """A scheduler that launches one ``sleep 60`` task and records every callback."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.task_id = "sleeper-1"
        self.launched = False
        self.framework_id: str | None = None
        self.statuses: list[dict[str, Any]] = []
        self.calls: list[str] = []

    def _note(self, name: str) -> None:
        with self.cond:
            self.calls.append(name)
            self.cond.notify_all()

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        with self.cond:
            self.framework_id = framework_id["value"]
        self._note("registered")

    def reregistered(self, driver: Any, master_info: Any) -> None:
        self._note("reregistered")

    def disconnected(self, driver: Any) -> None:
        self._note("disconnected")

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            with self.cond:
                launch, self.launched = not self.launched, True
            if not launch:
                driver.declineOffer(offer["id"], {"refuse_seconds": 3600.0})
                continue
            task = {
                "name": "sleeper",
                "task_id": {"value": self.task_id},
                "agent_id": offer["agent_id"],
                "resources": [
                    {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                    {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}},
                ],
                "command": {"value": "sleep 60", "shell": True},
            }
            driver.launchTasks(offer["id"], [task])

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        with self.cond:
            self.statuses.append(dict(status))
            self.cond.notify_all()

    def __getattr__(self, name: str) -> Callable[..., None]:  # the other callbacks: recorded only
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: self._note(name)

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise AssertionError(f"no {what} within {timeout} s; calls={self.calls} statuses={self.statuses}")

    def seen(self, state: str, since: int = 0, reason: str | None = None) -> bool:
        return any(
            s.get("task_id", {}).get("value") == self.task_id
            and s.get("state") == state
            and (reason is None or s.get("reason") == reason)
            for s in self.statuses[since:]
        )


def _tasks(state: dict[str, Any], framework_id: str) -> list[dict[str, Any]]:
    return [t for fw in state.get("frameworks", []) if fw["id"] == framework_id for t in fw["tasks"]]


def test_agent_and_framework_reregister_with_the_running_task_after_a_master_restart(
    scripts: list[Script], tmp_path: Any
) -> None:
    from frameworks import MesosSchedulerDriver

    port = free_port()
    address = f"127.0.0.1:{port}"
    master_flags = (f"--port={port}", "--allocation_interval=0.1")
    master = Script("mesopy-master", *master_flags)
    scripts.append(master)
    master.wait_for("master_started", address=address)
    agent = Script(
        "mesopy-agent", f"--master={address}", "--port=0", f"--work_dir={tmp_path / 'agent'}",
        "--resources=cpus:1;mem:512;disk:512", "--registration_backoff_factor=0.05",
    )
    scripts.append(agent)
    agent_id = agent.wait_for("agent_registered", reregistered=False)["agent_id"]

    scheduler = Recorder()
    node = Node().start()  # the driver's own node, stopped at the end
    driver = MesosSchedulerDriver(
        scheduler,
        {"user": "", "name": "restart-test", "checkpoint": True, "failover_timeout": 60.0},
        address,
        node=node,
    )
    driver.start()
    client: StateClient | None = None
    try:
        scheduler.wait(lambda: scheduler.seen("TASK_RUNNING"), "TASK_RUNNING", timeout=20.0)
        framework_id = scheduler.framework_id
        assert framework_id

        # The master dies without a word; a new one comes up on the same port.
        master.proc.send_signal(signal.SIGKILL)
        master.proc.wait(5)
        scheduler.wait(lambda: "disconnected" in scheduler.calls, "disconnected callback")
        # The agent must see the old master gone (its heartbeat timeout, 3 s) before the new
        # one answers on the same port: the transport's pings cannot tell the two apart.
        agent.wait_for("master_disconnected", timeout=10.0)
        master = Script("mesopy-master", *master_flags)
        scripts.append(master)
        master.wait_for("master_started", address=address)

        # The agent re-registers under its id, reporting its running task.
        reregistered = agent.wait_for("agent_registered", reregistered=True, timeout=15.0)
        assert reregistered["agent_id"] == agent_id
        recovered = master.wait_for("agent_reregistered", agent_id=agent_id)
        assert recovered["tasks"] == 1
        client = StateClient(address)
        state = client.wait_until(lambda s: bool(_tasks(s, framework_id)))
        assert [a["id"] for a in state["slaves"] if a["active"]] == [agent_id]
        [task] = _tasks(state, framework_id)
        assert (task["id"], task["state"], task["slave_id"]) == (scheduler.task_id, "TASK_RUNNING", agent_id)

        # The driver re-registers with its framework id; the master then knows it as connected.
        scheduler.wait(lambda: "reregistered" in scheduler.calls, "reregistered callback")
        assert "registered" not in scheduler.calls[scheduler.calls.index("disconnected"):]
        assert driver.framework_id == framework_id  # the id text, as pymesos has it
        state = client.wait_until(
            lambda s: any(fw["id"] == framework_id and fw["connected"] for fw in s["frameworks"])
        )
        [framework] = [fw for fw in state["frameworks"] if fw["id"] == framework_id]
        assert framework["active"] and framework["checkpoint"] and not framework["recovered"]
        assert [(t["id"], t["state"]) for t in framework["tasks"]] == [(scheduler.task_id, "TASK_RUNNING")]

        # Implicit reconciliation: the new master answers TASK_RUNNING for the task.
        mark = len(scheduler.statuses)
        driver.reconcileTasks([])
        scheduler.wait(
            lambda: scheduler.seen("TASK_RUNNING", mark, reason="REASON_RECONCILIATION"), "reconciliation"
        )

        # And the task can still be killed through the new master.
        mark = len(scheduler.statuses)
        driver.killTask({"value": scheduler.task_id})
        scheduler.wait(lambda: scheduler.seen("TASK_KILLED", mark), "TASK_KILLED")
        assert not any(s.get("state") in ("TASK_LOST", "TASK_FAILED") for s in scheduler.statuses)
        assert not any("Traceback" in line for s in scripts for line in s.lines)
    finally:
        if client is not None:
            client.close()
        driver.stop()
        driver.join(5)
        node.stop()
