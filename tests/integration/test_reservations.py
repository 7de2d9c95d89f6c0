"""Dynamic reservations against real master and agent processes: a framework reserves
through acceptOffers; the reservation (with its principal) is offered to the next
framework of the role after the first is gone, to a master restarted after kill -9,
and by an agent restarted after kill -9 (its checkpoint); the operator's /unreserve
gives it back and /reserve makes one."""

from __future__ import annotations

import json
import signal
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from actors.node import Node
from tests.integration.http_support import get_json
from tests.integration.operators_support import Script, free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
STACK = [{"type": "DYNAMIC", "role": "eng", "principal": "ops"}]


class Reserver:
    """Reserves cpus:1 in its first offer if ``reserve``; records every offer's reserved dicts."""

    def __init__(self, reserve: bool) -> None:
        self.cond = threading.Condition()
        self.reserve = reserve
        self.reserved: list[list[dict[str, Any]]] = []
        self.agent_ids: list[str] = []

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            mine = [d for d in offer["resources"] if d.get("role") not in (None, "*")]
            with self.cond:
                self.reserved.append(mine)
                self.agent_ids.append(offer["agent_id"]["value"])
                self.cond.notify_all()
                reserve, self.reserve = self.reserve, False
            if reserve:
                item = {"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}, "reservations": STACK}
                driver.acceptOffers([offer["id"]], [{"type": "RESERVE", "reserve": {"resources": [item]}}],
                                    {"refuse_seconds": 0.1})
            else:
                driver.declineOffer(offer["id"], {"refuse_seconds": 0.1})

    def next_reserved(self, agent_id: str = "", timeout: float = 30.0,
                      want: Callable[[list[dict[str, Any]]], bool] = bool) -> list[dict[str, Any]]:
        """The reserved part of the next offer that has one (from ``agent_id`` if given, for
        which ``want`` holds: offers made before a change may still come)."""
        def found() -> list[dict[str, Any]] | None:
            return next((r for r, a in zip(self.reserved[mark:], self.agent_ids[mark:])
                         if r and agent_id in ("", a) and want(r)), None)

        with self.cond:
            mark = len(self.reserved)
            ok = self.cond.wait_for(lambda: found() is not None, timeout)
            assert ok, f"no offer with reserved resources within {timeout} s: {self.reserved[-5:]}"
            return found() or []


def run(sched: Reserver, address: str, node: Node, principal: str = "ops") -> Any:
    from frameworks import MesosSchedulerDriver

    info = {"user": "", "name": "reserver", "roles": ["eng"], "capabilities": [{"type": "MULTI_ROLE"}],
            "principal": principal}
    driver = MesosSchedulerDriver(sched, info, address, node=node)
    driver.start()
    return driver


def cpus_reserved(reserved: list[dict[str, Any]]) -> float:
    return sum(d["scalar"]["value"] for d in reserved if d["name"] == "cpus")


def test_reservations_outlive_framework_master_and_agent(scripts: list[Script], tmp_path: Any) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    flags = (f"--port={port}", "--allocation_interval=0.1")
    master = Script("mesopy-master", *flags)
    scripts.append(master)
    http = str(master.wait_for("http_ready")["url"]).rstrip("/")
    agent_flags = (f"--master={address}", "--port=0", f"--work_dir={tmp_path / 'agent'}",
                   "--resources=cpus:4;mem:1024", "--registration_backoff_factor=0.05")
    agent = Script("mesopy-agent", *agent_flags)
    scripts.append(agent)
    agent.wait_for("agent_registered", reregistered=False)
    node = Node().start()
    try:
        first = Reserver(reserve=True)
        driver = run(first, address, node)
        assert first.next_reserved()[0]["reservations"] == STACK
        agent.wait_for("resources_checkpointed")
        driver.stop()
        driver.join(5)

        second = Reserver(reserve=False)
        driver = run(second, address, node)
        (cpus,) = second.next_reserved()
        assert (cpus["scalar"]["value"], cpus["reservations"], cpus["allocation_info"]) == (
            1.0, STACK, {"role": "eng"})

        master.proc.send_signal(signal.SIGKILL)
        master.proc.wait(5)
        master = Script("mesopy-master", *flags)
        scripts.append(master)
        http = str(master.wait_for("http_ready")["url"]).rstrip("/")
        assert cpus_reserved(second.next_reserved()) == 1.0  # the agent re-registered with it

        agent.proc.send_signal(signal.SIGKILL)
        agent.proc.wait(5)
        agent = Script("mesopy-agent", *agent_flags)
        scripts.append(agent)
        agent_id = agent.wait_for("agent_registered")["agent_id"]
        reserved = second.next_reserved(agent_id)
        assert cpus_reserved(reserved) == 1.0 and reserved[0]["reservations"] == STACK

        form = urllib.parse.urlencode({"slaveId": agent_id, "resources": json.dumps(reserved)})
        status, body = _post_form(http + "/unreserve", form)
        assert status == 202, body
        state = get_json(http + "/master/state")
        assert [s["unreserved_resources"]["cpus"] for s in state["slaves"] if s["id"] == agent_id] == [4.0]

        mem = [{"name": "mem", "type": "SCALAR", "scalar": {"value": 256},
                "reservations": [{"type": "DYNAMIC", "role": "eng", "principal": "admin"}]}]
        status, body = _post_form(http + "/reserve", urllib.parse.urlencode(
            {"slaveId": agent_id, "resources": json.dumps(mem)}))
        assert status == 202, body
        got = second.next_reserved(want=lambda r: all(d["name"] == "mem" for d in r))
        assert [(d["name"], d["reservations"][0]["principal"]) for d in got] == [("mem", "admin")]
        status, body = _post_form(http + "/reserve", urllib.parse.urlencode(
            {"slaveId": agent_id, "resources": json.dumps([dict(mem[0], scalar={"value": 5000})])}))
        assert status == 400 and b"is not available on agent" in body
        driver.stop()
        driver.join(5)
        assert not any("Traceback" in line for s in scripts for line in s.lines)
    finally:
        node.stop()


def _post_form(url: str, form: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=form.encode(), method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_an_agent_whose_resources_cannot_hold_its_reservations_exits_1(tmp_path: Any) -> None:
    from tests.integration.operators_support import run_script

    meta = tmp_path / "agent" / "meta"
    meta.mkdir(parents=True)
    (meta / "resources.json").write_text(json.dumps([
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": 8}, "reservations": STACK}]))
    done = run_script("mesopy-agent", "--master=127.0.0.1:1", "--port=0", "--http_port=0",
                      f"--work_dir={tmp_path / 'agent'}", "--resources=cpus:1;mem:64")
    assert done.returncode == 1, done.stderr
    assert "do not fit --resources: cpus:8 is not available" in done.stderr
