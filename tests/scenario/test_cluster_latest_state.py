"""End to end: a task ends while its earlier update awaits the framework's
acknowledgement; the agent's resent update carries the task's latest state, and
the master frees the task's resources at once instead of at the ack."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from frameworks import MesosSchedulerDriver
from frameworks.testing import LocalCluster
from tests.scenario.cluster_support import Recorder, command_task, framework, used

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def wait_state(cluster: LocalCluster, predicate: Any, timeout: float = 15.0) -> dict[str, Any]:
    pause, waited = threading.Event(), 0.0
    state = cluster.state()
    while not predicate(state):
        assert waited < timeout, f"master state never matched: {state}"
        pause.wait(0.05)
        waited += 0.05
        state = cluster.state()
    return state


def test_resources_of_an_ended_task_are_freed_before_any_acknowledgement() -> None:
    def launch_once(rec: Recorder, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            if len(rec.offers) == 1 and offer is rec.offers[0][1]:
                driver.launchTasks(offer["id"], [command_task("quick", offer, 1, 128, command="true")])
            else:
                driver.declineOffer(offer["id"], {"refuse_seconds": 60})

    with LocalCluster(agents=1, resources="cpus:2;mem:1024", allocation_interval=0.05,
                      status_update_retry_interval=0.2) as cluster:
        rec = Recorder(launch_once)
        driver = MesosSchedulerDriver(rec, framework("latest"), cluster.master, implicit_acknowledgements=False)
        driver.start()
        try:
            assert rec.wait(lambda: rec.statuses), "no status update"
            first = rec.statuses[0]
            assert first["state"] not in ("TASK_FINISHED", "TASK_FAILED")
            # Nothing is acknowledged: the agent holds TASK_FINISHED behind the first update and
            # resends that one with latest_state; the master frees the cpu on learning it.
            state = wait_state(cluster, lambda s: used(s, "cpus") == 0.0)
            (fw,) = state["frameworks"]
            assert [t["state"] for t in fw["completed_tasks"]] == ["TASK_FINISHED"]
            assert all(s["state"] == first["state"] for s in rec.statuses)  # still no later update delivered
            # Acknowledging in order then brings the rest, TASK_FINISHED last.
            acked = 0
            while not rec.statuses or rec.statuses[-1]["state"] != "TASK_FINISHED":
                assert rec.wait(lambda n=acked: len(rec.statuses) > n)
                driver.acknowledgeStatusUpdate(rec.statuses[acked])
                acked += 1
                assert rec.wait(lambda n=acked: len(rec.statuses) > n, 10), rec.statuses
            assert used(cluster.state(), "cpus") == 0.0
        finally:
            driver.stop()
            driver.join(5)
