"""mesopy-chronos' web UI in a real headless Chromium (tests/integration/browser_support.py) against a
real mesopy-chronos on a real mesopy-master and mesopy-agent: the page lists the jobs posted through
Chronos' REST API and draws their dependency graph; a click on Run runs a job and its dependent
job, and the graph's colours follow (a failing job colours red and triggers nothing); a click on
Disable disables a job; a click on a job shows its runs.

Run alone with ``pytest -m browser``. The screenshot goes to ``$MESOPY_TEST_ARTIFACTS`` (else the
test's tmp_path)."""

from __future__ import annotations

import json
import os
import pathlib
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.browser_support import Browser
from tests.integration.http_support import get_json
from tests.integration.operators_support import Script, free_port, kill_executors_under

pytest.importorskip("frameworks.chronos.api", reason="mesopy-chronos' REST API (frameworks/chronos/api.py)")

pytestmark = [pytest.mark.integration, pytest.mark.browser]

FUTURE = "R/2099-01-01T00:00:00Z/P1D"  # scheduled jobs that only run when asked to
SMALL = {"cpus": 0.1, "mem": 32, "disk": 0}


def post(url: str, kind: str, job: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{url}/v1/scheduler/{kind}", data=json.dumps({**SMALL, **job}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 204, reply.read()


@pytest.fixture
def chronos(tmp_path: pathlib.Path) -> Iterator[str]:
    scripts: list[Script] = []
    try:
        port = free_port()
        scripts.append(Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1"))
        scripts[-1].wait_for("master_started")
        scripts.append(Script("mesopy-agent", f"--master=127.0.0.1:{port}", "--port=0",
                              f"--work_dir={tmp_path}/agent", "--resources=cpus:2;mem:1024;disk:512",
                              "--registration_backoff_factor=0.05"))
        scripts.append(Script("mesopy-chronos", f"--master=127.0.0.1:{port}", "--http_address=127.0.0.1",
                              "--http_port=0", f"--state_dir={tmp_path}/chronos"))
        url = scripts[-1].wait_for("http_ready")["url"].rstrip("/")
        scripts[-2].wait_for("agent_registered")
        scripts[-1].wait_for("chronos_registered")  # elected and registered with the master: the API answers
        yield url
    finally:
        for script in scripts:
            script.kill()
        kill_executors_under(str(tmp_path))


@pytest.fixture
def shots(tmp_path: pathlib.Path) -> pathlib.Path:
    out = pathlib.Path(os.environ.get("MESOPY_TEST_ARTIFACTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def node(name: str, last: str) -> str:
    return f"document.querySelector('#graph svg g.node[data-job={name}][data-last={last}]') !== null"


@pytest.mark.timeout(120)
def test_the_ui_shows_jobs_and_graph_and_runs_a_chain(chronos: str, shots: pathlib.Path) -> None:
    post(chronos, "iso8601", {"name": "extract", "command": "echo extract", "schedule": FUTURE})
    post(chronos, "iso8601", {"name": "audit", "command": "exit 3", "schedule": FUTURE, "retries": 0})
    post(chronos, "dependency", {"name": "transform", "command": "echo transform", "parents": ["extract"]})
    post(chronos, "dependency", {"name": "load", "command": "echo load", "parents": ["transform", "audit"]})
    post(chronos, "dependency", {"name": "notify", "command": "echo notify", "parents": ["audit"]})
    post(chronos, "iso8601", {"name": "slow", "command": "sleep 60", "schedule": FUTURE, "retries": 0})

    with Browser() as browser:
        browser.goto(chronos + "/?refresh=0.3")
        # the jobs, with their schedule or parents, and the graph as a picture: 6 nodes, 4 edges
        browser.wait_for("document.querySelectorAll('#jobs tbody tr[data-job]').length === 6", "six job rows")
        assert browser.evaluate("document.querySelector('#jobs tr[data-job=load]').innerText").count("transform, audit")
        assert "R/2099-01-01T00:00:00.000Z/P1D" in browser.evaluate(
            "document.querySelector('#jobs tr[data-job=extract]').innerText")
        browser.wait_for("document.querySelector('#graph').dataset.links === '4'", "the graph's four edges")
        assert browser.evaluate("document.querySelectorAll('#graph svg g.node rect').length") == 6
        assert browser.evaluate("document.querySelector('#graph path.edge[data-from=transform][data-to=load]') !== null")
        # parents are drawn left of their children, each layer further right
        xs = browser.evaluate("Object.fromEntries([...document.querySelectorAll('#graph svg g.node')].map("
                              "g => [g.dataset.job, g.transform.baseVal[0].matrix.e]))")
        assert xs["extract"] < xs["transform"] < xs["load"] and xs["audit"] < xs["notify"]

        # Run extract and audit: extract and its child transform succeed and turn green; audit fails,
        # turns red and triggers neither load (which waits for transform and audit) nor notify.
        browser.click("button[data-action=run][data-job=extract]")
        browser.click("button[data-action=run][data-job=audit]")
        browser.wait_for(node("extract", "success"), "extract green after its run", timeout=40)
        browser.wait_for(node("transform", "success"), "transform run after extract", timeout=40)
        browser.wait_for(node("audit", "failure"), "audit red after failing", timeout=40)
        browser.wait_for("document.querySelector('#jobs tr[data-job=audit][data-last=failure] td.bad')", "audit's row")
        jobs = {j["name"]: j for j in get_json(chronos + "/v1/scheduler/jobs")}
        assert jobs["transform"]["successCount"] == 1 and jobs["audit"]["errorCount"] == 1
        for child in ("load", "notify"):  # not run, not queued
            assert jobs[child]["successCount"] == jobs[child]["errorCount"] == 0, jobs[child]
            assert jobs[child].get("status", "idle") == "idle", jobs[child]
        assert browser.evaluate(node("load", "fresh")) and browser.evaluate(node("notify", "fresh"))

        # A long run shows as running in the table and in the graph until it is killed.
        browser.click("button[data-action=run][data-job=slow]")
        browser.wait_for("document.querySelector('#jobs tr[data-job=slow][data-state=running]')", "slow running")
        browser.wait_for("document.querySelector('#graph g.node[data-job=slow][data-state=running]')", "slow's node")
        request = urllib.request.Request(f"{chronos}/v1/scheduler/task/kill/slow", method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 204
        browser.wait_for("document.querySelector('#jobs tr[data-job=slow][data-state=idle]')", "slow killed")

        # Disable audit from the page: the job is disabled in the API too, and the button offers Enable.
        browser.click("button[data-action=toggle][data-job=audit]")
        browser.wait_for("document.querySelector('#jobs tr[data-job=audit][data-disabled=true]')", "audit disabled")
        assert get_json(chronos + "/v1/scheduler/job/audit")["disabled"] is True
        assert browser.evaluate("document.querySelector('button[data-action=toggle][data-job=audit]').innerText") \
            == "Enable"
        assert browser.evaluate("document.querySelector('#graph g.node.disabled[data-job=audit]') !== null")

        # A click on transform shows its history: the one successful run.
        browser.click("a[data-pick=transform]")
        browser.wait_for("document.querySelector('#history[data-job=transform] tr[data-status=SUCCESS]')",
                         "transform's successful run in its history")
        browser.screenshot(str(shots / "chronos-ui.png"))
        assert browser.errors == [], f"errors in the page: {browser.errors}"
