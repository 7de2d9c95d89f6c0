"""The web UI's HTTP side on a LocalCluster, without a browser: / and every
asset with its content type, and the two endpoints only the UI reads
(/master/usage: resources sampled over the last hour; /master/shares: the
allocator's dominant shares)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from actors.master.webui import ASSETS
from frameworks import MesosSchedulerDriver, Scheduler
from frameworks.testing import LocalCluster
from tests.integration.http_support import fetch, get_json, wait_until

pytestmark = pytest.mark.integration


class Holder(Scheduler):
    """Launches one task of 1 cpu on its first offer and keeps it running."""

    def __init__(self) -> None:
        self.framework_id = ""
        self.running = threading.Event()
        self.launched = False

    def registered(self, driver: Any, framework_id: dict[str, str], master_info: dict[str, Any]) -> None:
        self.framework_id = framework_id["value"]

    def resourceOffers(self, driver: Any, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            if self.launched:
                driver.declineOffer(offer["id"])
                continue
            self.launched = True
            driver.launchTasks(offer["id"], [{
                "name": "hold", "task_id": {"value": "hold-1"}, "agent_id": offer["agent_id"],
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1}},
                              {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
                "command": {"value": "sleep 60"}}])

    def statusUpdate(self, driver: Any, status: dict[str, Any]) -> None:
        if status["state"] == "TASK_RUNNING":
            self.running.set()


def test_the_page_and_its_assets_are_served_from_the_package() -> None:
    with LocalCluster(agents=1) as cluster:
        status, headers, body = fetch(cluster.http + "/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b'src="/webui/app.js"' in body and headers["Cache-Control"] == "no-cache"
        types = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
        for name in ASSETS:
            status, headers, _ = fetch(f"{cluster.http}/webui/{name}")
            assert status == 200 and headers["Content-Type"].startswith(types[name[name.rindex("."):]]), name
        assert fetch(cluster.http + "/webui/missing.js")[0] == 404


def test_usage_and_shares_follow_a_running_task() -> None:
    with LocalCluster(agents=1, resources="cpus:4;mem:1024") as cluster:
        usage = wait_until(lambda: get_json(cluster.http + "/master/usage")["samples"], "a first usage sample")
        assert get_json(cluster.http + "/master/usage")["interval"] == 10.0
        assert usage[0]["time"] > 1.5e9 and set(usage[0]) >= {"cpus_total", "cpus_used", "cpus_offered", "mem_total"}
        scheduler = Holder()
        driver = MesosSchedulerDriver(scheduler, {"user": "", "name": "holder"}, cluster.master)
        driver.start()
        try:
            assert scheduler.running.wait(20)
            shares = wait_until(lambda: (lambda s: s if s["frameworks"].get(scheduler.framework_id, 0) >= 0.25
                                         else None)(get_json(cluster.http + "/master/shares")), "holder's share")
            assert shares["frameworks"][scheduler.framework_id] == pytest.approx(0.25)  # 1 of 4 cpus
            assert shares["roles"]["*"] == pytest.approx(0.25)
            json.dumps(shares)
        finally:
            driver.stop()
            driver.join()
