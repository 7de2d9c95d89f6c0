"""Mesos health checks run by the command executor, on a real mesopy-master and mesopy-agent
with an SDK scheduler: an HTTP check against ``python -m http.server`` turning healthy, a COMMAND
check (in the sandbox, with the task's environment) that starts failing and gets the task killed,
a TCP check, a bad check refused with TASK_ERROR; ``healthy`` seen by the scheduler, in
/master/state and in the v1 operator API."""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from frameworks import MesosSchedulerDriver, Scheduler
from tests.integration.http_support import HttpCluster, get_json, wait_until
from tests.integration.operators_support import free_port
from tests.integration.v1_client import post

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

# Probes often, each given long enough that a loaded machine never fails a healthy task by a timeout.
FAST = {"delay_seconds": 0, "interval_seconds": 0.2, "timeout_seconds": 10, "grace_period_seconds": 10}
Status = dict[str, Any]


class Launcher(Scheduler):
    """Launches the tasks it is given on the next offers; records every status per task."""

    def __init__(self) -> None:
        self.pending: queue.Queue[dict[str, Any]] = queue.Queue()
        self.statuses: dict[str, list[Status]] = {}
        self.changed = threading.Condition()

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        tasks = []
        while not self.pending.empty():
            task = self.pending.get()
            tasks.append({**task, "agent_id": offers[0]["agent_id"]})
        if tasks:
            driver.launchTasks(offers[0]["id"], tasks)
        driver.declineOffer([o["id"] for o in offers[1 if tasks else 0:]], {"refuse_seconds": 0.1})

    def statusUpdate(self, driver: Any, status: Status) -> None:
        with self.changed:
            self.statuses.setdefault(status["task_id"]["value"], []).append(status)
            self.changed.notify_all()

    def wait(self, task_id: str, predicate: Callable[[Status], bool], timeout: float = 20.0) -> Status:
        """The first status of ``task_id`` that ``predicate`` accepts."""
        def found() -> Status | None:
            return next((s for s in self.statuses.get(task_id, []) if predicate(s)), None)

        with self.changed:
            if not self.changed.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no such status of {task_id} in {timeout} s: {self.statuses.get(task_id)}")
            result = found()
            assert result is not None
            return result


def _task(name: str, command: str, check: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "task_id": {"value": name},
            "command": {"value": command, "environment": {"variables": [{"name": k, "value": v}
                                                                        for k, v in (env or {}).items()]}},
            "health_check": check,
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 48}}]}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HttpCluster, Launcher, MesosSchedulerDriver]]:
    work = tmp_path_factory.mktemp("health")
    cluster = HttpCluster(str(work))
    scheduler = Launcher()
    try:
        driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "health-checks"}, cluster.master)
        driver.start()
        try:
            yield cluster, scheduler, driver
        finally:
            driver.stop()
            driver.join(10)
    finally:
        cluster.close()


def _health_update(healthy: bool) -> Callable[[Status], bool]:
    return lambda s: (s["state"] == "TASK_RUNNING" and s.get("healthy") is healthy
                      and s.get("reason") == "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED")


def test_http_tcp_and_command_checks(cluster: tuple[HttpCluster, Launcher, MesosSchedulerDriver],
                                     tmp_path: Any) -> None:
    http_cluster, scheduler, driver = cluster
    http_port, tcp_port = free_port(), free_port()
    flag = tmp_path / "flag"
    flag.write_text("up")
    serve = f"exec {sys.executable} -m http.server {http_port} --bind 127.0.0.1"
    listen = (f"exec {sys.executable} -c \"import socket, time; s = socket.socket(); "
              f"s.bind(('127.0.0.1', {tcp_port})); s.listen(); time.sleep(120)\"")
    for task in (
        _task("web", serve, {"type": "HTTP", "http": {"port": http_port, "path": "/"}, **FAST}),
        _task("tcp", listen, {"type": "TCP", "tcp": {"port": tcp_port}, **FAST}),
        # The check runs in the sandbox (the file the task made there) with the task's environment.
        _task("cmd", "touch made-here; exec sleep 120",
              {"type": "COMMAND", "command": {"value": 'test -f made-here && test -f "$FLAG"'},
               "consecutive_failures": 3, **FAST}, env={"FLAG": str(flag)}),
        _task("bad", "sleep 1", {"type": "HTTP", "http": {"port": 0}}),
    ):
        scheduler.pending.put(task)
    driver.reviveOffers()

    error = scheduler.wait("bad", lambda s: s["state"] == "TASK_ERROR")
    assert error["reason"] == "REASON_TASK_INVALID" and "health_check.http.port" in error["message"]
    for name in ("web", "tcp", "cmd"):
        healthy = scheduler.wait(name, _health_update(True))
        assert healthy["source"] == "SOURCE_EXECUTOR"

    def statuses(view: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
        return next((t["statuses"] for t in view if (t.get("id") or t.get("task_id", {}).get("value")) == name), [])

    def state_says_healthy() -> bool | None:
        tasks = [t for f in get_json(http_cluster.http + "/master/state")["frameworks"] for t in f["tasks"]]
        return all(any(s.get("healthy") is True for s in statuses(tasks, n)) for n in ("web", "tcp")) or None

    wait_until(state_says_healthy, "healthy in /master/state")
    status, _, body = post(http_cluster.http, {"type": "GET_TASKS"}, path="/api/v1")
    assert status == 200
    v1_tasks = json.loads(body)["get_tasks"]["tasks"]
    assert any(s.get("healthy") is True for s in statuses(v1_tasks, "web"))

    os.unlink(flag)  # the command check starts failing: three unhealthy updates, then the kill
    killed = scheduler.wait("cmd", lambda s: s["state"] == "TASK_KILLED")
    assert killed["healthy"] is False
    cmd = [s for s in scheduler.statuses["cmd"] if s["state"] != "TASK_STARTING"]
    unhealthy = [s for s in cmd if _health_update(False)(s)]
    assert len(unhealthy) == 3 and "exited with status 1" in unhealthy[0]["message"]
    assert cmd.index(unhealthy[0]) < cmd.index(killed) and cmd[-1] is killed
    assert scheduler.wait("web", _health_update(True))  # the others are untouched
    assert not [s for s in scheduler.statuses["web"] + scheduler.statuses["tcp"] if s.get("healthy") is False]
