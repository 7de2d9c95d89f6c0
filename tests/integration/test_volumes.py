"""Persistent volumes against real master and agent processes: a framework reserves disk,
creates a volume and runs a task writing into it; the next task, after the first ended and
after the agent was killed (-9) and restarted, finds the file; DESTROY removes the directory."""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import pytest

from actors.node import Node
from actors.volumes import volume_dir
from tests.integration.operators_support import Script, free_port

pytestmark = [
    pytest.mark.integration, pytest.mark.timeout(120),
    pytest.mark.skipif(importlib.util.find_spec("actors.executor.command") is None, reason="no command executor"),
]
STACK = [{"type": "DYNAMIC", "role": "eng", "principal": "ops"}]
VOLUME = {"name": "disk", "type": "SCALAR", "scalar": {"value": 16.0}, "reservations": STACK,
          "disk": {"persistence": {"id": "db", "principal": "ops"}, "volume": {"container_path": "data", "mode": "RW"}}}
SMALL = [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
         {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}}]


class Steps:
    """Runs the steps (offer -> operations, or None to decline) one offer at a time."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.step: Callable[[dict[str, Any]], list[dict[str, Any]] | None] | None = None
        self.statuses: dict[str, str] = {}
        self.offers: list[dict[str, Any]] = []

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            with self.cond:
                self.offers.append(offer)
                step = self.step
                ops = step(offer) if step is not None else None
                if ops is not None:
                    self.step = None
                self.cond.notify_all()
            if ops is None:
                driver.declineOffer(offer["id"], {"refuse_seconds": 0.1})
            else:
                driver.acceptOffers([offer["id"]], ops, {"refuse_seconds": 0.1})

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        with self.cond:
            self.statuses[status["task_id"]["value"]] = status["state"]
            self.cond.notify_all()

    def run(self, step: Callable[[dict[str, Any]], list[dict[str, Any]] | None]) -> None:
        with self.cond:
            self.step = step
            assert self.cond.wait_for(lambda: self.step is None, 30), f"step not taken; offers: {self.offers[-3:]}"

    def wait_state(self, task_id: str, state: str) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: self.statuses.get(task_id) in (state, "TASK_FAILED", "TASK_ERROR",
                                                                           "TASK_LOST"), 30)
            assert ok and self.statuses[task_id] == state, self.statuses


def task(tid: str, offer: dict[str, Any], command: str, vol: dict[str, Any]) -> dict[str, Any]:
    return {"type": "LAUNCH", "launch": {"task_infos": [{
        "name": tid, "task_id": {"value": tid}, "agent_id": offer["agent_id"],
        "resources": [*SMALL, vol], "command": {"value": command, "shell": True}}]}}


def offered_volume(offer: dict[str, Any]) -> dict[str, Any] | None:
    return next((d for d in offer["resources"] if d.get("disk", {}).get("persistence", {}).get("id") == "db"), None)


def test_a_volume_outlives_tasks_and_an_agent_restart(scripts: list[Script], tmp_path: Any) -> None:
    from frameworks import MesosSchedulerDriver

    port = free_port()
    address = f"127.0.0.1:{port}"
    master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1")
    scripts.append(master)
    master.wait_for("master_started")
    work = str(tmp_path / "agent")
    agent_flags = (f"--master={address}", "--port=0", f"--work_dir={work}", "--resources=cpus:2;mem:512;disk:64",
                   "--registration_backoff_factor=0.05", "--isolation=posix/cpu,posix/mem")
    agent = Script("mesopy-agent", *agent_flags)
    scripts.append(agent)
    agent.wait_for("agent_registered")
    sched = Steps()
    node = Node().start()
    info = {"user": "", "name": "volumes", "roles": ["eng"], "capabilities": [{"type": "MULTI_ROLE"}],
            "principal": "ops"}
    driver = MesosSchedulerDriver(sched, info, address, node=node)
    driver.start()
    try:
        disk = {"name": "disk", "type": "SCALAR", "scalar": {"value": 16.0}, "reservations": STACK}
        sched.run(lambda offer: [{"type": "RESERVE", "reserve": {"resources": [disk]}},
                                 {"type": "CREATE", "create": {"volumes": [VOLUME]}},
                                 task("writer", offer, "echo kept > data/file", VOLUME)])
        sched.wait_state("writer", "TASK_FINISHED")
        path = volume_dir(work, "eng", "db")
        assert open(os.path.join(path, "file")).read() == "kept\n"

        def reader(name: str) -> Callable[[dict[str, Any]], list[dict[str, Any]] | None]:
            def step(offer: dict[str, Any]) -> list[dict[str, Any]] | None:
                vol = offered_volume(offer)
                return None if vol is None else [task(name, offer, "grep -q kept data/file", vol)]
            return step

        sched.run(reader("reader-1"))
        sched.wait_state("reader-1", "TASK_FINISHED")

        agent.proc.send_signal(signal.SIGKILL)
        agent.proc.wait(5)
        agent = Script("mesopy-agent", *agent_flags)
        scripts.append(agent)
        new_id = agent.wait_for("agent_registered")["agent_id"]
        sched.run(lambda offer: reader("reader-2")(offer) if offer["agent_id"]["value"] == new_id else None)
        sched.wait_state("reader-2", "TASK_FINISHED")

        def destroy(offer: dict[str, Any]) -> list[dict[str, Any]] | None:
            vol = offered_volume(offer)  # of the new agent (the killed one may not be seen gone yet)
            if vol is None or offer["agent_id"]["value"] != new_id:
                return None
            return [{"type": "DESTROY", "destroy": {"volumes": [vol]}}]

        sched.run(destroy)
        agent.wait_for("volume_destroyed")
        assert not os.path.exists(path)
        assert not any("Traceback" in line for s in scripts for line in s.lines)
    finally:
        driver.stop()
        driver.join(5)
        node.stop()


def test_the_operator_reserves_disk_and_creates_and_destroys_a_volume(scripts: list[Script], tmp_path: Any) -> None:
    import json
    import urllib.parse

    from tests.integration.test_reservations import _post_form

    port = free_port()
    master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1")
    scripts.append(master)
    http = str(master.wait_for("http_ready")["url"]).rstrip("/")
    work = str(tmp_path / "agent")
    agent = Script("mesopy-agent", f"--master=127.0.0.1:{port}", "--port=0", f"--work_dir={work}",
                   "--resources=cpus:1;mem:128;disk:64")
    scripts.append(agent)
    agent_id = agent.wait_for("agent_registered")["agent_id"]
    disk = {k: v for k, v in VOLUME.items() if k != "disk"}

    def post(path: str, key: str, items: list[dict[str, Any]]) -> tuple[int, bytes]:
        return _post_form(http + path, urllib.parse.urlencode({"slaveId": agent_id, key: json.dumps(items)}))

    assert post("/reserve", "resources", [disk])[0] == 202
    status, body = post("/create-volumes", "volumes", [VOLUME])
    assert status == 202 and json.loads(body)["created"] == ["db"], body
    agent.wait_for("volume_created")
    path = volume_dir(work, "eng", "db")
    assert os.path.isdir(path)
    status, body = post("/create-volumes", "volumes", [VOLUME])
    assert status == 400 and b"already exists" in body
    status, body = post("/destroy-volumes", "volumes", [VOLUME])
    assert status == 202, body
    agent.wait_for("volume_destroyed")
    assert not os.path.exists(path)
