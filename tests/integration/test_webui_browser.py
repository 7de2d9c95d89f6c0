"""The web UI in a real headless Chromium (Debian's chromium driven by Playwright,
tests/integration/browser_support.py) against a real mesopy-master and
mesopy-agent with a task of mesopy-execute: the dashboard shows the agent, the
frameworks and the running task; a click on the task opens its sandbox, a click
on stdout tails it as it is written; the page follows the task's end; the
"why no offers" view shows a framework's decline filter.

Run alone with ``pytest -m browser``. Screenshots go to ``$MESOPY_TEST_ARTIFACTS``
(else the test's tmp_path)."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterator

import pytest

from frameworks import MesosSchedulerDriver
from tests.integration.browser_support import Browser
from tests.integration.http_support import HttpCluster, get_json, wait_until
from tests.integration.test_http_allocation import Decliner
from tests.integration.v1_client import post

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture
def cluster(tmp_path: pathlib.Path) -> Iterator[HttpCluster]:
    c = HttpCluster(str(tmp_path))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with Browser() as b:
        yield b
    assert b.errors == [], f"errors in the page: {b.errors}"


@pytest.fixture
def shots(tmp_path: pathlib.Path) -> pathlib.Path:
    out = pathlib.Path(os.environ.get("MESOPY_TEST_ARTIFACTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def js(value: str) -> str:
    return json.dumps(value)


def nav(browser: Browser, page: str) -> None:
    """A click on the menu's ``page``, then the wait for the page to be the shown one."""
    browser.click(f"#nav a[data-page={page}]")
    browser.wait_for(f"document.body.dataset.page === {js(page)}", f"the {page} page")  # mounted with it


@pytest.mark.timeout(300)  # a dozen steps, each waited for up to 30 s on a loaded machine
def test_the_ui_follows_a_task_from_the_dashboard_to_its_sandbox_and_its_end(
        cluster: HttpCluster, browser: Browser, shots: pathlib.Path) -> None:
    decliner = Decliner()
    driver = MesosSchedulerDriver(decliner, {"user": "", "name": "ui-decliner"}, cluster.master)
    driver.start()
    try:
        assert decliner.declined.wait(20)
        go = cluster.run_task("ui-task", lines=3)
        task = wait_until(lambda: next((t for t in get_json(cluster.http + "/master/tasks")["tasks"]
                                        if t["state"] == "TASK_RUNNING"), None), "the task running")
        agent_id = get_json(cluster.http + "/master/slaves")["slaves"][0]["id"]

        browser.goto(cluster.http + "/?refresh=300")
        # The dashboard: the agent active, the task running, both frameworks, the charts.
        browser.wait_for(f"document.querySelector('[data-agent-id={js(agent_id)}][data-state=active]')", "agent")
        row = f"[data-task-id={js(task['id'])}]"
        browser.wait_for(f"document.querySelector('{row}[data-state=TASK_RUNNING]')", "running task on the dashboard")
        assert browser.evaluate("document.querySelector('[data-chart=cpus]').dataset.samples") != "0"
        assert "2 cpus" in browser.evaluate("document.querySelector('[data-chart=cpus] .legend').textContent")
        browser.screenshot(str(shots / "dashboard.png"))
        # A refresh changes only what changed: the row (and the link a person is clicking) stays the same element.
        browser.evaluate(f"window.seenRow = document.querySelector('{row}'); "
                         "window.seenAt = Number(document.body.dataset.refreshes)")
        browser.wait_for("Number(document.body.dataset.refreshes) >= window.seenAt + 2", "two more refreshes")
        assert browser.evaluate(f"document.querySelector('{row}') === window.seenRow")

        nav(browser, "frameworks")
        browser.wait_for(f"document.querySelector('[data-framework-id={js(decliner.framework_id)}][data-state=active]')",
                         "the declining framework, active")
        names = browser.evaluate("[...document.querySelectorAll('[data-framework-id]')].map(r => r.innerText)")
        assert any("mesopy-execute" in n and "1" in n for n in names), names  # its one task
        browser.screenshot(str(shots / "frameworks.png"))

        nav(browser, "roles")
        browser.wait_for("document.querySelector('[data-role=\"*\"]') && "
                         "document.querySelector('[data-role=\"*\"]').innerText.includes('5.0%')",
                         "role * with the task's dominant share (0.1 of 2 cpus)")
        nav(browser, "agents")
        browser.click(f"[data-agent-id={js(agent_id)}] a")
        browser.wait_for(f"document.querySelector('{row}[data-state=TASK_RUNNING]')", "the task on its agent's page")

        # From the task to its sandbox, then stdout, tailed while the task writes.
        nav(browser, "tasks")
        browser.type("#task-filter", "ui-task")
        browser.wait_for(f"document.querySelector('{row} a.task-link')", "the task on the tasks page, filtered")
        browser.type("#task-filter", "-none")
        browser.wait_for(f"!document.querySelector('{row}')", "the task filtered out")
        browser.backspace(len("-none"))
        browser.wait_for(f"document.querySelector('{row} a.task-link')", "the task back")
        browser.click(f"{row} a.task-link")
        browser.wait_for("document.querySelector('[data-file=stdout]')", "stdout in the sandbox listing")
        assert browser.evaluate("document.getElementById('sandbox-state').textContent") == "TASK_RUNNING"
        browser.click("[data-file=stdout]")
        text = browser.wait_for("document.getElementById('viewer').textContent.includes('line-3') && "
                                "document.getElementById('viewer').textContent", "the task's stdout")
        assert text.splitlines()[:3] == ["started", "line-2", "line-3"]
        assert "done" not in text
        browser.screenshot(str(shots / "sandbox-running.png"))

        pathlib.Path(go).touch()  # the task prints "done" and ends
        browser.wait_for("document.getElementById('viewer').textContent.includes('done')", "the tail shows 'done'")
        browser.wait_for("document.getElementById('sandbox-state').textContent === 'TASK_FINISHED'",
                         "the sandbox page shows the task finished")
        assert browser.evaluate("document.getElementById('viewer').textContent").splitlines() == [
            "started", "line-2", "line-3", "done"]
        steps = browser.evaluate("document.getElementById('sandbox-history').textContent")
        assert steps.index("TASK_RUNNING") < steps.index("TASK_FINISHED"), steps
        browser.screenshot(str(shots / "sandbox-finished.png"))

        nav(browser, "cluster")
        browser.wait_for("document.querySelector('[data-task-state=TASK_FINISHED]')", "a finished task counted")
        assert browser.evaluate(f"document.querySelector('{row}')") is None  # no longer among the active tasks

        # Why no offers: the decliner's filter on the agent.
        nav(browser, "frameworks")
        browser.wait_for(f"document.querySelector('[data-framework-id={js(decliner.framework_id)}] a[href*=why]')",
                         "the why link")
        browser.click(f"[data-framework-id={js(decliner.framework_id)}] a[href*=why]")
        browser.wait_for(f"document.querySelector('#why [data-filter-agent={js(agent_id)}]')",
                         "the decline filter on the agent")
        assert "declined offers of 1 agent" in browser.evaluate("document.getElementById('why').innerText")
        browser.screenshot(str(shots / "why.png"))

        cluster.scripts[0].kill()  # the master: kill -9; the page says so instead of going stale quietly
        browser.wait_for("document.querySelector('#status.bad') && "
                         "document.getElementById('status').textContent.startsWith('master unreachable')",
                         "the master reported unreachable")
    finally:
        driver.stop()
        driver.join()


def test_the_roles_page_shows_a_quota_set_through_the_operator_api(
        cluster: HttpCluster, browser: Browser, shots: pathlib.Path) -> None:
    status, _, body = post(cluster.http, {"type": "UPDATE_QUOTA", "update_quota": {"quota_configs": [
        {"role": "dev", "guarantees": {"cpus": {"value": 1.0}}, "limits": {"cpus": {"value": 1.5}}}]}}, path="/api/v1")
    assert status == 200, body
    browser.goto(cluster.http + "/?refresh=300")
    nav(browser, "roles")
    text = browser.wait_for("(document.querySelector('[data-role=\"dev\"]') || {}).innerText", "the dev role's row")
    assert "cpus 1 / 1.5 / 0" in text, text
    browser.screenshot(str(shots / "roles-quota.png"))
