"""Marathon's web UI (frameworks/marathon/webui/) in a real headless Chromium against a real
mesopy-master, mesopy-agent and mesopy-marathon: a bad definition's 422 shown naming the field;
an app created from the form reaches its instances, healthy by its HTTP health check; its tasks
link to their sandbox in the master UI; it is scaled, restarted and destroyed from the page.

Run alone with ``pytest -m browser``."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.browser_support import Browser

pytest.importorskip("frameworks.marathon.main", reason="needs mesopy-marathon (frameworks/marathon)")
from tests.integration.marathon_support import MarathonCluster  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.timeout(120)]


@pytest.fixture
def cluster(tmp_path: pathlib.Path) -> Iterator[MarathonCluster]:
    c = MarathonCluster(str(tmp_path), 1)
    try:
        yield c
    finally:
        c.close()


def _app(browser: Browser, app_id: str, condition: str, what: str, timeout: float = 40.0) -> Any:
    """Wait until the app the page last read satisfies ``condition`` (JS over ``a``)."""
    return browser.wait_for(f"(window.marathonUi.apps.find(a => a.id === {json.dumps(app_id)}) || null) && "
                            f"((a) => ({condition}))(window.marathonUi.apps.find(a => a.id === {json.dumps(app_id)}))",
                            what, timeout)


def test_create_watch_scale_restart_and_destroy_an_app(cluster: MarathonCluster, tmp_path: pathlib.Path) -> None:
    shots = pathlib.Path(os.environ.get("MESOPY_TEST_ARTIFACTS") or tmp_path)
    with Browser() as browser:
        browser.accept_dialogs()
        browser.goto(cluster.url + "/")
        browser.wait_for("!document.getElementById('no-apps').hidden", "the empty app list")
        browser.wait_for("document.getElementById('stream').textContent === 'events: live'", "the event stream")

        browser.click("#create-open")
        browser.fill("#f-id", "/ui/bad")
        browser.fill("#f-cmd", "sleep 60")
        browser.fill("#f-cpus", "-1")
        browser.click("#create-submit")
        assert "/cpus" in browser.wait_for("document.getElementById('create-errors').textContent", "the 422 details")

        browser.fill("#f-id", "/ui/web")
        browser.fill("#f-cmd", "exec python3 -m http.server $PORT0 --bind 127.0.0.1")
        browser.fill("#f-instances", "2")
        browser.fill("#f-cpus", "0.1")
        browser.select("#f-hc", "MESOS_HTTP")
        browser.fill("#f-hcarg", "/")
        browser.click("#create-submit")
        browser.wait_for("document.getElementById('create').hidden", "the form closed after the 201")
        _app(browser, "/ui/web", "a.tasksRunning === 2 && a.tasksHealthy === 2 && !a.deployments.length",
             "2 healthy instances")
        row = "document.querySelector('#apps tr[data-app=\"/ui/web\"]')"
        browser.wait_for(f"{row}.textContent.includes('2 / 2') && {row}.textContent.includes('2 healthy')",
                         "the row saying 2 / 2 and 2 healthy")
        browser.wait_for("document.querySelectorAll('#tasks tr.task').length === 2", "the task table (selected)")
        links = browser.evaluate("[...document.querySelectorAll('#tasks a.sandbox-link')].map(a => a.href)")
        agent = cluster.call("GET", "/v2/apps/ui/web?embed=apps.tasks")[1]["app"]["tasks"][0]["slaveId"]
        assert len(links) == 2 and all(link.startswith(cluster.master_http + "/#/sandbox?") for link in links)
        assert all(f"agent={agent}" in link for link in links)
        browser.wait_for("document.querySelectorAll('#tasks .task-health .healthy').length === 2", "healthy tasks")
        browser.screenshot(str(shots / "marathon-ui-running.png"))

        before = set(browser.evaluate("[...document.querySelectorAll('#tasks tr.task')].map(r => r.dataset.task)"))
        browser.fill("#apps tr[data-app='/ui/web'] .scale-input", "1")
        browser.click("#apps tr[data-app='/ui/web'] button.scale")
        _app(browser, "/ui/web", "a.instances === 1 && a.tasksRunning === 1 && !a.deployments.length", "scaled to 1")

        browser.click("#apps tr[data-app='/ui/web'] button.restart")
        _app(browser, "/ui/web", f"a.tasksHealthy === 1 && !a.deployments.length && "
             f"!{json.dumps(sorted(before))}.includes(a.tasks[0].id)", "restarted: a new healthy task")

        browser.click("#apps tr[data-app='/ui/web'] button.destroy")
        browser.wait_for("!document.getElementById('no-apps').hidden", "the app gone from the list")
        assert cluster.call("GET", "/v2/apps")[1] == {"apps": []}
        assert browser.evaluate("window.marathonUi.eventsSeen") > 0
        assert browser.errors == [], browser.errors
