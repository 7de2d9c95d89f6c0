"""Agent recovery with real OS processes: a bin/mesopy-agent killed with kill -9
while a checkpointing framework's task runs, restarted on the same work_dir.

The task keeps running in the same executor process, the framework sees no
TASK_LOST, reconciliation says TASK_RUNNING, and the task's later terminal
update reaches the framework exactly once. Also: an executor killed while its
agent was down is reported (TASK_FAILED, REASON_EXECUTOR_TERMINATED); one that
does not re-register is killed (TASK_LOST, REASON_EXECUTOR_REREGISTRATION_TIMEOUT);
``--recover=cleanup`` kills the executors and exits; a corrupt checkpoint stops
a strict agent with a line naming the file. A kill, or a framework teardown,
issued while the agent is down is applied when it comes back.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from actors.node import Node
from tests.integration.containment_support import alive
from tests.integration.operators_support import Script, free_port, kill_executors_under, run_script
from tests.integration.test_master_restart import Recorder

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


class Framework(Recorder):
    """Records every callback (test_master_restart's Recorder); launches one ``command`` task."""

    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command
        self.task_id = "long-1"

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            with self.cond:
                launch, self.launched = not self.launched, True
            if not launch:
                driver.declineOffer(offer["id"], {"refuse_seconds": 3600.0})
                continue
            driver.launchTasks(offer["id"], [{
                "name": "long", "task_id": {"value": self.task_id}, "agent_id": offer["agent_id"],
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                              {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}}],
                "command": {"value": self.command, "shell": True},
            }])

    def states(self) -> list[str]:
        with self.cond:
            return [str(s.get("state")) for s in self.statuses]

    def status(self, state: str) -> dict[str, Any] | None:
        """The first status in ``state``, or None."""
        with self.cond:
            return next((s for s in self.statuses if s.get("state") == state), None)


@dataclass
class Cluster:
    master: str
    agent_flags: tuple[str, ...]
    work_dir: Path
    scripts: list[Script]
    agent: Script
    framework: Framework
    driver: Any

    def start_agent(self, *extra: str) -> Script:
        agent = Script("mesopy-agent", *self.agent_flags, *extra)
        self.scripts.append(agent)
        return agent

    def running(self) -> dict[str, Any]:
        self.framework.wait(lambda: self.framework.status("TASK_RUNNING") is not None, "TASK_RUNNING")
        status = self.framework.status("TASK_RUNNING")
        assert status is not None
        return status

    def kill_agent(self) -> None:
        self.agent.proc.send_signal(signal.SIGKILL)
        self.agent.proc.wait(5)


def _executor_pid(status: dict[str, Any]) -> int:
    pid = status.get("container_status", {}).get("executor_pid")
    assert isinstance(pid, int) and pid > 0, status
    return pid


@pytest.fixture
def cluster(scripts: list[Script], cgroups_root: str, tmp_path: Path,
            request: pytest.FixtureRequest) -> Iterator[Cluster]:
    from frameworks import MesosSchedulerDriver

    checkpoint, *extra = getattr(request, "param", (True,))  # the framework's checkpoint flag, agent flags
    port = free_port()
    address = f"127.0.0.1:{port}"
    master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1")
    scripts.append(master)
    master.wait_for("master_started", address=address)
    work_dir = tmp_path / "agent"
    flags = (f"--master={address}", f"--port={free_port()}", f"--work_dir={work_dir}",
             "--resources=cpus:1;mem:512;disk:512", "--registration_backoff_factor=0.05",
             "--executor_reregistration_timeout=15secs", f"--cgroups_root={cgroups_root}", *extra)
    agent = Script("mesopy-agent", *flags)
    scripts.append(agent)
    agent.wait_for("agent_registered", reregistered=False)
    framework = Framework(f"while [ ! -e {tmp_path}/go ]; do sleep 0.05; done")
    node = Node().start()
    driver = MesosSchedulerDriver(framework, {"user": "", "name": "recovery-test", "checkpoint": checkpoint,
                                              "failover_timeout": 60.0}, address, node=node)
    driver.start()
    try:
        yield Cluster(address, flags, work_dir, scripts, agent, framework, driver)
    finally:
        driver.stop()
        driver.join(5)
        node.stop()
        (tmp_path / "go").touch()  # a task an agent left behind (a refused start, a skipped checkpoint) ends
        kill_executors_under(str(work_dir))


@pytest.mark.parametrize("cluster", [(True,), (True, "--authenticate_http_executors")], indirect=True,
                         ids=["plain", "executor-tokens"])
def test_task_survives_agent_kill_and_finishes_once(cluster: Cluster, tmp_path: Path) -> None:
    framework = cluster.framework
    executor_pid = _executor_pid(cluster.running())
    assert (cluster.work_dir / "meta" / "slaves" / "latest").is_symlink()

    cluster.kill_agent()
    agent = cluster.start_agent()
    reconnected = agent.wait_for("executor_reregistered", executor_id="long-1")
    assert reconnected["framework_id"]
    registered = agent.wait_for("agent_registered", reregistered=True)
    assert registered["agent_id"] == os.readlink(cluster.work_dir / "meta" / "slaves" / "latest")
    assert alive(executor_pid)

    # The master answers reconciliation from the agent's re-registration: still running.
    mark = len(framework.states())
    cluster.driver.reconcileTasks([])
    framework.wait(lambda: "TASK_RUNNING" in framework.states()[mark:], "reconciliation answer")

    (tmp_path / "go").touch()  # the task ends now, after the restart
    framework.wait(lambda: "TASK_FINISHED" in framework.states(), "TASK_FINISHED")
    finished = framework.status("TASK_FINISHED")
    assert finished is not None and _executor_pid(finished) == executor_pid
    # The executor exits once its terminal update is acknowledged: no retry can follow.
    agent.wait_for("executor_exited", executor_id="long-1")
    assert framework.states().count("TASK_FINISHED") == 1
    assert not {"TASK_LOST", "TASK_FAILED", "TASK_GONE"} & set(framework.states())
    assert not any("Traceback" in line for s in cluster.scripts for line in s.lines)


def test_task_that_finishes_while_agent_is_down_reports_after_the_restart(cluster: Cluster, tmp_path: Path) -> None:
    executor_pid = _executor_pid(cluster.running())
    cluster.kill_agent()
    (tmp_path / "go").touch()  # the command ends; its executor keeps TASK_FINISHED until acknowledged
    framework = cluster.framework
    agent = cluster.start_agent()
    agent.wait_for("executor_reregistered", executor_id="long-1")
    framework.wait(lambda: "TASK_FINISHED" in framework.states(), "TASK_FINISHED")
    agent.wait_for("executor_exited", executor_id="long-1")
    assert not alive(executor_pid)
    assert framework.states().count("TASK_FINISHED") == 1
    assert not {"TASK_LOST", "TASK_FAILED", "TASK_GONE"} & set(framework.states())


def test_task_that_survived_a_restart_can_be_killed(cluster: Cluster) -> None:
    executor_pid = _executor_pid(cluster.running())
    cluster.kill_agent()
    agent = cluster.start_agent()
    agent.wait_for("agent_registered", reregistered=True)
    framework = cluster.framework
    cluster.driver.killTask({"value": "long-1"})
    framework.wait(lambda: "TASK_KILLED" in framework.states(), "TASK_KILLED")
    agent.wait_for("executor_exited", executor_id="long-1")
    assert not alive(executor_pid)
    assert framework.states().count("TASK_KILLED") == 1
    assert not {"TASK_LOST", "TASK_FAILED"} & set(framework.states())


def test_executor_that_registers_after_a_restart_is_recovered_again(cluster: Cluster, tmp_path: Path) -> None:
    """Killed before its executor registered: the executor's registration retries reach the
    restarted agent; a second kill -9 then finds it registered and reconnects it."""
    launched = cluster.agent.wait_for("executor_launched", executor_id="long-1")
    cluster.kill_agent()  # most likely before the executor (a Python process) has registered
    agent = cluster.start_agent()
    agent.wait_for("agent_registered", reregistered=True)
    status = cluster.running()
    assert _executor_pid(status) == launched["os_pid"]
    cluster.agent = agent
    cluster.kill_agent()
    agent = cluster.start_agent()
    agent.wait_for("executor_reregistered", executor_id="long-1")
    (tmp_path / "go").touch()
    framework = cluster.framework
    framework.wait(lambda: "TASK_FINISHED" in framework.states(), "TASK_FINISHED")
    assert not {"TASK_LOST", "TASK_FAILED"} & set(framework.states())


def test_executor_killed_while_agent_down_is_reported(cluster: Cluster) -> None:
    executor_pid = _executor_pid(cluster.running())
    cluster.kill_agent()
    os.killpg(executor_pid, signal.SIGKILL)
    cluster.start_agent()
    framework = cluster.framework
    framework.wait(lambda: framework.status("TASK_FAILED") is not None, "TASK_FAILED")
    failed = framework.status("TASK_FAILED")
    assert failed is not None and failed["reason"] == "REASON_EXECUTOR_TERMINATED"
    assert "TASK_LOST" not in framework.states()


def test_executor_that_does_not_reregister_is_killed(cluster: Cluster) -> None:
    executor_pid = _executor_pid(cluster.running())
    cluster.kill_agent()
    os.killpg(executor_pid, signal.SIGSTOP)  # alive, but it cannot answer ReconnectExecutor
    agent = cluster.start_agent("--executor_reregistration_timeout=1secs")
    agent.wait_for("executor_reregistration_timeout", executor_id="long-1")
    framework = cluster.framework
    framework.wait(lambda: framework.status("TASK_LOST") is not None, "TASK_LOST")
    lost = framework.status("TASK_LOST")
    assert lost is not None and lost["reason"] == "REASON_EXECUTOR_REREGISTRATION_TIMEOUT"
    agent.wait_for("executor_exited", executor_id="long-1")
    assert not alive(executor_pid)


def test_recover_cleanup_kills_the_executors_and_exits(cluster: Cluster) -> None:
    executor_pid = _executor_pid(cluster.running())
    cluster.kill_agent()
    done = run_script("mesopy-agent", *cluster.agent_flags, "--recover=cleanup", "--http_port=0")
    assert done.returncode == 0, done.stderr
    assert any(line.startswith("mesopy-agent: --recover=cleanup: ") for line in done.stderr.splitlines()), done.stderr
    assert not alive(executor_pid)
    assert not (cluster.work_dir / "meta" / "slaves").exists()


@pytest.mark.parametrize("cluster", [(False,)], indirect=True, ids=["no-checkpoint"])
def test_executor_of_a_non_checkpointing_framework_exits_with_its_agent(cluster: Cluster) -> None:
    executor_pid = _executor_pid(cluster.running())
    cluster.kill_agent()
    deadline = threading.Event()
    for _ in range(200):  # its driver sees the agent gone (heartbeats) and shuts the task down
        if not alive(executor_pid):
            break
        deadline.wait(0.1)
    assert not alive(executor_pid)


def test_corrupt_checkpoint_stops_a_strict_agent(cluster: Cluster) -> None:
    cluster.running()
    cluster.kill_agent()
    [task_info] = list((cluster.work_dir / "meta").rglob("task.info"))
    task_info.write_bytes(task_info.read_bytes()[:-3])  # torn
    done = run_script("mesopy-agent", *cluster.agent_flags, "--http_port=0", timeout=30)
    assert done.returncode == 1
    [line] = [x for x in done.stderr.splitlines() if x.startswith("mesopy-agent: ")]
    assert str(task_info) in line and "checksum" in line
    lenient = cluster.start_agent("--no-strict")
    skipped = lenient.wait_for("checkpoint_skipped")
    assert skipped["path"] == str(task_info)
    lenient.wait_for("agent_registered", reregistered=True)


def test_kill_issued_while_agent_is_down_is_applied_when_it_comes_back(cluster: Cluster) -> None:
    """Mesos keeps a kill for a task on a disconnected agent and re-sends it on re-registration."""
    executor_pid = _executor_pid(cluster.running())
    cluster.kill_agent()
    cluster.scripts[0].wait_for("agent_disconnected")
    cluster.driver.killTask({"value": "long-1"})
    cluster.scripts[0].wait_for("kill_agent_disconnected", task_id="long-1")
    agent = cluster.start_agent()
    agent.wait_for("agent_registered", reregistered=True)
    framework = cluster.framework
    framework.wait(lambda: "TASK_KILLED" in framework.states(), "TASK_KILLED")
    agent.wait_for("executor_exited", executor_id="long-1")
    assert not alive(executor_pid)
    assert framework.states().count("TASK_KILLED") == 1
    assert not {"TASK_LOST", "TASK_FAILED"} & set(framework.states())


def test_framework_torn_down_while_agent_is_down_is_shut_down_when_it_comes_back(cluster: Cluster) -> None:
    """The agent reports the removed framework's task: the master sends ShutdownFramework."""
    executor_pid = _executor_pid(cluster.running())
    cluster.kill_agent()
    master = cluster.scripts[0]
    master.wait_for("agent_disconnected")
    cluster.driver.stop()  # no failover: the framework is torn down
    cluster.driver.join(5)
    master.wait_for("framework_removed")
    agent = cluster.start_agent()
    agent.wait_for("agent_registered", reregistered=True)
    agent.wait_for("executor_exited", executor_id="long-1")
    assert not alive(executor_pid)
