"""Quota against real master and agent processes: a limit set with ``mesopy quota`` (POST /quota) caps
what the role is offered, survives a kill -9 of the master (the --quota file), and
DELETE /quota/<role> lifts it; a refused update answers 400 with the reason."""

from __future__ import annotations

import json
import signal
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest

from actors.node import Node
from actors.resources import Resources
from tests.integration.http_support import get_json
from tests.integration.operators_support import Script, free_port, run_script

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


class OfferLog:
    """Declines every offer briefly, recording the cpus each one holds."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.cpus: list[float] = []

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            with self.cond:
                self.cpus.append(Resources.from_dicts(offer["resources"]).scalar("cpus"))
                self.cond.notify_all()
            driver.declineOffer(offer["id"], {"refuse_seconds": 0.1})

    def next_offers(self, count: int, timeout: float = 20.0) -> list[float]:
        with self.cond:
            mark = len(self.cpus)
            if not self.cond.wait_for(lambda: len(self.cpus) >= mark + count, timeout):
                raise AssertionError(f"fewer than {count} offers within {timeout} s: {self.cpus[mark:]}")
            return self.cpus[mark:mark + count]


def request(url: str, method: str, body: Any = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def start_master(scripts: list[Script], flags: tuple[str, ...]) -> str:
    master = Script("mesopy-master", *flags)
    scripts.append(master)
    return str(master.wait_for("http_ready")["url"]).rstrip("/")


def test_quota_limit_caps_offers_and_survives_a_master_kill(scripts: list[Script], tmp_path: Any) -> None:
    from frameworks import MesosSchedulerDriver

    port = free_port()
    address = f"127.0.0.1:{port}"
    flags = (f"--port={port}", "--allocation_interval=0.1", f"--quota={tmp_path / 'quota.json'}")
    http = start_master(scripts, flags)
    agent = Script("mesopy-agent", f"--master={address}", "--port=0", f"--work_dir={tmp_path / 'agent'}",
                   "--resources=cpus:4;mem:1024", "--registration_backoff_factor=0.05")
    scripts.append(agent)
    agent.wait_for("agent_registered", reregistered=False)

    status, body = request(http + "/quota", "POST", {"quota_configs": [
        {"role": "eng", "guarantees": {"cpus": {"value": 8}}, "limits": {"cpus": {"value": 8}}}]})
    assert status == 400 and b"exceed the cluster's capacity (cpus:8 > cpus:4)" in body
    done = run_script("mesopy", f"--master={http}", "quota", "eng", "--limit=cpus:1", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["configs"] == [{"role": "eng", "guarantees": {}, "limits": {"cpus": {"value": 1.0}}}]
    shown = run_script("mesopy", f"--master={http}", "quota")
    assert shown.stdout.split() == ["ROLE", "GUARANTEE", "LIMIT", "CONSUMED", "eng", "-", "cpus:1", "-"], shown

    sched = OfferLog()
    node = Node().start()
    info = {"user": "", "name": "quota", "roles": ["eng"], "capabilities": [{"type": "MULTI_ROLE"}],
            "failover_timeout": 60.0}
    driver = MesosSchedulerDriver(sched, info, address, node=node)
    driver.start()
    try:
        assert sched.next_offers(3) == [1.0, 1.0, 1.0]
        roles = get_json(http + "/master/roles")["roles"]
        assert [r["quota"]["limit"] for r in roles if r["name"] == "eng"] == [{"cpus": 1.0}]
        assert get_json(http + "/master/state")["quota"]["configs"][0]["role"] == "eng"

        scripts[0].proc.send_signal(signal.SIGKILL)
        scripts[0].proc.wait(5)
        http = start_master(scripts, flags)
        assert get_json(http + "/quota")["configs"] == [
            {"role": "eng", "guarantees": {}, "limits": {"cpus": {"value": 1.0}}}]
        assert sched.next_offers(3, timeout=30.0) == [1.0, 1.0, 1.0]

        status, body = request(http + "/quota/eng", "DELETE")
        assert status == 200 and json.loads(body)["configs"] == []
        assert 4.0 in sched.next_offers(3)
        assert not any("Traceback" in line for s in scripts for line in s.lines)
    finally:
        driver.stop()
        driver.join(5)
        node.stop()
