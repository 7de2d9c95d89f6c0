"""Two Sigma's Cook executor (a real pymesos executor; imports changed) on a LocalCluster.

What its authors meant (executor/README.md): it runs the command given as
JSON in the task's base64 ``data``, reports TASK_STARTING, TASK_RUNNING and
TASK_FINISHED (exit 0) or TASK_FAILED (exit > 0), and sends the scheduler
framework messages: the sandbox location, progress lines it finds in the
task's output (``progress: <percent>, <message>``) and the exit code. It reads
MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD and MESOS_RECOVERY_TIMEOUT with
pymesos' ``parse_duration`` and MESOS_CHECKPOINT as an integer, and the
process exits by itself once its one task is done.

The scheduler here is ours (Cook's is written in Clojure), on the SDK with
``use_addict=True``; the executors are real OS processes started by the agent.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from frameworks import MesosSchedulerDriver, Scheduler, decode_data, encode_data
from frameworks.testing import LocalCluster, find_sandbox_file
from tests.compat.support import HERE

pytestmark = pytest.mark.integration

COOK = os.path.join(HERE, "cook_executor")
COMMANDS = {
    "ok": "echo 'progress: 50, halfway'; echo done",
    "fails": "echo 'progress: 10, starting'; exit 3",
}


def _resources(cpus: float, mem: float) -> list[dict[str, Any]]:
    return [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}}]


class CookScheduler(Scheduler):
    """Launches each command on its own Cook executor; records states, messages and executor exits."""

    def __init__(self) -> None:
        self.pending = dict(COMMANDS)
        self.cond = threading.Condition()
        self.states: dict[str, list[str]] = {}
        self.messages: list[dict[str, Any]] = []
        self.exited: dict[str, int] = {}

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        json.dumps([framework_id, master_info])  # v1 JSON shapes: every callback argument serialises
        assert master_info.version == driver.version and tuple(map(int, driver.version.split("."))) >= (1, 0, 0)

    def resourceOffers(self, driver: Any, offers: list[Any]) -> None:
        json.dumps(offers)
        for offer in offers:
            with self.cond:
                launch, self.pending = self.pending, {}
            if not launch:
                driver.declineOffer(offer.id, {"refuse_seconds": 60})
                continue
            driver.launchTasks(offer.id, [self._task(task_id, command, offer) for task_id, command in launch.items()])

    def _task(self, task_id: str, command: str, offer: Any) -> dict[str, Any]:
        variables = [{"name": "PYTHONPATH", "value": COOK}, {"name": "PROGRESS_SAMPLE_INTERVAL_MS", "value": "100"}]
        return {
            "task_id": {"value": task_id}, "agent_id": offer.agent_id, "name": task_id,
            "resources": _resources(0.1, 32),
            "data": encode_data(json.dumps({"command": command}).encode()),
            "executor": {"executor_id": {"value": f"cook-{task_id}"}, "resources": _resources(0.1, 64),
                         "command": {"value": f"{sys.executable} -m cook", "environment": {"variables": variables}}},
        }

    def statusUpdate(self, driver: Any, update: Any) -> None:
        json.dumps(update)
        with self.cond:
            self.states.setdefault(update.task_id.value, []).append(update.state)
            self.cond.notify_all()

    def frameworkMessage(self, driver: Any, executor_id: Any, agent_id: Any, data: str) -> None:
        json.dumps([executor_id, agent_id, data])
        with self.cond:
            self.messages.append(json.loads(decode_data(data)))
            self.cond.notify_all()

    def executorLost(self, driver: Any, executor_id: Any, agent_id: Any, status: int) -> None:
        json.dumps([executor_id, agent_id, status])
        with self.cond:
            self.exited[executor_id.value] = status
            self.cond.notify_all()

    def wait(self, predicate: Any, timeout: float = 30.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(agents=1, resources="cpus:1;mem:512", allocation_interval=0.2) as c:
        yield c


def test_cook_executor_runs_commands_and_reports_progress_and_exit_codes(cluster: LocalCluster) -> None:
    scheduler = CookScheduler()
    driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "cook-compat"}, cluster.master, use_addict=True)
    driver.start()
    try:
        assert scheduler.wait(lambda: len(scheduler.exited) == 2), (scheduler.states, scheduler.messages)
        assert scheduler.states == {
            "ok": ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"],
            "fails": ["TASK_STARTING", "TASK_RUNNING", "TASK_FAILED"],
        }
        # Both executors stopped their driver and exited by themselves, with status 0.
        assert scheduler.exited == {"cook-ok": 0, "cook-fails": 0}
        by_task: dict[str, list[dict[str, Any]]] = {}
        for message in scheduler.messages:
            by_task.setdefault(message["task-id"], []).append(message)
        framework_id = driver.framework_id
        assert framework_id is not None
        for task_id, percent, text, code in (("ok", 50, "halfway", 0), ("fails", 10, "starting", 3)):
            messages = by_task[task_id]
            stdout = find_sandbox_file(cluster.work_dir, framework_id, f"cook-{task_id}", "stdout")
            assert stdout is not None
            directories = [m["sandbox-directory"] for m in messages if m.get("type") == "directory"]
            assert directories == [os.path.dirname(stdout)]  # its MESOS_DIRECTORY
            assert {(m["progress-percent"], m["progress-message"]) for m in messages
                    if "progress-percent" in m} == {(percent, text)}
            assert [m["exit-code"] for m in messages if "exit-code" in m] == [code]
            log = open(os.path.join(os.path.dirname(stdout), "executor.log")).read()
            assert "Shutdown grace period is 5secs" in log and "with recovery timeout 15mins" in log
    finally:
        driver.stop()
        driver.join(10)
