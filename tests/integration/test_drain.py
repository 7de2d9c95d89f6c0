"""Draining against real master and agent processes: POST /drain kills a task that ignores
SIGTERM and asks for 60 s of grace within the 1 s cap, the agent ends DRAINED and gets no
offers; POST /reactivate brings its offers back."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from actors.node import Node
from tests.integration.http_support import get_json
from tests.integration.operators_support import Script, free_port

pytestmark = [
    pytest.mark.integration, pytest.mark.timeout(90),
    pytest.mark.skipif(importlib.util.find_spec("actors.executor.command") is None, reason="no command executor"),
]


class OneTask:
    """Launches one stubborn task in the first offer; declines the rest, counting them."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.launched = False
        self.offers = 0
        self.statuses: list[dict[str, Any]] = []

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            with self.cond:
                self.offers += 1
                launch, self.launched = not self.launched, True
                self.cond.notify_all()
            if not launch:
                driver.declineOffer(offer["id"], {"refuse_seconds": 0.1})
                continue
            driver.launchTasks(offer["id"], [{
                "name": "stubborn", "task_id": {"value": "stubborn"}, "agent_id": offer["agent_id"],
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                              {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}}],
                "command": {"value": "trap '' TERM; while true; do sleep 0.1; done", "shell": True},
                "kill_policy": {"grace_period": {"nanoseconds": 60_000_000_000}}}], {"refuse_seconds": 0.1})

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        with self.cond:
            self.statuses.append(status)
            self.cond.notify_all()

    def wait(self, predicate: Any, what: str, timeout: float = 20.0) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), f"no {what}: {self.statuses}"

    def state(self) -> str:
        return str(self.statuses[-1]["state"]) if self.statuses else ""


def post(url: str, body: Any) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_drain_kills_within_the_cap_and_reactivate_restores_offers(scripts: list[Script], tmp_path: Any) -> None:
    from frameworks import MesosSchedulerDriver

    port = free_port()
    address = f"127.0.0.1:{port}"
    master = Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1")
    scripts.append(master)
    http = str(master.wait_for("http_ready")["url"]).rstrip("/")
    agent = Script("mesopy-agent", f"--master={address}", "--port=0", f"--work_dir={tmp_path / 'agent'}",
                   "--resources=cpus:1;mem:256", "--isolation=posix/cpu,posix/mem")
    scripts.append(agent)
    agent_id = agent.wait_for("agent_registered")["agent_id"]
    sched = OneTask()
    node = Node().start()
    driver = MesosSchedulerDriver(sched, {"user": "", "name": "drain"}, address, node=node)
    driver.start()
    try:
        sched.wait(lambda: sched.state() == "TASK_RUNNING", "running task")
        status, body = post(http + "/drain", {"agent_id": {"value": "nope"}})
        assert status == 400 and b"no agent 'nope'" in body
        started = time.monotonic()
        status, body = post(http + "/drain", {"agent_id": {"value": agent_id},
                                              "max_grace_period": {"nanoseconds": 1_000_000_000}})
        assert status == 200 and body["drain_info"]["state"] == "DRAINING", body
        sched.wait(lambda: sched.state() == "TASK_KILLED", "TASK_KILLED")
        assert time.monotonic() - started < 15.0  # 1 s of grace, not the task's 60
        assert sched.statuses[-1].get("reason") == "REASON_AGENT_DRAINING"
        (slave,) = get_json(http + "/master/state")["slaves"]
        assert slave["deactivated"] is True and slave["drain_info"]["state"] == "DRAINED"
        with sched.cond:
            mark = sched.offers
        driver.reviveOffers()
        with sched.cond:  # 15 allocation intervals without an offer of the drained agent
            offered = sched.cond.wait_for(lambda: sched.offers > mark, 1.5)
        assert not offered, "a drained agent was offered"
        status, body = post(http + "/reactivate", {"agent_id": {"value": agent_id}})
        assert status == 200 and body["deactivated"] is False and body["drain_info"] is None
        sched.wait(lambda: sched.offers > mark, "an offer after reactivation")
    finally:
        driver.stop()
        driver.join(5)
        node.stop()
