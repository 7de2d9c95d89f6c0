"""A soak: about a minute of churn of short command tasks on a LocalCluster with
cgroups isolation (real executors, real cgroups). Afterwards the file
descriptors, threads and open peer connections of the process holding the
cluster are back within a small constant of where they started, each agent's
executor launcher (zygote) is the same process with no executor left, one
thread, no more fds and flat memory, and the master keeps only its cap of
completed tasks.

Slow: ``pytest -m slow`` runs it alone, ``-m "not slow"`` leaves it out.
Set ``MESOPY_SOAK_SECONDS`` to run it longer (it prints what it measured).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from frameworks import MesosSchedulerDriver
from frameworks.testing import LocalCluster

HIERARCHY = "/sys/fs/cgroup"
SOAK_SECONDS = float(os.environ.get("MESOPY_SOAK_SECONDS", "60"))
COMPLETED_CAP = 40
pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(SOAK_SECONDS + 120),
    pytest.mark.skipif(os.geteuid() != 0 or not os.path.isdir(os.path.join(HIERARCHY, "memory")),
                       reason="needs root and cgroup v1"),
]


class Churn:
    """Launches a short ``true`` task on every offer until told to stop; counts the ends."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.launching = True
        self.launched = 0
        self.ended: dict[str, int] = {}
        self.framework_id = ""
        self.messages: list[str] = []

    def registered(self, driver: Any, framework_id: Any, master_info: Any) -> None:
        self.framework_id = framework_id["value"]

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            scalars = {r["name"]: r.get("scalar", {}).get("value", 0.0) for r in offer["resources"]}
            if scalars.get("cpus", 0.0) < 0.2 or scalars.get("mem", 0.0) < 96:  # task + executor overhead
                driver.declineOffer(offer["id"], {"refuse_seconds": 0.2})
                continue
            with self.cond:
                go = self.launching
                if go:
                    self.launched += 1
                    n = self.launched
            if not go:
                driver.declineOffer(offer["id"], {"refuse_seconds": 3600.0})
                continue
            driver.launchTasks(offer["id"], [{
                "name": f"churn-{n}", "task_id": {"value": f"churn-{n}"}, "agent_id": offer["agent_id"],
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                              {"name": "mem", "type": "SCALAR", "scalar": {"value": 64.0}}],  # room for page cache
                "command": {"value": "true", "shell": True},
            }], {"refuse_seconds": 0.0})

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        state = status["state"]
        if state in ("TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED"):
            with self.cond:
                if state != "TASK_FINISHED" and len(self.messages) < 5:
                    self.messages.append(f"{status['task_id']['value']} {state}: {status.get('reason')} "
                                         f"{status.get('message')}")
                self.ended[state] = self.ended.get(state, 0) + 1
                self.cond.notify_all()

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args: None

    def finished(self) -> int:
        with self.cond:
            return sum(self.ended.values())

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _zygotes() -> dict[int, dict[str, int]]:
    """The agents' executor launchers (children of this process): their fds, threads, RSS and
    live children (the executors they forked)."""
    out = {}
    candidates: set[int] = set()
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/children") as f:
            candidates.update(int(c) for c in f.read().split())
    for pid in sorted(candidates):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"actors.agent.zygote" not in f.read():
                    continue
            with open(f"/proc/{pid}/status") as f:
                status = dict(line.split(":", 1) for line in f)
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                children = len(f.read().split())
            out[pid] = {"fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": int(status["Threads"]),
                        "rss_kb": int(status["VmRSS"].split()[0]), "children": children}
        except OSError:
            continue
    return out


def _settled(measure: Callable[[], int], limit: int, timeout: float) -> int:
    """``measure()`` once it is <= ``limit``, or its last value after ``timeout`` s."""
    pause = threading.Event()
    deadline = time.monotonic() + timeout
    value = measure()
    while value > limit and time.monotonic() < deadline:
        pause.wait(0.25)
        value = measure()
    return value


def test_a_minute_of_short_tasks_leaves_fds_threads_and_connections_where_they_were(tmp_path: Any) -> None:
    root = f"mesopy-soak-{uuid.uuid4().hex[:8]}"
    churn = Churn()
    with LocalCluster(agents=2, resources="cpus:1;mem:512;disk:256", isolation="cgroups/cpu,cgroups/mem",
                      work_dir=str(tmp_path), cgroups_root=root, allocation_interval=0.1,
                      max_completed_tasks_per_framework=COMPLETED_CAP) as cluster:
        endpoint = cluster.node.endpoint
        driver = MesosSchedulerDriver(churn, {"user": "", "name": "soak"}, cluster.master)
        driver.start()
        try:
            # Warm up: everything made once (driver, executor launcher, first connections) is made.
            assert churn.wait(lambda: sum(churn.ended.values()) >= 5, 60), f"no tasks finished: {churn.ended}"
            start = {"fds": _fds(), "threads": threading.active_count(), "connections": endpoint.connections,
                     "rss_kb": _rss_kb(), "finished": churn.finished()}
            zygotes = _zygotes()
            threading.Event().wait(SOAK_SECONDS)  # the churn runs on the driver's and cluster's threads
            with churn.cond:
                churn.launching = False
                launched = churn.launched
            assert churn.wait(lambda: sum(churn.ended.values()) >= launched, 60), (
                launched, churn.ended, [(t["id"], t["state"]) for f in cluster.state()["frameworks"] for t in f["tasks"]])
            finished = churn.finished() - start["finished"]
            # Idle connections close after the endpoint's idle timeout (10 s).
            end = {"connections": _settled(lambda: endpoint.connections, start["connections"] + 2, 30),
                   "fds": _settled(_fds, start["fds"] + 8, 30), "threads": threading.active_count(),
                   "rss_kb": _rss_kb()}
            _settled(lambda: sum(z["children"] for z in _zygotes().values()), 0, 30)
            zygotes_end = _zygotes()
            state = cluster.state()
        finally:
            driver.stop()
            driver.join(10)
    print(f"soak: {finished} tasks in {SOAK_SECONDS:.0f} s; start {start}; end {end}; "
          f"closed {endpoint.counters.snapshot().get('closed', {})}; launchers {zygotes} -> {zygotes_end}")
    assert churn.ended.get("TASK_FINISHED", 0) == sum(churn.ended.values()), (churn.ended, churn.messages)
    assert finished >= 20, f"only {finished} tasks finished in {SOAK_SECONDS} s"
    assert end["connections"] <= start["connections"] + 2, (start, end)
    assert end["fds"] <= start["fds"] + 8, (start, end)
    assert end["threads"] <= start["threads"] + 4, (start, end)
    # One launcher per agent, the same ones throughout (none died), back to no executor, and flat.
    assert len(zygotes) == 2 and sorted(zygotes_end) == sorted(zygotes), (zygotes, zygotes_end)
    for pid, before in zygotes.items():
        after = zygotes_end[pid]
        assert after["children"] == 0 and after["threads"] == 1, (before, after)
        assert after["fds"] <= before["fds"], (before, after)
        assert after["rss_kb"] <= before["rss_kb"] + 2048, (before, after)
    [framework] = [f for f in state["frameworks"] + state["completed_frameworks"] if f["id"] == churn.framework_id]
    assert len(framework["completed_tasks"]) == COMPLETED_CAP
    for controller in ("memory", "cpu", "cpuacct", "cpu,cpuacct"):
        path = os.path.join(HIERARCHY, controller, root)
        if os.path.isdir(path) and not os.path.islink(path):
            assert not [e for e in os.scandir(path) if e.is_dir()], f"cgroups left under {path}"
            os.rmdir(path)
