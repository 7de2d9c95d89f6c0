"""Agents never touch each other's containers: two agents of a LocalCluster with
real cgroup v1 isolation under one --cgroups_root; restarting one (its recovery
destroys the orphan cgroups it finds) leaves the other's task running."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from frameworks.testing import LocalCluster
from tests.integration.containment_support import alive
from tests.scenario.cluster_support import Recorder, command_task, framework, running

HIERARCHY = "/sys/fs/cgroup"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(90),
    pytest.mark.skipif(os.geteuid() != 0 or not os.path.isdir(os.path.join(HIERARCHY, "memory")),
                       reason="needs root and cgroup v1"),
]


def test_restarting_one_agent_leaves_the_other_agents_task_running() -> None:
    root = f"mesopy-peragent-{uuid.uuid4().hex[:8]}"
    placed: dict[str, str] = {}  # agent id -> task id: one long task on each agent

    def one_per_agent(rec: Recorder, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            agent = offer["agent_id"]["value"]
            if agent in placed:
                driver.declineOffer(offer["id"], {"refuse_seconds": 3600})
                continue
            placed[agent] = f"long-{len(placed) + 1}"
            driver.launchTasks(offer["id"], [command_task(placed[agent], offer, 0.2, 64, "sleep 120")])

    try:
        _run(root, placed, one_per_agent)
    finally:
        for controller in os.listdir(HIERARCHY):
            path = os.path.join(HIERARCHY, controller, root)
            if os.path.isdir(path) and not os.path.islink(path):
                for agent in (e.path for e in os.scandir(path) if e.is_dir()):
                    os.rmdir(agent)
                os.rmdir(path)


def _run(root: str, placed: dict[str, str], one_per_agent: Any) -> None:
    with LocalCluster(agents=2, resources="cpus:1;mem:512", isolation="cgroups/cpu,cgroups/mem",
                      cgroups_root=root, allocation_interval=0.1) as cluster:
        rec = Recorder(one_per_agent)
        with running(cluster, rec, framework("per-agent", checkpoint=True)) as driver:
            assert rec.wait(lambda: len(placed) == 2)
            statuses = {t: rec.status(t, "TASK_RUNNING") for t in placed.values()}
            restarted, other = "long-1", "long-2"  # on different agents
            sandbox = os.path.realpath(statuses[restarted]["container_status"]["directory"])
            index = next(i for i in range(2) if sandbox.startswith(os.path.realpath(cluster.agent_work_dir(i)) + "/"))
            other_pid = statuses[other]["container_status"]["executor_pid"]
            other_cid = statuses[other]["container_status"]["container_id"]["value"]
            [other_cgroup] = [d for d, _, _ in os.walk(os.path.join(HIERARCHY, "memory", root))
                              if os.path.basename(d) == other_cid]

            cluster.stop_agent(index)  # its own executor is shut down with it
            cluster.start_agent(index)  # recovers: destroys the orphans under its own subtree only
            assert cluster.wait_for_agents(2, timeout=30)
            assert alive(other_pid) and os.path.isdir(other_cgroup)
            assert not [s for s in rec.statuses if s["task_id"]["value"] == other and s["state"] not in ("TASK_STARTING", "TASK_RUNNING")]

            driver.killTask({"value": other})
            rec.status(other, "TASK_KILLED", timeout=30)  # killed by its executor: it was alive
