"""/master/allocation and ``mesopy why``: a framework's decline filter, its
suppression, its outstanding and last offers, on a LocalCluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any

import pytest

from frameworks import MesosSchedulerDriver, Scheduler
from frameworks.testing import LocalCluster
from tests.integration.http_support import fetch, get_json, wait_until
from tests.integration.operators_support import ROOT

pytestmark = pytest.mark.integration


class Decliner(Scheduler):
    """Declines the first offer for an hour; keeps later ones."""

    def __init__(self) -> None:
        self.framework_id = ""
        self.declined = threading.Event()

    def registered(self, driver: Any, framework_id: dict[str, str], master_info: dict[str, Any]) -> None:
        self.framework_id = framework_id["value"]

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        if not self.declined.is_set():
            driver.declineOffer([o["id"] for o in offers], {"refuse_seconds": 3600.0})
            self.declined.set()


def test_a_decline_filter_and_suppression_explain_missing_offers() -> None:
    with LocalCluster(agents=2, allocation_interval=0.1) as cluster:
        scheduler = Decliner()
        driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "decliner"}, cluster.master)
        driver.start()
        try:
            assert scheduler.declined.wait(10)
            fid = scheduler.framework_id

            def explained() -> dict[str, Any] | None:
                view = get_json(cluster.http + f"/master/allocation?framework_id={fid}")
                return view if view["allocator"]["filters"] else None

            view = wait_until(explained, "a decline filter")
            agents = {a["id"] for a in cluster.state()["slaves"]}
            assert {f["agent_id"] for f in view["allocator"]["filters"]} <= agents
            assert all(f["until"] > 1.5e9 for f in view["allocator"]["filters"])  # epoch seconds
            assert view["framework"]["last_offer"]["agent_id"] in agents
            assert any("declined" in reason for reason in view["why"])
            driver.suppressOffers()
            wait_until(lambda: get_json(cluster.http + f"/master/allocation?framework_id={fid}")
                       ["allocator"]["suppressed_roles"] == ["*"], "suppressed")
            env = {k: v for k, v in os.environ.items() if not k.startswith("MESOPY_")}
            result = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "mesopy"), "why", fid[:-2],
                                     f"--master={cluster.http}"], capture_output=True, text=True, timeout=30,
                                    env=env, cwd=ROOT)
            assert result.returncode == 0, result.stderr
            assert "suppressed" in result.stdout and "filter: agent" in result.stdout
            as_json = subprocess.run([sys.executable, os.path.join(ROOT, "bin", "mesopy"), "why", fid,
                                      "--json", f"--master={cluster.http}"], capture_output=True, text=True,
                                     timeout=30, env=env, cwd=ROOT)
            assert json.loads(as_json.stdout)["framework"]["id"] == fid
        finally:
            driver.stop()
            driver.join(5)
        assert fetch(cluster.http + "/master/allocation?framework_id=nope")[0] == 404
        assert fetch(cluster.http + "/master/allocation")[0] == 400
