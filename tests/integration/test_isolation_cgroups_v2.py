"""The cgroup v2 backend on a cgroup2 hierarchy this test mounts itself (root).

These machines bind cpu, memory and pids to cgroup v1, so the unified
hierarchy offers only hugetlb: the life cycle, the launcher's join, the
cgroup.kill destroy and the agent's use are exercised here; cpu.max,
memory.max/memory.events and pids.max are exercised only where the
hierarchy offers those controllers (else the test checks the clear error)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from actors.node import Node
from isolation import CgroupsV2Isolator, CompositeIsolator, IsolationError, Limits, create_isolator
from isolation.cgroups_v2 import is_cgroup2, weight_of
from tests.integration.agent_support import command_task, spawn_master, start_agent
from tests.integration.containment_support import alive, processes_with_env, reap_all
from tests.integration.test_isolation_kill import DAEMONIZE

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def cgroup2(tmp_path: os.PathLike[str]) -> Iterator[tuple[str, str]]:
    """(mount point, cgroups root) of a cgroup2 mount of our own; nothing left under the root after."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount cgroup2")
    mount = os.path.join(str(tmp_path), "cgroup2")
    os.mkdir(mount)
    done = subprocess.run(["mount", "-t", "cgroup2", "none", mount], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount cgroup2 here: {done.stderr.strip()}")
    root = f"mesopy-test-{uuid.uuid4().hex[:12]}"
    tops = [os.path.join(mount, root), os.path.join(mount, f"{root}_posix")]  # _posix: a posix agent's
    try:
        yield mount, root
        left = [e.path for top in tops if os.path.isdir(top) for e in os.scandir(top) if e.is_dir()]
        assert left == [], f"cgroups left behind: {left}"
    finally:
        for top in tops:
            if os.path.isdir(top):
                os.rmdir(top)
        subprocess.run(["umount", mount], check=True)


def test_is_cgroup2_and_weights(cgroup2: tuple[str, str]) -> None:
    mount, _ = cgroup2
    assert is_cgroup2(mount) and not is_cgroup2(os.path.dirname(mount))
    assert weight_of(1.0) == 39 and weight_of(0.001) == 1 and weight_of(1000) == 10000


def test_v2_kill_reaches_a_setsid_daemon(cgroup2: tuple[str, str]) -> None:
    mount, root = cgroup2
    iso = create_isolator("posix", cgroups_root=root, cgroups_hierarchy=mount)  # chosen: v2
    assert isinstance(iso, CompositeIsolator) and isinstance(iso.parts[0], CgroupsV2Isolator)
    iso.prepare("escape", Limits(cpus=1.0, mem_mb=64))
    proc = subprocess.Popen(iso.wrap("escape", [sys.executable, "-c", DAEMONIZE]), start_new_session=True,
                            stdout=subprocess.PIPE, text=True)
    iso.isolate("escape", proc.pid)
    assert proc.stdout is not None
    daemon = int(proc.stdout.readline())
    try:
        path = os.path.join(mount, root, "escape")
        with open(os.path.join(path, "cgroup.procs")) as f:
            assert {proc.pid, daemon} <= {int(p) for p in f.read().split()}
        assert iso.usage("escape").processes == 2
        os.killpg(proc.pid, 9)
        proc.wait()
        assert alive(daemon)
        iso.cleanup("escape")  # cgroup.kill
        assert not alive(daemon) and not os.path.exists(path)
    finally:
        reap_all([daemon])
        iso.close()


def test_v2_controllers_limit_or_are_refused_by_name(cgroup2: tuple[str, str]) -> None:
    mount, root = cgroup2
    with open(os.path.join(mount, "cgroup.controllers")) as f:
        available = f.read().split()
    if "memory" not in available:  # these machines: memory is bound to cgroup v1
        with pytest.raises(IsolationError, match="controller.s. memory not available"):
            create_isolator("cgroups/mem", cgroups_root=root, cgroups_hierarchy=mount)
        with pytest.raises(IsolationError, match="need cgroup v1"):
            create_isolator("cgroups/devices", cgroups_root=root, cgroups_hierarchy=mount)
        return
    iso = create_isolator("cgroups/cpu,cgroups/mem,cgroups/pids", cgroups_root=root, cgroups_hierarchy=mount,
                          enable_cfs=True)
    try:
        iso.prepare("lim", Limits(cpus=0.5, mem_mb=64, pids=50))
        path = os.path.join(mount, root, "lim")
        with open(os.path.join(path, "cpu.max")) as f:
            assert f.read().split() == ["50000", "100000"]
        with open(os.path.join(path, "memory.max")) as f:
            assert f.read().strip() == str(64 << 20)
        with open(os.path.join(path, "pids.max")) as f:
            assert f.read().strip() == "50"
        proc = subprocess.run(iso.wrap("lim", [sys.executable, "-c", "b = bytearray(256 << 20)"]))
        assert proc.returncode == -9
        limitation = iso.limitation("lim")
        assert limitation is not None and limitation.reason == "REASON_CONTAINER_LIMITATION_MEMORY"
    finally:
        iso.cleanup("lim")
        iso.close()


def test_agent_on_cgroup2_kills_a_daemonized_task(cgroup2: tuple[str, str], tmp_path: os.PathLike[str]) -> None:
    mount, root = cgroup2
    work_dir = os.path.join(str(tmp_path), "work")
    node = Node().start()
    try:
        master = spawn_master(node)
        start_agent(node, master, work_dir, cgroups_root=root, cgroups_hierarchy=mount)
        task = command_task("setsid sleep 600 & exec sleep 600")
        task_id = task["task_id"]["value"]
        master.run_task(task)
        master.wait_state(task_id, "TASK_RUNNING")
        master.kill_task(task_id)
        assert master.wait_terminal(task_id).status["state"] == "TASK_KILLED"
        master.poll(lambda: not master.sync_agent().executors, timeout=15)
    finally:
        node.stop()
        left = processes_with_env(f"MESOS_DIRECTORY={work_dir}")
        reap_all(left)
    assert left == []
