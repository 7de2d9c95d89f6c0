"""Real, unmodified Mesos v1 HTTP clients against mesopy-master and mesopy-agent processes:
pymesos 0.3.15 (its scheduler over the v1 scheduler API, and its MesosExecutorDriver as a custom
executor over the agent's v1 executor API) and mesoshttp 0.4.2. The programs
(tests/compat/pymesos_http_program.py, pymesos_http_executor.py, mesoshttp_program.py) say what
they do.

pymesos does not install with plain pip on Python 3.11: tests/install_http_clients.sh installs
both clients (.ci/run runs it).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.compat.support import HERE, Program, all_tasks, wait_until
from tests.integration.http_support import HttpCluster, get_json

pytestmark = pytest.mark.integration


def _events(program: Program) -> list[dict[str, Any]]:
    out = []
    for line in program.output().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def torn_down(cluster: HttpCluster) -> dict[str, Any]:
    """The master's state once no framework is left (its scheduler tore it down)."""
    def probe() -> dict[str, Any] | None:
        state: dict[str, Any] = get_json(cluster.http + "/master/state")
        return None if state["frameworks"] else state
    return wait_until(probe, 10, "the framework's teardown")


def test_unmodified_pymesos_runs_tasks_over_the_v1_http_api(tmp_path: Any) -> None:
    pytest.importorskip("pymesos", reason="run tests/install_http_clients.sh to install pymesos 0.3.15")
    cluster = HttpCluster(str(tmp_path), "--http_heartbeat_interval=1")
    master = cluster.http.split("//", 1)[1]
    program = Program([os.path.join(HERE, "pymesos_http_program.py"), master], str(tmp_path / "pymesos.log"))
    try:
        assert program.wait(90) == 0, program.output()[-4000:]
        events = _events(program)
        kinds = [e["event"] for e in events]
        assert kinds[0] == "registered", program.output()[-3000:]
        assert events[0]["version"] == get_json(cluster.http + "/version")["version"]
        updates = [e for e in events if e["event"] == "update"]
        final = {e["task"]: e["state"] for e in updates}
        assert final["ok"] == "TASK_FINISHED"
        assert final["fail"] == "TASK_FAILED"
        assert final["long"] == "TASK_KILLED"
        assert final["stale"] == "TASK_LOST"  # the used offer: an update, never an HTTP error
        stale = next(e for e in updates if e["task"] == "stale")
        assert stale["reason"] == "REASON_INVALID_OFFERS"
        ghost = next(e for e in updates if e["task"] == "ghost")
        assert (ghost["state"], ghost["reason"], ghost["has_uuid"]) == ("TASK_LOST", "REASON_RECONCILIATION", False)
        # Updates from the agent carry a uuid and the agent id (so pymesos can acknowledge them).
        from_agent = [e for e in updates if e["task"] in ("ok", "fail", "long")]
        assert from_agent and all(e["has_uuid"] and e["agent_id"] for e in from_agent)
        assert {"declined_for_an_hour", "offer_after_revive", "stopped"} <= set(kinds)
        assert kinds.index("offer_after_revive") > kinds.index("declined_for_an_hour")
        assert "error" not in kinds

        state = torn_down(cluster)
        [framework] = state["completed_frameworks"]
        assert framework["name"] == "pymesos-http"
        tasks = {t["id"]: t["state"] for t in all_tasks(state)}
        assert {k: tasks[k] for k in ("ok", "fail", "long")} == {
            "ok": "TASK_FINISHED", "fail": "TASK_FAILED", "long": "TASK_KILLED"}
        # Every update was acknowledged: the agent holds none of them back.
        agent_state = get_json(cluster.agent_http + "/state")
        assert not agent_state.get("frameworks"), agent_state.get("frameworks")
    finally:
        program.stop()
        cluster.close()


def test_unmodified_pymesos_executor_driver_runs_as_a_custom_executor_over_http(tmp_path: Any) -> None:
    pytest.importorskip("pymesos", reason="run tests/install_http_clients.sh to install pymesos 0.3.15")
    cluster = HttpCluster(str(tmp_path), "--http_heartbeat_interval=1")
    master = cluster.http.split("//", 1)[1]
    program = Program([os.path.join(HERE, "pymesos_http_program.py"), master, "executor"],
                      str(tmp_path / "pymesos.log"))
    try:
        assert program.wait(90) == 0, program.output()[-4000:]
        events = _events(program)
        kinds = [e["event"] for e in events]
        assert "error" not in kinds, program.output()[-3000:]
        updates = [(e["task"], e["state"]) for e in events if e["event"] == "update"]
        assert ("exec-ok", "TASK_RUNNING") in updates and ("exec-ok", "TASK_FINISHED") in updates
        assert ("exec-hold", "TASK_KILLED") in updates
        assert all(e["executor_id"] == "pyexec" for e in events if e["event"] == "update")
        finished = next(e for e in events if e["event"] == "update" and e["state"] == "TASK_FINISHED")
        assert finished["data"] == "done"  # the status' data, base64 both ways
        messages = {e["text"] for e in events if e["event"] == "message"}
        assert messages == {"hello from exec-ok", "echo:ping"}
        assert kinds[-1] == "stopped"

        def executor_gone() -> dict[str, Any] | None:  # the teardown shut the executor down
            state: dict[str, Any] = get_json(cluster.agent_http + "/state")
            return None if state.get("frameworks") else state
        wait_until(executor_gone, 30, "the pymesos executor's shutdown")
    finally:
        program.stop()
        cluster.close()


def test_unmodified_mesoshttp_runs_tasks_over_the_v1_http_api(tmp_path: Any) -> None:
    pytest.importorskip("mesoshttp", reason="run tests/install_http_clients.sh to install mesoshttp 0.4.2")
    cluster = HttpCluster(str(tmp_path), "--http_heartbeat_interval=0.5")
    program = Program([os.path.join(HERE, "mesoshttp_program.py"), cluster.http], str(tmp_path / "mesoshttp.log"))
    try:
        assert program.wait(90) == 0, program.output()[-4000:]
        events = _events(program)
        kinds = [e["event"] for e in events]
        assert kinds[0] == "subscribed" and "error" not in kinds, program.output()[-3000:]
        final = {e["task"]: e["state"] for e in events if e["event"] == "update" and not e["reason"]}
        assert final == {"hello": "TASK_FINISHED", "oops": "TASK_FAILED"}
        assert {"reconciled", "stopping", "stopped", "heartbeat"} <= set(kinds)

        state = torn_down(cluster)
        assert [f["name"] for f in state["completed_frameworks"]] == ["mesoshttp"]
    finally:
        program.stop()
        cluster.close()
