"""Mesos' v1 operator HTTP API of a real mesopy-master (with a real mesopy-agent): each GET_* call
in Mesos' shapes, the error rules, and a SUBSCRIBE stream that sees a task's life in order and
an operator's TEARDOWN of an HTTP framework (whose own stream then ends)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.http_support import HttpCluster, fetch, get_json, wait_until
from tests.integration.v1_client import Subscription, post, task_info

pytestmark = pytest.mark.integration

OPERATOR = "/api/v1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: Any) -> Iterator[HttpCluster]:
    c = HttpCluster(str(tmp_path_factory.mktemp("operator")), "--http_heartbeat_interval=0.5")
    yield c
    c.close()


def operator_call(cluster: HttpCluster, kind: str, path: str = OPERATOR, **body: Any) -> Any:
    status, _, data = post(cluster.http, {"type": kind, **body}, path=path)
    assert status == 200, (kind, status, data[:300])
    return json.loads(data) if data else None


def test_the_get_calls_answer_in_mesos_shapes(cluster: HttpCluster) -> None:
    for path in (OPERATOR, "/api/v1/operator"):
        assert operator_call(cluster, "GET_HEALTH", path) == {"type": "GET_HEALTH", "get_health": {"healthy": True}}
    version = operator_call(cluster, "GET_VERSION")["get_version"]["version_info"]["version"]
    assert version == get_json(cluster.http + "/version")["version"]
    flags = {f["name"]: f["value"] for f in operator_call(cluster, "GET_FLAGS")["get_flags"]["flags"]}
    assert flags["http_heartbeat_interval"] == "0.5"
    metrics = {m["name"]: m["value"] for m in operator_call(cluster, "GET_METRICS")["get_metrics"]["metrics"]}
    assert metrics["master/slaves_active"] == 1.0
    [agent] = operator_call(cluster, "GET_AGENTS")["get_agents"]["agents"]
    assert agent["active"] and agent["agent_info"]["id"]["value"]
    assert {r["name"] for r in agent["total_resources"]} >= {"cpus", "mem", "disk", "ports"}
    master = operator_call(cluster, "GET_MASTER")["get_master"]["master_info"]
    assert master["version"] == version and isinstance(master["ip"], int)
    state = operator_call(cluster, "GET_STATE")["get_state"]
    assert set(state) == {"get_tasks", "get_executors", "get_frameworks", "get_agents"}
    for kind in ("GET_FRAMEWORKS", "GET_EXECUTORS", "GET_TASKS", "GET_ROLES"):
        assert kind.lower() in operator_call(cluster, kind)


def test_the_error_rules_of_the_operator_api(cluster: HttpCluster) -> None:
    assert fetch(cluster.http + OPERATOR)[0] == 405
    code, _, body = post(cluster.http, {"type": "NO_SUCH_CALL"}, path=OPERATOR)
    assert code == 400 and b"NO_SUCH_CALL" in body and b"GET_STATE" in body
    assert post(cluster.http, {"type": "GET_STATE"}, {"Content-Type": "application/x-protobuf"}, path=OPERATOR)[0] \
        == 415
    assert post(cluster.http, b"[", path=OPERATOR)[0] == 400
    code, _, body = post(cluster.http, {"type": "TEARDOWN", "teardown": {}}, path=OPERATOR)
    assert code == 400 and b"teardown.framework_id" in body
    code, _, body = post(cluster.http, {"type": "TEARDOWN", "teardown": {"framework_id": {"value": "none"}}},
                         path=OPERATOR)
    assert code == 400 and b"'none'" in body


def test_subscribe_sees_a_task_life_in_order_and_an_operator_teardown(cluster: HttpCluster) -> None:
    events = Subscription(cluster.http, {"type": "SUBSCRIBE"}, path=OPERATOR)
    assert events.status == 200
    subscribed = events.next("SUBSCRIBED")["subscribed"]
    assert len(subscribed["get_state"]["get_agents"]["agents"]) == 1
    scheduler = Subscription(cluster.http, {"type": "SUBSCRIBE", "subscribe": {
        "framework_info": {"user": "root", "name": "watched"}}})
    try:
        fid = scheduler.next("SUBSCRIBED")["subscribed"]["framework_id"]
        added = events.next("FRAMEWORK_ADDED")["framework_added"]["framework"]
        assert added["framework_info"]["id"] == fid and added["framework_info"]["name"] == "watched"
        offer = scheduler.next("OFFERS")["offers"]["offers"][0]
        # The task ends only when told: a task that ends at once can reach the master as a RUNNING update
        # whose latest_state is already FINISHED (the agent's stream holds the rest until acknowledged).
        go = os.path.join(cluster.work_dir, "go-watched-task")
        cluster.go_files.append(go)  # touched by close() if this test fails first
        command = f"while [ ! -e {go} ]; do sleep 0.05; done"
        scheduler.call({"type": "ACCEPT", "accept": {"offer_ids": [offer["id"]], "operations": [
            {"type": "LAUNCH", "launch": {"task_infos": [task_info("watched-task", offer["agent_id"], command)]}}]}})
        task = events.next("TASK_ADDED")["task_added"]["task"]
        assert (task["task_id"]["value"], task["state"], task["framework_id"]) == ("watched-task", "TASK_STAGING", fid)
        seen: list[str] = []
        updated: dict[str, Any] = {}
        while not seen or seen[-1] != "TASK_FINISHED":
            status = scheduler.next("UPDATE")["update"]["status"]
            scheduler.call({"type": "ACKNOWLEDGE", "acknowledge": {
                k: status[k] for k in ("agent_id", "task_id", "uuid")}})
            updated = events.next("TASK_UPDATED")["task_updated"]
            assert updated["framework_id"] == fid and updated["status"]["task_id"]["value"] == "watched-task"
            assert updated["status"]["state"] == status["state"]  # the same update, in the same order
            seen.append(updated["status"]["state"])
            if seen[-1] == "TASK_RUNNING":
                open(go, "a").close()
        assert seen == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
        # ``state`` is the task's latest: FINISHED by then (the agent says so with a resent update).
        assert updated["state"] == "TASK_FINISHED"
        completed = operator_call(cluster, "GET_TASKS")["get_tasks"]["completed_tasks"]
        assert any(t["task_id"]["value"] == "watched-task" and t["state"] == "TASK_FINISHED" for t in completed)

        assert operator_call(cluster, "TEARDOWN", teardown={"framework_id": fid}) is None
        removed = events.next("FRAMEWORK_REMOVED")["framework_removed"]
        assert removed["framework_info"]["id"] == fid
        scheduler.wait_closed()  # the torn-down framework's own stream ends
        frameworks = operator_call(cluster, "GET_FRAMEWORKS")["get_frameworks"]
        assert fid in [f["framework_info"]["id"] for f in frameworks["completed_frameworks"]]
        events.next("HEARTBEAT", timeout=5)
    finally:
        scheduler.close()
        events.close()


def test_mark_agent_gone_removes_it_and_tells_frameworks_and_subscribers(tmp_path: Any) -> None:
    cluster = HttpCluster(str(tmp_path), "--http_heartbeat_interval=0.5")
    events = Subscription(cluster.http, {"type": "SUBSCRIBE"}, path=OPERATOR)
    scheduler = Subscription(cluster.http, {"type": "SUBSCRIBE", "subscribe": {"framework_info": {
        "user": "root", "name": "aware", "capabilities": [{"type": "PARTITION_AWARE"}]}}})
    try:
        [agent] = events.next("SUBSCRIBED")["subscribed"]["get_state"]["get_agents"]["agents"]
        agent_id = agent["agent_info"]["id"]
        scheduler.next("SUBSCRIBED")
        offer = scheduler.next("OFFERS")["offers"]["offers"][0]
        scheduler.call({"type": "ACCEPT", "accept": {"offer_ids": [offer["id"]], "operations": [
            {"type": "LAUNCH", "launch": {"task_infos": [task_info("doomed", agent_id, "sleep 300")]}}]}})
        status: dict[str, Any] = {}
        while status.get("state") != "TASK_RUNNING":
            status = scheduler.next("UPDATE")["update"]["status"]
            scheduler.call({"type": "ACKNOWLEDGE", "acknowledge": {k: status[k] for k in ("agent_id", "task_id", "uuid")}})
        assert operator_call(cluster, "MARK_AGENT_GONE", mark_agent_gone={"agent_id": agent_id}) is None
        gone = scheduler.next("UPDATE")["update"]["status"]
        assert (gone["task_id"]["value"], gone["state"]) == ("doomed", "TASK_GONE_BY_OPERATOR")
        assert scheduler.next("FAILURE")["failure"]["agent_id"] == agent_id
        assert events.next("AGENT_REMOVED")["agent_removed"]["agent_id"] == agent_id
        assert operator_call(cluster, "GET_AGENTS")["get_agents"]["agents"] == []
        agent_script = cluster.scripts[1]  # told to shut down: it exits 1 with a line saying why, for its supervisor
        assert "shut down by the master" in agent_script.wait_for("agent_exiting", timeout=30)["reason"]
        assert agent_script.proc.wait(30) == 1
        assert operator_call(cluster, "MARK_AGENT_GONE", mark_agent_gone={"agent_id": agent_id}) is None
        code, _, body = post(cluster.http, {"type": "MARK_AGENT_GONE", "mark_agent_gone": {
            "agent_id": {"value": "no-such-agent"}}}, path=OPERATOR)
        assert code == 400 and b"no-such-agent" in body
    finally:
        scheduler.close()
        events.close()
        cluster.close()


def test_the_agents_operator_api_shows_state_containers_and_sandbox_files(cluster: HttpCluster) -> None:
    def agent_call(kind: str, **body: Any) -> Any:
        status, _, data = post(cluster.agent_http, {"type": kind, **body}, path=OPERATOR)
        assert status == 200, (kind, status, data[:300])
        return json.loads(data)[kind.lower()]

    assert agent_call("GET_HEALTH") == {"healthy": True}
    scheduler = Subscription(cluster.http, {"type": "SUBSCRIBE", "subscribe": {
        "framework_info": {"user": "root", "name": "files"}}})
    try:
        fid = scheduler.next("SUBSCRIBED")["subscribed"]["framework_id"]
        offer = scheduler.next("OFFERS")["offers"]["offers"][0]
        scheduler.call({"type": "ACCEPT", "accept": {"offer_ids": [offer["id"]], "operations": [
            {"type": "LAUNCH", "launch": {"task_infos": [
                task_info("files-task", offer["agent_id"], "echo agent-file; sleep 300")]}}]}})
        status: dict[str, Any] = {}
        while status.get("state") != "TASK_RUNNING":
            status = scheduler.next("UPDATE")["update"]["status"]
            scheduler.call({"type": "ACKNOWLEDGE", "acknowledge": {k: status[k] for k in ("agent_id", "task_id", "uuid")}})
        state = agent_call("GET_STATE")
        [task] = [t for t in state["get_tasks"]["launched_tasks"] if t["task_id"]["value"] == "files-task"]
        assert (task["framework_id"], task["state"]) == (fid, "TASK_RUNNING")
        assert fid in [f["framework_info"]["id"] for f in state["get_frameworks"]["frameworks"]]
        [container] = [c for c in agent_call("GET_CONTAINERS")["containers"] if c["framework_id"] == fid]
        assert container["executor_id"] == {"value": "files-task"} and container["container_status"]["executor_pid"]
        sandbox = f"/frameworks/{fid['value']}/executors/files-task/runs/latest"
        names = {f["path"].rsplit("/", 1)[1] for f in agent_call("LIST_FILES", list_files={"path": sandbox})[
            "file_infos"]}
        assert {"stdout", "stderr"} <= names
        def printed() -> Any:
            read = agent_call("READ_FILE", read_file={"path": sandbox + "/stdout", "offset": 0})
            return read if b"agent-file" in base64.b64decode(read["data"]) else None
        read = wait_until(printed, "the task's stdout")
        assert read["size"] >= len("agent-file\n")
        code, _, body = post(cluster.agent_http, {"type": "READ_FILE", "read_file": {"path": "/etc/passwd"}},
                             path=OPERATOR)
        assert code == 403
        code, _, body = post(cluster.agent_http, {"type": "NOPE"}, path=OPERATOR)
        assert code == 400 and b"READ_FILE" in body
    finally:
        scheduler.call({"type": "TEARDOWN"})
        scheduler.close()
