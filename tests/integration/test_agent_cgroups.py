"""The agent with cgroup v1 isolation (root, real cgroups, real executors),
driven by a stand-in master (tests/integration/agent_support.py). Each run
uses its own cgroups root and checks that nothing is left under it."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest

from actors.node import Node
from tests.integration.cpu_control import ControlLoop
from tests.integration.agent_support import (
    StandInMaster,
    command_task,
    spawn_master,
    start_agent,
)

HIERARCHY = "/sys/fs/cgroup"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(60),
    pytest.mark.skipif(os.geteuid() != 0 or not os.path.isdir(os.path.join(HIERARCHY, "memory")),
                       reason="needs root and cgroup v1"),
]


def _leftovers(root: str) -> list[str]:
    """Container cgroups left under ``root`` (each agent's are under ``root/<agent key>/``)."""
    out = []
    for controller in ("memory", "cpu", "cpuacct", "cpu,cpuacct", "freezer"):
        base = os.path.join(HIERARCHY, controller, root)
        if os.path.isdir(base) and not os.path.islink(base):
            for agent in (e.path for e in os.scandir(base) if e.is_dir()):
                out += [e.path for e in os.scandir(agent) if e.is_dir()]
    return out


@pytest.fixture
def cgroups(tmp_path: os.PathLike[str]) -> Iterator[tuple[StandInMaster, str]]:
    root = f"mesopy-test-{uuid.uuid4().hex[:8]}"
    node = Node().start()
    master = spawn_master(node)
    start_agent(node, master, str(tmp_path), isolation="cgroups/cpu,cgroups/mem", cgroups_root=root,
                cgroups_enable_cfs=True)
    yield master, root
    node.stop()
    assert _leftovers(root) == []
    for controller in ("memory", "cpu,cpuacct", "cpu", "cpuacct", "freezer"):  # freezer: when root
        path = os.path.join(HIERARCHY, controller, root)
        if os.path.isdir(path) and not os.path.islink(path):
            os.rmdir(path)


def test_memory_limit_kills_the_task_with_the_memory_reason(cgroups: tuple[StandInMaster, str]) -> None:
    master, _root = cgroups
    # 32 MB for the task + 32 MB command executor overhead: a 64 MiB container.
    task = command_task("exec python3 -c 'b = bytearray(256 * 1024 * 1024); print(len(b))'", mem=32)
    task_id = task["task_id"]["value"]
    master.run_task(task)
    update = master.wait_terminal(task_id, timeout=30)
    assert update.status["state"] == "TASK_FAILED"
    assert update.status["reason"] == "REASON_CONTAINER_LIMITATION_MEMORY"
    assert "Memory limit exceeded" in update.status["message"] and "64MB" in update.status["message"]
    master.poll(lambda: not master.sync_agent().executors, timeout=10)


def test_cfs_quota_holds_a_busy_loop_to_half_a_core(cgroups: tuple[StandInMaster, str]) -> None:
    master, _ = cgroups
    task = command_task("while :; do :; done", cpus=0.4)  # + 0.1 executor overhead = 0.5 cpus
    task_id = task["task_id"]["value"]
    master.run_task(task)
    master.wait_state(task_id, "TASK_RUNNING")
    with ControlLoop(2.0) as control:
        first = master.sync_agent().executors[0]["statistics"]
        threading.Event().wait(2.0)  # let it run: the measurement needs wall time
        second = master.sync_agent().executors[0]["statistics"]
    cpu = (second["cpus_user_time_secs"] + second["cpus_system_time_secs"]
           - first["cpus_user_time_secs"] - first["cpus_system_time_secs"])
    share = cpu / (second["timestamp"] - first["timestamp"])
    assert second["cpus_limit"] == pytest.approx(0.5)
    assert share <= 0.55, f"busy loop used {share:.3f} of a core under a 0.5 cpu quota"
    if control.uncontended:  # a loop could have had a whole core: the quota is what held this one
        assert share >= 0.45, f"busy loop used {share:.3f} of a core (control {control.share:.3f})"
    master.kill_task(task_id)
    assert master.wait_terminal(task_id).status["state"] == "TASK_KILLED"
    master.poll(lambda: not master.sync_agent().executors, timeout=10)


def test_cgroups_removed_after_tasks_end(cgroups: tuple[StandInMaster, str]) -> None:
    master, root = cgroups
    tasks = [command_task("true") for _ in range(3)]
    for task in tasks:
        master.run_task(task)
    for task in tasks:
        assert master.wait_terminal(task["task_id"]["value"]).status["state"] == "TASK_FINISHED"
    master.poll(lambda: not master.sync_agent().executors, timeout=10)
    assert _leftovers(root) == []
