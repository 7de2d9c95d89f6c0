"""The agent's executor launcher (zygote, actors/agent/zygote.py): command executors are
forked from it, each in its own cgroups, session, sandbox and environment (read back
from /proc); a kill -9 of the launcher is seen, it is started again, and the executors
it had forked still end and are reported; where no launcher runs, executors are
exec'd and that is said once. Real agent, real cgroups, real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from actors.agent import AgentProcess
from actors.agent.launcher import LaunchSpec, Reaper
from actors.agent.zygote import ENV_SPACE_VARIABLE
from actors.agent.zygote_client import ExecutorLauncher, ForkedProcess
from actors.node import Node
from isolation import Entry
from isolation.proctree import descendants
from tests.integration.agent_support import StandInMaster, command_task, spawn_master, start_agent

HIERARCHY = "/sys/fs/cgroup"
needs_cgroups = pytest.mark.skipif(os.geteuid() != 0 or not os.path.isdir(os.path.join(HIERARCHY, "memory")),
                                   reason="needs root and cgroup v1")
pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat from field 3 (state) on: [0] state, [1] ppid, [3] session."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        entries = [e.decode() for e in f.read().split(b"\0") if e]
    return dict(e.split("=", 1) for e in entries if "=" in e)


def _cgroups(pid: int) -> dict[str, str]:
    """Controller -> the cgroup path of ``pid`` (cgroup v1 lines ``id:controllers:path``)."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _id, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(","):
                out[controller] = path
    return out


class Agent:
    """One agent with cgroups isolation, shared by the tests of this module."""

    def __init__(self, work_dir: str) -> None:
        self.root = f"mesopy-zygote-{uuid.uuid4().hex[:8]}"
        self.node = Node().start()
        self.master: StandInMaster = spawn_master(self.node)
        self.agent: AgentProcess = start_agent(self.node, self.master, work_dir,
                                               isolation="cgroups/cpu,cgroups/mem", cgroups_root=self.root)

    def zygote_pid(self) -> int:
        zygote = self.agent.executor_launcher.wait_ready()
        assert zygote is not None, "the executor launcher is not running"
        return zygote.pid

    def running(self, command: str) -> tuple[str, dict[str, Any]]:
        """Run ``command`` as a task; its id and the container_status of its TASK_RUNNING."""
        task = command_task(command)
        task_id = task["task_id"]["value"]
        self.master.run_task(task)
        self.master.wait_state(task_id, "TASK_RUNNING", timeout=30)
        update = next(u for u in self.master.updates
                      if u.status["task_id"]["value"] == task_id and u.status["state"] == "TASK_RUNNING")
        return task_id, update.status["container_status"]

    def kill(self, task_id: str) -> None:
        self.master.kill_task(task_id)
        assert self.master.wait_terminal(task_id, timeout=30).status["state"] == "TASK_KILLED"

    def wait_no_executors(self) -> None:
        self.master.poll(lambda: not self.master.sync_agent().executors, timeout=20)

    def stop(self) -> None:
        self.node.stop()
        for controller in ("memory", "cpu,cpuacct", "cpu", "cpuacct", "freezer"):
            base = os.path.join(HIERARCHY, controller, self.root)
            if os.path.isdir(base) and not os.path.islink(base):
                for agent in (e.path for e in os.scandir(base) if e.is_dir()):
                    assert [e.path for e in os.scandir(agent) if e.is_dir()] == [], "containers left"
                    os.rmdir(agent)
                os.rmdir(base)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    if os.geteuid() != 0 or not os.path.isdir(os.path.join(HIERARCHY, "memory")):
        pytest.skip("needs root and cgroup v1")
    running = Agent(str(tmp_path_factory.mktemp("zygote-agent")))
    yield running
    running.stop()


@needs_cgroups
def test_a_forked_executor_has_its_own_cgroups_session_sandbox_and_environment(agent: Agent) -> None:
    task_id, container = agent.running("sleep 60")  # the agent's first command task starts the launcher
    zygote = agent.zygote_pid()
    pid = container["executor_pid"]
    cid = container["container_id"]["value"]
    sandbox = container["directory"]
    stat = _stat(pid)
    assert int(stat[1]) == zygote  # forked by the launcher, not exec'd by the agent
    assert int(stat[3]) == pid  # the leader of its own session
    cgroups = _cgroups(pid)
    for controller in ("memory", "cpu", "freezer"):
        assert cgroups[controller].endswith(f"/{cid}"), (controller, cgroups[controller])
        assert f"/{agent.root}/" in cgroups[controller]
    env = _environ(pid)  # what agent recovery reads to tell its executor from a reused pid
    assert env["MESOS_CONTAINER_ID"] == cid
    assert env["MESOS_EXECUTOR_ID"] == task_id and env["MESOS_TASK_ID"] == task_id
    assert env["MESOS_SANDBOX"] == sandbox and env["MESOS_DIRECTORY"] == sandbox
    assert ENV_SPACE_VARIABLE not in env and ENV_SPACE_VARIABLE in _environ(zygote)
    assert os.readlink(f"/proc/{pid}/cwd") == sandbox
    assert os.readlink(f"/proc/{pid}/fd/1") == os.path.join(sandbox, "stdout")
    assert os.readlink(f"/proc/{pid}/fd/2") == os.path.join(sandbox, "stderr")
    assert sorted(os.listdir(f"/proc/{zygote}/fd")) != sorted(os.listdir(f"/proc/{pid}/fd"))
    commands = descendants(pid)  # /bin/sh -c 'sleep 60' (and sleep)
    assert commands and all(_cgroups(c)["memory"] == cgroups["memory"] for c in commands)  # in the container
    agent.kill(task_id)
    agent.wait_no_executors()  # its exit came back from the launcher: reaped, cgroups removed


@needs_cgroups
def test_a_killed_launcher_is_restarted_and_its_executors_still_end_and_are_reported(agent: Agent) -> None:
    survivor, container = agent.running("sleep 60")
    old = agent.zygote_pid()
    assert int(_stat(container["executor_pid"])[1]) == old
    survivor_pid = container["executor_pid"]
    restarts = agent.agent.executor_launcher.restarts
    os.kill(old, signal.SIGKILL)
    agent.master.poll(lambda: agent.agent.executor_launcher.restarts == restarts + 1, timeout=20)
    new = agent.zygote_pid()
    assert new != old
    task_id, container = agent.running("sleep 60")
    assert int(_stat(container["executor_pid"])[1]) == new  # launched by the new launcher
    assert int(_stat(survivor_pid)[1]) != old  # an orphan now, still running its task
    for task in (survivor, task_id):
        agent.kill(task)
    agent.wait_no_executors()  # the orphan's exit was seen too (watched by its pid)


def test_without_a_launcher_executors_are_execd_and_that_is_said_once(tmp_path: os.PathLike[str]) -> None:
    reaper = Reaper()
    launcher = ExecutorLauncher(reaper, argv=("/bin/false",))  # a launcher that never becomes ready
    exits: list[int | None] = []
    done = threading.Event()

    def exited(returncode: int | None) -> None:
        exits.append(returncode)
        if len(exits) == 2:
            done.set()
    try:
        with capture_logs() as logs:
            children = []
            for n in range(2):
                directory = os.path.join(str(tmp_path), f"run-{n}")
                spec = LaunchSpec(["/bin/sh", "-c", "echo $MESOS_N"], directory, {"MESOS_N": str(n)},
                                  entry=Entry())
                child = launcher.launch(spec)
                launcher.watch(child, exited)
                children.append((child, directory))
            assert done.wait(20)
    finally:
        launcher.close()
        reaper.close()
    assert all(isinstance(child, subprocess.Popen) and not isinstance(child, ForkedProcess)
               for child, _ in children)
    assert exits == [0, 0]
    for n, (_, directory) in enumerate(children):
        with open(os.path.join(directory, "stdout")) as f:
            assert f.read() == f"{n}\n"
    said = [e for e in logs if e["event"] == "executor_launcher_unavailable"]
    assert len(said) == 1 and said[0]["fallback"] == "exec", logs
