"""The web UI as a restricted principal: a real headless Chromium (tests/integration/browser_support.py)
logs in to a real mesopy-master run with ``--authenticate_http_readonly`` and ``--acls`` (HTTP Basic, as
a person answering the browser's login prompt) and sees only the frameworks and tasks the view ACLs
let it see; the operator sees both. ``/metrics/snapshot`` refused to it (get_endpoints) does not stop
the page. The sandbox viewer reads the agent's files (through the master) with the same login: the
agent, run with ``--authenticate_http_readonly`` and an ``access_sandboxes`` ACL, shows alice her own
sandbox and refuses her bob's. Run alone with ``pytest -m browser``."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.browser_support import Browser
from tests.integration.operators_support import Script, free_port, kill_executors_under
from tests.integration.test_acls import ANY, NONE, SECRETS, Sleepy, _acl

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ACLS = {"view_frameworks": _acl("users", ANY, {"values": ["alice"]}),
        "view_tasks": _acl("users", ANY, {"values": ["alice"]}),
        "get_endpoints": _acl("paths", ANY),
        "access_sandboxes": _acl("users", ANY, {"values": ["alice"]})}


@pytest.fixture(scope="module")
def master(tmp_path_factory: Any) -> Iterator[tuple[str, list[Sleepy]]]:
    tmp_path = tmp_path_factory.mktemp("webui-acls")
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"credentials": [{"principal": p, "secret": s} for p, s in SECRETS.items()]}))
    (tmp_path / "acls.json").write_text(json.dumps(ACLS))
    port = free_port()
    scripts = [Script("mesopy-master", f"--port={port}", "--allocation_interval=0.1", f"--credentials={creds}",
                      f"--acls={tmp_path / 'acls.json'}", "--authenticate_http_readonly")]
    frameworks: list[Sleepy] = []
    try:
        http = str(scripts[0].wait_for("http_ready")["url"]).rstrip("/")
        scripts.append(Script("mesopy-agent", f"--master=127.0.0.1:{port}", "--port=0", "--switch_user=false",
                              f"--work_dir={tmp_path / 'agent'}", "--resources=cpus:2;mem:1024",
                              f"--acls={tmp_path / 'acls.json'}", f"--http_credentials={creds}",
                              "--authenticate_http_readonly"))
        frameworks = [Sleepy(f"127.0.0.1:{port}", "alice"), Sleepy(f"127.0.0.1:{port}", "bob")]
        for fw in frameworks:
            assert fw.running.wait(30), "the sleep task did not start"
        yield http, frameworks
    finally:
        for fw in frameworks:
            fw.stop()
        for script in scripts:
            script.kill()
        kill_executors_under(str(tmp_path))


def _task_id(fw: Sleepy) -> str:
    return fw.scheduler.task_ids[0]


def _sandbox_hash(http: str, fw: Sleepy) -> str:
    """The UI's address of ``fw``'s task's sandbox page (from the operator's /master/state)."""
    request = urllib.request.Request(http + "/master/state", headers={
        "Authorization": "Basic " + base64.b64encode(f"ops:{SECRETS['ops']}".encode()).decode()})
    with urllib.request.urlopen(request, timeout=10) as response:
        state = json.load(response)
    task = next(t for f in state["frameworks"] if f["id"] == fw.scheduler.framework_id for t in f["tasks"])
    return "#/sandbox?" + urllib.parse.urlencode({"agent": task["slave_id"], "framework": task["framework_id"],
                                                  "executor": task.get("executor_id") or task["id"],
                                                  "task": task["id"], "path": "", "file": ""})


@pytest.mark.timeout(120)
@pytest.mark.parametrize("principal,sees", [("alice", ["alice"]), ("ops", ["alice", "bob"])])
def test_a_principal_sees_in_the_ui_only_the_tasks_it_may_see(
        master: tuple[str, list[Sleepy]], principal: str, sees: list[str]) -> None:
    http, (alice, bob) = master
    with Browser(http_credentials=(principal, SECRETS[principal])) as browser:
        browser.goto(http + "/?refresh=300")
        rows = {"alice": f"[data-task-id={json.dumps(_task_id(alice))}]",
                "bob": f"[data-task-id={json.dumps(_task_id(bob))}]"}
        for user in sees:
            browser.wait_for(f"document.querySelector('{rows[user]}[data-state=TASK_RUNNING]')", f"{user}'s task")
        browser.wait_for("Number(document.body.dataset.refreshes) >= 2", "a second refresh")
        for user in {"alice", "bob"} - set(sees):
            assert browser.evaluate(f"document.querySelector('{rows[user]}')") is None, f"{user}'s task is shown"
        browser.click("#nav a[data-page=frameworks]")
        browser.wait_for("document.body.dataset.page === 'frameworks'", "the frameworks page")
        ids = {"alice": alice.scheduler.framework_id, "bob": bob.scheduler.framework_id}
        browser.wait_for(f"document.querySelector('[data-framework-id={json.dumps(ids[sees[0]])}]')", "a framework")
        shown = browser.evaluate("[...document.querySelectorAll('[data-framework-id]')].map(r => r.dataset.frameworkId)")
        assert sorted(shown) == sorted(str(ids[user]) for user in sees)
        # the sandboxes: the agent checks access_sandboxes for the same login
        for user, fw in (("alice", alice), ("bob", bob)):
            browser.goto(http + "/?refresh=300" + _sandbox_hash(http, fw))
            if user in sees:
                browser.wait_for("document.querySelector('[data-file=stdout]')", f"{user}'s sandbox listing")
                assert browser.evaluate("document.querySelector('.error').hidden")
            else:
                text = browser.wait_for("!document.querySelector('.error').hidden && "
                                        "document.querySelector('.error').textContent", f"{user}'s sandbox refused")
                assert "403" in text and "access_sandboxes" in text, text
                assert browser.evaluate("document.querySelector('[data-file]')") is None
        assert browser.errors == []
