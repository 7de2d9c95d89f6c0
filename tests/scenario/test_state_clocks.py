"""Every time the master publishes (its state, the status updates it makes) is
epoch seconds, as in Mesos, whatever clock drives its timers."""

from __future__ import annotations

import threading
import time
from typing import Any

from frameworks import MesosSchedulerDriver
from frameworks.command import CommandScheduler
from frameworks.testing import LocalCluster


class Reconciling(CommandScheduler):
    """Runs the command; afterwards collects the master's answers to an explicit reconciliation."""

    def __init__(self) -> None:
        super().__init__("true", "cpus:0.1;mem:32")
        self.answers: list[dict[str, Any]] = []
        self.answered = threading.Event()

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        if status.get("reason") == "REASON_RECONCILIATION":
            self.answers.append(status)
            self.answered.set()
            return
        super().statusUpdate(driver, status)


def _completed_frameworks(cluster: LocalCluster, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The state's completed frameworks, once there is one (the driver's unregistration is a message)."""
    pause, waited, step = threading.Event(), 0.0, 0.01
    while not (completed := cluster.state()["completed_frameworks"]) and waited < timeout:
        pause.wait(step)
        waited += step
        step = min(step * 2, 0.2)
    return list(completed)


def _in(window: tuple[float, float], value: Any, what: str) -> None:
    assert isinstance(value, float) and window[0] <= value <= window[1], f"{what}={value!r} not in {window}"


def test_state_and_master_made_statuses_carry_epoch_seconds() -> None:
    before = time.time()
    with LocalCluster(agents=1, resources="cpus:1;mem:256", allocation_interval=0.1) as cluster:
        scheduler = Reconciling()
        driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "clocks"}, cluster.master)
        driver.start()
        try:
            assert scheduler.done.wait(30), scheduler.statuses
            assert scheduler.succeeded(), scheduler.statuses
            driver.reconcileTasks([{"task_id": {"value": "no-such-task"}}])
            assert scheduler.answered.wait(10)
            state = cluster.state()
        finally:
            driver.stop()
            driver.join(5)
        after = time.time()
        window = (before, after)
        _in(window, state["start_time"], "start_time")
        _in(window, state["elected_time"], "elected_time")
        for agent in state["slaves"]:
            _in(window, agent["registered_time"], "slaves[].registered_time")
        (framework,) = state["frameworks"]
        _in(window, framework["registered_time"], "frameworks[].registered_time")
        assert framework["registered_time"] >= state["start_time"]
        for task in framework["tasks"] + framework["completed_tasks"]:
            for status in task["statuses"]:
                _in(window, status["timestamp"], "statuses[].timestamp")
        for status in scheduler.statuses.values():
            _in(window, float(status["timestamp"]), "status update timestamp")
        (answer,) = scheduler.answers
        assert answer["source"] == "SOURCE_MASTER"
        _in(window, float(answer["timestamp"]), "master-made status timestamp")
        removed = _completed_frameworks(cluster)
        assert removed and removed[0]["id"] == framework["id"]
        _in((framework["registered_time"], time.time()), removed[0]["unregistered_time"], "unregistered_time")
