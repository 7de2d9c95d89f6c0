"""A multi-role framework against real master and agent processes: offers come
per role, labelled with it; a suppressed role stays suppressed when the master
is killed (-9) and restarted, because the driver re-registers with its
suppressed roles; reviving that role brings its offers back."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from actors.node import Node
from tests.integration.operators_support import Script, free_port
from tests.integration.test_master_restart import Recorder

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


class Decliner(Recorder):
    """Declines every offer for a moment and records its allocation role (the
    other callbacks as ``Recorder`` notes them)."""

    def __init__(self) -> None:
        super().__init__()
        self.roles: list[str] = []

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            role = offer["allocation_info"]["role"]
            assert all(r["allocation_info"] == {"role": role} for r in offer["resources"])
            with self.cond:
                self.roles.append(role)
                self.cond.notify_all()
            driver.declineOffer(offer["id"], {"refuse_seconds": 0.2})

    def offers_since(self, mark: int, role: str) -> int:
        return sum(1 for r in self.roles[mark:] if r == role)


def test_suppressed_role_survives_a_master_restart(scripts: list[Script], tmp_path: Any) -> None:
    from frameworks import MesosSchedulerDriver

    port = free_port()
    address = f"127.0.0.1:{port}"
    master_flags = (f"--port={port}", "--allocation_interval=0.1")
    master = Script("mesopy-master", *master_flags)
    scripts.append(master)
    master.wait_for("master_started", address=address)
    agent = Script("mesopy-agent", f"--master={address}", "--port=0", f"--work_dir={tmp_path / 'agent'}",
                   "--resources=cpus:1;mem:512", "--registration_backoff_factor=0.05")
    scripts.append(agent)
    agent.wait_for("agent_registered", reregistered=False)

    sched = Decliner()
    node = Node().start()
    info = {"user": "", "name": "multi", "roles": ["a", "b"], "capabilities": [{"type": "MULTI_ROLE"}],
            "failover_timeout": 60.0}
    driver = MesosSchedulerDriver(sched, info, address, node=node)
    driver.start()
    try:
        # Both roles are offered the agent in turn (a decline refuses only its own role).
        sched.wait(lambda: sched.offers_since(0, "a") >= 2 and sched.offers_since(0, "b") >= 2, "offers in a and b")
        driver.suppressOffers(["a"])
        mark = len(sched.roles)
        sched.wait(lambda: sched.offers_since(mark, "b") >= 3, "offers in b after suppressing a")
        mark = len(sched.roles)
        sched.wait(lambda: sched.offers_since(mark, "b") >= 3, "more offers in b")
        assert sched.offers_since(mark, "a") == 0

        master.proc.send_signal(signal.SIGKILL)
        master.proc.wait(5)
        sched.wait(lambda: "disconnected" in sched.calls, "disconnected callback")
        agent.wait_for("master_disconnected", timeout=10.0)
        master = Script("mesopy-master", *master_flags)
        scripts.append(master)
        master.wait_for("master_started", address=address)
        sched.wait(lambda: "reregistered" in sched.calls, "reregistered callback", timeout=20.0)
        mark = len(sched.roles)
        sched.wait(lambda: sched.offers_since(mark, "b") >= 3, "offers in b from the new master", timeout=20.0)
        assert sched.offers_since(mark, "a") == 0, sched.roles[mark:]

        driver.reviveOffers(["a"])
        mark = len(sched.roles)
        sched.wait(lambda: sched.offers_since(mark, "a") >= 1, "an offer in a after reviving it")
        assert not any("Traceback" in line for s in scripts for line in s.lines)
    finally:
        driver.stop()
        driver.join(5)
        node.stop()
