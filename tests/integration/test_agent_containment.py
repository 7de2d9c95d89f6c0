"""The agent's containers hold (root, real cgroups, real executors, a stand-in
master): a daemonized process dies with its task, a fork bomb is bounded by
the pids limit, a sandbox past its disk fails the task. Each test has its own
cgroups root and work_dir; afterwards no cgroup or process of it remains."""

from __future__ import annotations

import glob
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from actors.node import Node
from tests.integration.agent_support import StandInMaster, command_task, spawn_master, start_agent
from tests.integration.containment_support import HIERARCHY, alive, cgroup_root, processes_with_env, reap_all

__all__ = ["cgroup_root"]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


@pytest.fixture
def agent(cgroup_root: str, tmp_path: os.PathLike[str]) -> Iterator[Any]:
    """``agent(**flags)`` starts the agent (cgroups root and work_dir are the test's); returns the master."""
    node = Node().start()
    work_dir = str(tmp_path)

    def start(**flags: Any) -> StandInMaster:
        master = spawn_master(node)
        start_agent(node, master, work_dir, cgroups_root=cgroup_root, **flags)
        return master

    yield start
    node.stop()
    left = processes_with_env(f"MESOS_DIRECTORY={work_dir}")
    reap_all(left)
    assert left == [], f"processes of the test's executors left: {left}"


def _sandbox_file(work_dir: str, task_id: str, name: str) -> str:
    found = glob.glob(os.path.join(glob.escape(work_dir), "slaves", "*", "frameworks", "*", "executors",
                                   glob.escape(task_id), "runs", "*", name))
    return found[0] if found else ""


def _pid_in(master: StandInMaster, work_dir: str, task_id: str, name: str) -> int:
    def read() -> int:
        path = _sandbox_file(work_dir, task_id, name)
        if not path:
            return 0
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text.isdigit() else 0

    return int(master.poll(read, timeout=15))


@pytest.mark.parametrize("isolation", ["posix/cpu,posix/mem", "cgroups/cpu,cgroups/mem"])
def test_killed_task_leaves_no_daemon(agent: Any, cgroup_root: str, tmp_path: os.PathLike[str],
                                      isolation: str) -> None:
    master = agent(isolation=isolation)
    # The daemon leaves the task's session and process group, and its parent exits.
    task = command_task("setsid sh -c 'echo $$ > daemon.pid.tmp; mv daemon.pid.tmp daemon.pid; exec sleep 600' & "
                        "exec sleep 600")
    task_id = task["task_id"]["value"]
    master.run_task(task)
    master.wait_state(task_id, "TASK_RUNNING")
    daemon = _pid_in(master, str(tmp_path), task_id, "daemon.pid")
    try:
        cid = os.path.basename(os.path.dirname(os.path.realpath(_sandbox_file(str(tmp_path), task_id, "daemon.pid"))))
        # posix: under <root>_posix/<agent key>/ (the agent's own); cgroups: under <root>/
        freezer = glob.glob(os.path.join(HIERARCHY, "freezer", glob.escape(cgroup_root) + "*", "**", cid),
                            recursive=True)
        assert len(freezer) == 1
        with open(os.path.join(freezer[0], "cgroup.procs")) as f:
            assert daemon in [int(p) for p in f.read().split()]  # tracked whatever --isolation says
        assert os.getsid(daemon) == daemon and alive(daemon)
        master.kill_task(task_id)
        assert master.wait_terminal(task_id).status["state"] == "TASK_KILLED"
        assert not alive(daemon)  # the executor's kill reached it before it reported TASK_KILLED
        master.poll(lambda: not master.sync_agent().executors, timeout=15)
    finally:
        reap_all([daemon])


def test_fork_bomb_fails_with_the_pids_reason(agent: Any, cgroup_root: str) -> None:
    master = agent(isolation="cgroups/cpu,cgroups/mem,cgroups/pids", cgroups_pids_max=100)
    task = command_task("for i in $(seq 2000); do sleep 60 & done")  # bounded by count
    task_id = task["task_id"]["value"]
    master.run_task(task)
    update = master.wait_terminal(task_id, timeout=30)
    assert update.status["state"] == "TASK_FAILED"
    assert update.status["reason"] == "REASON_CONTAINER_LIMITATION"
    assert "Pids limit exceeded: pids.max=100" in update.status["message"]
    master.poll(lambda: not master.sync_agent().executors, timeout=15)


def test_sandbox_past_its_disk_fails_with_the_disk_reason(agent: Any, tmp_path: os.PathLike[str]) -> None:
    master = agent(isolation="posix/cpu,posix/mem,disk/du", container_disk_watch_interval=0.2,
                   enforce_container_disk_quota=True)
    task = command_task("dd if=/dev/zero of=blob bs=1M count=40 2>/dev/null; exec sleep 600")
    task["resources"].append({"name": "disk", "type": "SCALAR", "scalar": {"value": 10}})
    task_id = task["task_id"]["value"]
    master.run_task(task)
    update = master.wait_terminal(task_id, timeout=30)
    assert update.status["state"] == "TASK_FAILED"
    assert update.status["reason"] == "REASON_CONTAINER_LIMITATION_DISK"
    assert "Disk usage" in update.status["message"] and "exceeds quota" in update.status["message"]
    master.poll(lambda: not master.sync_agent().executors, timeout=15)
    blob = _sandbox_file(str(tmp_path), task_id, "blob")
    # The sandbox is kept for inspection, with what was written before the kill (du may
    # have caught dd mid-way: anything past the 10 MB quota).
    assert blob and 10 << 20 < os.path.getsize(blob) <= 40 << 20


def test_disk_usage_is_reported(agent: Any) -> None:
    master = agent(isolation="posix/cpu,posix/mem,disk/du", container_disk_watch_interval=0.2)
    task = command_task("dd if=/dev/zero of=blob bs=1M count=3 2>/dev/null; exec sleep 600")
    task_id = task["task_id"]["value"]
    master.run_task(task)
    master.wait_state(task_id, "TASK_RUNNING")

    def used() -> int:
        executors = master.sync_agent().executors
        return executors[0]["statistics"].get("disk_used_bytes", 0) if executors else 0

    assert master.poll(lambda: used() >= 3 << 20, timeout=15)
    master.kill_task(task_id)
    assert master.wait_terminal(task_id).status["state"] == "TASK_KILLED"
    master.poll(lambda: not master.sync_agent().executors, timeout=15)


def _mounts() -> str:
    with open("/proc/self/mountinfo") as f:
        return f.read()


def test_pid_namespace_and_private_tmp(agent: Any, tmp_path: os.PathLike[str]) -> None:
    master = agent(isolation="cgroups/cpu,cgroups/mem,namespaces/pid,filesystem/linux")
    script = ("ps -e -o pid=,comm= > ps.txt; touch /tmp/mine-$TAG; ls -a /tmp > tmp.txt; "
              "echo \"$MESOS_SANDBOX $(pwd)\" > where.txt; echo $$ > done.tmp; mv done.tmp done; exec sleep 600")
    tasks = {}
    for tag in ("a", "b"):
        task = command_task(script)
        task["command"]["environment"] = {"variables": [{"name": "TAG", "value": tag}]}
        master.run_task(task)
        tasks[tag] = task["task_id"]["value"]
    work_dir = str(tmp_path)
    for tag, task_id in tasks.items():
        master.wait_state(task_id, "TASK_RUNNING")
        assert _pid_in(master, work_dir, task_id, "done") < 100  # numbered by the task's namespace (threads too)
    for tag, task_id in tasks.items():
        with open(_sandbox_file(work_dir, task_id, "ps.txt")) as f:
            ps = [line.split() for line in f.read().splitlines()]
        pids = {int(pid) for pid, _comm in ps}
        assert 1 in pids and max(pids) < 100 and len(ps) < 8, ps  # only the container's own processes
        with open(_sandbox_file(work_dir, task_id, "tmp.txt")) as f:
            seen = f.read().split()
        other = "b" if tag == "a" else "a"
        assert f"mine-{tag}" in seen and f"mine-{other}" not in seen  # each has its own /tmp
        assert os.path.exists(os.path.join(os.path.dirname(_sandbox_file(work_dir, task_id, "ps.txt")),
                                           "tmp", f"mine-{tag}"))  # ... which is the sandbox's tmp
        with open(_sandbox_file(work_dir, task_id, "where.txt")) as f:
            assert f.read().split() == ["/mnt/mesos/sandbox", "/mnt/mesos/sandbox"]
        assert not os.path.exists(f"/tmp/mine-{tag}")
    assert work_dir not in _mounts()  # the bind mounts are the containers' own
    for task_id in tasks.values():
        master.kill_task(task_id)
        assert master.wait_terminal(task_id).status["state"] == "TASK_KILLED"
    master.poll(lambda: not master.sync_agent().executors, timeout=15)
    assert work_dir not in _mounts() and "/mnt/mesos/sandbox" not in _mounts()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listener(port: int, ports: int) -> dict[str, Any]:
    task = command_task(f"exec python3 -c 'import socket, time; s = socket.socket(); "
                        f"s.bind((\"127.0.0.1\", {port})); s.listen(); time.sleep(600)'")
    task["resources"].append({"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": ports, "end": ports}]}})
    return task


@pytest.mark.parametrize("enforce", [True, False])
def test_listening_on_an_unallocated_port(agent: Any, enforce: bool) -> None:
    master = agent(isolation="posix/cpu,posix/mem,network/ports", container_ports_watch_interval=0.2,
                   enforce_container_ports=enforce)
    good_port, bad_port = _free_port(), _free_port()
    good, bad = _listener(good_port, good_port), _listener(bad_port, good_port + 1)
    with capture_logs() as logs:
        for task in (good, bad):
            master.run_task(task)
            master.wait_state(task["task_id"]["value"], "TASK_RUNNING")
        if enforce:
            update = master.wait_terminal(bad["task_id"]["value"], timeout=30)
            assert update.status["state"] == "TASK_FAILED"
            assert update.status["reason"] == "REASON_CONTAINER_LIMITATION"
            assert f"port(s) {bad_port} not allocated" in update.status["message"]
        else:
            master.poll(lambda: any(e["event"] == "container_unallocated_ports" for e in logs), timeout=15)
    warned = [e for e in logs if e["event"] == "container_unallocated_ports"]
    assert [e["ports"] for e in warned] == [[bad_port]]  # the allocated listener and the executors' own are fine
    for task in (good, bad):
        if not master.states(task["task_id"]["value"])[-1].startswith("TASK_FAILED"):
            master.kill_task(task["task_id"]["value"])
            assert master.wait_terminal(task["task_id"]["value"]).status["state"] == "TASK_KILLED"
    master.poll(lambda: not master.sync_agent().executors, timeout=15)
