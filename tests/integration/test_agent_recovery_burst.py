"""Agent recovery under random crashes: a framework launches short tasks in a burst on a
checkpointing agent that is killed with kill -9 at random moments and restarted; every task
ends with exactly one terminal update, none lost."""

from __future__ import annotations

import random
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from actors.node import Node
from tests.integration.operators_support import Script, free_port
from tests.integration.test_master_restart import Recorder

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_GONE"}


class Burst(Recorder):
    """Launches a short task on every offer until ``stop()``, each with its own id."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng
        self.ids: list[str] = []
        self.stopped = False

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            have = {r["name"]: r.get("scalar", {}).get("value", 0.0) for r in offer["resources"]}
            with self.cond:
                fits = have.get("cpus", 0.0) >= 0.2 and have.get("mem", 0.0) >= 64.0
                task_id = None if self.stopped or not fits else f"burst-{len(self.ids) + 1}"
                if task_id is not None:
                    self.ids.append(task_id)
            if task_id is None:
                driver.declineOffer(offer["id"], {"refuse_seconds": 3600.0 if self.stopped else 0.5})
                continue
            driver.launchTasks(offer["id"], [{
                "name": task_id, "task_id": {"value": task_id}, "agent_id": offer["agent_id"],
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                              {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}}],
                "command": {"value": f"sleep {self.rng.uniform(0.0, 1.5):.2f}", "shell": True},
            }], {"refuse_seconds": 0.0})

    def terminal_states(self) -> dict[str, set[str]]:
        with self.cond:
            out: dict[str, set[str]] = {t: set() for t in self.ids}
            for s in self.statuses:
                if s.get("state") in TERMINAL:
                    out.setdefault(s["task_id"]["value"], set()).add(s["state"])
            return out


@pytest.mark.timeout(400)
def test_kill_9_at_random_moments_during_a_burst_loses_no_terminal_update(scripts: list[Script], cgroups_root: str,
                                                                        tmp_path: Path) -> None:
    from frameworks import MesosSchedulerDriver

    rng = random.Random(1201)
    port = free_port()
    address = f"127.0.0.1:{port}"
    master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1")
    scripts.append(master)
    master.wait_for("master_started", address=address)
    flags = (f"--master={address}", f"--port={free_port()}", f"--work_dir={tmp_path / 'agent'}",
             "--resources=cpus:1;mem:512;disk:512", "--registration_backoff_factor=0.05",
             "--status_update_retry_interval=1secs", "--executor_reregistration_timeout=10secs",
             f"--cgroups_root={cgroups_root}")
    agent = Script("mesopy-agent", *flags)
    scripts.append(agent)
    agent.wait_for("agent_registered", reregistered=False)
    framework = Burst(rng)
    node = Node().start()
    driver = MesosSchedulerDriver(framework, {"user": "", "name": "burst", "checkpoint": True,
                                              "failover_timeout": 60.0}, address, node=node)
    driver.start()
    pause = threading.Event()
    try:
        for _ in range(20):
            pause.wait(rng.uniform(0.0, 3.0))  # a random moment of launches and finishes
            agent.proc.send_signal(signal.SIGKILL)
            agent.proc.wait(5)
            agent = Script("mesopy-agent", *flags)
            scripts.append(agent)
            agent.wait_for("agent_registered", reregistered=True, timeout=30.0)
        with framework.cond:
            framework.stopped = True
        launched = len(framework.ids)
        assert launched >= 20
        framework.wait(lambda: all(framework.terminal_states().values()), "a terminal update for every task",
                       timeout=90.0)
        states = framework.terminal_states()
        assert {t: s for t, s in states.items() if len(s) != 1} == {}  # exactly one terminal state each
        # A task seen running had its executor checkpointed: it survives every restart and finishes.
        with framework.cond:
            ran = {s["task_id"]["value"] for s in framework.statuses if s.get("state") == "TASK_RUNNING"}
        assert {t: states[t] for t in ran if states[t] != {"TASK_FINISHED"}} == {}
        print(f"{launched} tasks launched, {len(ran)} seen running;",
              {state: sum(1 for s in states.values() if state in s) for state in TERMINAL})
        assert not any("Traceback" in line for s in scripts for line in s.lines)
    finally:
        driver.stop()
        driver.join(5)
        node.stop()
