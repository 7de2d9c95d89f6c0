"""frameworks.testing.LocalCluster: a whole cluster in the test process."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from frameworks import MesosSchedulerDriver
from frameworks.command import CommandScheduler
from frameworks.testing import LocalCluster, find_sandbox_file


def active(cluster: LocalCluster) -> list[str]:
    return [a["id"] for a in cluster.state()["slaves"] if a.get("active")]


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    pause = threading.Event()
    step, waited = 0.01, 0.0
    while not predicate():
        if waited >= timeout:
            return False
        pause.wait(step)
        waited += step
        step = min(step * 2, 0.2)
    return True


def test_agents_register_and_state_shows_them() -> None:
    with LocalCluster(agents=2, resources=["cpus:1;mem:256", "cpus:2;mem:512"]) as cluster:
        host, _, port = cluster.master.rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        assert cluster.agents == [f"agent(1)@{cluster.master}", f"agent(2)@{cluster.master}"]
        state = cluster.state()
        assert len(active(cluster)) == 2
        cpus = sorted(a["resources"]["cpus"] for a in state["slaves"])
        assert cpus == [1.0, 2.0]


def test_flags_reach_the_master_and_the_agents() -> None:
    with LocalCluster(agents=1, allocation_interval=0.25, executor_registration_timeout="30secs") as cluster:
        assert cluster.master_config.allocation_interval == 0.25
        assert cluster.agent_config(0).executor_registration_timeout == 30.0


def test_unknown_flags_and_bad_arguments_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match="'frobnicate'"):
        LocalCluster(frobnicate=1)
    with pytest.raises(ValueError, match="2 agents' resources for 3 agents"):
        LocalCluster(agents=3, resources=["cpus:1", "cpus:1"])
    with pytest.raises(ValueError, match="--weights"):
        LocalCluster(weights="a=-1")


def test_an_agent_can_be_stopped_and_restarted() -> None:
    with LocalCluster(agents=2) as cluster:
        work_dir = cluster.agent_work_dir(0)
        cluster.stop_agent(0)
        assert not cluster.is_agent_running(0)
        assert wait_for(lambda: len(active(cluster)) == 1)
        cluster.start_agent(0)
        assert cluster.agent_work_dir(0) == work_dir
        assert cluster.wait_for_agents(2)
        with pytest.raises(RuntimeError, match="already running"):
            cluster.start_agent(0)


def test_a_command_runs_and_its_output_is_in_the_sandbox() -> None:
    lines: list[str] = []
    with LocalCluster(agents=1, allocation_interval=0.1) as cluster:
        scheduler = CommandScheduler("echo from-local-cluster", progress=lines.append)
        driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "scenario"}, cluster.master)
        driver.start()
        try:
            assert scheduler.done.wait(20), lines
        finally:
            driver.stop()
            driver.join(5)
        assert scheduler.succeeded(), lines
        assert scheduler.framework_id is not None
        stdout = find_sandbox_file(cluster.work_dir, scheduler.framework_id, scheduler.task_ids[0])
        assert stdout is not None
        with open(stdout) as f:
            assert f.read() == "from-local-cluster\n"
        work_dir = cluster.work_dir
    import os

    assert not os.path.exists(work_dir)
